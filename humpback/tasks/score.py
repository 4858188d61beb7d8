"""Scoring: a scorer model rates a candidate (instruction, answer) on the paper's 5-point rubric.

In `generate` mode the scorer reasons and ends with "Score: N"; the LAST such line counts and an
answer without one is rejected, never guessed. In `logprobs` mode its next-token distribution over
1..5 after "Score:" is read in one forward pass, and the argmax is the score.
"""

import json
import re
from dataclasses import dataclass
from typing import ClassVar, Literal

from humpback.inference.backend import Messages
from humpback.schemas.records import Scored
from humpback.tasks.reads import GENERATE, ReadLabels, ReadMode
from humpback.tasks.task import Rejected, Task
from humpback.tasks.untrusted import curator_view

SCORE_PREFIX = "Score:"
SCORE_LABELS = ["1", "2", "3", "4", "5"]
SCORE_READ = ReadLabels(SCORE_PREFIX, tuple(SCORE_LABELS))
_SCORE_LINE = re.compile(r"score\s*[:=]\s*\**\s*(\d+)", re.IGNORECASE)

CURATION_REQUEST = """Review the user's instruction and the candidate answer below. Decide how \
good an example the answer is of an AI assistant responding to that instruction, using this \
5-point scale:

1: The answer is incomplete, vague, off-topic, controversial or not what was asked; or it is \
written from another person's perspective (a blog post, a forum thread) or contains promotional, \
navigation or other irrelevant text.
2: The answer addresses most of the request but not directly, for example it only outlines a \
high-level method.
3: The answer is helpful, complete and self-contained, but not written as an AI assistant would \
write it; it reads like a blog post or web page (personal experience, comments, social sharing).
4: The answer is written from an AI assistant's perspective, focused on the instruction, complete, \
clear and well organised, with minor room for improvement.
5: The answer is a perfect AI-assistant answer: focused, without irrelevant sentences, expert, \
well written, logical and engaging.

Instruction:
<instruction>
{instruction}
</instruction>

Answer:
<answer>
{answer}
</answer>

Write a brief reasoning first, then end with a final line of the form "Score: N" where N is 1 \
to 5."""


def curation_prompt(instruction: str, answer: str) -> Messages:
    """Ask a scorer model to rate an (instruction, answer) candidate on the 5-point rubric; it
    reads both through `curator_view`, between delimiters."""
    request = CURATION_REQUEST.format(
        instruction=curator_view(instruction), answer=curator_view(answer)
    )
    return [{"role": "user", "content": request}]


def score_from_completion(text: str) -> int | None:
    """The LAST "Score: N" in the text if N is 1-5; otherwise None (never a guess)."""
    found = _SCORE_LINE.findall(text)
    if not found:
        return None
    score = int(found[-1])
    return score if 1 <= score <= 5 else None


def score_from_distribution(probs: list[float]) -> tuple[int, float]:
    """The most likely score and the expected score under a distribution over 1..5."""
    best = max(range(len(probs)), key=probs.__getitem__)
    return best + 1, sum((i + 1) * p for i, p in enumerate(probs))


@dataclass(frozen=True)
class Score(Task):
    """A candidate becomes a scored candidate, or a rejection when no score can be read."""

    scorer_model: str
    iteration: int
    mode: Literal["generate", "logprobs"] = "generate"
    record: ClassVar = Scored

    @property
    def reads(self) -> ReadMode:
        return SCORE_READ if self.mode == "logprobs" else GENERATE

    def prompt(self, candidate: dict) -> Messages:
        return curation_prompt(candidate["instruction"], candidate["text"])

    def parse(self, candidate: dict, answer: str | list[float]) -> dict | Rejected:
        if self.mode == "logprobs":
            score, expected = score_from_distribution(answer)
            raw = json.dumps(dict(zip(SCORE_LABELS, answer, strict=True)))
        else:
            score, expected, raw = score_from_completion(answer), None, answer
        if score is None:
            return Rejected("unparsable_score", raw)
        return Scored(
            **candidate,
            score=score,
            expected_score=expected,
            scorer_raw=raw,
            scorer_model=self.scorer_model,
            iteration=self.iteration,
        ).model_dump()
