"""A config's Dataflow jobs, built offline: every Beam stage's pipeline (segment, and each model
stage from its declaration) made with the DataflowRunner and `--dry_run=True` (no credentials,
no network, nothing submitted), and read back from the job's pipeline proto: each step, the
resource hints it carries, the image."""

from dataclasses import dataclass

import apache_beam as beam
from apache_beam.portability.api import beam_runner_api_pb2
from apache_beam.transforms.resources import ResourceHint

from humpback.run.beam_run import beam_options
from humpback.run.graph import RunContext, stage_run
from humpback.run.stages import build_stages
from humpback.schemas.config import RunConfig

DRY_RUN = ["--runner=DataflowRunner", "--dry_run=True"]


@dataclass(frozen=True)
class Step:
    name: str
    hints: dict[str, str]  # hint name (accelerator, min_ram, ...) -> value


@dataclass(frozen=True)
class StageJob:
    stage: str
    images: list[str]  # the SDK container image of each environment
    steps: list[Step]  # the steps that run user code (they have an environment)

    def with_hints(self) -> list[Step]:
        return [s for s in self.steps if s.hints]


def dataflow_jobs(config: RunConfig, beam_args: list[str] = ()) -> list[StageJob]:
    """The Dataflow job of each Beam stage of the config, built with its Beam options (the
    config's, then `beam_args`) and the DataflowRunner's dry run."""
    ctx = RunContext(config, list(beam_args))
    found = []
    for stage in build_stages(config):
        if stage.pipeline is None:
            continue
        run = stage_run(ctx, stage, offline=True)
        pipeline = beam.Pipeline(options=beam_options(run, DRY_RUN))
        stage.pipeline(run)(pipeline)
        pipeline.run()
        found.append(describe(stage.name, pipeline.runner.proto_pipeline))
    return found


def describe(stage: str, proto: beam_runner_api_pb2.Pipeline) -> StageJob:
    """The steps of a pipeline proto that run in an environment, with that environment's
    resource hints, and the environments' container images."""
    environments = proto.components.environments
    steps = []
    for transform in proto.components.transforms.values():
        if transform.subtransforms or not transform.environment_id:
            continue
        hints = environments[transform.environment_id].resource_hints
        steps.append(Step(transform.unique_name, {_hint_name(u): v.decode() for u, v in
                                                  sorted(hints.items())}))  # fmt: skip
    images = sorted({_image(env) for env in environments.values()} - {""})
    return StageJob(stage, images, sorted(steps, key=lambda s: s.name))


def _hint_name(urn: str) -> str:
    """The hint's name as `with_resource_hints` takes it (min_ram, not its alias minRam)."""
    known = {
        hint.urn: name for name, hint in ResourceHint._name_to_known_hints.items() if name.islower()
    }
    return known.get(urn, urn)


def _image(env: beam_runner_api_pb2.Environment) -> str:
    if env.urn != "beam:env:docker:v1":
        return ""
    return beam_runner_api_pb2.DockerPayload.FromString(env.payload).container_image


def print_jobs(jobs: list[StageJob]) -> None:
    """Per stage: the image, then every step with its hints (steps without any grouped)."""
    for job in jobs:
        print(f"{job.stage}: {len(job.steps)} steps; image {', '.join(job.images) or '-'}")
        for step in job.with_hints():
            hints = "; ".join(f"{k}={v}" for k, v in step.hints.items())
            print(f"  {step.name}\n      {hints}")
        plain = [s.name for s in job.steps if not s.hints]
        groups = sorted({"/".join(name.split("/")[:2]) for name in plain})
        print(f"  no hints, CPU workers: {len(plain)} steps, under {', '.join(groups)}")
