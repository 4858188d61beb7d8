"""Scores from a scorer's output: the last "Score: N" of a completion, or a label distribution."""

import re

SCORE_PREFIX = "Score:"
SCORE_LABELS = ["1", "2", "3", "4", "5"]
_SCORE_LINE = re.compile(r"score\s*[:=]\s*\**\s*(\d+)", re.IGNORECASE)


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
