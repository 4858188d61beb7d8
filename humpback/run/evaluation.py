"""The evaluation stages: `evaluate` (each model answers the evaluation prompts), `judge` (each
answer against the reference's, win rates, differences between models, the scaling fit),
`judge_calibration` (the judge against annotated judgments and published outputs) and
`reference_likelihood` (how likely each model finds strong reference answers)."""

import json
import random
import re
from collections.abc import Sequence
from functools import cache

from humpback.beam_pipelines import task_pipeline
from humpback.measures.win_rates import (
    agreement,
    paired_difference,
    position_bias,
    preferences,
    scaling_fit,
    win_rate,
)
from humpback.run.beam_run import run_beam
from humpback.run.graph import StageResult, StageRun
from humpback.run.manifest import read_manifest
from humpback.schemas.config import EvaluateConfig, JudgeConfig, RunConfig
from humpback.schemas.errors import UserError
from humpback.schemas.records import ReferenceScore
from humpback.storage.folders import list_files, read_json_rows, write_text
from humpback.storage.shards import load_rows, shard_pattern
from humpback.tasks.answer import Answer, inference_tag
from humpback.tasks.compare import Compare
from humpback.tasks.eval_overlap import EvalOverlap
from humpback.tasks.reference import ReferenceLikelihood
from humpback.tasks.task import ModelStep


@cache
def _prompts_file(url: str) -> tuple[dict, ...]:
    rows = read_json_rows(url)
    if not rows or any(not isinstance(r.get("instruction"), str) for r in rows):
        raise UserError(f"{url}: expected records with an `instruction` string")
    return tuple(rows)


def draw(indices: Sequence[int], k: int | None, seed: int | str) -> Sequence[int]:
    """All the indices, or a seeded draw of `k` of them, in order."""
    if k is None or k >= len(indices):
        return indices
    return sorted(random.Random(seed).sample(indices, k))


def prompt_row(rows: Sequence[dict], i: int) -> dict:
    """Row i of a prompts file as {id (its position), instruction, dataset}."""
    return {"id": f"{i:04d}", "instruction": rows[i]["instruction"],
            "dataset": rows[i].get("dataset") or ""}  # fmt: skip


def eval_prompts(cfg: EvaluateConfig) -> list[dict]:
    """The evaluation prompts: all, or a seeded draw of `limit` in file order."""
    rows = _prompts_file(cfg.prompts)
    return [prompt_row(rows, i) for i in draw(range(len(rows)), cfg.limit, cfg.seed)]


def eval_overlap(config: RunConfig) -> EvalOverlap | None:
    """What decontamination tests instructions against: every prompt of its file (the
    evaluation prompts unless it names its own)."""
    cfg = config.decontamination
    prompts = cfg.prompts or config.evaluate.prompts
    if not prompts:
        return None
    return EvalOverlap((r["instruction"] for r in _prompts_file(prompts)), cfg.ngram)


def file_part(generator: str) -> str:
    return re.sub(r"[^\w.-]", "_", generator).lstrip(".") or "_"  # never ".." or a dot file


def run_each_model(run: StageRun, prompts: list[dict], steps: dict[str, ModelStep]) -> dict:
    """Run each model's step over the prompts, one Beam job a model, shards named by its part;
    the counts of all of them."""
    totals: dict[str, int] = {}
    for name, step in steps.items():
        counts = run_beam(
            run,
            lambda p, step=step, name=name: task_pipeline.build(
                p, f"{run.stage} {name}", prompts, [step], run.folder, len(prompts),
                run.ctx.inference_cache, file_part(name),
            ),
        ).counts  # fmt: skip
        for key, value in counts.items():
            totals[key] = totals.get(key, 0) + value
    return totals


def model_paths(run: StageRun, models: tuple[str, ...]) -> dict[str, str]:
    """The run's models named `models` and the evaluation's extra ones: name -> folder."""
    return {name: run.inputs[name] for name in models} | run.config.evaluate.models


def run_evaluate(run: StageRun, models: tuple[str, ...]) -> StageResult:
    """Each model answers the prompts: `answers-<model>-*` shards, and `<model>/model_outputs.json`
    in AlpacaEval's format (instructions byte-identical to the prompts)."""
    cfg = run.config.evaluate
    prompts = eval_prompts(cfg)
    paths = model_paths(run, models)
    tag = inference_tag(run.config.tags, cfg.tags)
    steps = {name: ModelStep(Answer(generator=name, tag=tag, style=run.config.tags.style), path,
                             cfg) for name, path in paths.items()}  # fmt: skip
    totals = run_each_model(run, prompts, steps)
    order = {p["id"]: i for i, p in enumerate(prompts)}
    for name in paths:
        part = file_part(name)
        answers = load_rows(shard_pattern(run.folder, f"answers-{part}"))
        answers.sort(key=lambda a: order[a["id"]])
        outputs = [{"dataset": a["dataset"], "instruction": a["instruction"],
                    "output": a["output"], "generator": name} for a in answers]  # fmt: skip
        write_text(f"{run.folder}/{part}/model_outputs.json", json.dumps(outputs, indent=1))
    metrics = {"prompts": len(prompts), "models": list(paths), "tags": cfg.tags}
    return StageResult(totals, metrics)


def reference_prompts(config: RunConfig) -> list[dict]:
    """A seeded draw of the reference answers' prompts, none of them an evaluation prompt:
    {id, instruction, reference (cut to answer_chars)}."""
    cfg = config.reference_likelihood
    rows = _prompts_file(cfg.answers)
    evaluated = {p["instruction"] for p in eval_prompts(config.evaluate)} if (
        config.evaluate.prompts) else set()  # fmt: skip
    free = [i for i, r in enumerate(rows) if r["instruction"] not in evaluated and r.get("output")]
    if len(free) < 2:
        raise UserError(f"reference_likelihood.answers: {cfg.answers} has no answered prompts "
                        "outside the evaluation's draw (set evaluate.limit)")  # fmt: skip
    return [{**prompt_row(rows, i), "reference": rows[i]["output"][: cfg.answer_chars]}
            for i in draw(free, cfg.prompts, cfg.seed)]  # fmt: skip


def run_reference_likelihood(run: StageRun, models: tuple[str, ...],
                             compare: tuple[tuple[str, str], ...]) -> StageResult:  # fmt: skip
    """Each model's log-probability of the reference answers; per model the mean per token
    (over prompts), and for each pair in `compare` the paired difference with a bootstrap 95%
    interval (prompts resampled)."""
    cfg = run.config.reference_likelihood
    prompts = reference_prompts(run.config)
    paths = model_paths(run, models)
    tag = inference_tag(run.config.tags, run.config.evaluate.tags)
    steps = {name: ModelStep(ReferenceLikelihood(name, tag, run.config.tags.style), path, cfg)
             for name, path in paths.items()}  # fmt: skip
    totals = run_each_model(run, prompts, steps)
    per_token = {
        name: {r["id"]: r["logprob"] / r["tokens"]
               for r in load_rows(shard_pattern(run.folder, f"{ReferenceScore.shard}-"
                                                f"{file_part(name)}"))}
        for name in paths
    }  # fmt: skip
    metrics = {
        "prompts": len(prompts),
        "answers": cfg.answers,
        "logprob_per_token": {
            name: round(sum(v.values()) / len(v), 4) if v else None for name, v in per_token.items()
        },  # fmt: skip
        "differences": {
            f"{b} - {a}": {
                k: round(v, 4) if isinstance(v, float) else v
                for k, v in paired_difference(per_token[a], per_token[b], scale=1).items()
            }
            for a, b in compare
            if a in per_token and b in per_token
        },  # fmt: skip
    }
    return StageResult(totals, metrics)


def orders(cfg: JudgeConfig, pair_id: str) -> list[bool]:
    """`model_first` for each judgment of a pair: both orders, or one seeded random order."""
    if cfg.order == "both":
        return [False, True]
    return [random.Random(f"{cfg.seed}/{pair_id}").random() < 0.5]


def judge_pairs(cfg: JudgeConfig, answers: list[dict], references: list[dict],
                annotated: dict[str, float] | None = None) -> list[dict]:  # fmt: skip
    """A pair per answer and order: the reference's answer to the same instruction is
    `output_1`, the model's `output_2`."""
    reference = {r["instruction"]: r["output"] for r in references}
    pairs = []
    for a in answers:
        if a["instruction"] not in reference:
            raise UserError(
                f"judge.reference has no output for the prompt {a['instruction'][:80]!r}"
            )
        pair_id = f"{a['generator']}/{a['id']}"
        for model_first in orders(cfg, pair_id):
            pairs.append({
                "id": pair_id, "instruction": a["instruction"], "dataset": a["dataset"],
                "generator": a["generator"], "output_1": reference[a["instruction"]],
                "output_2": a["output"], "model_first": model_first,
                "annotated": (annotated or {}).get(pair_id),
            })  # fmt: skip
    return pairs


def judge(run: StageRun, pairs: list[dict]) -> tuple[dict[str, int], list[dict], list[dict]]:
    """Run the judge pipeline over `pairs`; its counts, and the judgments and dead letters it
    wrote."""
    cfg = run.config.judge
    path = run.ctx.model(cfg.model)
    served = getattr(cfg.settings, "model", None)  # a server's model name
    task = Compare(judge=served or cfg.model or path, form=cfg.form, answer_chars=cfg.answer_chars)
    counts = run_beam(
        run,
        lambda p: task_pipeline.build(p, run.stage, pairs, [ModelStep(task, path, cfg)],
                                      run.folder, len(pairs), run.ctx.inference_cache),
    ).counts  # fmt: skip
    written = (load_rows(shard_pattern(run.folder, kind)) for kind in ("judgments", "dead_letter"))
    return counts, *written


def judge_header(run: StageRun) -> dict:
    """Which judge, in which form and orders: the head of the judge stages' metrics."""
    cfg = run.config.judge
    return {"judge": cfg.model or run.config.base_model, "form": cfg.form, "order": cfg.order}


def judge_figures(
    judgments: list[dict], dead: list[dict], prefs: dict[str, dict[str, float]]
) -> dict[str, dict]:
    """Per model: AlpacaEval's win rate figures from its preferences (`preferences`), position
    bias, and pairs left unjudged (every order dead-lettered)."""
    unjudged: dict[str, set[str]] = {}
    for d in dead:
        generator, _, prompt = d["input_id"].partition("/")
        if prompt not in prefs.get(generator, {}):
            unjudged.setdefault(generator, set()).add(prompt)
    return {
        g: {
            **win_rate(list(prefs.get(g, {}).values())),
            **position_bias([j for j in judgments if j["generator"] == g]),
            "unjudged": len(unjudged.get(g, ())),
        }
        for g in sorted(set(prefs) | set(unjudged))
    }


def run_judge(run: StageRun, sizes: dict[str, str]) -> StageResult:
    """Judge every answer against the reference. `sizes`: generator -> the training stage
    whose curated examples count N for the scaling fit."""
    cfg = run.config.judge
    answers = load_rows(run.inputs["answers"])
    counts, judgments, dead = judge(run, judge_pairs(cfg, answers, read_json_rows(cfg.reference)))
    prefs = preferences(judgments)
    models = judge_figures(judgments, dead, prefs)
    iterations = sorted((g for g in prefs if re.fullmatch(r"M\d+", g)), key=lambda g: int(g[1:]))
    differences = {
        f"{a} -> {b}": paired_difference(prefs[a], prefs[b], seed=cfg.seed)
        for i, a in enumerate(iterations) for b in iterations[i + 1 :]
    }  # fmt: skip
    rungs = {}
    for generator, stage in sizes.items():
        manifest = read_manifest(run.ctx.stage_dir(stage))
        n = manifest and manifest["metrics"].get("curated_examples")
        if n and generator in prefs:
            rungs[n] = prefs[generator]
    metrics = {
        **judge_header(run), "models": models, "differences": differences,
        "scaling": scaling_fit(rungs, seed=cfg.seed),
        "scaling_generators": {g: s for g, s in sizes.items() if g in prefs},
    }  # fmt: skip
    write_text(f"{run.folder}/win_rates.json", json.dumps(metrics, indent=1))
    return StageResult(counts, metrics)


def calibration_pairs(run: StageRun) -> tuple[list[dict], dict[str, float]]:
    """Pairs from the annotated judgments (a seeded draw per model) and from published outputs
    against the reference; the annotated win rate of each model on all its annotations."""
    cfg = run.config.judge
    cal = cfg.calibration
    pairs, overall = [], {}
    for path in list_files(cal.annotations, ".json"):
        model = path.rsplit("/", 1)[-1].removesuffix(".json")
        rows = read_json_rows(path)
        valid = [i for i, r in enumerate(rows) if r.get("preference") in (0, 1, 2)]
        overall[model] = win_rate([1.5 if rows[i]["preference"] == 0 else rows[i]["preference"]
                                   for i in valid])["win_rate"]  # fmt: skip
        valid = draw(valid, cal.pairs, f"{cal.seed}/{model}")
        answers = [{**prompt_row(rows, i), "generator": model, "output": rows[i]["output_2"]}
                   for i in valid]  # fmt: skip
        references = [{"instruction": rows[i]["instruction"], "output": rows[i]["output_1"]}
                      for i in valid]  # fmt: skip
        annotated = {f"{model}/{i:04d}": float(rows[i]["preference"]) for i in valid}
        pairs += judge_pairs(cfg, answers, references, annotated)
    references = read_json_rows(cfg.reference)
    for name, outputs in cal.outputs.items():
        rows = read_json_rows(outputs.path)
        answers = [{**prompt_row(rows, i), "generator": name, "output": rows[i]["output"]}
                   for i in draw(range(len(rows)), cal.pairs, f"{cal.seed}/{name}")]  # fmt: skip
        pairs += judge_pairs(cfg, answers, references)
    return pairs, overall


def run_calibration(run: StageRun) -> StageResult:
    """The judge on annotated pairs: agreement, position bias, recovered against annotated win
    rates; and its win rates of published outputs next to their published figures."""
    cal = run.config.judge.calibration
    pairs, overall = calibration_pairs(run)
    counts, judgments, dead = judge(run, pairs)
    figures = judge_figures(judgments, dead, preferences(judgments))
    for generator, f in figures.items():
        mine = [j for j in judgments if j["generator"] == generator]
        if generator in overall:
            f.update(agreement(mine), annotated_win_rate_all=overall[generator])
        elif generator in cal.outputs:
            f["published_win_rate"] = cal.outputs[generator].published_win_rate
    every = [j for j in judgments if j["annotated"] is not None]
    metrics = {
        **judge_header(run),
        "models": figures,
        "overall": {**agreement(every), **position_bias(every)},
    }
    write_text(f"{run.folder}/calibration.json", json.dumps(metrics, indent=1))
    return StageResult(counts, metrics)
