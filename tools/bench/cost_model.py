"""GPU-hours and dollars per million segments for augment and curate on vLLM, from token counts
measured on real segments and published throughput and prices (docs/dataflow.md explains it).

    .venv/bin/python -m tools.bench.cost_model [--segments GLOB] [--candidates N] ...

Tokens are counted with the embedded model's tokenizer on the prompts humpback really sends:
the backward prompt around each segment, and the rubric prompt around each (instruction,
segment), whose part before the candidate is what vLLM's prefix cache computes once. A request
costs prefill tokens / prefill rate + generated tokens / decode rate on one GPU.
"""

import argparse
import statistics

from transformers import AutoTokenizer

from humpback.inference.backend import encode
from humpback.inference.chat_template import with_chat_template
from humpback.inference.embedded_model import ensure_embedded_model
from humpback.storage.shards import load_rows
from humpback.tasks.backtranslate import backward_prompt
from humpback.tasks.score import curation_prompt

MILLION = 1_000_000


def prompt_tokens(tokenizer, segments: list[dict], instruction_tokens: int) -> dict[str, float]:
    """Mean tokens per request: backward prompt, rubric prompt, and the rubric's shared prefix."""
    instruction = " ".join(["word"] * instruction_tokens)
    backward = [backward_prompt(s["text"]) for s in segments]
    rubric = [curation_prompt(instruction, s["text"]) for s in segments]
    backward_ids = encode(tokenizer, backward, 1 << 30)
    rubric_ids = encode(tokenizer, rubric, 1 << 30, "Score:")
    return {
        "segment": statistics.mean(
            len(tokenizer(s["text"], add_special_tokens=False)["input_ids"]) for s in segments
        ),
        "backward_prompt": statistics.mean(map(len, backward_ids)),
        "backward_shared_prefix": shared_prefix(backward_ids),
        "rubric_prompt": statistics.mean(map(len, rubric_ids)),
        "rubric_shared_prefix": shared_prefix(rubric_ids),
    }


def shared_prefix(prompts: list[list[int]]) -> int:
    """Tokens every prompt starts with: what the prefix cache computes once."""
    first = prompts[0]
    return min(
        next((i for i, (x, y) in enumerate(zip(first, ids, strict=False)) if x != y), len(ids))
        for ids in prompts[1:]
    )


def gpu_hours(prefill: float, decode: float, n: int, args) -> float:
    """Hours on one GPU for n requests of `prefill` and `decode` tokens each."""
    return n * (prefill / args.prefill_tps + decode / args.decode_tps) / 3600


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", default="runs/quickstart/segment/segments-*.parquet")
    parser.add_argument("--candidates", type=int, default=483_000, help="a run to cost as well")
    parser.add_argument("--instruction-tokens", type=int, default=30, help="a written instruction")
    parser.add_argument("--reasoning-tokens", type=int, default=150, help="rubric in generate mode")
    parser.add_argument("--prefill-tps", type=float, default=10_000, help="per GPU, 7B, A100")
    parser.add_argument("--decode-tps", type=float, default=3_000, help="per GPU, 7B, A100")
    parser.add_argument("--usd-per-gpu-hour", type=float, default=2.93, help="A100 40GB")
    args = parser.parse_args()

    segments = load_rows(args.segments)
    tokenizer = with_chat_template(AutoTokenizer.from_pretrained(ensure_embedded_model()))
    tokens = prompt_tokens(tokenizer, segments, args.instruction_tokens)
    uncached = tokens["rubric_prompt"] - tokens["rubric_shared_prefix"]
    backward = tokens["backward_prompt"] - tokens["backward_shared_prefix"]
    work = {
        "augment (write instructions)": (tokens["backward_prompt"], args.instruction_tokens),
        "augment + prefix cache": (backward, args.instruction_tokens),
        "curate, generate (the paper)": (tokens["rubric_prompt"], args.reasoning_tokens),
        "curate, logprobs": (tokens["rubric_prompt"], 1),
        "curate, logprobs + prefix cache": (uncached, 1),
    }
    print(f"{len(segments)} segments of {args.segments}; mean tokens: "
          + ", ".join(f"{k} {v:.0f}" for k, v in tokens.items()))  # fmt: skip
    print(f"rates per GPU: prefill {args.prefill_tps:.0f} tok/s, decode {args.decode_tps:.0f} "
          f"tok/s; ${args.usd_per_gpu_hour:.2f} per GPU-hour\n")  # fmt: skip
    n = args.candidates
    print(f"| step | prefill tok | generated tok | GPU-h per 1M | $ per 1M | GPU-h for {n:,} |")
    print("|---|---|---|---|---|---|")
    for step, (prefill, decode) in work.items():
        per_million = gpu_hours(prefill, decode, MILLION, args)
        dollars = per_million * args.usd_per_gpu_hour
        run = gpu_hours(prefill, decode, n, args)
        print(
            f"| {step} | {prefill:.0f} | {decode} | {per_million:.1f} | {dollars:.0f} | {run:.1f} |"
        )
    whole = gpu_hours(*work["augment + prefix cache"], n, args) + gpu_hours(
        *work["curate, logprobs + prefix cache"], n, args
    )
    print(f"\nwrite + score {n:,} candidates (prefix cache; logprobs): {whole:.1f} GPU-hours")


if __name__ == "__main__":
    main()
