"""Comparing: a judge model says which of two answers to an instruction is better.

The record is a pair {id, instruction, dataset, generator, output_1 (the reference's answer),
output_2 (the model's), model_first, annotated}; `model_first` says which answer is shown as A.
`ranking`: the judge writes a verdict; the LAST "Better: A|B" counts, and an answer with none,
or with both letters, is rejected (counted, never guessed). `logprobs`: the judge's next-token
probabilities of "A" and "B" after "Better:", renormalised over the two.
"""

import json
import re
from dataclasses import dataclass
from typing import ClassVar, Literal

from humpback.inference.backend import Messages
from humpback.schemas.records import Judgment
from humpback.tasks.reads import GENERATE, ReadLabels, ReadMode
from humpback.tasks.task import Rejected, Task

VERDICT_PREFIX = "Better:"
VERDICT_LABELS = ("A", "B")
VERDICT_READ = ReadLabels(VERDICT_PREFIX, VERDICT_LABELS)
_VERDICT = re.compile(r"better\s*:\s*\**\s*(?:answer\s*)?\(?([ab])\)?(?![a-z])", re.IGNORECASE)

COMPARISON_REQUEST = """Two assistants answered the same instruction. Decide which answer serves \
the person who wrote the instruction better: it does what was asked, is correct, relevant, clear \
and complete. Which answer comes first, and which is longer, must not matter.

Instruction:
{instruction}

Answer A:
{first}

Answer B:
{second}

Reply with one line: "Better: A" or "Better: B"."""


def comparison_prompt(instruction: str, first: str, second: str) -> Messages:
    return [
        {
            "role": "user",
            "content": COMPARISON_REQUEST.format(
                instruction=instruction, first=first, second=second
            ),
        }
    ]


def verdict_from_completion(text: str) -> str | None:
    """A or B when every "Better: X" in the text names the same one; otherwise None."""
    found = {m.upper() for m in _VERDICT.findall(text)}
    return found.pop() if len(found) == 1 else None


@dataclass(frozen=True)
class Compare(Task):
    """A pair becomes one judgment in the order it names, or a rejection."""

    judge: str
    form: Literal["ranking", "logprobs"] = "logprobs"
    answer_chars: int | None = None  # each answer cut to this many characters, both alike
    record: ClassVar = Judgment
    cut_field: ClassVar[str] = "output_2"

    @property
    def reads(self) -> ReadMode:
        return VERDICT_READ if self.form == "logprobs" else GENERATE

    def prompt(self, pair: dict) -> Messages:
        first, second = (pair[k][: self.answer_chars] for k in ("output_1", "output_2"))
        if pair["model_first"]:
            first, second = second, first
        return comparison_prompt(pair["instruction"], first, second)

    def parse(self, pair: dict, answer: str | list[float]) -> dict | Rejected:
        if self.form == "logprobs":
            total = sum(answer)
            if not total > 0:
                return Rejected("no_verdict_probability", json.dumps(answer))
            p_first = answer[0] / total
            raw = json.dumps(dict(zip(VERDICT_LABELS, answer, strict=True)))
        else:
            verdict, raw = verdict_from_completion(answer), answer
            if verdict is None:
                return Rejected("unparsable_verdict", raw)
            p_first = 1.0 if verdict == "A" else 0.0
        p_model = p_first if pair["model_first"] else 1.0 - p_first
        return Judgment(**pair, p_model=p_model, judge=self.judge, raw=raw).model_dump()
