"""What a run's M_yx writes for answers that surely answer a request, to be read.

Augment's candidates mix two failures: segments that answer nothing, and requests M_yx gets
wrong. Human answers (LIMA's by default, none of them M_yx's training pairs in the quickstart)
take the first away: each answer, of a segment's length, goes through augment's task as the
stage configures it (the screen, the draws, the checks, the PMI choice), and the pairs are
printed and written to be judged like candidates (does the answer fairly answer the written
instruction?). The share a reader finds usable is what M_yx can do at best.

    python -m tools.read_backward runs/quickstart --pairs 40 --out runs/read_backward.jsonl
"""

import argparse
import json
import os
import random
from pathlib import Path

from humpback.inference.backend import load_backend
from humpback.measures.method import as_segment
from humpback.schemas.config import load_config
from humpback.storage.shards import load_rows
from humpback.tasks.backtranslate import Backtranslate, checks_from_seed, outcome_reason
from humpback.tasks.likelihood import InstructionPMI
from humpback.tasks.task import run_in_process

DATA = Path(os.environ.get("HUMPBACK_DATA", Path(__file__).resolve().parents[1] / "../shared/data"))


def _answer(pair: dict) -> str:
    return pair.get("response") or pair.get("output") or ""


def human_answers(path: Path, n: int, seed: int, min_chars: int, max_chars: int) -> list[dict]:
    """A seeded draw of `n` pairs whose answer has a segment's length."""
    rows = [json.loads(line) for line in path.open()]
    fits = [r for r in rows if min_chars <= len(_answer(r)) <= max_chars]
    return random.Random(seed).sample(fits, min(n, len(fits)))


def written(run_dir: Path, pairs: list[dict]) -> list[dict]:
    """Each pair with the instruction augment's task writes for its answer, or why none."""
    config = load_config(run_dir / "config.yaml")
    cfg = config.augment
    shown, phrases = checks_from_seed(load_rows(str(run_dir / "seed" / "seed-*.parquet")), cfg)
    backend = load_backend(str(run_dir / "train_backward" / "model"), cfg)
    task = Backtranslate.configured("M_yx", cfg, shown, phrases)
    answers = [_answer(p) for p in pairs]
    records = [as_segment(f"human-{i}", a) for i, a in enumerate(answers)]
    outcomes = run_in_process(task, backend, records, cfg)
    candidates = [o for o in outcomes if isinstance(o, dict)]
    chosen = iter(run_in_process(InstructionPMI(shown), backend, candidates, cfg) if cfg.pmi
                  else candidates)  # fmt: skip
    rows = []
    for pair, answer, outcome in zip(pairs, answers, outcomes, strict=True):
        final = next(chosen) if isinstance(outcome, dict) else outcome
        row = {"true": pair["instruction"], "answer": answer}
        if isinstance(final, dict):
            row |= {"written": final["instruction"], "pmi": final.get("pmi")}
        else:
            row["dropped"] = outcome_reason(final)
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--answers", type=Path, default=DATA / "seed/lima_single_turn.jsonl")
    parser.add_argument("--pairs", type=int, default=40)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    segment = load_config(args.run_dir / "config.yaml").segment
    pairs = human_answers(args.answers, args.pairs, args.seed, segment.min_chars,
                          segment.max_chars)  # fmt: skip
    rows = written(args.run_dir, pairs)
    for i, row in enumerate(rows):
        said = row.get("written") or f"(dropped: {row['dropped']})"
        print(f"{i}. {said!r}\n   human: {row['true'][:160]!r}")
        print(f"   answer: {row['answer'][:300]!r}\n")
    kept = sum("written" in r for r in rows)
    print(f"{kept} of {len(rows)} human answers got an instruction; judge each pair")
    if args.out:
        args.out.write_text("".join(json.dumps(r) + "\n" for r in rows))


if __name__ == "__main__":
    main()
