"""The one pipeline of every model stage: read the records, run the stage's model steps, write
what they make (the last task's record type), what they filter and the dead letters, and count
or hand on the records (`tail`)."""

from collections.abc import Callable

import apache_beam as beam

from humpback.beam_pipelines.counting import count_out
from humpback.beam_pipelines.io.shards import read_shards, write_shards
from humpback.beam_pipelines.run_task import chain_steps
from humpback.schemas.records import DeadLetter, FilteredOut
from humpback.tasks.task import ModelStep

Tail = Callable[[beam.PCollection], object]  # what becomes of the written records


def count_written(records: beam.PCollection) -> None:
    records | "Count out" >> beam.Map(count_out)


def build(
    pipeline: beam.Pipeline,
    stage: str,
    source: str | list[dict],
    steps: list[ModelStep],
    out_dir: str,
    total: int | None = None,
    cache_dir: str | None = None,
    part: str = "",
    tail: Tail = count_written,
) -> None:
    """Run `steps` over `source` (a glob of shards, or records) and write their outputs as
    shards in `out_dir` (named with `part`, see `write_shards`); `total` inputs, for progress.
    Inputs a task keeps in place of a filtered answer are written beside its records."""
    if isinstance(source, str):
        records = read_shards(pipeline, source)
    else:
        records = pipeline | "Records" >> beam.Create(source)
    outputs = chain_steps(records, stage, steps, total, cache_dir)
    made = outputs[-1]["records"]
    kept = tuple(o["kept"] for o in outputs)
    written = (made, *kept) | "With kept inputs" >> beam.Flatten()
    write_shards(written, out_dir, steps[-1].task.record, part)
    for name, kind in (("dead", DeadLetter), ("filtered", FilteredOut)):
        pcolls = tuple(o[name] for o in outputs)
        write_shards(pcolls | f"All {name}" >> beam.Flatten(), out_dir, kind, part)
    tail(made)
