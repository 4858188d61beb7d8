"""The `augment` pipeline: the backward model M_yx writes an instruction for every segment, and
(optionally) scores how much the segment raises that instruction's likelihood (PMI)."""

import apache_beam as beam

from humpback.beam_pipelines.counting import count_out
from humpback.beam_pipelines.io.shards import read_shards
from humpback.beam_pipelines.run_task import chain_tasks, write_task_outputs
from humpback.schemas.config import AugmentConfig
from humpback.schemas.records import Candidate
from humpback.tasks.backtranslate import Backtranslate
from humpback.tasks.demonstrations import NO_DEMONSTRATIONS, Demonstrations
from humpback.tasks.likelihood import InstructionPMI
from humpback.tasks.task import Task


def build(
    pipeline: beam.Pipeline,
    segments: str,
    model_path: str,
    cfg: AugmentConfig,
    out_dir: str,
    demonstrations: Demonstrations = NO_DEMONSTRATIONS,
    cache_dir: str | None = None,
    total: int | None = None,
) -> beam.PCollection:
    """Candidates from the segments shards that the glob `segments` matches (`total` of them,
    for progress); returns them, as written."""
    tasks: list[Task] = [
        Backtranslate(model_path, demonstrations, cfg.check_form, cfg.check_borrow)
    ]
    if cfg.pmi:
        tasks.append(InstructionPMI(demonstrations))
    outputs = chain_tasks(
        read_shards(pipeline, segments), "augment", tasks, model_path, cfg, total, cache_dir
    )
    candidates = write_task_outputs(outputs, out_dir, Candidate)
    candidates | "Count out" >> beam.Map(count_out)
    return candidates
