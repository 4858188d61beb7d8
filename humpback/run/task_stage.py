"""A model stage declared from its steps: the generic task pipeline runs it, over the shards of
the input it reads, and the same pipeline is its Dataflow job."""

from collections.abc import Callable, Mapping

from humpback.beam_pipelines import task_pipeline
from humpback.run.beam_run import Build, run_beam
from humpback.run.graph import Output, Ref, Stage, StageResult, StageRun
from humpback.storage.shards import count_rows, shard_files
from humpback.tasks.task import ModelStep

Steps = Callable[[StageRun], list[ModelStep]]


def task_stage(
    *,
    name: str,
    steps: Steps,
    reads: str,
    inputs: Mapping[str, Ref],
    outputs: tuple[Output, ...],
    sections: tuple[str, ...],
    tail: Callable[[StageRun], task_pipeline.Tail] | None = None,
    metrics: Callable[[list[ModelStep], Mapping[str, int]], dict] | None = None,
) -> Stage:
    """A stage that runs `steps` (its tasks, each with its model and inference settings, made
    from the run) over the input `reads`; `tail`: what becomes of the records (default: counted
    out); `metrics`: figures for its manifest from the steps it ran and its counts."""

    def build(run: StageRun, chosen: list[ModelStep], total: int | None = None) -> Build:
        end = tail(run) if tail else task_pipeline.count_written
        return lambda p: task_pipeline.build(
            p, run.stage, run.inputs[reads], chosen, run.folder, total, run.ctx.inference_cache,
            tail=end,
        )  # fmt: skip

    def run_stage(run: StageRun) -> StageResult:
        chosen = steps(run)
        total = count_rows(shard_files(run.inputs[reads]))
        counts = run_beam(run, build(run, chosen, total)).counts
        return StageResult(counts, metrics(chosen, counts) if metrics else {})

    return Stage(name=name, run=run_stage, pipeline=lambda run: build(run, steps(run)),
                 sections=sections, inputs=inputs, outputs=outputs)  # fmt: skip
