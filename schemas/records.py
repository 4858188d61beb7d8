"""Records written between stages; each has a pydantic model and a matching Arrow schema."""

import types
import typing
from typing import ClassVar

import pyarrow as pa
from pydantic import BaseModel, ConfigDict

from humpback.schemas.text import valid_unicode


class Record(BaseModel):
    """A row of a stage's Parquet shards, `<shard>-SSSSS-of-NNNNN.parquet`."""

    model_config = ConfigDict(extra="forbid")
    shard: ClassVar[str]

    @classmethod
    def arrow_schema(cls) -> pa.Schema:
        """The Parquet schema of this record, derived from its fields."""
        return pa.schema(
            [
                pa.field(
                    name,
                    _arrow_type(field.annotation),
                    nullable=_is_optional(field.annotation),
                )
                for name, field in cls.model_fields.items()
            ]
        )


class Message(BaseModel):
    role: str
    content: str


class SeedPair(Record):
    shard: ClassVar[str] = "seed"
    id: str
    instruction: str
    output: str
    source: str


class HeldOutPair(SeedPair):
    """A seed pair no model of the run trains on: the method's measures are taken on it."""

    shard: ClassVar[str] = "heldout"


class Segment(Record):
    """Text under one header, with its provenance (record_offset: byte offset, or row number)."""

    shard: ClassVar[str] = "segments"

    id: str
    text: str
    header: str
    header_path: list[str]
    url: str
    document_id: str
    source_file: str
    record_offset: int
    lang: str | None
    char_len: int


class Candidate(Segment):
    """A segment with its generated instruction; `pmi`: how much the segment raises the
    instruction's likelihood under M_yx, in nats per instruction token; `alternatives`: the
    other well-formed instructions M_yx wrote for it (`augment.samples`), not chosen;
    `dropped`: why each of its other draws was dropped (`filtered` reasons)."""

    shard: ClassVar[str] = "candidates"
    instruction: str
    backward_model: str
    pmi: float | None = None
    alternatives: list[str] = []
    dropped: list[str] = []


class Scored(Candidate):
    """A candidate as a scorer saw it: the rubric's score (and expected score, reading
    log-probabilities) and `ifd`, the answer's instruction-following difficulty under it."""

    shard: ClassVar[str] = "scored"
    score: int | None = None
    expected_score: float | None = None
    scorer_raw: str = ""
    ifd: float | None = None
    scorer_model: str
    iteration: int


class SFTExample(Record):
    """A row of a curated shard: `messages` is what SFT jobs read; the rest is provenance."""

    shard: ClassVar[str] = "curated"

    messages: list[Message]
    source: str
    score: int | None
    iteration: int | None
    segment_id: str | None
    url: str | None
    pmi: float | None = None
    ifd: float | None = None


class EvalAnswer(Record):
    """A model's answer to an evaluation prompt; `generator` names the model (M0, M1, N=100)."""

    shard: ClassVar[str] = "answers"
    id: str
    instruction: str
    dataset: str
    generator: str
    output: str


class ReferenceScore(Record):
    """How likely a model finds a reference answer to a prompt: its summed log-probability
    over its `tokens` tokens, given the prompt."""

    shard: ClassVar[str] = "reference_scores"
    id: str
    generator: str
    logprob: float
    tokens: int


class Judgment(Record):
    """One judgment of a pair in one order: `output_1` is the reference's answer, `output_2` the
    model's; `p_model` is the judge's probability that the model's is better (0 or 1 for a
    written verdict); `annotated` is a stronger judge's AlpacaEval preference, where known."""

    shard: ClassVar[str] = "judgments"
    id: str
    instruction: str
    dataset: str
    generator: str
    output_1: str
    output_2: str
    model_first: bool
    p_model: float
    judge: str
    raw: str
    annotated: float | None = None


class DeadLetter(Record):
    """An input that gave no output, and why."""

    shard: ClassVar[str] = "dead_letter"
    stage: str
    input_id: str
    error: str
    message: str
    raw: str

    @classmethod
    def row(cls, stage: str, input_id: str, error: str, message: str = "", raw: str = "") -> dict:
        """A dead letter as a shard row; the message and the raw input are cut to a bounded size
        and hold no lone surrogate (they may quote the text that had one)."""
        message, raw = valid_unicode(message[:1000]), valid_unicode(raw[:2000])
        return cls(
            stage=stage, input_id=valid_unicode(input_id), error=error, message=message, raw=raw
        ).model_dump()


class FilteredOut(DeadLetter):
    """An input a task dropped on purpose (a malformed instruction), and why."""

    shard: ClassVar[str] = "filtered"


_SCALARS = {str: pa.string(), int: pa.int64(), float: pa.float64(), bool: pa.bool_()}


def _is_optional(annotation: object) -> bool:
    return type(None) in typing.get_args(annotation)


def _arrow_type(annotation: object) -> pa.DataType:
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        (inner,) = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _arrow_type(inner)
    if typing.get_origin(annotation) is list:
        return pa.list_(_arrow_type(typing.get_args(annotation)[0]))
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return pa.struct(
            [pa.field(n, _arrow_type(f.annotation)) for n, f in annotation.model_fields.items()]
        )
    return _SCALARS[annotation]
