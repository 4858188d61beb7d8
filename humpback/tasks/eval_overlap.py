"""Decontamination: does an instruction overlap an evaluation prompt?

Text is compared as lower-cased word sequences. An instruction overlaps a prompt when the two
are equal, when they share a word n-gram (n = `ngram`), or when a prompt shorter than n words
(of at least `min_words`) appears whole inside the instruction.
"""

import re
from collections.abc import Iterable

_WORD = re.compile(r"\w+")


def words(text: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(text.lower()))


def _grams(seq: tuple[str, ...], n: int) -> Iterable[tuple[str, ...]]:
    return (seq[i : i + n] for i in range(len(seq) - n + 1))


class EvalOverlap:
    """Built once from the evaluation prompts; called with an instruction."""

    def __init__(self, prompts: Iterable[str], ngram: int = 8, min_words: int = 3):
        self.ngram = ngram
        self.exact: set[tuple[str, ...]] = set()
        self.grams: set[tuple[str, ...]] = set()
        self.short: dict[int, set[tuple[str, ...]]] = {}  # whole short prompts by length
        for prompt in prompts:
            seq = words(prompt)
            self.exact.add(seq)
            if len(seq) >= ngram:
                self.grams.update(_grams(seq, ngram))
            elif len(seq) >= min_words:
                self.short.setdefault(len(seq), set()).add(seq)

    def __len__(self) -> int:
        return len(self.exact)

    def __call__(self, instruction: str) -> bool:
        seq = words(instruction)
        if seq in self.exact:
            return True
        if any(g in self.grams for g in _grams(seq, self.ngram)):
            return True
        return any(g in found for n, found in self.short.items() for g in _grams(seq, n))
