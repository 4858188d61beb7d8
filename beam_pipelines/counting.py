"""Counters every pipeline step updates, and their collection after a run."""

import apache_beam as beam
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.runners.runner import PipelineResult

NAMESPACE = "humpback"


def count(name: str, n: int = 1) -> None:
    beam.metrics.Metrics.counter(NAMESPACE, name).inc(n)


def count_out(element):
    """Count an element as the stage's output, passing it on."""
    count("out")
    return element


def run_and_count(pipeline: beam.Pipeline) -> dict[str, int]:
    """Run a pipeline to completion and return its humpback counters."""
    result = pipeline.run()
    result.wait_until_finish()
    return counters(result)


def counters(result: PipelineResult) -> dict[str, int]:
    """The humpback counters of a finished pipeline run, summed by name."""
    found = result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))["counters"]
    totals: dict[str, int] = {}
    for c in found:
        value = c.committed if c.committed is not None else c.attempted
        totals[c.key.metric.name] = totals.get(c.key.metric.name, 0) + value
    return totals
