"""The method's figures over several random seeds of one config, so that one run's noise is not
read as a trend.

For each seed, `humpback run CONFIG --until curate_1` with that seed for every training, the
demonstrations' draw and augment's sampling (the held-out pairs stay the same), in its own run
folder; then backward fidelity (base model once, each seed's M_yx) on the held-out pairs, augment's
borrow rate and well-formed share, and a seeded print of candidates and curated pairs with their
figures, to be read. Prints a table of mean and spread and writes `spread.json`.

    python -m tools.seed_spread configs/quickstart.yaml --seeds 1 2 3 --out runs/seeds
"""

import argparse
import json
import random
import statistics
import subprocess
import sys
from pathlib import Path

from humpback.inference.embedded_model import resolve_model
from humpback.measures.method import (
    backward_backend,
    backward_fidelity,
    instruction_form,
    measured_heldout,
)
from humpback.run.manifest import read_manifest
from humpback.run.run_view import curation_figures
from humpback.schemas.config import load_config
from humpback.storage.folders import local_copy
from humpback.storage.shards import load_rows
from humpback.tasks.demonstrations import choose_demonstrations

FIGURES = ("logprob_per_token", "rouge_l", "cosine", "well_formed", "rouge_l_as_instruction",
           "cosine_as_instruction")


def seeded(seed: int, run_dir: Path) -> list[str]:
    """The --set overrides of a run with `seed`."""
    keys = ["training.backward.seed", "training.seed.seed", "training.iteration.seed",
            "augment.demonstrations.seed", "augment.sampling.seed"]  # fmt: skip
    return [f"run_dir={run_dir}", *(f"{key}={seed}" for key in keys)]


def run_until_curate(config: str, overrides: list[str]) -> None:
    command = [sys.executable, "-m", "humpback", "run", config, "--until", "curate_1"]
    for override in overrides:
        command += ["--set", override]
    subprocess.run(command, check=True)


def show(rows: list[dict], n: int, title: str) -> None:
    print(f"\n{title}")
    for r in random.Random(0).sample(rows, min(n, len(rows))):
        instruction = r.get("instruction") or r["messages"][-2]["content"]
        answer = r.get("text") or r["messages"][-1]["content"]
        print(f"  [{curation_figures(r)}] {instruction[:200]!r}")
        for other in r.get("alternatives") or []:  # the draws the PMI did not choose
            print(f"    or {other[:200]!r}")
        print(f"    -> {answer[:600]!r}")  # enough of the segment to judge the pair by


def spread(values: list[float]) -> dict:
    return {"mean": round(statistics.mean(values), 4),
            "sd": round(statistics.stdev(values), 4) if len(values) > 1 else None,
            "values": values}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--out", default="runs/seeds")
    args = parser.parse_args()
    per_seed, base = {}, None
    for seed in args.seeds:
        run_dir = Path(args.out) / f"seed-{seed}"
        overrides = seeded(seed, run_dir)
        run_until_curate(args.config, overrides)
        config = load_config(args.config, overrides)
        heldout = load_rows(f"{run_dir}/seed/heldout-*.parquet")
        pool = load_rows(f"{run_dir}/seed/seed-*.parquet")
        shown = choose_demonstrations(pool, config.augment.demonstrations)
        cfg = config.measure
        heldout = measured_heldout(config, heldout)
        if base is None:
            path = local_copy(resolve_model(config.base_model))
            backend = backward_backend(config, path, base=True)
            base = backward_fidelity(backend, heldout, shown, config, cfg.embeddings)
            del backend
        backend = backward_backend(config, f"{run_dir}/train_backward/model", base=False)
        trained = backward_fidelity(backend, heldout, shown, config, cfg.embeddings)
        del backend
        candidates = load_rows(f"{run_dir}/augment/candidates-*.parquet")
        filtered = load_rows(f"{run_dir}/augment/filtered-*.parquet")
        augment = read_manifest(f"{run_dir}/augment")
        curated = load_rows(f"{run_dir}/curate_1/curated-*.parquet")
        per_seed[seed] = {
            "M_yx": {k: trained.get(k) for k in FIGURES},
            "borrow_rate": augment["metrics"]["borrow_rate"],
            "well_formed": instruction_form(candidates, filtered)["well_formed"],
            "filtered": augment["counts"]["filtered"],
            "candidates": len(candidates),
            "curated": len(curated),
        }
        print(f"\n== seed {seed}: {json.dumps(per_seed[seed])}")
        show(candidates, 20, f"20 random candidates of seed {seed} (of {len(candidates)})")
        show(curated, 10, f"10 random curated pairs of seed {seed}'s curate_1 (of {len(curated)})")
    result = {
        "seeds": args.seeds,
        "base": {k: base.get(k) for k in FIGURES},
        "M_yx": {k: spread([s["M_yx"][k] for s in per_seed.values()]) for k in FIGURES},
        "borrow_rate": spread([s["borrow_rate"] for s in per_seed.values()]),
        "well_formed": spread([s["well_formed"] for s in per_seed.values()]),
        "per_seed": per_seed,
    }
    Path(args.out, "spread.json").write_text(json.dumps(result, indent=1))
    print(f"\nBackward fidelity on {len(heldout)} held-out pairs, seeds {args.seeds}:")
    print(f"  {'figure':24} {'base':>8} {'M_yx mean':>10} {'sd':>7}  M_yx better in")
    for k in FIGURES:
        m = result["M_yx"][k]
        better = sum(v > result["base"][k] for v in m["values"])
        print(f"  {k:24} {result['base'][k]:8.4f} {m['mean']:10.4f} {m['sd'] or 0:7.4f}  "
              f"{better} of {len(args.seeds)}")  # fmt: skip
    for k in ("borrow_rate", "well_formed"):
        print(f"  {k:24} {'':8} {result[k]['mean']:10.4f} {result[k]['sd'] or 0:7.4f}")


if __name__ == "__main__":
    main()
