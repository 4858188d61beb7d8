"""The `augment` pipeline: the backward model M_yx writes an instruction for every segment."""

import apache_beam as beam

from humpback.beam_pipelines.counting import count_out
from humpback.beam_pipelines.io.shards import read_shards
from humpback.beam_pipelines.run_task import RunTask
from humpback.schemas.config import InferenceConfig
from humpback.storage.shards import count_rows, shard_files
from humpback.tasks.backtranslate import Backtranslate


def build(
    pipeline: beam.Pipeline,
    segments: str,
    model_path: str,
    cfg: InferenceConfig,
    out_dir: str,
    cache_dir: str | None = None,
) -> None:
    """Candidates from the segments shards that the glob `segments` matches."""
    task = Backtranslate(backward_model=model_path)
    total = count_rows(shard_files(segments))
    candidates = read_shards(pipeline, segments) | RunTask(
        "augment", task, model_path, cfg, out_dir, total, cache_dir
    )
    candidates | "Count out" >> beam.Map(count_out)
