"""Run planning on stages that run no model: --only, --until, --force, skipping complete stages,
inputs resolved from their one declaration, and fingerprints that follow config and upstream."""

import json
from pathlib import Path

import pytest

from humpback.run.graph import Model, Ref, RunContext, Stage, StageResult, execute
from humpback.run.plan import PlanError, run_stages, select
from humpback.run.stages import build_stages
from humpback.schemas.config import RunConfig
from humpback.schemas.records import SeedPair
from humpback.storage.shards import write_rows


def config(run_dir: Path, **changes) -> RunConfig:
    return RunConfig.model_validate(
        {"run_dir": str(run_dir), "seed": {"path": "seed.jsonl"}, "corpus": {"paths": ["c.warc"]},
         **changes}
    )  # fmt: skip


class Graph:
    """a -> b -> c; each run records its inputs and counts one record in and out."""

    def __init__(self):
        self.calls: list[tuple[str, dict]] = []
        pair = {"id": "1", "instruction": "Why?", "output": "Because.", "source": "test"}

        def run(run):
            self.calls.append((run.stage, dict(run.inputs)))
            if run.stage == "a":
                write_rows([pair], run.folder, SeedPair)
            return StageResult({"in": 1, "out": 1}, {"stage": run.stage})

        self.stages = [
            Stage(name="a", run=run, sections=("segment",), outputs=(SeedPair,)),
            Stage(name="b", run=run, sections=("augment",), inputs={"pairs": Ref("a", SeedPair)},
                  outputs=(Model,)),
            Stage(name="c", run=run, sections=("curate",),
                  inputs={"model": Ref("b", Model), "pairs": Ref("a", SeedPair)}),
        ]

    def run(self, ctx, only=None, until=None, force=()) -> list[str]:
        """The stages that ran."""
        before = len(self.calls)
        run_stages(ctx, select(self.stages, only, until, force), force, say=lambda _: None)
        return [name for name, _ in self.calls[before:]]


def test_a_second_run_skips_every_complete_stage(tmp_path):
    graph, ctx = Graph(), RunContext(config(tmp_path))
    assert graph.run(ctx) == ["a", "b", "c"]
    assert graph.run(ctx) == []


def test_inputs_resolve_from_their_declaration_and_outputs_reach_the_manifest(tmp_path):
    graph, ctx = Graph(), RunContext(config(tmp_path))
    graph.run(ctx)
    inputs = dict(graph.calls)
    assert inputs["c"] == {"model": f"{tmp_path}/b/model", "pairs": f"{tmp_path}/a/seed-*.parquet"}
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert manifest["outputs"] == {"seed": [f"{tmp_path}/a/seed-00000-of-00001.parquet"]}
    assert manifest["metrics"] == {"stage": "a"} and manifest["counts"]["out"] == 1


def test_only_and_until_select_stages_in_graph_order(tmp_path):
    graph = Graph()
    assert [s.name for s in select(graph.stages, until="b")] == ["a", "b"]
    assert [s.name for s in select(graph.stages, only="b")] == ["b"]
    with pytest.raises(PlanError, match="no stage 'x'; stages are a, b, c"):
        select(graph.stages, force=["x"])


def test_only_a_stage_whose_inputs_never_ran_is_refused_before_anything_runs(tmp_path):
    graph, ctx = Graph(), RunContext(config(tmp_path))
    with pytest.raises(PlanError, match="c needs the output of a, which has not run"):
        graph.run(ctx, only="c")
    assert graph.calls == []
    assert graph.run(ctx, until="a") == ["a"]
    with pytest.raises(PlanError, match="c needs the output of b"):
        graph.run(ctx, only="c")


def test_force_redoes_a_stage_and_so_every_stage_that_reads_it(tmp_path):
    graph, ctx = Graph(), RunContext(config(tmp_path))
    graph.run(ctx)
    assert graph.run(ctx, force=["b"]) == ["b", "c"]


def test_a_changed_config_section_redoes_its_stage_and_those_downstream(tmp_path):
    graph = Graph()
    graph.run(RunContext(config(tmp_path)))
    assert graph.run(RunContext(config(tmp_path, curate={"k": 3}))) == ["c"]
    assert graph.run(RunContext(config(tmp_path, segment={"min_chars": 10}))) == ["a", "b", "c"]


def test_counts_that_do_not_reconcile_fail_the_stage_and_leave_no_manifest(tmp_path):
    ctx = RunContext(config(tmp_path))
    stage = Stage(name="a", run=lambda run: StageResult({"in": 3, "out": 1, "filtered:short": 1}))
    with pytest.raises(RuntimeError, match="counts do not reconcile: in 3 != 2"):
        execute(ctx, stage)
    assert not (tmp_path / "a" / "manifest.json").exists()


def test_a_resumable_stage_keeps_its_folder_for_the_same_attempt_and_others_start_clean(tmp_path):
    ctx = RunContext(config(tmp_path))
    seen = []

    def run(run):
        seen.append((Path(run.folder) / "checkpoint").exists())
        (Path(run.folder) / "checkpoint").write_text("step 1")
        raise KeyboardInterrupt

    for resumable in (True, False):
        stage = Stage(name="t", run=run, resumable=resumable)
        for _ in range(2):
            with pytest.raises(KeyboardInterrupt):
                execute(ctx, stage)
    assert seen == [False, True, False, False]  # only the resumable rerun finds its checkpoint


def test_each_curate_stage_is_scored_by_the_model_before_it_and_reads_declared_outputs(tmp_path):
    stages = build_stages(config(tmp_path, iterations=3))
    scorers = {s.name: s.inputs["scorer"].stage for s in stages if "scorer" in s.inputs}
    assert scorers == {"curate_1": "train_seed", "curate_2": "train_1", "curate_3": "train_2"}
    declared = {}
    for stage in stages:
        for ref in stage.inputs.values():
            assert ref.output in declared[ref.stage], f"{stage.name} reads {ref}"
        declared[stage.name] = stage.outputs
