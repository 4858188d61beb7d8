"""The method's measures on held-out seed pairs (x, y), none of which any model trained on.

- Backward fidelity, for the base model and M_yx with the augment prompt: the log-likelihood of
  the true instruction given its output (nats per token), and for the instruction the model
  writes: ROUGE-L F1 and embedding cosine against the true one, and the well-formed share.
- Curator discrimination: probe pairs are the true pairs, mismatched pairs (x_i with another
  pair's output, a seeded derangement) and boilerplate pairs (x_i with a page's menu or footer
  text). Each curator scores them all: the rubric (expected score under a scorer's
  distribution over 1..5), the PMI under M_yx, the IFD under a scorer, and their combination
  (mean percentile rank). Reported: the AUC of true against each kind of false pair, and the
  precision and recall of the configured keep rule (score >= k, PMI and IFD thresholds).
"""

import gc
import random
from collections import Counter

from humpback.inference.backend import ChatBackend, load_backend
from humpback.measures.ranking import auc, percentile_ranks, precision_recall
from humpback.schemas.config import CurateConfig, RunConfig
from humpback.tasks.backtranslate import BACKWARD_REQUEST, backward_prompt, clean_instruction
from humpback.tasks.instruction_form import form_problem
from humpback.tasks.likelihood import ifd, ifd_from, pmi, pmi_from
from humpback.tasks.score import (
    SCORE_LABELS,
    SCORE_PREFIX,
    curation_prompt,
    score_from_distribution,
)


def probe_pairs(heldout: list[dict], boilerplate: list[str], seed: int = 0) -> list[dict]:
    """True, mismatched and boilerplate pairs {instruction, answer, kind} from held-out pairs."""
    n = len(heldout)
    shift = random.Random(seed).randrange(1, n) if n > 1 else 0  # a derangement: no i -> i
    answers = [p["output"] for p in heldout]
    probes = [{"instruction": p["instruction"], "answer": answers[i], "kind": "true"}
              for i, p in enumerate(heldout)]  # fmt: skip
    if n > 1:
        probes += [{"instruction": p["instruction"], "answer": answers[(i + shift) % n],
                    "kind": "mismatched"} for i, p in enumerate(heldout)]  # fmt: skip
    texts = random.Random(seed).sample(boilerplate, min(n, len(boilerplate)))
    probes += [{"instruction": heldout[i]["instruction"], "answer": text, "kind": "boilerplate"}
               for i, text in enumerate(texts)]  # fmt: skip
    return probes


def _per_token(results) -> list[float | None]:
    return [sum(r.logprobs) / sum(r.tokens) if r.error is None and sum(r.tokens) else None
            for r in results]  # fmt: skip


def _mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return round(sum(values) / len(values), 4) if values else None


def backward_fidelity(
    backend: ChatBackend, heldout: list[dict], demonstrations: tuple, config: RunConfig, embedder
) -> dict:
    """How well a backward model recovers the true instructions of held-out outputs."""
    prompts = [backward_prompt(p["output"], demonstrations) for p in heldout]
    likelihood = _per_token(
        backend.likelihood(
            [[(prompt, p["instruction"])] for prompt, p in zip(prompts, heldout, strict=True)]
        )
    )
    written = [clean_instruction(g.text or "")
               for g in backend.generate(prompts, config.augment.sampling)]  # fmt: skip
    from rouge_score.rouge_scorer import RougeScorer

    rouge = RougeScorer(["rougeL"])
    pairs = list(zip(written, heldout, strict=True))
    result = {
        "pairs": len(heldout),
        "logprob_per_token": _mean(likelihood),
        "rouge_l": _mean(rouge.score(p["instruction"], w)["rougeL"].fmeasure for w, p in pairs),
        "well_formed": _mean(
            form_problem(w, p["output"], BACKWARD_REQUEST) is None for w, p in pairs
        ),
        "examples": [{"true": p["instruction"][:200], "written": w[:200]} for w, p in pairs[:3]],
    }
    if embedder is not None:
        result["cosine"] = _mean(float(embedder.similarity(w or " ", p["instruction"]))
                                 for w, p in pairs)  # fmt: skip
    return result


def rubric_scores(backend: ChatBackend, probes: list[dict]) -> list[tuple[int, float] | None]:
    """Each probe's (score, expected score) under a scorer's distribution over 1..5."""
    prompts = [curation_prompt(p["instruction"], p["answer"]) for p in probes]
    results = backend.label_distribution(prompts, SCORE_PREFIX, SCORE_LABELS)
    return [score_from_distribution(r.probs) if r.error is None else None for r in results]


def ifd_scores(backend: ChatBackend, probes: list[dict]) -> list[float | None]:
    results = backend.likelihood([ifd(p["instruction"], p["answer"]) for p in probes])
    return [ifd_from((r.logprobs, r.tokens)) if r.error is None else None for r in results]


def pmi_scores(backend: ChatBackend, probes: list[dict], demonstrations: tuple) -> list:
    requests = [pmi(p["instruction"], p["answer"], demonstrations) for p in probes]
    results = backend.likelihood(requests)
    return [pmi_from((r.logprobs, r.tokens)) if r.error is None else None for r in results]


def discrimination(probes: list[dict], scores: list[float | None], keep: list[bool]) -> dict:
    """AUC of true pairs against each kind of false pair, and the keep rule's precision and
    recall (positives: true pairs; negatives: every false pair)."""
    ok = [(p["kind"], s, k) for p, s, k in zip(probes, scores, keep, strict=True) if s is not None]
    true = [s for kind, s, _ in ok if kind == "true"]
    result = {"pairs": len(ok)}
    for kind in ("mismatched", "boilerplate"):
        result[f"auc_{kind}"] = _round(auc(true, [s for k, s, _ in ok if k == kind]))
    kept = precision_recall([k for kind, _, k in ok if kind == "true"],
                            [k for kind, _, k in ok if kind != "true"])  # fmt: skip
    return {**result, **{k: _round(v) for k, v in kept.items()}}


def _round(value):
    return round(value, 4) if isinstance(value, float) else value


def kept_by(rule: CurateConfig, scores: list, pmis: list, ifds: list) -> list[bool]:
    """The curate stage's keep rule, for each candidate; one it could not score is not kept."""
    return [(s is not None or not rule.rubric) and (f is not None or not rule.uses_likelihood)
            and rule.why_dropped(s, p, f) is None
            for s, p, f in zip(scores, pmis, ifds, strict=True)]  # fmt: skip


def curator_measures(
    probes: list[dict], rubric: list, ifds: list, pmis: list, cfg: CurateConfig
) -> dict:
    """Each curator's discrimination from its per-probe scores (None where not scored)."""
    n = len(probes)
    expected = [r[1] if r else None for r in rubric]

    def kept(mode: str) -> list[bool]:
        return kept_by(cfg.model_copy(update={"mode": mode}), [r and r[0] for r in rubric],
                       pmis, ifds)  # fmt: skip

    scored = [i for i in range(n) if None not in (expected[i], pmis[i], ifds[i])]
    combined: list[float | None] = [None] * n
    columns = [[expected[i] for i in scored], [pmis[i] for i in scored],
               [-ifds[i] for i in scored]]  # fmt: skip
    for i, *ranks in zip(scored, *map(percentile_ranks, columns), strict=True):
        combined[i] = sum(ranks) / len(ranks)
    return {
        "rubric": discrimination(probes, expected, kept("logprobs")),
        "ifd": discrimination(
            probes, [None if f is None else -f for f in ifds], kept("likelihood")
        ),
        "combined": discrimination(probes, combined, kept("combined")),
    }


def instruction_form(candidates: list[dict], filtered: list[dict]) -> dict:
    """The well-formed share of the instructions augment wrote, and the reasons of the rest."""
    reasons = Counter(
        form_problem(c["instruction"], c["text"], BACKWARD_REQUEST) or "well_formed"
        for c in candidates
    )
    reasons.update(f["error"] for f in filtered)
    total = sum(reasons.values())
    return {
        "instructions": total,
        "well_formed": round(reasons["well_formed"] / total, 4) if total else None,
        "reasons": dict(reasons.most_common()),
    }


def load_embedder():
    """wordllama's bundled model (no download), or None where the package is not installed."""
    try:
        from pathlib import Path

        import wordllama
    except ModuleNotFoundError:
        return None
    return wordllama.WordLlama.load(
        cache_dir=Path(wordllama.__file__).parent, disable_download=True
    )


def measure(
    config: RunConfig,
    heldout: list[dict],
    demonstrations: tuple,
    base_model: str,
    backward_model: str,
    scorers: dict[str, str],
    boilerplate: list[str],
    say=print,
) -> dict:
    """Every measure of the method on `heldout`; models are loaded one at a time."""
    cfg = config.measure
    heldout = [{**p, "output": p["output"][: cfg.answer_chars]} for p in heldout[: cfg.pairs]]
    probes = probe_pairs(heldout, [b[: cfg.answer_chars] for b in boilerplate])
    embedder = load_embedder() if cfg.embeddings else None
    fidelity, pmis, curators = {}, [], {}
    for name, path in (("base", base_model), ("M_yx", backward_model)):
        say(f"measure: backward fidelity of {name}")
        backend = load_backend(path, cfg.inference)
        if name == "base" and config.chat_template:
            backend.tokenizer.chat_template = config.chat_template
        fidelity[name] = backward_fidelity(backend, heldout, demonstrations, config, embedder)
        if name == "M_yx":
            say(f"measure: PMI of {len(probes)} probe pairs under M_yx")
            pmis = pmi_scores(backend, probes, demonstrations)
        del backend
        gc.collect()
    kinds = Counter(p["kind"] for p in probes)
    curators["pmi (M_yx)"] = discrimination(
        probes, pmis, [p is not None and p >= config.curate.min_pmi for p in pmis]
    )
    for name, path in scorers.items():
        say(f"measure: curator {name} on {len(probes)} probe pairs")
        backend = load_backend(path, cfg.inference)
        rubric, ifds = rubric_scores(backend, probes), ifd_scores(backend, probes)
        del backend
        gc.collect()
        for kind, value in curator_measures(probes, rubric, ifds, pmis, config.curate).items():
            curators[f"{kind} ({name})"] = value
    return {
        "heldout_pairs": len(heldout),
        "probe_pairs": dict(kinds),
        "demonstrations": len(demonstrations),
        "backward_fidelity": fidelity,
        "curators": curators,
    }
