"""What a model step is: a prompt built from a record, and a record parsed from the answer."""

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar, Literal

from humpback.inference.backend import Continuation, Messages
from humpback.schemas.records import Record


@dataclass(frozen=True)
class Rejected:
    """An answer that makes no record, and why; it becomes a dead letter."""

    error: str
    raw: str = ""


@dataclass(frozen=True)
class Filtered:
    """A valid answer whose record the task drops, and why: counted `filtered:<reason>` and
    kept in the stage's `filtered` shards."""

    reason: str
    raw: str = ""


Reads = Literal["text", "labels", "likelihood"]


class Task(ABC):
    """One model step. A task reads `"text"` (the model generates; `parse` gets the completion),
    `"labels"` (one forward pass reads the next-token distribution over `labels` after
    `answer_prefix`; `parse` gets their probabilities) or `"likelihood"` (`prompt` gives
    continuations, (prompt, text) pairs; `parse` gets each text's summed log-probability after
    its prompt and its token count)."""

    record: ClassVar[type[Record]]  # what `parse` makes; its shard name names the output
    cut_field: ClassVar[str] = "text"  # the input field cut by tokens when a prompt is too long
    reads: Reads = "text"
    answer_prefix: str = ""
    labels: tuple[str, ...] = ()

    @abstractmethod
    def prompt(self, record: dict) -> Messages | list[Continuation]:
        """The chat messages that ask the model about `record` (continuations for likelihood)."""

    @abstractmethod
    def parse(self, record: dict, answer) -> dict | Rejected | Filtered:
        """The output record for `record` given the model's answer, or why there is none."""
