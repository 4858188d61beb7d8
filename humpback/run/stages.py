"""The stages of a run: seed -> train_backward, train_seed; segment -> augment ->
(curate_t -> train_t) x T. Each declares its config sections, inputs and outputs once."""

import json
import random
import shlex
import subprocess
import sys
from collections.abc import Mapping
from functools import partial

import fsspec

from humpback.beam_pipelines import segment_pipeline
from humpback.beam_pipelines.curate_tail import keep_and_convert, to_sft_example
from humpback.beam_pipelines.io.corpus import expand_paths
from humpback.beam_pipelines.task_pipeline import Tail
from humpback.run.beam_run import Build, run_beam
from humpback.run.evaluation import (
    eval_overlap,
    run_calibration,
    run_evaluate,
    run_judge,
    run_reference_likelihood,
)
from humpback.run.graph import Model, Ref, Stage, StageResult, StageRun
from humpback.run.seed_pairs import read_raw_rows, select_seed_pairs, split_holdout
from humpback.run.task_stage import task_stage
from humpback.schemas.config import RunConfig
from humpback.schemas.errors import UserError
from humpback.schemas.records import (
    Candidate,
    DeadLetter,
    EvalAnswer,
    FilteredOut,
    HeldOutPair,
    Judgment,
    ReferenceScore,
    Scored,
    SeedPair,
    Segment,
    SFTExample,
)
from humpback.storage.folders import local_copy, remove_folder, write_text
from humpback.storage.shards import load_rows, shard_files, shard_pattern, write_rows
from humpback.tasks.answer_screen import NOT_AN_ANSWER
from humpback.tasks.backtranslate import Backtranslate, checks_from_seed
from humpback.tasks.demonstrations import NO_DEMONSTRATIONS, Demonstrations
from humpback.tasks.likelihood import AnswerIFD, InstructionPMI
from humpback.tasks.rewrite import Rewrite, Rewritten
from humpback.tasks.score import Score
from humpback.tasks.seed_phrases import NO_SEED_PHRASES, SeedPhrases
from humpback.tasks.task import ModelStep

SEED = Ref("seed", SeedPair)
MODEL_SECTIONS = ("base_model", "chat_template")
DECONTAMINATION = ("decontamination", "evaluate.prompts")


def model_stage(t: int) -> str:
    """The stage that trains M_t: M0 on the seed pairs, M_t (t >= 1) on seed and curated."""
    return f"train_{t}" if t else "train_seed"


def curated(config: RunConfig, t: int) -> Ref:
    """The SFT rows of iteration t: rewrite_t's when the rewrite is on, else curate_t's."""
    return Ref(f"rewrite_{t}" if config.rewrite.enabled else f"curate_{t}", SFTExample)


def build_stages(config: RunConfig) -> list[Stage]:
    """The run's stages in order; M_t is scored by the model before it (M0 for t = 1)."""
    stages = [
        Stage(name="seed", run=run_seed, sections=("seed", *DECONTAMINATION),
              outputs=(SeedPair, HeldOutPair, DeadLetter)),
        Stage(name="train_backward", run=partial(run_training, role="backward"),
              sections=(*MODEL_SECTIONS, "training.backward"), inputs={"seed": SEED},
              outputs=(Model,), resumable=True),
        Stage(name="train_seed", run=partial(run_training, role="seed"),
              sections=(*MODEL_SECTIONS, "training.seed", "tags"), inputs={"seed": SEED},
              outputs=(Model,), resumable=True),
        Stage(name="segment", run=run_segment, pipeline=segment_job,
              sections=("corpus", "segment"), outputs=(Segment, DeadLetter)),
        task_stage(name="augment", steps=augment_steps, reads="segments", sections=("augment",),
                   inputs={"segments": Ref("segment", Segment),
                           "model": Ref("train_backward", Model), "seed": SEED},
                   outputs=(Candidate, FilteredOut, DeadLetter), metrics=augment_metrics),
    ]  # fmt: skip
    for t in range(1, config.iterations + 1):
        stages.append(
            task_stage(name=f"curate_{t}", steps=partial(curate_steps, t=t), reads="candidates",
                       tail=curate_tail, sections=("curate", "tags", *DECONTAMINATION),
                       inputs={"candidates": Ref("augment", Candidate),
                               "scorer": Ref(model_stage(t - 1), Model)},
                       outputs=(Scored, SFTExample, FilteredOut, DeadLetter)))  # fmt: skip
        if config.rewrite.enabled:
            stages.append(
                task_stage(name=f"rewrite_{t}", steps=rewrite_steps, reads="curated",
                           sections=("rewrite", *MODEL_SECTIONS),
                           inputs={"curated": Ref(f"curate_{t}", SFTExample)},
                           outputs=(Rewritten, FilteredOut, DeadLetter)))  # fmt: skip
        stages.append(
            Stage(name=f"train_{t}", run=partial(run_training, role="iteration"),
                  sections=(*MODEL_SECTIONS, "training.iteration", "training.mix", "tags"),
                  inputs={"seed": SEED, "curated": curated(config, t)}, outputs=(Model,),
                  resumable=True))  # fmt: skip
    if config.measure.enabled:
        # M0 .. M_{T-1} scored a curate stage; the last model scores nothing in this run
        scorers = {f"M{t}": model_stage(t) for t in range(config.iterations)}
        inputs = {
            "heldout": Ref("seed", HeldOutPair),
            "seed": SEED,
            "backward": Ref("train_backward", Model),
            "candidates": Ref("augment", Candidate),
            "dropped": Ref("augment", FilteredOut),
            **{name: Ref(stage, Model) for name, stage in scorers.items()},
        }
        stages.append(
            Stage(name="measure", run=partial(run_measure, scorers=tuple(scorers)),
                  sections=("measure", "augment", "curate", *MODEL_SECTIONS), inputs=inputs)
        )  # fmt: skip
    if config.evaluate.prompts:
        stages += evaluation_stages(config)
    if config.reference_likelihood.answers:
        stages += reference_stages(config)
    if config.judge.calibration:
        stages.append(Stage(name="judge_calibration", run=run_calibration,
                            sections=("judge", *MODEL_SECTIONS),
                            outputs=(Judgment, DeadLetter)))  # fmt: skip
    return stages


def evaluation_stages(config: RunConfig) -> list[Stage]:
    """The scaling rungs (seed + N curated examples of the last iteration), `evaluate` of every
    model, and `judge`."""
    last = config.iterations
    rungs = {f"N={n}": f"scale_{n}" for n in config.evaluate.scaling}
    stages = [
        Stage(name=stage, run=partial(run_training, role="iteration", augmented=n),
              sections=(*MODEL_SECTIONS, "training.iteration", "training.mix", "tags"),
              inputs={"seed": SEED, "curated": curated(config, last)},
              outputs=(Model,), resumable=True)
        for n, stage in zip(config.evaluate.scaling, rungs.values(), strict=True)
    ]  # fmt: skip
    models = {f"M{t}": model_stage(t) for t in range(last + 1)} | rungs
    sizes = {f"M{last}": model_stage(last)} | rungs if rungs else {}
    return stages + [
        Stage(name="evaluate", run=partial(run_evaluate, models=tuple(models)),
              sections=("evaluate", "tags", *MODEL_SECTIONS),
              inputs={name: Ref(stage, Model) for name, stage in models.items()},
              outputs=(EvalAnswer, DeadLetter)),
        Stage(name="judge", run=partial(run_judge, sizes=sizes),
              sections=("judge", *MODEL_SECTIONS),
              inputs={"answers": Ref("evaluate", EvalAnswer)}, outputs=(Judgment, DeadLetter)),
    ]  # fmt: skip


ABLATIONS = {"random": "ablate_random", "all": "ablate_all"}


def reference_stages(config: RunConfig) -> list[Stage]:
    """With `ablation`, models on seed + random and seed + all candidates; then
    `reference_likelihood` of every model, M_T compared with M0 and with each ablation."""
    last = config.iterations
    ablations = ABLATIONS if config.reference_likelihood.ablation else {}
    stages = [
        Stage(name=stage, run=partial(run_ablation, pick=pick),
              sections=(*MODEL_SECTIONS, "training.iteration", "training.mix", "tags",
                        "reference_likelihood.seed", *DECONTAMINATION),
              inputs={"seed": SEED, "candidates": Ref("augment", Candidate),
                      "curated": curated(config, last)},
              outputs=(SFTExample, Model), resumable=True)
        for pick, stage in ablations.items()
    ]  # fmt: skip
    models = {f"M{t}": model_stage(t) for t in range(last + 1)} | ablations
    compare = (("M0", f"M{last}"), *((pick, f"M{last}") for pick in ablations))
    return stages + [
        Stage(name="reference_likelihood",
              run=partial(run_reference_likelihood, models=tuple(models), compare=compare),
              sections=("reference_likelihood", "evaluate.prompts", "evaluate.limit",
                        "evaluate.seed", "evaluate.tags", "evaluate.models", "tags",
                        *MODEL_SECTIONS),
              inputs={name: Ref(stage, Model) for name, stage in models.items()},
              outputs=(ReferenceScore, DeadLetter))
    ]  # fmt: skip


def run_ablation(run: StageRun, pick: str) -> StageResult:
    """The paper's baselines in kind: seed + `pick` candidates ("random": as many as the last
    iteration kept, a seeded draw; "all": every one), web-tagged as curated rows are (none
    that overlaps an evaluation prompt), and a model trained on them as M_T is."""
    overlap = eval_overlap(run.config)
    pool = sorted(
        (
            c
            for c in load_rows(run.inputs["candidates"])
            if overlap is None or not overlap(c["instruction"])
        ),
        key=lambda c: c["id"],
    )
    if pick == "random":
        n = len(load_rows(run.inputs["curated"]))
        pool = random.Random(run.config.reference_likelihood.seed).sample(pool, min(n, len(pool)))
    convert = to_sft_example(run.config.tags)
    rows = [convert({**c, "score": None, "iteration": 0, "ifd": None}) for c in pool]
    write_rows(rows, run.folder, SFTExample)
    return run_training(run, role="iteration",
                        curated=shard_pattern(run.folder, SFTExample.shard))  # fmt: skip


def run_seed(run: StageRun) -> StageResult:
    cfg = run.config.seed
    rows = read_raw_rows(cfg.path)
    pairs, dead, filtered, normalised = select_seed_pairs(rows, cfg)
    overlap = eval_overlap(run.config)
    if overlap is not None:
        kept = [p for p in pairs if not overlap(p["instruction"])]
        if len(kept) < len(pairs):
            filtered["eval_overlap"] = len(pairs) - len(kept)
        pairs = kept
    if not pairs:
        raise UserError(f"seed.path: no valid pairs in {cfg.path} (see its dead letters)")
    pairs, heldout = split_holdout(pairs, cfg.holdout)
    write_rows(pairs, run.folder, SeedPair)
    write_rows(heldout, run.folder, HeldOutPair)
    write_rows(dead, run.folder, DeadLetter)
    counts = {"in": len(rows), "out": len(pairs) + len(heldout), "held_out": len(heldout),
              "dead_lettered": len(dead)}  # fmt: skip
    counts |= {f"filtered:{k}": v for k, v in filtered.items()}
    return StageResult(counts | {f"normalised:{k}": v for k, v in normalised.items()})


def run_training(run: StageRun, role: str, augmented: int | None = None,
                 curated: str | None = None) -> StageResult:  # fmt: skip
    """Write the job's spec into the stage folder and run it, in process or via the launcher;
    `augmented`: at most this many curated examples (a rung of the data scaling); `curated`:
    the SFT shards to train on beside the seed (default: the stage's `curated` input)."""
    from humpback.training.job import TrainingJob, run_job

    curated = curated or run.inputs.get("curated")
    training = run.config.training
    mix = training.mix
    if augmented is not None:
        cap = mix.augmented.model_copy(update={"max_examples": augmented})
        mix = mix.model_copy(update={"augmented": cap})
    job = TrainingJob(
        role=role,
        base_model=run.ctx.base_model,
        stage_dir=run.folder,
        seed_shards=shard_files(run.inputs["seed"]),
        curated_shards=shard_files(curated) if curated else [],
        tags=run.config.tags,
        mix=mix,
        hp=getattr(training, role),
        chat_template=run.config.chat_template,
    )
    spec = f"{run.folder}/job.json"
    with fsspec.open(spec, "w") as f:
        f.write(job.model_dump_json(indent=1))
    if training.launcher is None:
        metrics = run_job(job)
    else:
        command = training.launcher.format(spec=shlex.quote(spec), python=sys.executable)
        print(f"{run.stage}: {command}", flush=True)
        result = subprocess.run(command, shell=True)
        if result.returncode != 0:
            raise RuntimeError(
                f"{run.stage}: the launcher exited with {result.returncode}: {command}"
            )
        with fsspec.open(f"{run.folder}/metrics.json") as f:
            metrics = json.load(f)
    n = metrics["examples"]
    return StageResult({"in": n, "out": n}, metrics)


def segment_job(run: StageRun, total_files: int | None = None) -> Build:
    """The segment stage's pipeline."""
    cfg = run.config
    return lambda p: segment_pipeline.build(p, cfg.corpus, cfg.segment, run.folder, total_files)


def run_segment(run: StageRun) -> StageResult:
    files = expand_paths(run.config.corpus.paths)  # a glob that matches nothing stops here
    result = run_beam(run, segment_job(run, len(files)))
    remove_folder(f"{run.folder}/{segment_pipeline.DEDUP_SCRATCH}")
    return result


def seed_checks(run: StageRun) -> tuple[Demonstrations, SeedPhrases]:
    """The seed pairs the backward prompt shows, chosen from the training pairs, and the phrases
    of the instructions M_yx trained on, from one read of the seed shards (none in a job built
    offline: they change the prompts and the checks, not the job's steps)."""
    if run.offline:
        return NO_DEMONSTRATIONS, NO_SEED_PHRASES
    return checks_from_seed(load_rows(run.inputs["seed"]), run.config.augment)


def augment_steps(run: StageRun) -> list[ModelStep]:
    """M_yx writes each segment's instruction after the demonstrations, then reads its PMI."""
    cfg, model = run.config.augment, run.inputs["model"]
    shown, phrases = seed_checks(run)
    steps = [ModelStep(Backtranslate.configured(model, cfg, shown, phrases), model, cfg)]
    if cfg.pmi:
        steps.append(ModelStep(InstructionPMI(shown), model, cfg))
    return steps


def augment_metrics(steps: list[ModelStep], counts: Mapping[str, int]) -> dict:
    """The demonstrations shown, and the share of the instructions M_yx wrote (every draw) that
    borrowed from a demonstration or from its training instructions; `borrowed_kept`: how many
    of them the candidates kept (none with `augment.check_borrow`, which drops them)."""
    task = steps[0].task
    shown = task.demonstrations
    pool = {"pool": len(shown.pool), "count": shown.count, "choose": shown.choose}
    asked = counts.get("in", 0) - counts.get("dead_lettered", 0)
    asked -= counts.get(f"filtered:{NOT_AN_ANSWER}", 0)  # screened out: no instruction written
    kinds = ("filtered", "dropped_draw", "kept_draw")
    borrowed = {source: sum(counts.get(f"{kind}:borrows_{source}", 0) for kind in kinds)
                for source in ("demonstration", "seed")}  # fmt: skip
    kept = sum(counts.get(f"kept_draw:borrows_{source}", 0) for source in borrowed)
    written = asked * task.samples
    rate = round(sum(borrowed.values()) / written, 4) if written else None
    return {"demonstrations": pool, "borrow_rate": rate, "borrowed_draws": borrowed,
            "borrowed_kept": kept, "draws": written}  # fmt: skip


def curate_steps(run: StageRun, t: int) -> list[ModelStep]:
    """The scorer M_{t-1} rates each candidate by the rubric, reads its IFD, or both."""
    cfg, scorer = run.config.curate, run.inputs["scorer"]
    steps = []
    if cfg.rubric:
        steps.append(ModelStep(Score(scorer_model=scorer, iteration=t, mode=cfg.rubric), scorer,
                               cfg))  # fmt: skip
    if cfg.uses_likelihood:
        steps.append(ModelStep(AnswerIFD(scorer_model=scorer, iteration=t), scorer, cfg))
    return steps


def curate_tail(run: StageRun) -> Tail:
    """Keep the candidates that pass and overlap no evaluation prompt, as SFT rows."""
    overlap = None if run.offline else eval_overlap(run.config)
    return keep_and_convert(run.config.curate, run.config.tags, run.folder, overlap)


def rewrite_steps(run: StageRun) -> list[ModelStep]:
    """The rewriter writes each curated web answer again, as an assistant would."""
    cfg = run.config.rewrite
    model = run.ctx.model(cfg.model)
    return [ModelStep(Rewrite(model, cfg.min_length_ratio), model, cfg)]


def run_measure(run: StageRun, scorers: tuple[str, ...]) -> StageResult:
    """The method's measures on the held-out pairs (`humpback.measures.method`), also written
    to `measures.json` in the stage folder."""
    from humpback.measures.boilerplate import boilerplate_answers
    from humpback.measures.method import instruction_form, measure

    heldout = load_rows(run.inputs["heldout"])
    if not heldout:
        raise UserError("measure: no held-out pairs; set seed.holdout (and rerun seed)")
    cfg = run.config.measure
    shown, phrases = seed_checks(run)
    measures = {
        "instruction_form": instruction_form(
            load_rows(run.inputs["candidates"]), load_rows(run.inputs["dropped"])
        ),
        **measure(
            run.config,
            heldout,
            shown,
            local_copy(run.ctx.base_model),
            local_copy(run.inputs["backward"]),
            {name: local_copy(run.inputs[name]) for name in scorers},
            boilerplate_answers(cfg.boilerplate) if cfg.boilerplate else [],
            say=lambda line: print(f"[humpback] {line}", flush=True),
            seed=phrases,
        ),
    }
    write_text(f"{run.folder}/measures.json", json.dumps(measures, indent=1))
    return StageResult({}, measures)
