"""Progress of a long step, reported from inside the pipeline: done of total, rate, time left.

A terminal gets one line, rewritten at most once a second; a log that is not a terminal gets a
line at most every LOG_INTERVAL_S seconds, and one when the step is done. Each worker process
reports what it has done itself.
"""

import sys
import time
import uuid

import apache_beam as beam

LOG_INTERVAL_S = 30.0
TERMINAL_INTERVAL_S = 1.0


class Progress:
    """Counts work done and prints `label: done/total unit (percent), rate, left` now and then."""

    def __init__(self, label: str, total: int | None, unit: str, stream=None):
        self.label, self.total, self.unit = label, total, unit
        self.stream = stream or sys.stderr
        self.terminal = self.stream.isatty()
        self.interval = TERMINAL_INTERVAL_S if self.terminal else LOG_INTERVAL_S
        self.done, self.start = 0, time.monotonic()
        self.shown: float | None = None  # the first line waits an interval after the first item

    def advance(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        finished = self.total is not None and self.done >= self.total
        if self.shown is None and not finished:
            self.shown = now
        elif finished or now - self.shown >= self.interval:
            self.shown = now
            self.stream.write(("\r" if self.terminal else "") + self.line(now))
            if finished or not self.terminal:
                self.stream.write("\n")
            self.stream.flush()

    def line(self, now: float) -> str:
        elapsed = max(now - self.start, 1e-9)
        rate = self.done / elapsed
        text = f"[humpback] {self.label}: {self.done}"
        if self.total:
            text += f"/{self.total} {self.unit} ({100 * self.done / self.total:.0f}%)"
        else:
            text += f" {self.unit}"
        text += f", {rate:.1f}/s"
        if self.total and rate > 0 and self.done < self.total:
            text += f", ~{(self.total - self.done) / rate:.0f} s left"
        return text


_REPORTERS: dict[str, Progress] = {}  # a step's one reporter in this process


class ReportProgress(beam.DoFn):
    """Passes elements through, advancing this process's progress of `label` by one each once
    the steps fused after it have taken the element."""

    def __init__(self, label: str, total: int | None, unit: str):
        self.label, self.total, self.unit = label, total, unit
        self.key = uuid.uuid4().hex  # the same in every copy of this step, on every worker

    def setup(self):
        if self.key not in _REPORTERS:
            _REPORTERS[self.key] = Progress(self.label, self.total, self.unit)
        self.progress = _REPORTERS[self.key]

    def process(self, element):
        yield element
        self.progress.advance()
