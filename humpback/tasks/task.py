"""What a model step is: a prompt built from a record, read from a model one way, and a record
parsed from the answer; and the in-process runner that the measures use."""

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

from humpback.inference.backend import ChatBackend, Continuation, Messages
from humpback.schemas.config import InferenceConfig
from humpback.schemas.records import Record
from humpback.tasks.reads import GENERATE, ReadMode


@dataclass(frozen=True)
class Rejected:
    """An answer that makes no record, and why; it becomes a dead letter."""

    error: str
    raw: str = ""


@dataclass(frozen=True)
class Filtered:
    """A valid answer whose record the task drops, and why: counted `filtered:<reason>` and
    kept in the stage's `filtered` shards. `record`, when set, is written in its place (the
    input as it was), counted `kept_input`."""

    reason: str
    raw: str = ""
    record: dict | None = None
    also: tuple[str, ...] = ()  # why the task's other answers for the input were dropped too


Outcome = dict | Rejected | Filtered


class Task(ABC):
    """One model step: `reads` says how the model is read (generated text, a label
    distribution or likelihoods, see `humpback.tasks.reads`), `record` what `parse` makes."""

    record: ClassVar[type[Record]]  # what `parse` makes; its shard name names the output
    cut_field: ClassVar[str | None] = "text"  # cut by tokens when a prompt is too long
    reads: ReadMode = GENERATE

    def screen(self, record: dict) -> Filtered | None:
        """Why `record` is dropped before any model call, or None (the default) to ask."""
        return None

    def counted(self, outcome: "Outcome") -> list[str]:
        """Counters an outcome adds to the stage's (none by default)."""
        return []

    def input_id(self, record: dict) -> str:
        """What names an input in its dead letter or filtered row."""
        return record["id"]

    @abstractmethod
    def prompt(self, record: dict) -> Messages | list[Continuation]:
        """The chat messages that ask the model about `record` (continuations for likelihood)."""

    @abstractmethod
    def parse(self, record: dict, answer) -> Outcome:
        """The output record for `record` given the model's answer, or why there is none."""

    def outcome(self, record: dict, result) -> Outcome:
        """What the backend's `result` for `record` makes: `parse` of its answer, or the
        backend's error as a rejection."""
        if result.error:
            return Rejected(result.error)
        return self.parse(record, self.reads.answer(result))


@dataclass(frozen=True)
class ModelStep:
    """A task with the model it runs on and that model's inference settings: each step of a
    stage may name its own."""

    task: Task
    model: str
    inference: InferenceConfig

    @property
    def name(self) -> str:
        return type(self.task).__name__


def run_in_process(
    task: Task, backend: ChatBackend, records: list[dict], cfg: InferenceConfig
) -> list[Outcome]:
    """Each record's outcome under a loaded backend, in one call: the stages' prompt, read and
    parse without Beam (the measures run the tasks so)."""
    screened = [task.screen(r) for r in records]
    asked = [r for r, s in zip(records, screened, strict=True) if s is None]
    results = iter(task.reads.infer(backend, [task.prompt(r) for r in asked], cfg) if asked else [])
    return [s or task.outcome(r, next(results)) for r, s in zip(records, screened, strict=True)]
