"""What `humpback run`, `status` and `measure` print: the run's view through the terminal
template (the HTML report renders the same view)."""

from humpback.run.run_view import RunView, render

PARTS = ("stages", "measures", "curated", "win_rates")


def print_summary(run_dir: str, stages: list[str], parts: tuple[str, ...] = PARTS) -> None:
    """The parts of the run's summary: the stage table and outputs, the method's measures,
    curated pairs, and the win rates with the judge's calibration."""
    print(render("summary.txt.j2", view=RunView(run_dir, stages), parts=parts), end="")
