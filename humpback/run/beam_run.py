"""A stage's Beam pipeline, run with the run's Beam options."""

from collections.abc import Callable

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.portability.api import beam_provision_api_pb2
from apache_beam.runners.portability.fn_api_runner.fn_runner import (
    ExtendedProvisionInfo,
    FnApiRunner,
)
from apache_beam.runners.portability.portable_runner import JobServiceHandle
from apache_beam.utils import shared

from humpback.beam_pipelines.counting import run_and_count
from humpback.run.graph import StageResult, StageRun

Build = Callable[[beam.Pipeline], None]


def beam_options(run: StageRun, extra: list[str] = ()) -> PipelineOptions:
    """The config's `beam.options`, then the command line's Beam arguments, then `extra`."""
    return PipelineOptions([*run.config.beam.args(), *run.ctx.beam_args, *extra])


def new_pipeline(options: PipelineOptions | None = None) -> beam.Pipeline:
    """A pipeline on the runner the options name or, when they name none, on Beam's FnApiRunner
    with the options, as the DirectRunner runs a batch job when Prism does not start.

    The DirectRunner tries Prism first, downloading its binary from GitHub: a run that depends
    on the network, runs on another runner where there is one, and spends 0.16 CPU-s failing
    where there is none."""
    options = PipelineOptions([]) if options is None else options  # as Beam: not sys.argv
    if options.view_as(StandardOptions).runner:
        return beam.Pipeline(options=options)
    encoded = JobServiceHandle.encode_pipeline_options(options.get_all_options())
    provision = ExtendedProvisionInfo(
        beam_provision_api_pb2.ProvisionInfo(pipeline_options=encoded)
    )
    return beam.Pipeline(runner=FnApiRunner(provision_info=provision), options=options)


def run_beam(run: StageRun, build: Build) -> StageResult:
    """Build and run one Beam pipeline with the run's Beam options; its counters are the counts."""
    pipeline = new_pipeline(beam_options(run))
    build(pipeline)
    counts = run_and_count(pipeline)
    # Beam keeps the last model RunInference loaded in this process alive for a next pipeline
    # (apache_beam.utils.shared); the run's next stage trains or loads another model instead.
    shared._shared_map._keepalive = (None, None)
    return StageResult(counts)
