"""Small Beam steps shared by the inference pipelines: counted requests and dead letters."""

from collections.abc import Callable

import apache_beam as beam

from beam_pipelines.counting import count
from beam_pipelines.inference.backend import Messages
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


def counted_requests(make_prompt: Callable[[dict], Messages]) -> beam.PTransform:
    """Wrap each record as an inference request {prompt, record}, counting it in."""

    def to_request(record: dict) -> dict:
        count("in")
        return {"prompt": make_prompt(record), "record": record}

    return beam.Map(to_request)


def failed_batches(stage: str) -> beam.PTransform:
    """Turn RunInference's failed batches into one dead letter per element."""

    def explode(failure):
        batch, (error_type, error, _traceback) = failure  # as RunInference reports them
        for element in batch:
            count("dead_lettered")
            yield dead_letter(stage, element["record"]["id"], error_type.__name__, message=error)

    return beam.FlatMap(explode)
