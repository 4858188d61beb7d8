"""The seed pairs shown to the backward model before a segment, and the check that its
instruction did not take one of them over.

One fixed set shown before every segment lends its topic to the instructions: with the same three
pairs before each of 67 segments, 27 instructions asked about one demonstration's fantasy kingdom.
So the pairs are drawn per segment (seeded by the segment's id: a rerun shows the same ones), or
chosen as the pool's outputs nearest the segment's text; and an instruction that shares content
words with a shown demonstration's instruction, words the segment does not contain, is dropped
as `borrows_demonstration`.
"""

import hashlib
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import cache, lru_cache

from nltk.stem.porter import PorterStemmer

from humpback.inference.embedding import embed
from humpback.schemas.config import DemonstrationsConfig
from humpback.tasks.instruction_form import QUESTION_WORDS, REQUEST_VERBS, form_problem

Demonstration = tuple[str, str]  # (instruction, output)

_WORD = re.compile(r"[^\W\d_]{3,}")
COMMON_SHARE = 0.05  # a word in this share of the seed instructions says nothing of a topic
BORROW_MIN = 2  # content words taken from one demonstration, not found in the segment


@cache
def stem(word: str) -> str:
    return PorterStemmer().stem(word)


def content_stems(text: str, common: frozenset[str] = frozenset()) -> set[str]:
    """The stems of the words of `text` that can carry a topic: three letters or more, not a
    question word or request verb, not `common`."""
    words = {w for w in _WORD.findall(text.lower()) if w not in QUESTION_WORDS}
    return {s for s in map(stem, words - REQUEST_VERBS) if s not in common}


def common_stems(instructions: list[str]) -> frozenset[str]:
    """Stems found in at least `COMMON_SHARE` of `instructions` (and in two of them or more)."""
    df = Counter(s for text in instructions for s in content_stems(text))
    floor = max(2, COMMON_SHARE * len(instructions))
    return frozenset(s for s, n in df.items() if n >= floor)


@dataclass(frozen=True)
class Demonstrations:
    """A pool of seed pairs and how `count` of them are chosen for one segment: `per_segment`
    (a draw seeded by the segment's id), `similar` (the outputs nearest the segment's text, by a
    bundled embedding model) or a fixed set (`shortest`, `random`: the pool is that set)."""

    pool: tuple[Demonstration, ...] = ()
    count: int = 0
    choose: str = "per_segment"
    seed: int = 0
    common: frozenset[str] = field(default=frozenset(), repr=False)

    def shown(self, key: str, text: str = "") -> tuple[Demonstration, ...]:
        """The demonstrations shown before the segment `key` (its id) whose text is `text`."""
        if self.count == 0 or not self.pool:
            return ()
        if self.choose == "per_segment" and len(self.pool) > self.count:
            digest = hashlib.sha256(f"{self.seed}:{key}".encode()).digest()
            return tuple(random.Random(digest).sample(self.pool, self.count))
        if self.choose == "similar" and len(self.pool) > self.count:
            return nearest(self.pool, text, self.count)
        return self.pool[: self.count]

    def borrowed(self, instruction: str, text: str, key: str) -> set[str]:
        """The content stems `instruction` shares with the instruction of one demonstration
        shown before `text` (the most of any) and that `text` does not contain."""
        own = content_stems(instruction, self.common) - content_stems(text)
        shared = [own & content_stems(shown, self.common) for shown, _ in self.shown(key, text)]
        return max(shared, key=len, default=set())

    def borrows(self, instruction: str, text: str, key: str) -> bool:
        return len(self.borrowed(instruction, text, key)) >= BORROW_MIN


NO_DEMONSTRATIONS = Demonstrations()


@lru_cache(maxsize=1024)  # asked for one segment's prompt, its borrow check and its PMI
def nearest(pool: tuple[Demonstration, ...], text: str, count: int) -> tuple[Demonstration, ...]:
    """The `count` pairs of `pool` whose outputs are nearest `text` in wordllama's embedding."""
    outputs = embed(tuple(output for _, output in pool))
    similarity = outputs @ embed((text,))[0]
    order = sorted(range(len(pool)), key=lambda i: (-similarity[i], i))
    return tuple(pool[i] for i in order[:count])


def choose_demonstrations(pairs: list[dict], cfg: DemonstrationsConfig) -> Demonstrations:
    """The pool of seed pairs ({instruction, output}) whose instruction is well formed and whose
    output fits `cfg.max_chars`; for a fixed choice, the `cfg.count` shortest or a seeded draw.
    Common words are counted over every pair's instruction."""
    fitting = [
        p for p in pairs
        if len(p["output"]) <= cfg.max_chars and form_problem(p["instruction"], p["output"]) is None
    ]  # fmt: skip
    fitting.sort(key=lambda p: (len(p["output"]), p["instruction"]))
    if cfg.choose == "random":
        fitting = random.Random(cfg.seed).sample(fitting, min(cfg.count, len(fitting)))
    if cfg.choose in ("random", "shortest"):
        fitting = fitting[: cfg.count]
    return Demonstrations(
        tuple((p["instruction"], p["output"]) for p in fitting),
        cfg.count,
        cfg.choose,
        cfg.seed,
        common_stems([p["instruction"] for p in pairs]),
    )
