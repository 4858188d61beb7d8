"""Training throughput and peak memory, full fine-tuning against LoRA, on the same examples.

    .venv/bin/python -m tools.bench.training_bench [--model PATH] [--steps 4] [--batch 4]

Each mode trains in its own process (so peak memory is its own) on LIMA seed pairs from the
sample data, through the same `training.sft.train` that `humpback run` uses. Reports trained
tokens per second (TRL's `num_tokens`, padding excluded, over the Trainer's `train_runtime`,
which leaves out loading and saving) and peak memory: GPU memory allocated on CUDA, the
process's resident set on a CPU.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

DATA = Path(os.environ.get("HUMPBACK_DATA", Path(__file__).resolve().parents[2] / "../shared/data"))


def measure(mode: str, model: str, steps: int, batch: int, length: int) -> dict:
    import torch

    from humpback.run.memory import peak_resident_bytes
    from humpback.run.seed_pairs import read_raw_rows, select_seed_pairs
    from humpback.schemas.config import LoraSettings, SeedConfig, TrainingConfig
    from humpback.schemas.records import SeedPair
    from humpback.storage.shards import write_rows
    from humpback.training.job import TrainingJob, build_examples
    from humpback.training.sft import train

    seed = SeedConfig(path=str(DATA / "seed/lima_single_turn.jsonl"))
    pairs, *_ = select_seed_pairs(read_raw_rows(seed.path), seed)
    work = tempfile.mkdtemp(prefix="humpback-bench-")
    hp = TrainingConfig(max_steps=steps, batch_size=batch, max_length=length, save_steps=10**6,
                        lora=LoraSettings() if mode == "lora" else None)  # fmt: skip
    shards = [write_rows(pairs, f"{work}/seed", SeedPair)]
    job = TrainingJob(role="seed", base_model=model, stage_dir=work, seed_shards=shards, hp=hp)
    examples, n, _ = build_examples(job)
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    train(examples, n, model, hp, f"{work}/{mode}")
    history = json.loads(Path(work, mode, "log_history.json").read_text())
    tokens = float([h for h in history if "num_tokens" in h][-1]["num_tokens"])
    runtime = float(history[-1]["train_runtime"])
    if torch.cuda.is_available():
        peak, where = torch.cuda.max_memory_allocated() / 2**30, "GPU"
    else:
        peak, where = peak_resident_bytes() / 2**30, "RSS"
    return {"mode": mode, "device": "cuda" if torch.cuda.is_available() else "cpu",
            "steps": steps, "batch": batch, "max_length": length, "tokens": tokens,
            "train_runtime_s": round(runtime, 1), "tokens_per_s": round(tokens / runtime, 1),
            f"peak_{where}_GiB": round(peak, 2)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="default: the embedded SmolLM2-135M-Instruct")
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--max_length", type=int, default=256)
    parser.add_argument("--mode", choices=["full", "lora"], help="run one mode, print JSON")
    args = parser.parse_args()
    if args.model is None:
        from humpback.inference.embedded_model import ensure_embedded_model

        args.model = str(ensure_embedded_model())
    if args.mode:
        print(json.dumps(measure(args.mode, args.model, args.steps, args.batch, args.max_length)))
        return
    for mode in ["full", "lora"]:
        command = [sys.executable, "-m", "tools.bench.training_bench", "--mode", mode,
                   "--model", args.model, "--steps", str(args.steps), "--batch",
                   str(args.batch), "--max_length", str(args.max_length)]  # fmt: skip
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        print(out.strip().splitlines()[-1], flush=True)


if __name__ == "__main__":
    main()
