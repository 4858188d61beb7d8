"""One Beam transform runs any task: prompt, RunInference with dead letters, parse.

Every input is counted `in` (unless an earlier task of the stage counted it); every input that
gives no record (a failed batch, a backend error, an answer the task rejects) is counted
`dead_lettered` and becomes a dead letter with the reason; an answer the task drops on purpose
is counted `filtered:<reason>`. Counting `out` and writing is the stage's, after its tasks.
"""

import apache_beam as beam
from apache_beam.ml.inference.base import PredictionResult, RunInference

from humpback.beam_pipelines.counting import count
from humpback.beam_pipelines.io.shards import write_shards
from humpback.beam_pipelines.model_handler import ChatModelHandler
from humpback.beam_pipelines.progress import ReportProgress
from humpback.inference.backend import encode, encode_continuation
from humpback.inference.chat_template import load_tokenizer
from humpback.schemas.config import InferenceConfig
from humpback.schemas.records import DeadLetter, FilteredOut, Record
from humpback.storage.folders import local_copy
from humpback.tasks.task import Filtered, Rejected, Task

DEAD, FILTERED = DeadLetter.shard, FilteredOut.shard


class PromptRequests(beam.DoFn):
    """Wrap each record as an inference request {prompt, record}, counting it in.

    A prompt longer than `max_tokens` has its record's `task.cut_field` cut by tokens to fit,
    counted as `truncated_inputs`; the record itself keeps the whole text.
    """

    MARGIN = 8  # tokens for an answer prefix and re-tokenisation at the cut

    def __init__(self, task: Task, model_path: str, max_tokens: int, counts_in: bool = True):
        self.task, self.model_path, self.max_tokens = task, model_path, max_tokens
        self.counts_in = counts_in

    def setup(self):
        self.tokenizer = load_tokenizer(local_copy(self.model_path))

    def length(self, prompt) -> int:
        """The prompt's tokens; for continuations, the longest prompt and text."""
        if self.task.reads == "likelihood":
            return max(len(encode_continuation(self.tokenizer, p, t)[0]) for p, t in prompt)
        (ids,) = encode(self.tokenizer, [prompt], 1 << 30)
        return len(ids)

    def process(self, record: dict):
        if self.counts_in:
            count("in")
        prompt = self.task.prompt(record)
        excess = self.length(prompt) - (self.max_tokens - self.MARGIN)
        if excess > 0:
            field = self.task.cut_field
            text = self.tokenizer(record[field], add_special_tokens=False)["input_ids"]
            keep = max(0, len(text) - excess)
            prompt = self.task.prompt({**record, field: self.tokenizer.decode(text[:keep])})
            count("truncated_inputs")
        yield {"prompt": prompt, "record": record}


class ParseAnswers(beam.DoFn):
    """The task's record for each answer; an error or a rejected answer becomes a dead letter."""

    def __init__(self, task: Task, stage: str):
        self.task, self.stage = task, stage

    def process(self, result: PredictionResult):
        record, output = result.example["record"], result.inference
        if output.error:
            parsed = Rejected(output.error)
        elif self.task.reads == "likelihood":
            parsed = self.task.parse(record, (output.logprobs, output.tokens))
        else:
            parsed = self.task.parse(
                record, output.text if self.task.reads == "text" else output.probs
            )
        if isinstance(parsed, Filtered):
            count(f"filtered:{parsed.reason}")
            yield beam.pvalue.TaggedOutput(
                FILTERED, FilteredOut.row(self.stage, record["id"], parsed.reason, raw=parsed.raw)
            )
            return
        if isinstance(parsed, Rejected):
            count("dead_lettered")
            yield beam.pvalue.TaggedOutput(
                DEAD, DeadLetter.row(self.stage, record["id"], parsed.error, raw=parsed.raw)
            )
            return
        yield parsed


def _failed_batch(stage: str):
    """One dead letter per element of a batch RunInference reports as failed."""

    def explode(failure):
        batch, (error_type, error, _traceback) = failure
        for element in batch:
            count("dead_lettered")
            yield DeadLetter.row(stage, element["record"]["id"], error_type.__name__, message=error)

    return explode


class RunTask(beam.PTransform):
    """Run `task` with the model at `model_path` over a PCollection of records.

    Returns {"records", "dead", "filtered"}: the task's records, the dead letters and the
    records it dropped; `write_task_outputs` writes them. A stage that chains tasks
    (`chain_tasks`) counts its inputs `in` once, in its first task (`counts_in`).
    """

    def __init__(
        self,
        stage: str,
        task: Task,
        model_path: str,
        cfg: InferenceConfig,
        total: int | None = None,
        cache_dir: str | None = None,
        counts_in: bool = True,
    ):
        super().__init__()
        self.stage, self.task, self.model_path, self.cfg = stage, task, model_path, cfg
        self.total, self.cache_dir, self.counts_in = total, cache_dir, counts_in

    def expand(self, records: beam.PCollection):  # {"records", "dead", "filtered"}
        handler = ChatModelHandler(self.model_path, self.cfg, self.task, self.cache_dir)
        prompts = PromptRequests(
            self.task, self.model_path, self.cfg.max_input_tokens, self.counts_in
        )
        results, failures = (
            records
            | "Prompt" >> beam.ParDo(prompts)
            | "Infer" >> RunInference(handler).with_exception_handling()
        )
        parsed = (
            results
            | "Progress" >> beam.ParDo(ReportProgress(self.stage, self.total, "records"))
            | "Parse"
            >> beam.ParDo(ParseAnswers(self.task, self.stage)).with_outputs(
                DEAD, FILTERED, main="records"
            )
        )
        failed = failures.failed_inferences | "Failed batches" >> beam.FlatMap(
            _failed_batch(self.stage)
        )
        dead = (parsed[DEAD], failed) | "Dead letters" >> beam.Flatten()
        return {"records": parsed.records, "dead": dead, "filtered": parsed[FILTERED]}


def chain_tasks(
    records: beam.PCollection,
    stage: str,
    tasks: list[Task],
    model_path: str,
    cfg: InferenceConfig,
    total: int | None = None,
    cache_dir: str | None = None,
) -> list[dict[str, beam.PCollection]]:
    """Run `tasks` one after another, each on the records the one before it made; the first
    counts the stage's inputs `in` and reports progress against `total`, a later one reports
    as "<stage> <task>". Returns every task's outputs, for `write_task_outputs`."""
    outputs: list[dict[str, beam.PCollection]] = []
    for i, task in enumerate(tasks):
        name = type(task).__name__
        first = i == 0
        outputs.append(
            records
            | name
            >> RunTask(stage if first else f"{stage} {name}", task, model_path, cfg,
                       total if first else None, cache_dir, counts_in=first)
        )  # fmt: skip
        records = outputs[-1]["records"]
    return outputs


def write_task_outputs(
    outputs: list[dict[str, beam.PCollection]],
    out_dir: str,
    record: type[Record],
    part: str = "",
) -> beam.PCollection:
    """Write the last task's records, and every task's dead letters and dropped records, as
    shards in `out_dir` (named with `part`, see `write_shards`); returns the records."""
    records = outputs[-1]["records"]
    write_shards(records, out_dir, record, part)
    for name, kind in (("dead", DeadLetter), ("filtered", FilteredOut)):
        pcolls = tuple(o[name] for o in outputs)
        write_shards(pcolls | f"All {name}" >> beam.Flatten(), out_dir, kind, part)
    return records
