"""A stage's Beam pipeline, run with the run's Beam options."""

from collections.abc import Callable

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.utils import shared

from humpback.beam_pipelines.counting import run_and_count
from humpback.run.graph import StageResult, StageRun


def run_beam(run: StageRun, build: Callable[[beam.Pipeline], None]) -> StageResult:
    """Build and run one Beam pipeline with the run's Beam options; its counters are the counts."""
    pipeline = beam.Pipeline(options=PipelineOptions(run.ctx.beam_args))
    build(pipeline)
    counts = run_and_count(pipeline)
    # Beam keeps the last model RunInference loaded in this process alive for a next pipeline
    # (apache_beam.utils.shared); the run's next stage trains or loads another model instead.
    shared._shared_map._keepalive = (None, None)
    return StageResult(counts)
