"""transformers backend: batched generation and next-token label distributions, CPU or GPU.

Prompts of one call that open with the same tokens (the chat template and the rubric, for
scoring) share them: their keys and values are computed once and copied into every batch, and
each prompt's own tokens follow the shared part, with any padding between the two (not for
models with sliding-window attention, which pad on the left).

Sampling draws each prompt's tokens from a generator seeded by that prompt, so a prompt gets the
same text whatever batch it runs in: a retried bundle, a resumed run or a Dataflow worker that
batches differently writes the same instructions. Several draws of a prompt (augment's
`samples`) read it once: its keys and values are repeated for each draw, which then writes what
a call of its own would. Both hold to the last digit in exact fp32 (`fp32_matmul: ieee`, or
`bf16` on a CPU without bf16 units); where matrices are multiplied in bf16 (a CPU with AMX, a
GPU), a batch's shape moves the last digits, and now and then a drawn token.
"""

import copy
import functools
import math
import os
import zlib

import torch
from transformers import (
    AutoModelForCausalLM,
    DynamicCache,
    LogitsProcessor,
    LogitsProcessorList,
    TemperatureLogitsWarper,
    TopPLogitsWarper,
)

from humpback.inference.allocator import reuse_freed_blocks
from humpback.inference.backend import (
    INPUT_TOO_LONG,
    Continuation,
    Generation,
    LabelDistribution,
    Likelihood,
    Messages,
    Samples,
    encode,
    encode_continuations,
    group_likelihoods,
    label_tokens,
)
from humpback.inference.chat_template import SAFE_LOADING, load_tokenizer
from humpback.schemas.config import InferenceConfig, Sampling

MIN_SHARED_TOKENS = 16  # below this, recomputing a prefix costs less than copying its cache
LOGIT_ROWS = 2048  # scored positions per forward pass: bounds the logits (x vocabulary) held


def own_precision(method):
    """Run a backend's call under its own `fp32_matmul`: torch's setting is the process's, and
    another backend in the process may have set its own."""

    @functools.wraps(method)
    def call(self, *args, **kwargs):
        if self.device == "cpu":
            torch.backends.mkldnn.matmul.fp32_precision = self.cfg.settings.fp32_matmul
        return method(self, *args, **kwargs)

    return call


class PromptSeededSampler(LogitsProcessor):
    """Draws each row's next token with its own generator and leaves generate (greedy) only
    that token, so a row's text does not depend on the rows sampled beside it."""

    def __init__(self, seeds: list[int], sampling: Sampling, device: str):
        self.generators = [torch.Generator(device).manual_seed(seed) for seed in seeds]
        self.warpers = LogitsProcessorList(
            [TemperatureLogitsWarper(sampling.temperature), TopPLogitsWarper(sampling.top_p)]
        )

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.Tensor:
        probs = self.warpers(input_ids, scores.float()).softmax(-1)
        rows = zip(probs, self.generators, strict=True)
        drawn = [torch.multinomial(p, 1, generator=g) for p, g in rows]
        return torch.full_like(scores, -math.inf).scatter_(1, torch.stack(drawn), 0.0)


class TransformersBackend:
    def __init__(self, model_path: str, cfg: InferenceConfig):
        self.cfg = cfg
        self.device = cfg.settings.device or ("cuda" if torch.cuda.is_available() else "cpu")
        dtype = torch.bfloat16 if self.device.startswith("cuda") else torch.float32
        reuse_freed_blocks()
        self.tokenizer = load_tokenizer(model_path, padding_side="left")
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = AutoModelForCausalLM.from_pretrained(
            model_path, dtype=dtype, **SAFE_LOADING
        ).to(self.device)
        self.model.eval()
        # Sliding-window attention would count the padding after a shared prefix as tokens.
        config = self.model.config
        windowed = getattr(config, "sliding_window", None) and getattr(
            config, "use_sliding_window", True
        )
        self.shares_prefixes = not windowed
        self._prefix: tuple[list[int], DynamicCache] | None = None

    def _length_sorted(self, encoded: list[list[int] | None]) -> list[list[int]]:
        """Indices of the prompts that fit, sorted by length, in batches of batch_size."""
        ok = sorted((i for i, ids in enumerate(encoded) if ids is not None),
                    key=lambda i: len(encoded[i]))  # fmt: skip
        size = self.cfg.batch_size
        return [ok[start : start + size] for start in range(0, len(ok), size)]

    def _shared(self, encoded: list[list[int] | None]) -> list[int]:
        """The tokens every prompt that fits opens with, leaving each at least one of its own."""
        fits = [ids for ids in encoded if ids is not None]
        if not fits or not self.shares_prefixes:
            return []
        shared = os.path.commonprefix(fits)[: min(map(len, fits)) - 1]
        return shared if len(shared) >= MIN_SHARED_TOKENS else []

    @torch.inference_mode()
    def _prefix_cache(self, shared: list[int], batch: int) -> DynamicCache:
        """A fresh copy, repeated `batch` times, of the shared tokens' keys and values."""
        if self._prefix is None or self._prefix[0] != shared:
            ids = torch.tensor([shared], device=self.device)
            self._prefix = (shared, self.model(input_ids=ids, use_cache=True).cache)
        cache = copy.deepcopy(self._prefix[1])
        cache.batch_repeat_interleave(batch)
        return cache

    def _inputs(self, ids: list[list[int]], shared: list[int]) -> dict:
        """Model inputs for one batch: left-padded, or the shared prefix's cache followed by
        padding and each prompt's own tokens (positions come from the attention mask)."""
        own = [i[len(shared) :] for i in ids]
        width = max(map(len, own))
        pad = self.tokenizer.pad_token_id
        rows = [shared + [pad] * (width - len(o)) + o for o in own]
        mask = [[1] * len(shared) + [0] * (width - len(o)) + [1] * len(o) for o in own]
        inputs = {
            "input_ids": torch.tensor(rows, device=self.device),
            "attention_mask": torch.tensor(mask, device=self.device),
        }
        if shared:
            inputs["cache"] = self._prefix_cache(shared, len(ids))
        return inputs

    def generate(self, prompts: list[Messages], sampling: Sampling) -> list[Generation]:
        return [
            Generation(error=s.error) if s.error else Generation(text=s.texts[0])
            for s in self.generate_samples(prompts, sampling, 1)
        ]

    @own_precision
    def generate_samples(
        self, prompts: list[Messages], sampling: Sampling, n: int
    ) -> list[Samples]:
        """`n` completions of each prompt, seeded `sampling.seed` to `sampling.seed + n - 1`, as
        `n` calls of `generate` would write them; each batch's prompts are read once for all."""
        encoded = encode(self.tokenizer, prompts, self.cfg.max_input_tokens)
        shared = self._shared(encoded)
        results = [Samples(error=INPUT_TOO_LONG) for _ in prompts]
        for ok in self._length_sorted(encoded):
            texts = self._generate([encoded[i] for i in ok], shared, sampling, n)
            for row, i in enumerate(ok):
                results[i] = Samples(texts=texts[row * n : (row + 1) * n])
        return results

    @torch.inference_mode()
    def _generate(
        self, encoded: list[list[int]], shared: list[int], sampling: Sampling, n: int
    ) -> list[str]:
        """Each prompt's `n` completions, prompt after prompt."""
        inputs = self._inputs(encoded, shared)
        if n > 1:
            inputs = self._read_once(inputs, len(shared), n)
        sampler = []
        if sampling.temperature > 0:
            seeds = [sampling.seed + draw + zlib.crc32(repr(ids).encode())
                     for ids in encoded for draw in range(n)]  # fmt: skip
            sampler = [PromptSeededSampler(seeds, sampling, self.device)]
        out = self.model.generate(
            **inputs,
            do_sample=False,
            temperature=None,
            top_p=None,
            top_k=None,
            logits_processor=LogitsProcessorList(sampler),
            max_new_tokens=sampling.max_new_tokens,
            pad_token_id=self.tokenizer.pad_token_id,
        )
        new_tokens = out[:, inputs["input_ids"].shape[1] :]
        return self.tokenizer.batch_decode(new_tokens, skip_special_tokens=True)

    def _read_once(self, inputs: dict, shared: int, n: int) -> dict:
        """The batch's inputs for `n` draws of each row: the keys and values of every token but
        each row's last computed once and repeated per draw (generate reads the last token,
        whose logits start the draw)."""
        ids, mask = inputs["input_ids"], inputs["attention_mask"]
        cache = inputs.get("cache")
        if ids.shape[1] - shared > 1:
            positions = (mask.cumsum(-1) - 1).clamp(min=0)[:, shared:-1]
            cache = self.model(input_ids=ids[:, shared:-1], attention_mask=mask[:, :-1],
                               position_ids=positions, cache=cache,
                               use_cache=True).cache  # fmt: skip
        repeated = {"input_ids": ids.repeat_interleave(n, 0),
                    "attention_mask": mask.repeat_interleave(n, 0)}  # fmt: skip
        if cache is not None:
            cache.batch_repeat_interleave(n)
            repeated["cache"] = cache
        return repeated

    @torch.inference_mode()
    def _forward(
        self, ids: list[list[int]], shared: list[int], keep: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One forward pass over each row's unshared tokens: the logits of the last `keep`
        positions, and the rows' token ids (shared prefix, padding, own tokens)."""
        inputs = self._inputs(ids, shared)
        mask = inputs["attention_mask"]
        positions = (mask.cumsum(-1) - 1).clamp(min=0)[:, len(shared) :]
        logits = self.model(
            input_ids=inputs["input_ids"][:, len(shared) :],
            attention_mask=mask,
            position_ids=positions,
            cache=inputs.get("cache"),
            logits_to_keep=keep,
        ).logits
        return logits, inputs["input_ids"]

    def _last_logits(self, ids: list[list[int]], shared: list[int]) -> torch.Tensor:
        """Each prompt's next-token logits."""
        return self._forward(ids, shared, 1)[0][:, -1, :]

    @own_precision
    def label_distribution(
        self, prompts: list[Messages], answer_prefix: str, labels: list[str]
    ) -> list[LabelDistribution]:
        answer_prefix, label_ids = label_tokens(self.tokenizer, answer_prefix, labels)
        encoded = encode(self.tokenizer, prompts, self.cfg.max_input_tokens, answer_prefix)
        shared = self._shared(encoded)
        results = [LabelDistribution(error=INPUT_TOO_LONG) for _ in prompts]
        for ok in self._length_sorted(encoded):
            logits = self._last_logits([encoded[i] for i in ok], shared)
            probs = logits.float().softmax(-1)[:, label_ids]
            probs = probs / probs.sum(-1, keepdim=True)
            for i, row in zip(ok, probs.tolist(), strict=True):
                results[i] = LabelDistribution(probs=row)
        return results

    @own_precision
    def likelihood(self, requests: list[list[Continuation]]) -> list[Likelihood]:
        encoded = encode_continuations(self.tokenizer, requests)
        fits = [ids if len(ids) <= self.cfg.max_input_tokens else None for ids, _ in encoded]
        # A shared prefix ends before every text's first token, whose logit must be computed.
        heads = [
            ids[: len(ids) - n - 1] for ids, n in encoded if len(ids) <= self.cfg.max_input_tokens
        ]
        shared = self._shared([h + [0] for h in heads] or [None])
        scores: list[float | None] = [None] * len(encoded)
        for batch in self._length_sorted(fits):
            while batch:  # as many rows as LOGIT_ROWS scored positions allow
                take = max(LOGIT_ROWS // (max(encoded[i][1] for i in batch) + 1), 1)
                rows, batch = batch[:take], batch[take:]
                sums = self._logprobs([encoded[i] for i in rows], shared)
                for i, score in zip(rows, sums, strict=True):
                    scores[i] = score
        return group_likelihoods(requests, scores, [n for _, n in encoded])

    @torch.inference_mode()
    def _logprobs(self, encoded: list[tuple[list[int], int]], shared: list[int]) -> list[float]:
        """Each row's summed log-probability of its last n tokens."""
        keep = max(n for _, n in encoded) + 1
        logits, ids = self._forward([ids for ids, _ in encoded], shared, keep)
        logprobs = logits[:, :-1].float().log_softmax(-1)  # predicts the last keep - 1 tokens
        targets = ids[:, ids.shape[1] - (keep - 1) :]
        picked = logprobs.gather(-1, targets[..., None])[..., 0]
        return [picked[row, keep - 1 - n :].sum().item() for row, (_, n) in enumerate(encoded)]
