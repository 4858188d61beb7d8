"""The `judge` pipeline: a judge model compares each pair of answers, in the orders given."""

import apache_beam as beam

from humpback.beam_pipelines.counting import count_out
from humpback.beam_pipelines.run_task import chain_tasks, write_task_outputs
from humpback.schemas.config import JudgeConfig
from humpback.schemas.records import Judgment
from humpback.tasks.compare import Compare


def build(
    pipeline: beam.Pipeline,
    pairs: list[dict],
    judge_path: str,
    cfg: JudgeConfig,
    stage: str,
    out_dir: str,
    cache_dir: str | None = None,
) -> None:
    """Judgments of `pairs` ({id, instruction, dataset, generator, output_1, output_2,
    model_first, annotated}) as `judgments` shards in `out_dir`."""
    served = getattr(cfg.settings, "model", None)  # a server's model name
    task = Compare(
        judge=served or cfg.model or judge_path, form=cfg.form, answer_chars=cfg.answer_chars
    )
    outputs = chain_tasks(
        pipeline | "Pairs" >> beam.Create(pairs), stage, [task], judge_path, cfg, len(pairs),
        cache_dir,
    )  # fmt: skip
    write_task_outputs(outputs, out_dir, Judgment) | "Count out" >> beam.Map(count_out)
