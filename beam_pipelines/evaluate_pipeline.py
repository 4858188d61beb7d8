"""The `evaluate` pipeline: one model answers the evaluation prompts."""

import apache_beam as beam

from humpback.beam_pipelines.counting import count_out
from humpback.beam_pipelines.run_task import chain_tasks, write_task_outputs
from humpback.schemas.config import EvaluateConfig
from humpback.schemas.records import EvalAnswer
from humpback.tasks.answer import Answer


def build(
    pipeline: beam.Pipeline,
    prompts: list[dict],
    model_path: str,
    answer: Answer,
    cfg: EvaluateConfig,
    out_dir: str,
    part: str,
    cache_dir: str | None = None,
) -> None:
    """Answers {id, instruction, dataset, generator, output} to `prompts` as the shards
    `answers-<part>-*` in `out_dir`."""
    outputs = chain_tasks(
        pipeline | "Prompts" >> beam.Create(prompts), f"evaluate {answer.generator}", [answer],
        model_path, cfg, len(prompts), cache_dir,
    )  # fmt: skip
    write_task_outputs(outputs, out_dir, EvalAnswer, part) | "Count out" >> beam.Map(count_out)
