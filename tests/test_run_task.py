"""A new task runs through the generic Beam transform as it is: its own record and shard, a
label distribution read, and rejected answers dead-lettered with the task's reason."""

from dataclasses import dataclass
from typing import ClassVar

from humpback.beam_pipelines import task_pipeline
from humpback.beam_pipelines.counting import run_and_count
from humpback.inference.backend import Messages
from humpback.run.beam_run import new_pipeline
from humpback.schemas.config import InferenceConfig
from humpback.schemas.records import Record
from humpback.storage.shards import load_rows
from humpback.tasks.reads import ReadLabels
from humpback.tasks.task import ModelStep, Rejected, Task


class Verdict(Record):
    shard: ClassVar[str] = "verdicts"
    id: str
    p_yes: float


@dataclass(frozen=True)
class IsAboutPlants(Task):
    record: ClassVar = Verdict
    reads: ClassVar = ReadLabels("Answer:", ("1", "2"))

    def prompt(self, record: dict) -> Messages:
        return [
            {"role": "user", "content": f"Is this about plants? 1 yes, 2 no.\n{record['text']}"}
        ]

    def parse(self, record: dict, answer: list[float]) -> dict | Rejected:
        if "refuse" in record["text"]:
            return Rejected("refused_by_task", record["text"])
        return Verdict(id=record["id"], p_yes=answer[0]).model_dump()

    def counted(self, outcome) -> list[str]:
        return ["confident"] if isinstance(outcome, dict) and outcome["p_yes"] > 0 else []


def test_a_new_task_needs_no_change_to_the_transform(tiny_model, tmp_path):
    texts = ["Water tomatoes twice a week.", "refuse this one", "Prune roses in March."]
    records = [{"id": f"r{i}", "text": t} for i, t in enumerate(texts)]
    pipeline = new_pipeline()
    task, cfg = IsAboutPlants(), InferenceConfig(batch_size=2)
    step = ModelStep(task, tiny_model, cfg)
    task_pipeline.build(pipeline, "judge", records, [step], str(tmp_path), total=3)
    counts = run_and_count(pipeline)
    assert counts["in"] == 3 and counts["dead_lettered"] == 1
    assert counts["confident"] == 2  # the task's own counters, from each outcome
    verdicts = sorted(load_rows(f"{tmp_path}/verdicts-*.parquet"), key=lambda v: v["id"])
    assert [v["id"] for v in verdicts] == ["r0", "r2"]
    assert all(0 <= v["p_yes"] <= 1 for v in verdicts)
    (dead,) = load_rows(f"{tmp_path}/dead_letter-*.parquet")
    assert (dead["stage"], dead["input_id"], dead["error"]) == ("judge", "r1", "refused_by_task")
    assert dead["raw"] == "refuse this one"
