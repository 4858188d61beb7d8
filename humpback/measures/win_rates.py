"""Win rates from pairwise judgments, as AlpacaEval computes them, and what a judge is worth.

A pair's preference is AlpacaEval's: 1 when the reference's answer is better, 2 when the
model's is, 1.5 for a tie; here 1 + the mean over the pair's judged orders of the judge's
probability that the model's answer is better (a written verdict is 0 or 1, so two orders that
disagree make a tie). The win rate is the mean of (preference - 1), in percent, and its standard
error the standard error of that mean (ddof 1), as in AlpacaEval.
"""

import math
from collections import defaultdict

import numpy as np


def prompt_id(judgment: dict) -> str:
    """The prompt a judgment is about: its pair id is `<generator>/<prompt id>`."""
    return judgment["id"].removeprefix(f"{judgment['generator']}/")


def preferences(judgments: list[dict]) -> dict[str, dict[str, float]]:
    """generator -> prompt id -> preference in [1, 2]."""
    by_pair: dict[tuple[str, str], list[float]] = defaultdict(list)
    for j in judgments:
        by_pair[j["generator"], prompt_id(j)].append(j["p_model"])
    found: dict[str, dict[str, float]] = defaultdict(dict)
    for (generator, pair), p in sorted(by_pair.items()):
        found[generator][pair] = 1 + sum(p) / len(p)
    return dict(found)


def win_rate(prefs: list[float]) -> dict:
    """AlpacaEval's figures for a list of preferences in [1, 2]."""
    wins = np.asarray(prefs, dtype=float) - 1
    n = len(wins)
    se = float(wins.std(ddof=1) / math.sqrt(n)) * 100 if n > 1 else None
    return {
        "win_rate": float(wins.sum() / n) * 100 if n else None,
        "standard_error": se,
        "n_wins": int((wins > 0.5).sum()),
        "n_wins_base": int((wins < 0.5).sum()),
        "n_draws": int((wins == 0.5).sum()),
        "n_total": n,
    }


def position_bias(judgments: list[dict]) -> dict:
    """How much the order of the answers decides: the judge's mean probability of preferring
    the answer shown first, the share of judgments preferring it, and, over pairs judged in
    both orders, the share whose verdict flips with the order."""
    if not judgments:
        return {"p_first": None, "first_preferred": None, "flip_rate": None, "pairs_both_orders": 0}
    p_first = [j["p_model"] if j["model_first"] else 1 - j["p_model"] for j in judgments]
    verdicts: dict[tuple[str, str], dict[bool, bool]] = defaultdict(dict)
    for j in judgments:
        verdicts[j["generator"], j["id"]][j["model_first"]] = j["p_model"] > 0.5
    both = [v for v in verdicts.values() if len(v) == 2]
    return {
        "p_first": float(np.mean(p_first)),
        "first_preferred": float(np.mean([p > 0.5 for p in p_first])),
        "flip_rate": float(np.mean([v[True] != v[False] for v in both])) if both else None,
        "pairs_both_orders": len(both),
    }


def paired_difference(a: dict[str, float], b: dict[str, float], samples: int = 2000,
                      seed: int = 0, scale: float = 100) -> dict:  # fmt: skip
    """The mean of b minus a over the prompts both have (win rates: preferences, in points of
    `scale`), with a paired bootstrap 95% interval (prompts resampled, both kept together)."""
    common = sorted(set(a) & set(b))
    if len(common) < 2:
        return {"difference": None, "low": None, "high": None, "prompts": len(common)}
    diff = np.array([b[k] - a[k] for k in common]) * scale
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, len(diff), (samples, len(diff)))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return {"difference": float(diff.mean()), "low": float(low), "high": float(high),
            "prompts": len(common)}  # fmt: skip


def agreement(judgments: list[dict]) -> dict:
    """Agreement of the judge's verdicts with annotated preferences (AlpacaEval: 1 reference,
    2 model, 0 draw): 1 when they match, 0.5 when either is a draw, 0 otherwise; next to it
    the agreement of always preferring the model's answer, and both win rates on these pairs."""
    prefs = preferences([j for j in judgments if j["annotated"] is not None])
    annotated = {(j["generator"], prompt_id(j)): j["annotated"] for j in judgments}
    scores, always_model, theirs, ours = [], [], [], []
    for generator, pairs in prefs.items():
        for pair, pref in pairs.items():
            their = annotated[generator, pair]
            mine = 0 if pref == 1.5 else 2 if pref > 1.5 else 1
            scores.append(0.5 if 0 in (mine, their) else float(mine == their))
            always_model.append(0.5 if their == 0 else float(their == 2))
            theirs.append(1.5 if their == 0 else their)
            ours.append(pref)
    if not scores:
        return {"pairs": 0}
    return {
        "pairs": len(scores),
        "agreement": float(np.mean(scores)),
        "always_model_agreement": float(np.mean(always_model)),
        "win_rate": win_rate(ours)["win_rate"],
        "annotated_win_rate": win_rate(theirs)["win_rate"],
    }


def scaling_fit(rungs: dict[int, dict[str, float]], samples: int = 2000, seed: int = 0) -> dict:
    """Fit win rate (%) = alpha * ln N + C over rungs {N: {prompt: preference}}, least squares,
    with a bootstrap 95% interval of alpha (prompts resampled, every rung's kept together)."""
    sizes = sorted(n for n in rungs if n > 0)
    common = sorted(set.intersection(*(set(rungs[n]) for n in sizes))) if sizes else []
    if len(sizes) < 2 or len(common) < 2:
        return {"alpha": None, "sizes": sizes, "log": "natural"}
    x = np.log(sizes)
    y = np.array([[rungs[n][k] - 1 for k in common] for n in sizes]) * 100  # rungs x prompts
    alpha, c = np.polyfit(x, y.mean(axis=1), 1)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(common), (samples, len(common)))
    alphas = [np.polyfit(x, y[:, p].mean(axis=1), 1)[0] for p in picks]
    low, high = np.percentile(alphas, [2.5, 97.5])
    return {
        "alpha": float(alpha), "c": float(c), "low": float(low), "high": float(high),
        "sizes": sizes, "win_rates": [float(v) for v in y.mean(axis=1)], "prompts": len(common),
        "log": "natural",
    }  # fmt: skip
