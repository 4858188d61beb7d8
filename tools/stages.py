"""The stage graph of a run: what each stage reads, runs and writes, and when it can be skipped."""

import hashlib
import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property, partial

import apache_beam as beam
import fsspec
from apache_beam.options.pipeline_options import PipelineOptions

from beam_pipelines import augment_pipeline, curate_pipeline, segment_pipeline
from beam_pipelines.counting import run_and_count
from beam_pipelines.io.corpus import expand_paths
from beam_pipelines.io.model_folders import remove_folder
from beam_pipelines.io.seed_pairs import read_raw_rows, select_seed_pairs
from beam_pipelines.io.shards import shard_files, write_rows
from schemas.config import RunConfig
from schemas.records import DeadLetter, SeedPair
from tools.manifest import counts_from, read_manifest, read_text, write_manifest


@dataclass
class RunContext:
    config: RunConfig
    beam_args: list[str] = field(default_factory=list)

    @property
    def run_dir(self) -> str:
        """The run directory as a URL, or an absolute path when local."""
        run_dir = self.config.run_dir.rstrip("/")
        return run_dir if "://" in run_dir else os.path.abspath(run_dir)

    def stage_dir(self, stage: str) -> str:
        return f"{self.run_dir}/{stage}"

    @property
    def inference_cache(self) -> str:
        """Inference results by request, shared by the stages and kept across their reruns."""
        return f"{self.run_dir}/inference_cache"

    def model_dir(self, train_stage: str) -> str:
        return f"{self.stage_dir(train_stage)}/model"

    @cached_property
    def base_model(self) -> str:
        from training.embedded_model import resolve_model

        return resolve_model(self.config.base_model)

    def pipeline(self) -> beam.Pipeline:
        return beam.Pipeline(options=PipelineOptions(self.beam_args))


@dataclass(frozen=True)
class Stage:
    name: str
    sections: tuple[str, ...]  # config sections its output depends on
    upstream: tuple[str, ...]
    run: Callable[[RunContext], dict]  # returns flat counters, plus "_outputs" / "_metrics"
    resumable: bool = False  # a rerun of the same attempt keeps the folder (checkpoints)


def build_stages(config: RunConfig) -> list[Stage]:
    """seed -> train_backward, train_seed -> segment -> augment -> (curate_t -> train_t) x T."""
    stages = [
        Stage("seed", ("seed",), (), run_seed),
        Stage(
            "train_backward",
            ("base_model", "training.backward"),
            ("seed",),
            run_train_backward,
            resumable=True,
        ),
        Stage(
            "train_seed",
            ("base_model", "training.seed", "tags"),
            ("seed",),
            run_train_seed,
            resumable=True,
        ),
        Stage("segment", ("corpus", "segment"), (), run_segment),
        Stage("augment", ("augment",), ("segment", "train_backward"), run_augment),
    ]
    for t in range(1, config.iterations + 1):
        scorer = "train_seed" if t == 1 else f"train_{t - 1}"
        stages += [
            Stage(f"curate_{t}", ("curate", "tags"), ("augment", scorer), partial(run_curate, t=t)),
            Stage(
                f"train_{t}",
                ("base_model", "training.iteration", "training.mix", "tags"),
                ("seed", f"curate_{t}"),
                partial(run_train_iteration, t=t),
                resumable=True,
            ),
        ]
    return stages


def fingerprint(ctx: RunContext, stage: Stage) -> str | None:
    """Hash of its config sections and upstream runs; None while an upstream is missing."""
    data = ctx.config.model_dump(mode="json")
    parts: dict = {}
    for section in stage.sections:
        node = data
        for key in section.split("."):
            node = node[key]
        parts[section] = node
    for name in stage.upstream:
        manifest = read_manifest(ctx.stage_dir(name))
        if manifest is None:
            return None
        parts[name] = manifest["run_id"]
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def is_complete(ctx: RunContext, stage: Stage) -> bool:
    manifest = read_manifest(ctx.stage_dir(stage.name))
    return manifest is not None and manifest["fingerprint"] == fingerprint(ctx, stage)


def execute(ctx: RunContext, stage: Stage) -> dict:
    """Clear the stage's folder, run it, and write its manifest last."""
    key = fingerprint(ctx, stage)
    if key is None:
        raise RuntimeError(f"{stage.name}: upstream stages {stage.upstream} are not all complete")
    directory = ctx.stage_dir(stage.name)
    attempt = f"{directory}/attempt.json"
    if not (stage.resumable and read_text(attempt) == key):
        remove_folder(directory)
    fs, _, (local,) = fsspec.get_fs_token_paths(directory)
    fs.makedirs(local, exist_ok=True)
    fs.pipe_file(f"{local}/attempt.json", key.encode())
    start = time.monotonic()
    raw = stage.run(ctx)
    outputs, metrics = raw.pop("_outputs", {}), raw.pop("_metrics", {})
    return write_manifest(
        directory,
        {
            "stage": stage.name,
            "fingerprint": key,
            "counts": counts_from(raw),
            "outputs": outputs,
            "metrics": metrics,
            "wall_s": round(time.monotonic() - start, 2),
        },
    )


# --- the stages ------------------------------------------------------------------------------


def run_seed(ctx: RunContext) -> dict:
    cfg = ctx.config.seed
    rows = read_raw_rows(cfg.path)
    pairs, dead, filtered = select_seed_pairs(rows, cfg)
    if not pairs:
        raise RuntimeError(f"seed: no valid pairs in {cfg.path}")
    directory = ctx.stage_dir("seed")
    outputs = {"seed": write_rows(pairs, directory, "seed", SeedPair)}
    write_rows(dead, directory, "dead_letter", DeadLetter)
    counts = {"in": len(rows), "out": len(pairs), "dead_lettered": len(dead)}
    return {**counts, **{f"filtered:{k}": v for k, v in filtered.items()}, "_outputs": outputs}


def _train(ctx: RunContext, stage: str, role: str, hp, curate_stage: str | None = None) -> dict:
    """Write the job's spec into the stage folder and run it, in process or via the launcher."""
    from training.job import TrainingJob, run_job

    training = ctx.config.training
    directory = ctx.stage_dir(stage)
    job = TrainingJob(
        role=role,
        base_model=ctx.base_model,
        stage_dir=directory,
        seed_shards=shard_files(ctx.stage_dir("seed"), "seed"),
        curated_shards=shard_files(ctx.stage_dir(curate_stage), "curated") if curate_stage else [],
        tags=ctx.config.tags,
        mix=training.mix,
        hp=hp,
    )
    spec = f"{directory}/job.json"
    with fsspec.open(spec, "w") as f:
        f.write(job.model_dump_json(indent=1))
    if training.launcher is None:
        metrics = run_job(job)
    else:
        command = training.launcher.format(spec=shlex.quote(spec), python=sys.executable)
        print(f"{stage}: {command}", flush=True)
        result = subprocess.run(command, shell=True)
        if result.returncode != 0:
            raise RuntimeError(f"{stage}: the launcher exited with {result.returncode}: {command}")
        with fsspec.open(f"{directory}/metrics.json") as f:
            metrics = json.load(f)
    n = metrics["examples"]
    return {"in": n, "out": n, "_outputs": {"model": ctx.model_dir(stage)}, "_metrics": metrics}


def run_train_backward(ctx: RunContext) -> dict:
    return _train(ctx, "train_backward", "backward", ctx.config.training.backward)


def run_train_seed(ctx: RunContext) -> dict:
    return _train(ctx, "train_seed", "seed", ctx.config.training.seed)


def run_train_iteration(ctx: RunContext, t: int) -> dict:
    return _train(ctx, f"train_{t}", "iteration", ctx.config.training.iteration, f"curate_{t}")


def _run_pipeline(
    ctx: RunContext, stage: str, outputs: list[str], build: Callable[[beam.Pipeline], None]
) -> dict:
    """Build and run one Beam pipeline; its counters and output shards go to the manifest."""
    pipeline = ctx.pipeline()
    build(pipeline)
    counts = run_and_count(pipeline)
    directory = ctx.stage_dir(stage)
    counts["_outputs"] = {n: shard_files(directory, n) for n in [*outputs, "dead_letter"]}
    return counts


def run_segment(ctx: RunContext) -> dict:
    files = expand_paths(ctx.config.corpus.paths)
    out = ctx.stage_dir("segment")
    return _run_pipeline(
        ctx,
        "segment",
        ["segments"],
        lambda p: segment_pipeline.build(p, files, ctx.config.corpus, ctx.config.segment, out),
    )


def run_augment(ctx: RunContext) -> dict:
    return _run_pipeline(
        ctx,
        "augment",
        ["candidates"],
        lambda p: augment_pipeline.build(
            p,
            ctx.stage_dir("segment"),
            ctx.model_dir("train_backward"),
            ctx.config.augment,
            ctx.stage_dir("augment"),
            ctx.inference_cache,
        ),
    )


def run_curate(ctx: RunContext, t: int) -> dict:
    scorer = ctx.model_dir("train_seed" if t == 1 else f"train_{t - 1}")
    return _run_pipeline(
        ctx,
        f"curate_{t}",
        ["scored", "curated"],
        lambda p: curate_pipeline.build(
            p,
            ctx.stage_dir("augment"),
            scorer,
            ctx.config.curate,
            t,
            ctx.config.tags,
            ctx.stage_dir(f"curate_{t}"),
            ctx.inference_cache,
        ),
    )
