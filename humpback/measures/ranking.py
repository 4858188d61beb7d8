"""How well a score separates positives from negatives."""

from collections.abc import Sequence


def auc(positives: Sequence[float], negatives: Sequence[float]) -> float | None:
    """The probability that a random positive scores above a random negative (ties count
    half): the area under the ROC curve. None without both."""
    if not positives or not negatives:
        return None
    wins = sum((p > n) + 0.5 * (p == n) for p in positives for n in negatives)
    return wins / (len(positives) * len(negatives))


def precision_recall(kept_positive: Sequence[bool], kept_negative: Sequence[bool]) -> dict:
    """Precision and recall of a keep decision: positives kept over all kept, and over all
    positives."""
    tp, fp = sum(kept_positive), sum(kept_negative)
    return {
        "precision": tp / (tp + fp) if tp + fp else None,
        "recall": tp / len(kept_positive) if kept_positive else None,
        "kept": tp + fp,
    }


def percentile_ranks(values: Sequence[float]) -> list[float]:
    """Each value's rank in [0, 1] (ties share their mean rank)."""
    order = sorted(values)
    n = len(values)
    if n < 2:
        return [0.5] * n
    first = {}
    for i, v in enumerate(order):
        first.setdefault(v, i)
    last = {v: i for i, v in enumerate(order)}
    return [(first[v] + last[v]) / 2 / (n - 1) for v in values]
