"""A document's time budget: checked between the steps of segmenting (and inside the long
ones); past it the document becomes a dead letter with the reason, and the job goes on."""

import time


class OverBudget(TimeoutError):
    """A document that took longer than its budget to segment."""


class Deadline:
    """A document's time budget from now; `check` raises OverBudget once it has run out."""

    def __init__(self, seconds: float):
        self.seconds, self.end = seconds, time.monotonic() + seconds

    def check(self, step: str) -> None:
        if time.monotonic() > self.end:
            raise OverBudget(f"segmenting took over the {self.seconds:g} s budget ({step})")


NO_DEADLINE = Deadline(float("inf"))
