"""Counters every pipeline step updates, and their collection after a run."""

import apache_beam as beam
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.runners.runner import PipelineResult

NAMESPACE = "humpback"


def count(name: str, n: int = 1) -> None:
    beam.metrics.Metrics.counter(NAMESPACE, name).inc(n)


def observe(name: str, value: int) -> None:
    """One value of a distribution (a document's milliseconds, say)."""
    beam.metrics.Metrics.distribution(NAMESPACE, name).update(value)


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


def maxima(result: PipelineResult) -> dict[str, int]:
    """The largest value each humpback distribution saw in a finished run."""
    found = result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))["distributions"]
    largest: dict[str, int] = {}
    for d in found:
        value = d.committed if d.committed is not None else d.attempted
        if value is not None and value.count:
            name = d.key.metric.name
            largest[name] = max(largest.get(name, value.max), value.max)
    return largest
