"""What the run's CPU settings buy: the embedded model scoring, generating and training under
glibc's and torch's defaults and under the run's settings, in one run.

    .venv/bin/python -m tools.bench.cpu_bench [--pairs 32] [--prompts 8] [--steps 2] [--passes 2]

Four settings, each in its own process (a fresh heap and torch state): malloc `default` (blocks
of 1 MB or more mapped on their own, as the run did before) or `tuned` (freed blocks reused while
a model runs, `humpback.inference.allocator`), and
`fp32_matmul` ieee (MKL) or bf16 (oneDNN). Each process scores LIMA pairs of varied length
(`likelihood`, the curate and measure stages' pass), writes instructions for LIMA answers
(`generate`, 40 tokens at temperature 0.7, augment's pass) and trains a few steps on them (the
Trainer's `train_runtime`). The settings run in turn, the order reversed on every other pass;
figures are sums over passes. Agreement: the largest difference of a pair's log-probability per
token from the default setting's, and how many generated instructions match it exactly.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

DATA = Path(os.environ.get("HUMPBACK_DATA", Path(__file__).resolve().parents[2] / "../shared/data"))
SETTINGS = [("default", "ieee"), ("tuned", "ieee"), ("default", "bf16"), ("tuned", "bf16")]


def measure(malloc: str, matmul: str, model: str, pairs: int, prompts: int, steps: int) -> dict:
    from humpback.inference import allocator, transformers_backend
    from humpback.training import sft

    allocator.map_large_blocks()  # what `humpback` does first
    if malloc == "default":  # the run before: large blocks mapped alone with a model too
        transformers_backend.reuse_freed_blocks = sft.reuse_freed_blocks = lambda: None
    from humpback.inference.backend import load_backend
    from humpback.run.seed_pairs import read_raw_rows, select_seed_pairs
    from humpback.schemas.config import (
        InferenceConfig,
        Sampling,
        SeedConfig,
        TrainingConfig,
        TransformersSettings,
    )
    from humpback.schemas.records import SeedPair
    from humpback.storage.shards import write_rows
    from humpback.tasks.backtranslate import backward_prompt
    from humpback.training.job import TrainingJob, build_examples
    from humpback.training.sft import train

    seed = SeedConfig(path=str(DATA / "seed/lima_single_turn.jsonl"))
    rows, *_ = select_seed_pairs(read_raw_rows(seed.path), seed)
    rows = rows[:pairs]
    cfg = InferenceConfig(batch_size=8, max_input_tokens=512,
                          transformers=TransformersSettings(fp32_matmul=matmul))  # fmt: skip
    backend = load_backend(model, cfg)
    requests = [[([{"role": "user", "content": r["instruction"]}], r["output"][:1200])]
                for r in rows]  # fmt: skip
    start = time.perf_counter()
    scored = backend.likelihood(requests)
    likelihood_s = time.perf_counter() - start
    scored = [s for s in scored if s.error is None]  # the same pairs fit in every setting
    scored_tokens = sum(sum(s.tokens) for s in scored)
    sampling = Sampling(temperature=0.7, top_p=0.9, max_new_tokens=40)
    start = time.perf_counter()
    written = backend.generate([backward_prompt(r["output"][:1200]) for r in rows[:prompts]],
                               sampling)  # fmt: skip
    generate_s = time.perf_counter() - start
    del backend
    work = tempfile.mkdtemp(prefix="humpback-cpu-bench-")
    hp = TrainingConfig(max_steps=steps, batch_size=4, gradient_accumulation_steps=4,
                        max_length=384, learning_rate=1e-4, save_steps=10**6,
                        fp32_matmul=matmul)  # fmt: skip
    shards = [write_rows(rows, f"{work}/seed", SeedPair)]
    job = TrainingJob(role="seed", base_model=model, stage_dir=work, seed_shards=shards, hp=hp)
    examples, n, _ = build_examples(job)
    train(examples, n, model, hp, f"{work}/model")
    history = json.loads(Path(work, "model", "log_history.json").read_text())
    return {
        "likelihood": [scored_tokens, likelihood_s],
        "generate": [sum(len(g.text or "") for g in written), generate_s],
        "train": [float([h for h in history if "num_tokens" in h][-1]["num_tokens"]),
                  float(history[-1]["train_runtime"])],  # fmt: skip
        "per_token": [sum(s.logprobs) / sum(s.tokens) for s in scored],
        "texts": [g.text for g in written],
        "losses": [h["loss"] for h in history if "loss" in h],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="default: the embedded SmolLM2-135M-Instruct")
    parser.add_argument("--pairs", type=int, default=32)
    parser.add_argument("--prompts", type=int, default=8)
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--passes", type=int, default=2)
    parser.add_argument("--setting", help="malloc,matmul: run one, print JSON")
    args = parser.parse_args()
    if args.model is None:
        from humpback.inference.embedded_model import ensure_embedded_model

        args.model = str(ensure_embedded_model())
    if args.setting:
        malloc, matmul = args.setting.split(",")
        result = measure(malloc, matmul, args.model, args.pairs, args.prompts, args.steps)
        print(json.dumps(result))
        return
    runs: dict[tuple, list[dict]] = {s: [] for s in SETTINGS}
    for p in range(args.passes):
        for setting in SETTINGS if p % 2 == 0 else SETTINGS[::-1]:
            command = [sys.executable, "-m", "tools.bench.cpu_bench", "--setting",
                       ",".join(setting), "--model", args.model, "--pairs", str(args.pairs),
                       "--prompts", str(args.prompts), "--steps", str(args.steps)]  # fmt: skip
            out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
            runs[setting].append(json.loads(out.strip().splitlines()[-1]))
    base = runs[SETTINGS[0]][0]
    units = torch.cpu._is_amx_tile_supported() or torch.cpu._is_avx512_bf16_supported()
    print(f"bf16 units (AMX or AVX512-BF16): {'yes: bf16 computes in bf16' if units else 'no'}")
    print(f"{'malloc':8} {'matmul':6} {'scored tok/s':>12} {'gen chars/s':>11} "
          f"{'train tok/s':>11} {'max |d logprob/tok|':>19} {'same texts':>10}")  # fmt: skip
    rates = {}
    for setting, results in runs.items():
        rate = {k: sum(r[k][0] for r in results) / sum(r[k][1] for r in results)
                for k in ("likelihood", "generate", "train")}  # fmt: skip
        rates[setting] = rate
        first = results[0]
        diff = max(abs(a - b) for a, b in zip(first["per_token"], base["per_token"], strict=True))
        same = sum(a == b for a, b in zip(first["texts"], base["texts"], strict=True))
        print(f"{setting[0]:8} {setting[1]:6} {rate['likelihood']:12.0f} {rate['generate']:11.1f} "
              f"{rate['train']:11.1f} {diff:19.2e} {same:>5}/{len(base['texts'])}")  # fmt: skip
    now, before = rates[SETTINGS[-1]], rates[SETTINGS[0]]
    print("tuned+bf16 over default+ieee: " + ", ".join(
        f"{k} {now[k] / before[k]:.2f}x" for k in now))  # fmt: skip


if __name__ == "__main__":
    main()
