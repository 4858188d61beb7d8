"""The method's measures on held-out seed pairs (x, y), none of which any model trained on.

- Backward fidelity, for the base model and M_yx with the augment prompt: the log-likelihood of
  the true instruction given its output (nats per token), and for the instruction the model
  writes: ROUGE-L F1 and embedding cosine against the true one, and the well-formed share.
- Curator discrimination: probe pairs are the true pairs, mismatched pairs (x_i with another
  pair's output, a seeded derangement), nearest pairs (the most similar other output),
  boilerplate pairs (x_i with a page's menu or footer text) and not-an-answer pairs (x_i with a
  corpus segment a reader judged to answer nothing). Each curator scores them all: the rubric
  (expected score under a scorer's distribution over 1..5), the PMI under M_yx, the IFD under a
  scorer, and their combination (mean percentile rank). Reported: the AUC of true against each
  kind of false pair, and the precision and recall of the configured keep rule (score >= k, PMI
  and IFD thresholds).
"""

import gc
import json
import random
from collections import Counter
from dataclasses import replace

import fsspec

from humpback.inference.backend import ChatBackend, load_backend
from humpback.inference.embedding import embed, embedder
from humpback.measures.ranking import auc, percentile_ranks, precision_recall
from humpback.schemas.config import CurateConfig, InferenceConfig, RunConfig
from humpback.schemas.records import Segment
from humpback.tasks.answer_screen import NOT_AN_ANSWER, not_an_answer
from humpback.tasks.backtranslate import (
    BACKWARD_REQUEST,
    FIT_REASONS,
    Backtranslate,
    backward_prompt,
)
from humpback.tasks.demonstrations import Demonstrations
from humpback.tasks.how_to import unanswered_how_to
from humpback.tasks.instruction_form import form_problem
from humpback.tasks.likelihood import AnswerIFD, InstructionPMI
from humpback.tasks.score import Score
from humpback.tasks.seed_phrases import NO_SEED_PHRASES, SeedPhrases
from humpback.tasks.similarity import instruction_similarity
from humpback.tasks.task import Filtered, Task, run_in_process


def probe_pairs(heldout: list[dict], boilerplate: list[str], not_answers: list[str] = (),
                seed: int = 0) -> list[dict]:  # fmt: skip
    """Probe pairs {instruction, answer, key, kind} from held-out pairs: true; mismatched (x_i
    with another pair's output, a seeded derangement); nearest (x_i with the other output most
    like its own, by embedding: same topic, not its answer); boilerplate (x_i with a page's menu
    or footer text); not_an_answer (x_i with a corpus segment a reader judged to answer nothing:
    an about page, a listing). `key` names the answer, for the demonstrations shown before it."""
    n = len(heldout)
    answers = [(p["id"], p["output"]) for p in heldout]

    def probe(i: int, answer: tuple[str, str], kind: str) -> dict:
        return {"instruction": heldout[i]["instruction"], "key": answer[0], "answer": answer[1],
                "kind": kind}  # fmt: skip

    probes = [probe(i, answers[i], "true") for i in range(n)]
    if n > 1:
        shift = random.Random(seed).randrange(1, n)  # a derangement: no i -> i
        probes += [probe(i, answers[(i + shift) % n], "mismatched") for i in range(n)]
        similarity = embed(tuple(text for _, text in answers))
        similarity = similarity @ similarity.T
        for i in range(n):
            similarity[i, i] = -2.0
            probes.append(probe(i, answers[int(similarity[i].argmax())], "nearest"))
    texts = random.Random(seed).sample(boilerplate, min(n, len(boilerplate)))
    probes += [probe(i, (f"boilerplate-{i}", text), "boilerplate") for i, text in enumerate(texts)]
    texts = random.Random(seed).sample(list(not_answers), min(n, len(not_answers)))
    probes += [probe(i, (f"not-an-answer-{i}", text), "not_an_answer")
               for i, text in enumerate(texts)]  # fmt: skip
    return probes


def judged_probes(path: str, chars: int) -> list[dict]:
    """The judged candidates (`../shared/data/judged/`) as probes: a usable pair is `true`,
    the rest `unusable`; each keeps its reader's label."""
    with fsspec.open(path, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return [{"instruction": r["instruction"], "answer": r["output"][:chars], "key": r["id"],
             "kind": "true" if r["usable"] else "unusable", "label": r.get("label"),
             "segment": r["output"]} for r in rows]  # fmt: skip


def _drops_by_label(judged: list[dict], drops, label: str, name: str) -> dict:
    """What a check (`drops(pair)`) drops of the judged pairs, by their reader's label: usable
    ones lost (A) against the ones of `label` it is for caught (`name`_caught of `name`)."""
    labels = Counter(p["label"] for p in judged)
    dropped = Counter(p["label"] for p in judged if drops(p))
    return {"dropped": dict(dropped.most_common()), "usable_lost": dropped["A"],
            "usable": labels["A"], f"{name}_caught": dropped[label],
            name: labels[label]}  # fmt: skip


def answer_screen(judged: list[dict]) -> dict:
    """What the not-an-answer screen drops of the judged segments (N: not an answer)."""
    return _drops_by_label(judged, lambda p: not_an_answer(p["segment"]), "N", "not_an_answer")


def seed_borrow(judged: list[dict], seed: SeedPhrases) -> dict:
    """What the check for training phrases (`borrows_seed`) drops of the judged pairs (B: the
    instruction borrowed a topic)."""
    return _drops_by_label(
        judged, lambda p: seed.borrowed(p["instruction"], p["segment"]), "B", "borrowed"
    )


def how_to_check(judged: list[dict]) -> dict:
    """What the check for how-to requests a segment does not answer (`unanswered_how_to`) drops
    of the judged pairs (R: a review or description asked how to do something)."""
    return _drops_by_label(
        judged, lambda p: unanswered_how_to(p["instruction"], p["segment"]), "R", "description"
    )


def augment_keeps(judged: list[dict], demonstrations: Demonstrations, seed: SeedPhrases,
                  config: RunConfig) -> list[bool]:  # fmt: skip
    """Whether augment would keep each judged pair's instruction for its segment: the
    not-an-answer screen, then the form, borrow and how-to checks, as the stage runs them."""
    task = Backtranslate.configured("", config.augment, demonstrations, seed)
    segments = [as_segment(p["key"], p["segment"]) for p in judged]
    return [task.screen(s) is None and isinstance(task.parse(s, [p["instruction"]]), dict)
            for p, s in zip(judged, segments, strict=True)]  # fmt: skip


def method_kept(judged: list[dict], kept: list[bool], passes: list[bool]) -> dict:
    """Precision and recall of what the method keeps of the judged pairs: the pairs augment's
    checks pass (`passes`) and the keep rule keeps (`kept`)."""
    both = [(p["kind"] == "true", k and ok) for p, k, ok in zip(judged, kept, passes, strict=True)]
    found = precision_recall([b for true, b in both if true], [b for true, b in both if not true])
    return {"pairs": len(judged), **{k: _round(v) for k, v in found.items()}}


RULE_CURATOR = {"generate": "rubric", "logprobs": "rubric", "likelihood": "ifd",
                "combined": "combined"}  # the curator whose keep rule is curate's  # fmt: skip


def as_segment(key: str, answer: str) -> dict:
    """An answer as the stages' tasks read a segment, keyed `key` (the demonstrations shown
    before it are drawn by that key)."""
    return Segment(id=key, text=answer, header="", header_path=[], url="", document_id=key,
                   source_file="", record_offset=0, lang=None,
                   char_len=len(answer)).model_dump()  # fmt: skip


def field_of(task: Task, backend: ChatBackend, records: list[dict], cfg: InferenceConfig,
             name: str) -> list:  # fmt: skip
    """The field `name` of the record the task makes of each record (None where it makes
    none), run as the stages run it."""
    outcomes = run_in_process(task, backend, records, cfg)
    return [o[name] if isinstance(o, dict) else None for o in outcomes]


def _per_token(results) -> list[float | None]:
    return [sum(r.logprobs) / sum(r.tokens) if r.error is None and sum(r.tokens) else None
            for r in results]  # fmt: skip


def _mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return round(sum(values) / len(values), 4) if values else None


def backward_fidelity(
    backend: ChatBackend,
    heldout: list[dict],
    demonstrations: Demonstrations,
    config: RunConfig,
    embeddings: bool,
) -> dict:
    """How well a backward model recovers the true instructions of held-out outputs."""
    prompts = [backward_prompt(p["output"], demonstrations.shown(p["id"], p["output"]))
               for p in heldout]  # fmt: skip
    likelihood = _per_token(
        backend.likelihood(
            [[(prompt, p["instruction"])] for prompt, p in zip(prompts, heldout, strict=True)]
        )
    )
    # one draw of each held-out output, which is no web segment to screen
    task = replace(Backtranslate.configured("", config.augment, demonstrations), samples=1,
                   check_answer=False)  # fmt: skip
    records = [as_segment(p["id"], p["output"]) for p in heldout]
    written = [o["instruction"] if isinstance(o, dict) else o.raw if isinstance(o, Filtered)
               else "" for o in run_in_process(task, backend, records, config.augment)]  # fmt: skip
    from rouge_score.rouge_scorer import RougeScorer

    rouge = RougeScorer(["rougeL"])
    pairs = list(zip(written, heldout, strict=True))
    formed = [form_problem(w, p["output"], BACKWARD_REQUEST) is None for w, p in pairs]
    rouges = [rouge.score(p["instruction"], w)["rougeL"].fmeasure for w, p in pairs]
    result = {
        "pairs": len(heldout),
        "logprob_per_token": _mean(likelihood),
        "rouge_l": _mean(rouges),
        "rouge_l_as_instruction": _as_instructions(rouges, formed),
        "well_formed": _mean(formed),
        "examples": [{"true": p["instruction"][:200], "written": w[:200]} for w, p in pairs[:3]],
    }
    if embeddings:
        cosines = [float(embedder().similarity(w or " ", p["instruction"])) for w, p in pairs]
        result["cosine"] = _mean(cosines)
        result["cosine_as_instruction"] = _as_instructions(cosines, formed)
    return result


def _as_instructions(scores: list[float], formed: list[bool]) -> float | None:
    """The mean score where a written text that is no well-formed instruction scores 0: the raw
    ROUGE-L and cosine credit an untrained model's comments on the answer ("The response should
    explain the passage in 2 Thessalonians") for the topic words they share with the true
    instruction, though they recover no instruction."""
    return _mean(s if ok else 0.0 for s, ok in zip(scores, formed, strict=True))


def measured_heldout(config: RunConfig, heldout: list[dict]) -> list[dict]:
    """The held-out pairs the measures take: at most `measure.pairs`, outputs cut to
    `measure.answer_chars`."""
    cfg = config.measure
    return [{**p, "output": p["output"][: cfg.answer_chars]} for p in heldout[: cfg.pairs]]


def backward_backend(config: RunConfig, path: str, base: bool) -> ChatBackend:
    """A backward model loaded for the measures; the base model with the run's chat template."""
    backend = load_backend(path, config.measure)
    if base and config.chat_template:
        backend.tokenizer.chat_template = config.chat_template
    return backend


def probe_candidates(probes: list[dict]) -> list[dict]:
    """Probe pairs as the stages' tasks read a candidate."""
    return [{**as_segment(p["key"], p["answer"]), "instruction": p["instruction"],
             "backward_model": ""} for p in probes]  # fmt: skip


def rubric_scores(
    backend: ChatBackend, probes: list[dict], cfg: InferenceConfig
) -> list[tuple[int, float] | None]:
    """Each probe's (score, expected score) under a scorer's distribution over 1..5: the curate
    stage's rubric task, read from log-probabilities."""
    outcomes = run_in_process(Score("", 0, "logprobs"), backend, probe_candidates(probes), cfg)
    return [(o["score"], o["expected_score"]) if isinstance(o, dict) else None for o in outcomes]


def ifd_scores(backend: ChatBackend, probes: list[dict], cfg: InferenceConfig) -> list:
    """Each probe's IFD under a scorer: the curate stage's likelihood task."""
    return field_of(AnswerIFD("", 0), backend, probe_candidates(probes), cfg, "ifd")


def pmi_scores(backend: ChatBackend, probes: list[dict], demonstrations: Demonstrations,
               cfg: InferenceConfig) -> list:  # fmt: skip
    """Each probe's PMI under M_yx, after the demonstrations shown before its answer: the
    augment stage's likelihood task."""
    task = InstructionPMI(demonstrations)
    return field_of(task, backend, probe_candidates(probes), cfg, "pmi")


def discrimination(probes: list[dict], scores: list[float | None], keep: list[bool]) -> dict:
    """AUC of true pairs against each kind of false pair, and the keep rule's precision and
    recall (positives: true pairs; negatives: every false pair)."""
    ok = [(p["kind"], s, k) for p, s, k in zip(probes, scores, keep, strict=True) if s is not None]
    true = [s for kind, s, _ in ok if kind == "true"]
    result = {"pairs": len(ok)}
    for kind in dict.fromkeys(p["kind"] for p in probes if p["kind"] != "true"):
        result[f"auc_{kind}"] = _round(auc(true, [s for k, s, _ in ok if k == kind]))
    kept = precision_recall([k for kind, _, k in ok if kind == "true"],
                            [k for kind, _, k in ok if kind != "true"])  # fmt: skip
    return {**result, **{k: _round(v) for k, v in kept.items()}}


def _round(value):
    return round(value, 4) if isinstance(value, float) else value


def kept_by(rule: CurateConfig, scores: list, pmis: list, ifds: list,
            similarities: list) -> list[bool]:  # fmt: skip
    """The curate stage's keep rule, for each candidate; one it could not score is not kept."""
    return [(s is not None or not rule.rubric) and (f is not None or not rule.uses_likelihood)
            and rule.why_dropped(s, p, f, c) is None
            for s, p, f, c in zip(scores, pmis, ifds, similarities, strict=True)]  # fmt: skip


def similarities(pairs: list[dict]) -> list[float]:
    """Each pair's instruction against its answer's opening, as curate's keep rule reads it."""
    return [instruction_similarity(p["instruction"], p["answer"]) for p in pairs]


def curator_scores(rubric: list | None, ifds: list, pmis: list, sims: list,
                   cfg: CurateConfig) -> dict:  # fmt: skip
    """Each curator's (score, kept) per pair from the scorer's rubric and IFD, M_yx's PMI and the
    embedding similarity (None where not scored): the rubric's expected score, the IFD (negated:
    higher is better) and their combination with the PMI (mean percentile rank), each with its
    mode's keep rule; the IFD alone when the rubric was not read (`rubric` None)."""
    ifd = ([None if f is None else -f for f in ifds],
           kept_by(cfg.model_copy(update={"mode": "likelihood"}), [None] * len(ifds), pmis,
                   ifds, sims))  # fmt: skip
    if rubric is None:
        return {"ifd": ifd}
    n = len(rubric)
    expected = [r[1] if r else None for r in rubric]

    def kept(mode: str) -> list[bool]:
        return kept_by(cfg.model_copy(update={"mode": mode}), [r and r[0] for r in rubric],
                       pmis, ifds, sims)  # fmt: skip

    scored = [i for i in range(n) if None not in (expected[i], pmis[i], ifds[i])]
    combined: list[float | None] = [None] * n
    columns = [[expected[i] for i in scored], [pmis[i] for i in scored],
               [-ifds[i] for i in scored]]  # fmt: skip
    for i, *ranks in zip(scored, *map(percentile_ranks, columns), strict=True):
        combined[i] = sum(ranks) / len(ranks)
    return {
        "rubric": (expected, kept("logprobs")),
        "ifd": ifd,
        "combined": (combined, kept("combined")),
    }


def instruction_form(candidates: list[dict], filtered: list[dict]) -> dict:
    """The well-formed share of the instructions augment wrote, and the reasons of the rest
    (a segment screened out before the model call has no instruction; one dropped for its fit
    to the segment, borrowing or a how-to it does not answer, passed the form checks, which run
    first: a segment is dropped by such a draw when it has one)."""
    reasons = Counter(
        form_problem(c["instruction"], c["text"], BACKWARD_REQUEST) or "well_formed"
        for c in candidates
    )
    reasons.update("well_formed" if f["error"] in FIT_REASONS else f["error"]
                   for f in filtered if f["error"] != NOT_AN_ANSWER)  # fmt: skip
    total = sum(reasons.values())
    return {
        "instructions": total,
        "well_formed": round(reasons["well_formed"] / total, 4) if total else None,
        "reasons": dict(reasons.most_common()),
    }


def measure(
    config: RunConfig,
    heldout: list[dict],
    demonstrations: Demonstrations,
    base_model: str,
    backward_model: str,
    scorers: dict[str, str],
    boilerplate: list[str],
    say=print,
    seed: SeedPhrases = NO_SEED_PHRASES,
) -> dict:
    """Every measure of the method on `heldout` (and on the judged pairs, where configured);
    models are loaded one at a time, and each curator scores probes and judged pairs at once."""
    cfg = config.measure
    heldout = measured_heldout(config, heldout)
    judged = judged_probes(cfg.judged, cfg.answer_chars) if cfg.judged else []
    not_answers = [p["answer"] for p in judged if p["label"] == "N"]
    probes = probe_pairs(heldout, [b[: cfg.answer_chars] for b in boilerplate], not_answers)
    pairs = probes + judged
    fidelity, pmis = {}, []
    for name, path in (("base", base_model), ("M_yx", backward_model)):
        say(f"measure: backward fidelity of {name}")
        backend = backward_backend(config, path, base=name == "base")
        fidelity[name] = backward_fidelity(backend, heldout, demonstrations, config, cfg.embeddings)
        if name == "M_yx":
            say(f"measure: PMI of {len(pairs)} probe and judged pairs under M_yx")
            pmis = pmi_scores(backend, pairs, demonstrations, cfg)
        del backend
        gc.collect()
    scores = {"pmi (M_yx)": (pmis, [p is not None and p >= config.curate.min_pmi for p in pmis])}
    sims, floor = similarities(pairs), config.curate.min_similarity
    scores["similarity (embedding)"] = (sims, [floor is None or s >= floor for s in sims])
    for i, (name, path) in enumerate(scorers.items()):
        reads_rubric = config.curate.rubric is not None or (i == 0 and cfg.paper_rubric)
        why = "" if reads_rubric else " (IFD: curate reads no rubric)"
        say(f"measure: curator {name} on {len(pairs)} probe and judged pairs{why}")
        backend = load_backend(path, cfg)
        ifds = ifd_scores(backend, pairs, cfg)
        rubrics = rubric_scores(backend, pairs, cfg) if reads_rubric else None
        del backend
        gc.collect()
        for kind, value in curator_scores(rubrics, ifds, pmis, sims, config.curate).items():
            scores[f"{kind} ({name})"] = value
    split = len(probes)
    result = {
        "heldout_pairs": len(heldout),
        "probe_pairs": dict(Counter(p["kind"] for p in probes)),
        "demonstrations": demonstrations.count if demonstrations.pool else 0,
        "backward_fidelity": fidelity,
        "curators": {
            name: discrimination(probes, s[:split], k[:split]) for name, (s, k) in scores.items()
        },  # fmt: skip
    }
    if judged:
        result["judged_pairs"] = dict(Counter(p["label"] for p in judged))
        result["answer_screen"] = answer_screen(judged)
        result["seed_borrow"] = seed_borrow(judged, seed)
        result["how_to_check"] = how_to_check(judged)
        result["curators_judged"] = {name: discrimination(judged, s[split:], k[split:])
                                     for name, (s, k) in scores.items()}  # fmt: skip
        passes = augment_keeps(judged, demonstrations, seed, config)
        rule = f"{RULE_CURATOR[config.curate.mode]} ("
        result["method_judged"] = {
            f"augment's checks + {name}": method_kept(judged, k[split:], passes)
            for name, (_, k) in scores.items() if name.startswith(rule)
        }  # fmt: skip
    return result
