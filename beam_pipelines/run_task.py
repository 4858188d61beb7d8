"""One Beam transform runs any task: prompt, RunInference with dead letters, parse, write.

Every input is counted `in`; every input that gives no record (a failed batch, a backend error,
an answer the task rejects) is counted `dead_lettered` and written as a dead letter with the
reason. Counting `out` and `filtered` is the stage's, after the task.
"""

import apache_beam as beam
from apache_beam.ml.inference.base import PredictionResult, RunInference

from humpback.beam_pipelines.counting import count
from humpback.beam_pipelines.io.shards import write_shards
from humpback.beam_pipelines.model_handler import ChatModelHandler
from humpback.beam_pipelines.progress import ReportProgress
from humpback.inference.backend import encode
from humpback.schemas.config import InferenceConfig
from humpback.schemas.records import DeadLetter
from humpback.storage.folders import local_copy
from humpback.tasks.task import Rejected, Task

DEAD = DeadLetter.shard


class PromptRequests(beam.DoFn):
    """Wrap each record as an inference request {prompt, record}, counting it in.

    A prompt longer than `max_tokens` has its record's `task.cut_field` cut by tokens to fit,
    counted as `truncated_inputs`; the record itself keeps the whole text.
    """

    MARGIN = 8  # tokens for an answer prefix and re-tokenisation at the cut

    def __init__(self, task: Task, model_path: str, max_tokens: int):
        self.task, self.model_path, self.max_tokens = task, model_path, max_tokens

    def setup(self):
        from transformers import AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(local_copy(self.model_path))

    def process(self, record: dict):
        count("in")
        prompt = self.task.prompt(record)
        (ids,) = encode(self.tokenizer, [prompt], 1 << 30)
        excess = len(ids) - (self.max_tokens - self.MARGIN)
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
        else:
            parsed = self.task.parse(
                record, output.text if self.task.reads == "text" else output.probs
            )
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

    Writes the task's records and the dead letters to `out_dir` as shards, and returns the
    records for the stage's further steps.
    """

    def __init__(
        self,
        stage: str,
        task: Task,
        model_path: str,
        cfg: InferenceConfig,
        out_dir: str,
        total: int | None = None,
        cache_dir: str | None = None,
    ):
        super().__init__()
        self.stage, self.task, self.model_path, self.cfg = stage, task, model_path, cfg
        self.out_dir, self.total, self.cache_dir = out_dir, total, cache_dir

    def expand(self, records: beam.PCollection) -> beam.PCollection:
        handler = ChatModelHandler(self.model_path, self.cfg, self.task, self.cache_dir)
        prompts = PromptRequests(self.task, self.model_path, self.cfg.max_input_tokens)
        results, failures = (
            records
            | "Prompt" >> beam.ParDo(prompts)
            | "Infer" >> RunInference(handler).with_exception_handling()
        )
        parsed = (
            results
            | "Progress" >> beam.ParDo(ReportProgress(self.stage, self.total, "records"))
            | "Parse"
            >> beam.ParDo(ParseAnswers(self.task, self.stage)).with_outputs(DEAD, main="records")
        )
        failed = failures.failed_inferences | "Failed batches" >> beam.FlatMap(
            _failed_batch(self.stage)
        )
        write_shards(parsed.records, self.out_dir, self.task.record)
        write_shards(
            (parsed[DEAD], failed) | "Dead letters" >> beam.Flatten(), self.out_dir, DeadLetter
        )
        return parsed.records
