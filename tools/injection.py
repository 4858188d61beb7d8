"""Injection figures: `python -m tools.injection [--model PATH] [--pairs N]`.

Scores held-out seed pairs (LIMA by default: the quickstart seeds on OASST) and their injected
twins (`humpback.measures.injection.INJECTIONS`) with a curator, in every curation mode, and
prints acceptance and mean score per mode and injection, then any increase over the clean pairs.
The embedded SmolLM2-135M-Instruct is the default curator; pass a run's `train_seed/model` for M0.
"""

import argparse
import json
import random
from pathlib import Path

from humpback.inference.backend import load_backend
from humpback.measures.injection import increases, injection_measures
from humpback.schemas.config import CurateConfig, Sampling

DATA = Path(__file__).resolve().parents[1] / "../shared/data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="curator folder (default: the embedded model)")
    parser.add_argument("--seed", default=str(DATA / "seed/lima_single_turn.jsonl"))
    parser.add_argument("--pairs", type=int, default=16)
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    args = parser.parse_args()
    if args.model is None:
        from humpback.inference.embedded_model import ensure_embedded_model

        args.model = str(ensure_embedded_model())
    rows = [json.loads(line) for line in Path(args.seed).open()]
    picked = random.Random(1).sample(rows, args.pairs)
    candidates = [{"instruction": r["instruction"], "text": r["response"]} for r in picked]
    sampling = Sampling(temperature=0.0, max_new_tokens=args.max_new_tokens)
    cfg = CurateConfig(mode="logprobs", k=args.k, batch_size=8, max_input_tokens=1536,
                       sampling=sampling)  # fmt: skip
    backend = load_backend(args.model, cfg)
    result = injection_measures(backend, backend, candidates, cfg)
    print("| mode | variant | accepted | mean score (PMI / IFD in likelihood) |")
    print("|---|---|---|---|")
    for mode, variants in result.items():
        for name, row in variants.items():
            mean = row.get("mean_score") or f"{row.get('mean_pmi')} / {row.get('mean_ifd')}"
            print(f"| {mode} | {name} | {row['accepted']} | {mean} |")
    print("increases:", increases(result) or "none")


if __name__ == "__main__":
    main()
