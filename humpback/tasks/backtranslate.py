"""Backtranslation: the backward model M_yx writes the instruction that a web segment answers.

The prompt is in our own words, with the paper's semantics; the model's chat template renders it.
"""

from dataclasses import dataclass
from typing import ClassVar

from humpback.inference.backend import Messages
from humpback.schemas.records import Candidate
from humpback.tasks.task import Rejected, Task

BACKWARD_REQUEST = (
    "Below is a response. Write the instruction or question that this response would answer "
    "best. Reply with the instruction only.\n\nResponse:\n{output}"
)


def backward_prompt(output: str) -> Messages:
    """Ask the backward model M_yx for the instruction that `output` answers."""
    return [{"role": "user", "content": BACKWARD_REQUEST.format(output=output)}]


def clean_instruction(text: str) -> str:
    """Trim a generated instruction: whitespace, wrapping quotes, a leading 'Instruction:' label."""
    text = text.strip()
    label, sep, rest = text.partition(":")
    if sep and label.strip().lower() in {"instruction", "question"}:
        text = rest.strip()
    return text.strip("\"'").strip()


@dataclass(frozen=True)
class Backtranslate(Task):
    """A segment becomes a candidate: its text is the answer, the instruction is generated."""

    backward_model: str
    record: ClassVar = Candidate

    def prompt(self, segment: dict) -> Messages:
        return backward_prompt(segment["text"])

    def parse(self, segment: dict, answer: str) -> dict | Rejected:
        instruction = clean_instruction(answer)
        if not instruction:
            return Rejected("empty_instruction", answer)
        return Candidate(
            **segment, instruction=instruction, backward_model=self.backward_model
        ).model_dump()
