"""The stage graph: a stage declares its config sections, inputs and outputs once, and its
folders, input paths, fingerprint and manifest follow from that declaration."""

import hashlib
import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

from humpback.run.manifest import counts_from, read_manifest, write_manifest
from humpback.run.memory import release_memory
from humpback.schemas.config import RunConfig
from humpback.schemas.errors import UserError
from humpback.schemas.records import Record
from humpback.storage.folders import read_text, remove_folder, write_text
from humpback.storage.shards import shard_files, shard_pattern


class Model:
    """A stage's trained model: the folder `<stage>/model`."""


Output = type[Record] | type[Model]


@dataclass(frozen=True)
class Ref:
    """An output of an upstream stage: a shard set by its record type, or the stage's Model."""

    stage: str
    output: Output


@dataclass(frozen=True)
class StageResult:
    """What a stage did: flat counters (in, out, filtered:<reason>, duplicates, dead_lettered,
    and any detail) that must reconcile, and metrics for its manifest."""

    counts: Mapping[str, int]
    metrics: Mapping = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Stage:
    """A stage, declared once by keyword (a model stage through `task_stage`, from its steps).
    `pipeline`, for a Beam stage: its pipeline as built for a run, which is also its Dataflow
    job (`humpback dataflow-job`)."""

    name: str
    run: Callable[["StageRun"], StageResult]
    sections: tuple[str, ...] = ()  # the config sections its output depends on
    inputs: Mapping[str, Ref] = field(default_factory=dict)
    outputs: tuple[Output, ...] = ()
    resumable: bool = False  # a rerun of the same attempt keeps the folder (checkpoints)
    pipeline: Callable[["StageRun"], Callable] | None = None

    @property
    def upstream(self) -> list[str]:
        return sorted({ref.stage for ref in self.inputs.values()})


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

    def url(self, stage: str, output: Output) -> str:
        """Where a stage's output lies: its model folder, or the glob of a shard set."""
        if output is Model:
            return f"{self.stage_dir(stage)}/model"
        return shard_pattern(self.stage_dir(stage), output.shard)

    @property
    def inference_cache(self) -> str:
        """Inference results by request, shared by the stages and kept across their reruns."""
        return f"{self.run_dir}/inference_cache"

    @cached_property
    def base_model(self) -> str:
        """The base model's folder or hub id; the embedded model is converted on first use, and
        what the conversion held is handed back before a stage trains."""
        from humpback.inference.embedded_model import resolve_model

        model = resolve_model(self.config.base_model)
        release_memory()
        return model

    def model(self, name: str | None) -> str:
        """A model a step names (a folder, hub id or embedded:NAME) as a local folder; None:
        the base model."""
        from humpback.inference.embedded_model import resolve_model
        from humpback.storage.folders import local_copy

        return local_copy(resolve_model(name)) if name else self.base_model


@dataclass(frozen=True)
class StageRun:
    """What a stage's run function is given: the run, its own folder, its inputs' URLs;
    `offline` when its job is built without reading its inputs (they need not exist)."""

    ctx: RunContext
    stage: str
    folder: str
    inputs: Mapping[str, str]
    offline: bool = False

    @property
    def config(self) -> RunConfig:
        return self.ctx.config


def stage_run(ctx: RunContext, stage: Stage, offline: bool = False) -> StageRun:
    """What the stage is given: its folder and its inputs' URLs."""
    inputs = {name: ctx.url(ref.stage, ref.output) for name, ref in stage.inputs.items()}
    return StageRun(ctx, stage.name, ctx.stage_dir(stage.name), inputs, offline)


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
        raise UserError(
            f"{stage.name} needs {', '.join(stage.upstream)} complete for this config (one has "
            "not run, or ran with other settings): run without --only"
        )
    folder = ctx.stage_dir(stage.name)
    attempt = f"{folder}/attempt.json"
    if not (stage.resumable and read_text(attempt) == key):
        remove_folder(folder)
    write_text(attempt, key)
    start = time.monotonic()
    result = stage.run(stage_run(ctx, stage))
    release_memory()
    outputs: dict[str, str | list[str]] = {}
    for output in stage.outputs:
        url = ctx.url(stage.name, output)
        if output is Model:
            outputs["model"] = url
        else:
            outputs[output.shard] = shard_files(url)
    return write_manifest(
        folder,
        {
            "stage": stage.name,
            "fingerprint": key,
            "counts": counts_from(dict(result.counts)),
            "outputs": outputs,
            "metrics": dict(result.metrics),
            "wall_s": round(time.monotonic() - start, 2),
        },
    )
