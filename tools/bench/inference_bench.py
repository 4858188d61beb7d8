"""Inference benchmark: the Beam transform against the bare backend, and the cost and agreement
of the two scoring modes.

    python -m tools.bench.inference_bench [--prompts 64] [--rounds 2] [--candidates 200]
                                          [--samples 2]

(a) The same backward prompts (real segments from the sample WARCs) go through the backend
    called directly in a loop of batches, then through RunInference on the local runner, with
    the same batches and the cache off, alternating for a few rounds after a warm-up batch:
    generated tokens per second of each, and the ratio. RunInference loads its model afresh
    each round; that load (RunInference's own metric) is not counted.
(b) The same (instruction, answer) candidates (LIMA pairs), in the handler's batches, are scored
    in `generate` mode (the paper: reasoning, then "Score: N") and in `logprobs` mode (one
    forward pass): wall time, generated tokens, the share generate could parse, Spearman's rho
    between the two, and how often they agree on score >= k.
(c) The backward prompts of (a), `--samples` draws of each (augment's `samples`): the backend's
    `generate_samples`, which reads each prompt once for all its draws, against one `generate`
    call per seed, alternating for `--rounds`: wall time of each, the ratio, and whether the
    two wrote the same texts.
"""

import argparse
import json
import os
import time
from functools import partial
from pathlib import Path

import apache_beam as beam
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.ml.inference.base import RunInference
from scipy.stats import spearmanr

from humpback.beam_pipelines.counting import count, counters
from humpback.beam_pipelines.io.corpus import named_files
from humpback.beam_pipelines.model_handler import ChatModelHandler
from humpback.inference.backend import BACKENDS, load_backend, samples_by_seed
from humpback.run.beam_run import new_pipeline
from humpback.run.seed_pairs import read_raw_rows
from humpback.schemas.config import (
    CorpusConfig,
    CurateConfig,
    InferenceConfig,
    OpenAISettings,
    Sampling,
    SegmentConfig,
    TransformersSettings,
)
from humpback.tasks.backtranslate import Backtranslate, backward_prompt
from humpback.tasks.score import (
    SCORE_LABELS,
    SCORE_PREFIX,
    Score,
    curation_prompt,
    score_from_completion,
    score_from_distribution,
)

MIN_PAIRS = 10  # fewer parsed scores than this give no agreement figures


def segment_texts(data: Path, n: int) -> list[str]:
    """Texts of the first n segments the segment stage keeps from the sample WARCs."""
    from humpback.beam_pipelines.segment_pipeline import SegmentFile

    step = SegmentFile(CorpusConfig(paths=["-"]), SegmentConfig())
    step.setup()
    texts = []
    for file in named_files([str(data / "web/warc/english-pages-*.warc.gz")]).items():
        texts += [s["text"] for s in step.process(file) if isinstance(s, dict)]
    return texts[:n]


class CountTokens(beam.DoFn):
    def __init__(self, model: str):
        self.model = model

    def setup(self):
        from transformers import AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(self.model)

    def process(self, result):
        text = "".join(result.inference.texts or [])
        count("generated_tokens", len(self.tokenizer(text, add_special_tokens=False)["input_ids"]))


def tokens(backend, texts: list[str]) -> int:
    return sum(len(backend.tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts)


def timed_batches(call, prompts: list, size: int) -> tuple[list, float]:
    """`call` on consecutive batches of `size` prompts: all results, and the seconds it took."""
    start = time.perf_counter()
    results = []
    for i in range(0, len(prompts), size):
        results += call(prompts[i : i + size])
    return results, time.perf_counter() - start


def model_load_s(result) -> float:
    """Seconds RunInference spent loading the model, from its own metric."""
    found = result.metrics().query(MetricsFilter().with_name("load_model_latency_milli_secs"))
    return sum(d.committed.sum for d in found["distributions"]) / 1000


def beam_run(handler: ChatModelHandler, model: str, prompts: list) -> tuple[int, float]:
    """Generated tokens and seconds of RunInference on the local runner, less the model load
    (RunInference's own metric)."""
    start = time.perf_counter()
    pipeline = new_pipeline()
    _ = (
        pipeline
        | beam.Create([{"prompt": p} for p in prompts])
        | RunInference(handler)
        | beam.ParDo(CountTokens(model))
    )
    result = pipeline.run()
    result.wait_until_finish()
    seconds = time.perf_counter() - start - model_load_s(result)
    return counters(result)["generated_tokens"], seconds


def throughput(model: str, prompts: list, cfg: InferenceConfig, rounds: int) -> dict:
    """Generated tokens/s of the backend in a loop of the handler's batches and of
    RunInference, alternating for `rounds` rounds after an untimed warm-up batch."""
    handler = ChatModelHandler(model, cfg, Backtranslate(model))
    size = handler.batch_elements_kwargs()["max_batch_size"]
    backend = load_backend(model, cfg)
    backend.generate(prompts[:size], cfg.sampling)  # warm-up: the process's first batch is slow
    bare, beam_ = [], []
    for _ in range(rounds):
        direct, seconds = timed_batches(lambda b: backend.generate(b, cfg.sampling), prompts, size)
        bare.append((tokens(backend, [g.text or "" for g in direct]), seconds))
        beam_.append(beam_run(handler, model, prompts))
    bare_rate = sum(t for t, _ in bare) / sum(s for _, s in bare)
    beam_rate = sum(t for t, _ in beam_) / sum(s for _, s in beam_)
    return {
        "prompts": len(prompts),
        "batch": size,
        "rounds": rounds,
        "bare_tokens_per_s": round(bare_rate, 1),
        "beam_tokens_per_s": round(beam_rate, 1),
        "ratio_beam_over_bare": round(beam_rate / bare_rate, 3),
        "bare_rounds": [[t, round(s, 1)] for t, s in bare],
        "beam_rounds": [[t, round(s, 1)] for t, s in beam_],
    }


def drawing(model: str, prompts: list, cfg: InferenceConfig, n: int, rounds: int) -> dict:
    """`n` draws of each prompt, read once (`generate_samples`) against one call per seed."""
    backend = load_backend(model, cfg)
    size = cfg.batch_size
    once = partial(backend.generate_samples, sampling=cfg.sampling, n=n)
    by_seed = partial(samples_by_seed, backend, sampling=cfg.sampling, n=n)
    once(prompts[:size])  # warm-up
    seconds = {"read_once": 0.0, "by_seed": 0.0}
    for _ in range(rounds):
        texts_once, s = timed_batches(once, prompts, size)
        seconds["read_once"] += s
        texts_by_seed, s = timed_batches(by_seed, prompts, size)
        seconds["by_seed"] += s
    return {
        "prompts": len(prompts), "samples": n, "rounds": rounds,
        "seconds": {k: round(v / rounds, 2) for k, v in seconds.items()},
        "by_seed_over_read_once": round(seconds["by_seed"] / seconds["read_once"], 3),
        "same_texts": texts_once == texts_by_seed,
    }  # fmt: skip


def scoring(model: str, data: Path, n: int, k: int, cfg: CurateConfig) -> dict:
    rows = read_raw_rows(str(data / "seed/lima_single_turn.jsonl"))[:n]
    prompts = [curation_prompt(r["instruction"], r["response"]) for r in rows]
    backend = load_backend(model, cfg)
    size = ChatModelHandler(model, cfg, Score(model, 0, cfg.mode)).batch_elements_kwargs()[
        "max_batch_size"
    ]

    dists, logprobs_s = timed_batches(
        lambda b: backend.label_distribution(b, SCORE_PREFIX, SCORE_LABELS), prompts, size
    )
    completions, generate_s = timed_batches(
        lambda b: backend.generate(b, cfg.sampling), prompts, size
    )

    generated = tokens(backend, [c.text or "" for c in completions])
    pairs = []
    for dist, completion in zip(dists, completions, strict=True):
        parsed = score_from_completion(completion.text or "")
        if dist.probs and parsed is not None:
            pairs.append((parsed, *score_from_distribution(dist.probs)))
    enough = len(pairs) >= MIN_PAIRS
    rho = spearmanr([p[0] for p in pairs], [p[2] for p in pairs]).statistic if enough else None
    rho = None if rho != rho else rho  # NaN: constant scores
    agree = sum((g >= k) == (a >= k) for g, a, _ in pairs)
    return {
        "candidates": len(prompts),
        "generate_s": round(generate_s, 1),
        "logprobs_s": round(logprobs_s, 1),
        "speedup": round(generate_s / logprobs_s, 1),
        "generated_tokens": {"generate": generated, "logprobs": 0},
        "generate_parsed": len(pairs),
        "spearman_generate_vs_expected": None if rho is None else round(float(rho), 3),
        f"agreement_on_score_at_least_{k}": round(agree / len(pairs), 3) if enough else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="a model folder; default: the embedded SmolLM2")
    parser.add_argument("--prompts", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--candidates", type=int, default=200)
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--samples", type=int, default=2, help="(c): draws of each prompt")
    parser.add_argument("--backend", choices=list(BACKENDS), default="transformers")
    parser.add_argument("--device", default=None, help="transformers: cpu, cuda, ...")
    parser.add_argument("--base-url", default=OpenAISettings().base_url, help="openai: the server")
    parser.add_argument("--served-model", help="openai: the model's name on the server")
    parser.add_argument("--data", default=os.environ.get("HUMPBACK_DATA", "../shared/data"))
    parser.add_argument("--only", choices=["throughput", "scoring", "samples"])
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    from humpback.inference.embedded_model import ensure_embedded_model

    model = args.model or str(ensure_embedded_model())
    data = Path(args.data).resolve()
    settings = {
        "transformers": TransformersSettings(device=args.device),
        "openai": OpenAISettings(base_url=args.base_url, model=args.served_model),
    }
    common = {"backend": args.backend, "batch_size": 8, "max_input_tokens": 1024, "cache": False,
              args.backend: settings.get(args.backend)}  # fmt: skip
    augment = InferenceConfig(
        **common, sampling=Sampling(temperature=0.7, top_p=0.9, max_new_tokens=48)
    )
    figures = {}
    prompts = [backward_prompt(t) for t in segment_texts(data, args.prompts)]
    if args.only in (None, "throughput"):
        figures["throughput"] = throughput(model, prompts, augment, args.rounds)
        print(json.dumps(figures, indent=1), flush=True)
    if args.only in (None, "samples"):
        figures["samples"] = drawing(model, prompts, augment, args.samples, args.rounds)
        print(json.dumps(figures, indent=1), flush=True)
    if args.only in (None, "scoring"):
        figures["scoring"] = scoring(model, data, args.candidates, args.k, CurateConfig(**common))
        print(json.dumps(figures, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
