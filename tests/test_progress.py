"""Progress lines: done of total with rate and time left, rate-limited, a line when done."""

import io

from humpback.beam_pipelines import progress
from humpback.beam_pipelines.progress import Progress


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_log_gets_a_line_an_interval_and_one_when_done(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(progress.time, "monotonic", clock)
    log = io.StringIO()
    p = Progress("augment", 100, "records", stream=log)
    for _ in range(100):
        clock.now += 1.0  # one record a second: a line every 30 s of a log, and the last
        p.advance()
    lines = log.getvalue().splitlines()
    assert lines[0] == "[humpback] augment: 31/100 records (31%), 1.0/s, ~69 s left"
    assert lines[-1] == "[humpback] augment: 100/100 records (100%), 1.0/s"
    assert len(lines) == 4


def test_a_terminal_gets_one_line_rewritten_in_place(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(progress.time, "monotonic", clock)

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    p = Progress("segment", 5, "files", stream=screen)
    for _ in range(5):
        clock.now += 2.0
        p.advance()
    assert screen.getvalue().count("\r") == 4 and screen.getvalue().count("\n") == 1
    assert screen.getvalue().endswith("5/5 files (100%), 0.5/s\n")
