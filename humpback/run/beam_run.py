"""A stage's Beam pipeline, run with the run's Beam options."""

from collections.abc import Callable

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.utils import shared

from humpback.beam_pipelines.counting import run_and_count
from humpback.run.graph import StageResult, StageRun

Build = Callable[[beam.Pipeline], None]


def beam_options(run: StageRun, extra: list[str] = ()) -> PipelineOptions:
    """The config's `beam.options`, then the command line's Beam arguments, then `extra`."""
    return PipelineOptions([*run.config.beam.args(), *run.ctx.beam_args, *extra])


def run_beam(run: StageRun, build: Build) -> StageResult:
    """Build and run one Beam pipeline with the run's Beam options; its counters are the counts."""
    pipeline = beam.Pipeline(options=beam_options(run))
    build(pipeline)
    counts = run_and_count(pipeline)
    # Beam keeps the last model RunInference loaded in this process alive for a next pipeline
    # (apache_beam.utils.shared); the run's next stage trains or loads another model instead.
    shared._shared_map._keepalive = (None, None)
    return StageResult(counts)
