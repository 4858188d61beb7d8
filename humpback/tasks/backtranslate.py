"""Backtranslation: the backward model M_yx writes the instruction that a web segment answers.

The prompt is in our own words, with the paper's semantics; the model's chat template renders
it. Seed pairs may precede it as demonstrations (earlier turns of the same request, answered
with their instructions), which turns a small model's replies from summaries into requests; they
are chosen per segment (`demonstrations`). M_yx writes `samples` answers per segment; each is
kept up to its first question (`first_request`); one that is not a well-formed instruction is
dropped with its reason (`instruction_form`), one that takes a shown demonstration's topic as
`borrows_demonstration`, one that takes a phrase of M_yx's training instructions that its
segment does not hold as `borrows_seed` (`seed_phrases`), and a request for how to do something
whose segment tells nobody how as `unanswered_how_to` (`how_to`). The first that remains is the
instruction, the others its alternatives (the PMI step keeps the likeliest); a segment none
remains for is dropped with the reason of the answer that came nearest (the first well-formed
one, else the first filtered; a dead letter when every answer was empty), every other answer's
reason counted as well. A segment that can answer no request (`answer_screen`) is dropped as
`not_an_answer` before the model is asked.
"""

import re
from dataclasses import dataclass, replace
from typing import ClassVar

from humpback.inference.backend import Messages
from humpback.schemas.config import AugmentConfig
from humpback.schemas.records import Candidate
from humpback.tasks.answer_screen import NOT_AN_ANSWER, not_an_answer
from humpback.tasks.demonstrations import (
    NO_DEMONSTRATIONS,
    Demonstration,
    Demonstrations,
    choose_demonstrations,
)
from humpback.tasks.how_to import UNANSWERED_HOW_TO, unanswered_how_to
from humpback.tasks.instruction_form import form_problem
from humpback.tasks.reads import GenerateSamples, ReadMode
from humpback.tasks.seed_phrases import NO_SEED_PHRASES, SeedPhrases
from humpback.tasks.task import Filtered, Rejected, Task

# why a well-formed instruction is dropped: for its fit to the segment, not for its form
FIT_REASONS = ("borrows_demonstration", "borrows_seed", UNANSWERED_HOW_TO)

BACKWARD_REQUEST = (
    "Below is a response. Write the instruction or question that this response would answer "
    "best. Reply with the instruction only.\n\nResponse:\n{output}"
)


def backward_prompt(output: str, demonstrations: tuple[Demonstration, ...] = ()) -> Messages:
    """Ask the backward model M_yx for the instruction that `output` answers, after showing it
    each demonstration's output answered with its instruction."""
    turns: Messages = []
    for instruction, shown in demonstrations:
        turns += [
            {"role": "user", "content": BACKWARD_REQUEST.format(output=shown)},
            {"role": "assistant", "content": instruction},
        ]
    return [*turns, {"role": "user", "content": BACKWARD_REQUEST.format(output=output)}]


def checks_from_seed(pairs: list[dict], cfg: AugmentConfig) -> tuple[Demonstrations, SeedPhrases]:
    """From M_yx's training pairs: the demonstrations the backward prompt shows, and the phrases
    of their instructions (`borrows_seed`)."""
    shown = choose_demonstrations(pairs, cfg.demonstrations)
    return shown, SeedPhrases.of([p["instruction"] for p in pairs])


def clean_instruction(text: str) -> str:
    """Trim a generated instruction: whitespace, wrapping quotes, a leading label
    ('Instruction:', 'Question:', or a transcript's 'Q:' or 'A:')."""
    text = text.strip()
    label, sep, rest = text.partition(":")
    if sep and label.strip().lower() in {"instruction", "question", "q", "a"}:
        text = rest.strip()
    return text.strip("\"'").strip()


_QUESTION_END = re.compile(r"[?？](?=\s|$)")
_SENTENCE_END = re.compile(r"[.!?。！？](?=\s|$)")


def first_request(text: str) -> str:
    """The instruction up to its first question (with what leads into it), else without an
    unfinished last sentence. A small backward model runs on past its request, question after
    question, drifting from its segment, until `max_new_tokens` cuts it mid-sentence."""
    if question := _QUESTION_END.search(text):
        return text[: question.end()]
    ends = list(_SENTENCE_END.finditer(text))
    return text[: ends[-1].end()] if ends else text


@dataclass(frozen=True)
class Backtranslate(Task):
    """A segment becomes a candidate: its text is the answer, the instruction is generated."""

    backward_model: str
    demonstrations: Demonstrations = NO_DEMONSTRATIONS
    check_form: bool = True
    check_borrow: bool = True
    check_answer: bool = True
    check_how_to: bool = True
    samples: int = 1
    seed_phrases: SeedPhrases = NO_SEED_PHRASES  # of the instructions M_yx trained on
    record: ClassVar = Candidate

    @classmethod
    def configured(
        cls,
        backward_model: str,
        cfg: AugmentConfig,
        demonstrations: Demonstrations = NO_DEMONSTRATIONS,
        seed_phrases: SeedPhrases = NO_SEED_PHRASES,
    ) -> "Backtranslate":
        """The task with the checks and draws augment's config sets."""
        return cls(backward_model, demonstrations, cfg.check_form, cfg.check_borrow,
                   cfg.check_answer, cfg.check_how_to, cfg.samples, seed_phrases)  # fmt: skip

    @property
    def reads(self) -> ReadMode:
        return GenerateSamples(self.samples)

    def screen(self, segment: dict) -> Filtered | None:
        rule = not_an_answer(segment["text"]) if self.check_answer else None
        return Filtered(NOT_AN_ANSWER, rule) if rule else None

    def prompt(self, segment: dict) -> Messages:
        shown = self.demonstrations.shown(segment["id"], segment["text"])
        return backward_prompt(segment["text"], shown)

    def parse(self, segment: dict, answers: list[str]) -> dict | Rejected | Filtered:
        outcomes = [self._instruction(segment, answer) for answer in answers]
        kept = list(dict.fromkeys(o for o in outcomes if isinstance(o, str)))
        dropped = [outcome_reason(o) for o in outcomes if not isinstance(o, str)]
        if not kept:  # dropped by the draw that came nearest: a well-formed one, else any
            filtered = sorted((o for o in outcomes if isinstance(o, Filtered)),
                              key=lambda o: o.reason not in FIT_REASONS)  # fmt: skip
            first = filtered[0] if filtered else outcomes[0]
            others = [outcome_reason(o) for o in outcomes
                      if o is not first and not isinstance(o, str)]  # fmt: skip
            return replace(first, also=tuple(others)) if isinstance(first, Filtered) else first
        return Candidate(**segment, instruction=kept[0], alternatives=kept[1:], dropped=dropped,
                         backward_model=self.backward_model).model_dump()  # fmt: skip

    def counted(self, outcome) -> list[str]:
        """`dropped_draw:<reason>` for each draw dropped besides the one a dropped segment is
        filtered by (its reason is the segment's): with `filtered:<reason>`, every draw's reason
        is counted. Without the borrow check, `kept_draw:<reason>` for each kept draw that
        borrows: the borrow rate is measured whether or not the check drops."""
        if isinstance(outcome, Filtered):
            return [f"dropped_draw:{reason}" for reason in outcome.also]
        if not isinstance(outcome, dict):
            return []
        counted = [f"dropped_draw:{reason}" for reason in outcome["dropped"]]
        if not self.check_borrow:
            drawn = [outcome["instruction"], *outcome["alternatives"]]
            counted += [f"kept_draw:{r}" for x in drawn if (r := self._borrows(x, outcome))]
        return counted

    def _instruction(self, segment: dict, answer: str) -> str | Rejected | Filtered:
        """One answer's instruction, or why it is none."""
        instruction = first_request(clean_instruction(answer))
        if not instruction:
            return Rejected("empty_instruction", answer)
        if self.check_form:
            problem = form_problem(instruction, segment["text"], BACKWARD_REQUEST)
            if problem:
                return Filtered(problem, instruction)
        if self.check_borrow and (borrows := self._borrows(instruction, segment)):
            return Filtered(borrows, instruction)
        if self.check_how_to and unanswered_how_to(instruction, segment["text"]):
            return Filtered(UNANSWERED_HOW_TO, instruction)
        return instruction

    def _borrows(self, instruction: str, segment: dict) -> str | None:
        """Whether the instruction takes a shown demonstration's topic or a phrase of M_yx's
        training instructions that its segment lacks: the reason, or None."""
        if self.demonstrations.borrows(instruction, segment["text"], segment["id"]):
            return "borrows_demonstration"
        if self.seed_phrases.borrowed(instruction, segment["text"]):
            return "borrows_seed"
        return None


def outcome_reason(outcome: Rejected | Filtered) -> str:
    """Why a draw or a record was dropped: a filtered one's reason, a rejected one's error."""
    return outcome.reason if isinstance(outcome, Filtered) else outcome.error
