"""Crash and resume: SIGKILL `humpback run` at random points of every stage, run it again, and
compare the curated set with an uninterrupted run's.

`python -m tools.crash_resume [--kills 24] [--seed 0] [--work DIR]` builds the tiny run
(`tests.tiny_run`: a random 2-layer model, the whole loop in minutes), runs it once without
interruption to time its stages, then for each kill point picks a stage (round robin over the
stages, shuffled by the seed) and a moment uniformly inside that stage's time, starts the run,
kills its whole process group there (no clean-up, as a machine lost), and runs the same command
again to the end. A kill point passes when the re-run exits 0 and its curated rows, its scored
rows and every stage's counts equal the uninterrupted run's. Stages before the chosen one are
copied from the uninterrupted run, so each kill point costs the rest of one run, not all of it;
the inference cache is not copied. Prints one row per kill point and a table by stage.
"""

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import yaml

from humpback.storage.shards import load_rows
from tests.tiny_run import make_tiny_model, tiny_config

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("HUMPBACK_DATA", ROOT / "../shared/data")).resolve()
RUNNING = "[humpback] "
# what decides the curated set: a row's fields but the models' folders, which name the run
SCORED = ("id", "instruction", "score", "expected_score", "scorer_raw", "pmi", "ifd")


def command(config: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "humpback", "run", str(config), *extra]


def started(line: str) -> str | None:
    """The stage a "[humpback] <stage>: running" line starts."""
    if line.startswith(RUNNING) and line.rstrip().endswith(": running"):
        return line[len(RUNNING) :].split(":")[0]
    return None


def copy_stages(reference: Path, run_dir: Path, stages: list[str]) -> None:
    """Complete stages of an uninterrupted run into another run's folder."""
    for stage in stages:
        shutil.copytree(reference / stage, run_dir / stage)


def run_timed(config: Path) -> dict[str, float]:
    """An uninterrupted run; each stage's seconds from its "running" line to the next line."""
    proc = subprocess.Popen(command(config), cwd=ROOT, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    starts: list[tuple[str, float]] = []
    for line in proc.stdout:
        if stage := started(line):
            starts.append((stage, time.monotonic()))
    if proc.wait() != 0:
        raise RuntimeError(f"the uninterrupted run failed: {' '.join(command(config))}")
    ends = [t for _, t in starts[1:]] + [time.monotonic()]
    return {stage: end - start for (stage, start), end in zip(starts, ends, strict=True)}


def kill_in(config: Path, stage: str, delay: float, *extra: str) -> str | None:
    """Start the run, SIGKILL its process group `delay` s after `stage` starts; the stage it
    was in when killed (None: it ended first)."""
    proc = subprocess.Popen(command(config, *extra), cwd=ROOT, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    current: list[str] = []
    timer: threading.Timer | None = None
    for line in proc.stdout:
        if now := started(line):
            current.append(now)
            if now == stage and timer is None:
                timer = threading.Timer(delay, os.killpg, (proc.pid, signal.SIGKILL))
                timer.start()
    code = proc.wait()
    if timer:
        timer.cancel()
    return current[-1] if code == -signal.SIGKILL and current else None


def outcome(run_dir: Path, stages: list[str]) -> dict:
    """What the comparison reads: curated rows, scored rows and every stage's counts."""
    curate = [s for s in stages if s.startswith("curate_")]
    counts = {}
    for stage in stages:
        manifest = json.loads((run_dir / stage / "manifest.json").read_text())
        manifest["counts"].get("detail", {}).pop("cache_hits", None)  # a resume reads its cache
        counts[stage] = manifest["counts"]
    return {
        "curated": {s: sorted(load_rows(str(run_dir / s / "curated-*.parquet")),
                              key=lambda r: json.dumps(r, sort_keys=True)) for s in curate},
        "scored": {s: sorted([{k: r.get(k) for k in SCORED}
                              for r in load_rows(str(run_dir / s / "scored-*.parquet"))],
                             key=lambda r: r["id"]) for s in curate},
        "counts": counts,
    }  # fmt: skip


def write_config(work: Path, name: str, base: dict) -> Path:
    path = work / f"{name}.yaml"
    path.write_text(yaml.safe_dump({**base, "run_dir": str(work / name)}))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=24)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", type=Path, help="a folder to keep (default: a temporary one)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="crash-resume-"))
    work.mkdir(parents=True, exist_ok=True)
    from humpback.inference.embedded_model import ensure_embedded_model

    model = work / "tiny-base"
    if not model.is_dir():
        make_tiny_model(model, str(ensure_embedded_model()), template=False)
    base = tiny_config(work / "unused", str(model), DATA)
    reference = write_config(work, "reference", base)
    shutil.rmtree(work / "reference", ignore_errors=True)
    durations = run_timed(reference)
    stages = list(durations)
    expected = outcome(work / "reference", stages)
    print("stage seconds (uninterrupted):", {s: round(t, 1) for s, t in durations.items()})

    rng = random.Random(args.seed)
    order: list[str] = []
    while len(order) < args.kills:
        order += rng.sample(stages, len(stages))
    tried: Counter = Counter()
    identical: Counter = Counter()
    for i, stage in enumerate(order[: args.kills]):
        name = f"kill-{args.seed}-{i}"
        config = write_config(work, name, base)
        shutil.rmtree(work / name, ignore_errors=True)
        copy_stages(work / "reference", work / name, stages[: stages.index(stage)])
        delay = rng.uniform(0, durations[stage])
        killed_in = kill_in(config, stage, delay)
        rerun = subprocess.run(command(config), cwd=ROOT, capture_output=True, text=True)
        same = rerun.returncode == 0 and outcome(work / name, stages) == expected
        where = killed_in or "(ended before the kill)"
        tried[where] += 1
        identical[where] += same
        print(f"{name}: {stage} +{delay:.1f}s, killed in {where}, re-run exit "
              f"{rerun.returncode}, identical: {same}", flush=True)  # fmt: skip
        if rerun.returncode == 0:
            shutil.rmtree(work / name)
        else:
            print(rerun.stderr[-2000:])
    print("\n| stage killed in | kill points | identical curated set |\n|---|---|---|")
    for stage in [*stages, "(ended before the kill)"]:
        if tried[stage]:
            print(f"| {stage} | {tried[stage]} | {identical[stage]} |")
    print(f"| all | {sum(tried.values())} | {sum(identical.values())} |")


if __name__ == "__main__":
    main()
