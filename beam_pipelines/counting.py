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


def _metrics(result: PipelineResult, kind: str):
    """(name, committed value, or the attempted one) of each humpback metric of a kind."""
    for m in result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))[kind]:
        yield m.key.metric.name, m.committed if m.committed is not None else m.attempted


def counters(result: PipelineResult) -> dict[str, int]:
    """The humpback counters of a finished pipeline run, summed by name."""
    totals: dict[str, int] = {}
    for name, value in _metrics(result, "counters"):
        totals[name] = totals.get(name, 0) + value
    return totals


def maxima(result: PipelineResult) -> dict[str, int]:
    """The largest value each humpback distribution saw in a finished run."""
    largest: dict[str, int] = {}
    for name, value in _metrics(result, "distributions"):
        if value is not None and value.count:
            largest[name] = max(largest.get(name, value.max), value.max)
    return largest
