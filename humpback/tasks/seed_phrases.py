"""The phrases of the backward model's training instructions, and the check that a written
instruction did not take one over.

A small M_yx trained a few steps on a few dozen pairs repeats phrases of single training
instructions whatever its segment says: of one fresh quickstart's 47 candidates, 9 asked for "a
short paper" or "a short story" about their segment's subject, each phrase from one seed
instruction ("I am writing a short paper about revolutionary weapons ..."), and none of the 9
was usable. Demonstrations are not needed for a topic to take over; training is enough. So an
instruction that holds a phrase of a training instruction (two adjacent words that can carry a
topic, as stems), whose words its segment does not hold, is `borrows_seed`. Common collocations
match by chance ("command line", "real life"): 1.9% of LIMA's human pairs against the
OpenAssistant seed's instructions.
"""

import itertools
import re
from dataclasses import dataclass

from humpback.tasks.demonstrations import common_stems, content_stems, stem
from humpback.tasks.instruction_form import FUNCTION_WORDS, QUESTION_WORDS, REQUEST_VERBS

Phrase = tuple[str, str]

_LETTERS = re.compile(r"[^\W\d_]+")
MIN_LETTERS = 3  # shorter words are mostly function words and abbreviations
_NAMES_NOTHING = frozenset(FUNCTION_WORDS | QUESTION_WORDS | REQUEST_VERBS)


def phrases(text: str, common: frozenset[str] = frozenset()) -> set[Phrase]:
    """The stems of each two adjacent words of `text` that can carry a topic (three letters or
    more, no function word, question word or request verb), unless both stems are `common`."""
    words = _LETTERS.findall(text.lower())
    found = set()
    for first, second in itertools.pairwise(words):
        if first in _NAMES_NOTHING or second in _NAMES_NOTHING:
            continue
        if min(len(first), len(second)) < MIN_LETTERS:
            continue
        phrase = (stem(first), stem(second))
        if not (phrase[0] in common and phrase[1] in common):
            found.add(phrase)
    return found


@dataclass(frozen=True)
class SeedPhrases:
    """The phrases of the instructions the backward model trained on."""

    phrases: frozenset[Phrase] = frozenset()
    common: frozenset[str] = frozenset()

    @classmethod
    def of(cls, instructions: list[str]) -> "SeedPhrases":
        """The phrases of `instructions`; a pair of stems each in 5% of them says nothing."""
        common = common_stems(instructions)
        return cls(frozenset(p for text in instructions for p in phrases(text, common)), common)

    def borrowed(self, instruction: str, text: str) -> set[Phrase]:
        """The training phrases `instruction` holds whose words `text` does not both hold."""
        taken = phrases(instruction, self.common) & self.phrases
        if not taken:
            return set()
        present = content_stems(text)
        return {p for p in taken if not (p[0] in present and p[1] in present)}


NO_SEED_PHRASES = SeedPhrases()
