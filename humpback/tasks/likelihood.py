"""Likelihood tasks: how well an instruction and its answer fit, read from a model's
log-probabilities instead of a rubric it would have to follow.

- `InstructionPMI`, under the backward model M_yx: the pointwise mutual information of the
  instruction x and the answer y, (log p(x | y) - log p(x)) / |x| nats per instruction token,
  where p(x) is asked with an empty response. Near 0 when the answer says nothing of the
  instruction (a mismatched pair), high when the instruction is specific to the answer.
- `AnswerIFD`, under a forward model (the scorer): the instruction-following difficulty of
  Li et al. (2023), the perplexity of y given x over the perplexity of y alone. Below 1 when the
  instruction helps predict the answer; about 1 or more when it does not.
"""

import math
from dataclasses import dataclass
from typing import ClassVar

from humpback.inference.backend import Continuation, Messages
from humpback.schemas.records import Candidate, Scored
from humpback.tasks.backtranslate import backward_prompt
from humpback.tasks.demonstrations import NO_DEMONSTRATIONS, Demonstration, Demonstrations
from humpback.tasks.reads import LIKELIHOOD
from humpback.tasks.task import Rejected, Task
from humpback.tasks.untrusted import curator_view

NO_PROMPT: Messages = [{"role": "user", "content": ""}]
LogProbs = tuple[list[float], list[int]]  # summed log-probabilities, token counts


def pmi(instruction: str, answer: str, demonstrations: tuple[Demonstration, ...] = ()):
    """The continuations whose log-probabilities give the PMI: x after y, and x alone (both
    read through `curator_view`)."""
    instruction, answer = curator_view(instruction), curator_view(answer)
    return [
        (backward_prompt(answer, demonstrations), instruction),
        (backward_prompt("", demonstrations), instruction),
    ]


def pmi_from(answer: LogProbs) -> float | None:
    (given, alone), (tokens, _) = answer
    return (given - alone) / tokens if tokens else None


def ifd(instruction: str, answer: str) -> list[Continuation]:
    """The continuations whose log-probabilities give the IFD: y after x, and y alone (both
    read through `curator_view`)."""
    instruction, answer = curator_view(instruction), curator_view(answer)
    return [([{"role": "user", "content": instruction}], answer), (NO_PROMPT, answer)]


def ifd_from(answer: LogProbs) -> float | None:
    (given, alone), (tokens, _) = answer
    return math.exp((alone - given) / tokens) if tokens else None


@dataclass(frozen=True)
class InstructionPMI(Task):
    """A candidate gets its PMI under M_yx (the model that wrote its instruction), after the
    demonstrations its instruction was written after. With alternatives, each gets one, and
    the likeliest (the first among equals) becomes the instruction."""

    demonstrations: Demonstrations = NO_DEMONSTRATIONS
    record: ClassVar = Candidate
    reads: ClassVar = LIKELIHOOD

    @staticmethod
    def written(candidate: dict) -> list[str]:
        """The candidate's instruction, then its alternatives."""
        return [candidate["instruction"], *candidate.get("alternatives", [])]

    def prompt(self, candidate: dict) -> list[Continuation]:
        shown = self.demonstrations.shown(candidate["id"], candidate["text"])
        return [c for x in self.written(candidate) for c in pmi(x, candidate["text"], shown)]

    def parse(self, candidate: dict, answer: LogProbs) -> dict | Rejected:
        logprobs, tokens = answer
        written = self.written(candidate)
        values = [pmi_from((logprobs[2 * i : 2 * i + 2], tokens[2 * i : 2 * i + 2]))
                  for i in range(len(written))]  # fmt: skip
        scored = [(v, i) for i, v in enumerate(values) if v is not None]
        if not scored:
            return Rejected("empty_instruction")
        value, best = max(scored, key=lambda s: (s[0], -s[1]))
        others = [x for i, x in enumerate(written) if i != best]
        fields = {"instruction": written[best], "alternatives": others, "pmi": value}
        return Candidate(**{**candidate, **fields}).model_dump()


@dataclass(frozen=True)
class AnswerIFD(Task):
    """A candidate (scored or not) gets its IFD under the scorer."""

    scorer_model: str
    iteration: int
    record: ClassVar = Scored
    reads: ClassVar = LIKELIHOOD

    def prompt(self, candidate: dict) -> list[Continuation]:
        return ifd(candidate["instruction"], candidate["text"])

    def parse(self, candidate: dict, answer: LogProbs) -> dict | Rejected:
        value = ifd_from(answer)
        if value is None:
            return Rejected("empty_answer")
        fields = {"ifd": value, "scorer_model": self.scorer_model, "iteration": self.iteration}
        return Scored(**{**candidate, **fields}).model_dump()
