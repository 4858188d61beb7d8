"""Run planning: which stages a command runs (--only, --until), which it redoes (--force), and
which it skips because their manifest matches their config and upstream runs."""

from collections.abc import Callable, Sequence

from humpback.run.graph import RunContext, Stage, execute, is_complete
from humpback.run.manifest import read_manifest
from humpback.schemas.errors import UserError


class PlanError(UserError, ValueError):
    """A run that cannot start: an unknown stage, or an input that no stage will make."""


class Interrupted(Exception):
    """Ctrl-C during a stage; its folder is left for the next run to resume or redo."""

    def __init__(self, stage: str):
        super().__init__(stage)
        self.stage = stage


def select(
    stages: Sequence[Stage],
    only: str | None = None,
    until: str | None = None,
    force: Sequence[str] = (),
) -> list[Stage]:
    """The stages a command names, in graph order."""
    names = [s.name for s in stages]
    for name in [only, until, *force]:
        if name and name not in names:
            raise PlanError(f"no stage {name!r}; stages are {', '.join(names)}")
    if only:
        return [s for s in stages if s.name == only]
    if until:
        return list(stages[: names.index(until) + 1])
    return list(stages)


def check_inputs(selected: Sequence[Stage], has_run: Callable[[str], bool]) -> None:
    """Every input of a selected stage comes from a stage that has run or will run first."""
    will_run: set[str] = set()
    for stage in selected:
        for upstream in stage.upstream:
            if upstream not in will_run and not has_run(upstream):
                raise PlanError(
                    f"{stage.name} needs the output of {upstream}, which has not run: "
                    f"run with --until {upstream} first, or without --only"
                )
        will_run.add(stage.name)


def run_stages(
    ctx: RunContext,
    selected: Sequence[Stage],
    force: Sequence[str] = (),
    say: Callable[[str], None] = print,
) -> list[dict]:
    """Run each selected stage unless it is complete and not forced; the manifests written."""
    check_inputs(selected, lambda name: read_manifest(ctx.stage_dir(name)) is not None)
    written = []
    for stage in selected:
        if stage.name not in force and is_complete(ctx, stage):
            say(f"{stage.name}: complete, skipped")
            continue
        try:  # "running" is said inside: a Ctrl-C right after the line is an interruption
            say(f"{stage.name}: running")
            manifest = execute(ctx, stage)
        except (KeyboardInterrupt, RuntimeError) as err:
            if not _interrupted(err):
                raise
            raise Interrupted(stage.name) from err
        say(f"{stage.name}: done in {manifest['wall_s']} s  {brief(manifest)}")
        written.append(manifest)
    return written


def brief(manifest: dict) -> str:
    """A manifest's counts on one line."""
    c = manifest["counts"]
    parts = [f"in {c['in']}", f"out {c['out']}"]
    if c["filtered"]:
        parts.append("filtered " + ", ".join(f"{k} {v}" for k, v in c["filtered"].items()))
    if c["duplicates"]:
        parts.append(f"duplicates {c['duplicates']}")
    parts.append(f"dead-lettered {c['dead_lettered']}")
    return "; ".join(parts)


def _interrupted(err: BaseException | None) -> bool:
    """True for Ctrl-C, also when Beam re-raised it wrapped in another exception."""
    while err is not None:
        if isinstance(err, KeyboardInterrupt):
            return True
        err = err.__cause__ or err.__context__
    return False
