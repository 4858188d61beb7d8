"""One Beam transform runs any model step: prompt, RunInference with dead letters, parse.

Every input is counted `in` (unless an earlier step of the stage counted it); every input that
gives no record (a failed batch, a backend error, an answer the task rejects) is counted
`dead_lettered` and becomes a dead letter with the reason; an answer the task drops on purpose
is counted `filtered:<reason>`. Counting `out` and writing is the stage's, after its steps.
"""

import apache_beam as beam
from apache_beam.ml.inference.base import PredictionResult, RunInference

from humpback.beam_pipelines.counting import count
from humpback.beam_pipelines.model_handler import ChatModelHandler
from humpback.beam_pipelines.progress import ReportProgress
from humpback.inference.chat_template import load_tokenizer
from humpback.schemas.records import DeadLetter, FilteredOut
from humpback.storage.folders import local_copy
from humpback.tasks.task import Filtered, ModelStep, Rejected, Task

DEAD, FILTERED, KEPT = DeadLetter.shard, FilteredOut.shard, "kept"


class PromptRequests(beam.DoFn):
    """Wrap each record as an inference request {prompt, record}, counting it in; a record the
    task screens out is a `filtered` row, and no request.

    A prompt longer than `max_tokens` has its record's `task.cut_field` cut by tokens to fit,
    counted as `truncated_inputs`; the record itself keeps the whole text. A task that names no
    field is not cut: the backend dead-letters its overlong prompt (input_too_long).
    """

    MARGIN = 8  # tokens for an answer prefix and re-tokenisation at the cut

    def __init__(self, task: Task, stage: str, model_path: str, max_tokens: int,
                 counts_in: bool = True):  # fmt: skip
        self.task, self.stage, self.model_path = task, stage, model_path
        self.max_tokens, self.counts_in = max_tokens, counts_in

    def setup(self):
        self.tokenizer = load_tokenizer(local_copy(self.model_path))

    def process(self, record: dict):
        if self.counts_in:
            count("in")
        screened = self.task.screen(record)
        if screened is not None:
            yield from _filtered(self.stage, self.task, record, screened)
            return
        prompt = self.task.prompt(record)
        field = self.task.cut_field
        if field is None:
            yield {"prompt": prompt, "record": record}
            return
        excess = self._excess(prompt)
        if excess > 0:
            text = self.tokenizer(record[field], add_special_tokens=False)["input_ids"]
            while excess > 0 and text:  # again where the prompt holds less of the field than
                # its tokens (a curator reads the text without its rating claims)
                text = text[: max(0, len(text) - excess)]
                prompt = self.task.prompt({**record, field: self.tokenizer.decode(text)})
                excess = self._excess(prompt)
            count("truncated_inputs")
        yield {"prompt": prompt, "record": record}

    def _excess(self, prompt) -> int:
        return self.task.reads.tokens(self.tokenizer, prompt) - (self.max_tokens - self.MARGIN)


class ParseAnswers(beam.DoFn):
    """The task's record for each answer; an error or a rejected answer becomes a dead letter,
    a filtered one a `filtered` row (and its input, where the task keeps it, a `kept` record)."""

    def __init__(self, task: Task, stage: str):
        self.task, self.stage = task, stage

    def process(self, result: PredictionResult):
        record = result.example["record"]
        parsed, input_id = self.task.outcome(record, result.inference), self.task.input_id(record)
        for name in self.task.counted(parsed):
            count(name)
        if isinstance(parsed, Filtered):
            yield from _filtered(self.stage, self.task, record, parsed)
            return
        if isinstance(parsed, Rejected):
            count("dead_lettered")
            row = DeadLetter.row(self.stage, input_id, parsed.error, raw=parsed.raw)
            yield beam.pvalue.TaggedOutput(DEAD, row)
            return
        yield parsed


def _filtered(stage: str, task: Task, record: dict, filtered: Filtered):
    """A record the task dropped: counted, a `filtered` row, and its kept input where set."""
    count(f"filtered:{filtered.reason}")
    row = FilteredOut.row(stage, task.input_id(record), filtered.reason, raw=filtered.raw)
    yield beam.pvalue.TaggedOutput(FILTERED, row)
    if filtered.record is not None:
        count("kept_input")
        yield beam.pvalue.TaggedOutput(KEPT, filtered.record)


def _failed_batch(stage: str, task: Task):
    """One dead letter per element of a batch RunInference reports as failed."""

    def explode(failure):
        batch, (error_type, error, _traceback) = failure
        for element in batch:
            count("dead_lettered")
            input_id = task.input_id(element["record"])
            yield DeadLetter.row(stage, input_id, error_type.__name__, message=error)

    return explode


class RunTask(beam.PTransform):
    """Run one model step over a PCollection of records.

    Returns {"records", "kept", "dead", "filtered"}: the task's records, inputs it keeps in
    place of a filtered answer, the dead letters and the records it dropped. A stage that
    chains steps (`chain_steps`) counts its inputs `in` once, in its first step (`counts_in`).
    """

    def __init__(
        self,
        stage: str,
        step: ModelStep,
        total: int | None = None,
        cache_dir: str | None = None,
        counts_in: bool = True,
    ):
        super().__init__()
        self.stage, self.step = stage, step
        self.total, self.cache_dir, self.counts_in = total, cache_dir, counts_in

    def expand(self, records: beam.PCollection):  # {"records", "kept", "dead", "filtered"}
        task, model, cfg = self.step.task, self.step.model, self.step.inference
        handler = ChatModelHandler(model, cfg, task, self.cache_dir)
        prompts = PromptRequests(task, self.stage, model, cfg.max_input_tokens, self.counts_in)
        requests = records | "Prompt" >> beam.ParDo(prompts).with_outputs(
            FILTERED, KEPT, main="requests"
        )
        results, failures = (
            requests.requests | "Infer" >> RunInference(handler).with_exception_handling()
        )
        progress = ReportProgress(self.stage, self.total, "records")  # one count, two steps
        screened = requests[FILTERED] | "Progress (screened)" >> beam.ParDo(progress)
        parsed = (
            results
            | "Progress" >> beam.ParDo(progress)
            | "Parse"
            >> beam.ParDo(ParseAnswers(task, self.stage)).with_outputs(
                DEAD, FILTERED, KEPT, main="records"
            )
        )
        failed = failures.failed_inferences | "Failed batches" >> beam.FlatMap(
            _failed_batch(self.stage, task)
        )
        dead = (parsed[DEAD], failed) | "Dead letters" >> beam.Flatten()
        filtered = (screened, parsed[FILTERED]) | "Filtered" >> beam.Flatten()
        kept = (requests[KEPT], parsed[KEPT]) | "Kept" >> beam.Flatten()
        return {"records": parsed.records, "kept": kept, "dead": dead, "filtered": filtered}


def chain_steps(
    records: beam.PCollection,
    stage: str,
    steps: list[ModelStep],
    total: int | None = None,
    cache_dir: str | None = None,
) -> list[dict[str, beam.PCollection]]:
    """Run `steps` one after another, each on the records the one before it made, each with its
    own model and settings; the first counts the stage's inputs `in` and reports progress
    against `total`, a later one reports as "<stage> <task>". Returns every step's outputs."""
    outputs: list[dict[str, beam.PCollection]] = []
    for i, step in enumerate(steps):
        first = i == 0
        outputs.append(
            records
            | step.name
            >> RunTask(stage if first else f"{stage} {step.name}", step,
                       total if first else None, cache_dir, counts_in=first)
        )  # fmt: skip
        records = outputs[-1]["records"]
    return outputs
