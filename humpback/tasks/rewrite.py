"""Rewriting (Nguyen et al. 2024, "Better Alignment with Instruction Back-and-Forth
Translation"): a model rewrites each curated web answer into a clear assistant-style answer to
its instruction, keeping the segment's facts; on AlpacaEval that beat the curated web answers.

The rewritten answer goes to the SFT row and the web answer stays beside it as provenance
(`original`). A rewrite that drops the segment's content (much shorter than the segment, or a
refusal) is filtered with its reason, and the row is kept as it was.
"""

import re
from dataclasses import dataclass
from typing import ClassVar

from humpback.inference.backend import Messages
from humpback.schemas.records import SFTExample
from humpback.tasks.task import Filtered, Task

REWRITE_REQUEST = """Below are an instruction and an answer to it taken from a web page. Rewrite \
the answer as a helpful AI assistant would write it in reply to the instruction: keep every fact, \
step and figure of the web answer that serves the instruction, leave out what does not (menus, \
advertising, personal asides, other topics), and add nothing the web answer does not say. Reply \
with the rewritten answer only.

Instruction:
<instruction>
{instruction}
</instruction>

Web answer:
<answer>
{answer}
</answer>"""
REFUSAL = re.compile(
    r"^\W*(?:I'?m sorry|I am sorry|sorry\b|I (?:cannot|can'?t|am unable|'m unable|won'?t)\b|"
    r"As an AI\b|Unfortunately,? I\b)",
    re.IGNORECASE,
)


class Rewritten(SFTExample):
    """A curated row after the rewrite stage: `original` is the web answer it replaced, or
    null when the rewrite was filtered and the row kept as it was."""

    original: str | None = None


@dataclass(frozen=True)
class Rewrite(Task):
    """A curated row becomes the same row with its answer rewritten, or stays as it was."""

    rewriter: str
    min_length_ratio: float = 0.3
    record: ClassVar = Rewritten
    cut_field: ClassVar = None  # the answer is in `messages`: an overlong row is dead-lettered

    def input_id(self, row: dict) -> str:
        return row["segment_id"] or ""

    def prompt(self, row: dict) -> Messages:
        instruction, answer = (m["content"] for m in row["messages"][-2:])
        return [{"role": "user",
                 "content": REWRITE_REQUEST.format(instruction=instruction, answer=answer)}]

    def parse(self, row: dict, answer: str) -> dict | Filtered:
        rewrite, original = answer.strip(), row["messages"][-1]["content"]
        if REFUSAL.match(rewrite):
            reason = "rewrite_refused"
        elif len(rewrite) < self.min_length_ratio * len(original):
            reason = "rewrite_too_short"
        else:
            messages = [*row["messages"][:-1], {"role": "assistant", "content": rewrite}]
            return Rewritten(**{**row, "messages": messages, "original": original}).model_dump()
        return Filtered(reason, rewrite, Rewritten(**row).model_dump())
