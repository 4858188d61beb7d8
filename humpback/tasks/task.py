"""What a model step is: a prompt built from a record, and a record parsed from the answer."""

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar, Literal

from humpback.inference.backend import Messages
from humpback.schemas.records import Record


@dataclass(frozen=True)
class Rejected:
    """An answer that makes no record, and why; it becomes a dead letter."""

    error: str
    raw: str = ""


class Task(ABC):
    """One model step. A task reads `"text"` (the model generates; `parse` gets the completion)
    or `"labels"` (one forward pass reads the next-token distribution over `labels` after
    `answer_prefix`; `parse` gets their probabilities)."""

    record: ClassVar[type[Record]]  # what `parse` makes; its shard name names the output
    cut_field: ClassVar[str] = "text"  # the input field cut by tokens when a prompt is too long
    reads: Literal["text", "labels"] = "text"
    answer_prefix: str = ""
    labels: tuple[str, ...] = ()

    @abstractmethod
    def prompt(self, record: dict) -> Messages:
        """The chat messages that ask the model about `record`."""

    @abstractmethod
    def parse(self, record: dict, answer: str | list[float]) -> dict | Rejected:
        """The output record for `record` given the model's answer, or why there is none."""
