"""Small Beam steps shared by the inference pipelines: counted requests and dead letters."""

from collections.abc import Callable

import apache_beam as beam

from beam_pipelines.counting import count
from beam_pipelines.inference.backend import Messages, encode
from schemas.records import DeadLetter

DEAD = "dead_letter"


def dead_letter(stage: str, input_id: str, error: str, raw: str = "", message: str = "") -> dict:
    return DeadLetter(
        stage=stage,
        input_id=input_id,
        error=error,
        message=message[:1000],
        raw=raw[:2000],
    ).model_dump()


class PromptRequests(beam.DoFn):
    """Wrap each record as an inference request {prompt, record}, counting it in.

    A prompt longer than `max_tokens` has its record's `text` (the segment) cut by tokens to fit,
    counted as `truncated_inputs`; the record itself keeps the whole text.
    """

    MARGIN = 8  # tokens for an answer prefix and re-tokenisation at the cut

    def __init__(self, make_prompt: Callable[[dict], Messages], model_path: str, max_tokens: int):
        self.make_prompt, self.model_path, self.max_tokens = make_prompt, model_path, max_tokens

    def setup(self):
        from transformers import AutoTokenizer

        from beam_pipelines.io.model_folders import local_copy

        self.tokenizer = AutoTokenizer.from_pretrained(local_copy(self.model_path))

    def process(self, record: dict):
        count("in")
        prompt = self.make_prompt(record)
        (ids,) = encode(self.tokenizer, [prompt], 1 << 30)
        excess = len(ids) - (self.max_tokens - self.MARGIN)
        if excess > 0:
            text = self.tokenizer(record["text"], add_special_tokens=False)["input_ids"]
            keep = max(0, len(text) - excess)
            cut = self.tokenizer.decode(text[:keep])
            prompt = self.make_prompt({**record, "text": cut})
            count("truncated_inputs")
        yield {"prompt": prompt, "record": record}


def failed_batches(stage: str) -> beam.PTransform:
    """Turn RunInference's failed batches into one dead letter per element."""

    def explode(failure):
        batch, (error_type, error, _traceback) = failure  # as RunInference reports them
        for element in batch:
            count("dead_lettered")
            yield dead_letter(stage, element["record"]["id"], error_type.__name__, message=error)

    return beam.FlatMap(explode)
