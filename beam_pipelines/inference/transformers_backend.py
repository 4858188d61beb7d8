"""transformers backend: batched generation and next-token label distributions, CPU or GPU."""

import zlib

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from beam_pipelines.inference.backend import (
    INPUT_TOO_LONG,
    Generation,
    LabelDistribution,
    Messages,
    encode,
    label_tokens,
)
from schemas.config import InferenceConfig, Sampling


class TransformersBackend:
    def __init__(self, model_path: str, cfg: InferenceConfig):
        self.cfg = cfg
        self.device = cfg.device or ("cuda" if torch.cuda.is_available() else "cpu")
        dtype = torch.bfloat16 if self.device.startswith("cuda") else torch.float32
        self.tokenizer = AutoTokenizer.from_pretrained(model_path, padding_side="left")
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = AutoModelForCausalLM.from_pretrained(model_path, dtype=dtype).to(self.device)
        self.model.eval()

    def _batch(self, ids: list[list[int]]) -> dict[str, torch.Tensor]:
        batch = self.tokenizer.pad({"input_ids": ids}, return_tensors="pt")
        return {k: v.to(self.device) for k, v in batch.items()}

    def _length_sorted(self, encoded: list[list[int] | None]) -> list[list[int]]:
        """Indices of the prompts that fit, sorted by length, in batches of batch_size."""
        ok = sorted((i for i, ids in enumerate(encoded) if ids is not None),
                    key=lambda i: len(encoded[i]))  # fmt: skip
        size = self.cfg.batch_size
        return [ok[start : start + size] for start in range(0, len(ok), size)]

    def generate(self, prompts: list[Messages], sampling: Sampling) -> list[Generation]:
        encoded = encode(self.tokenizer, prompts, self.cfg.max_input_tokens)
        results = [Generation(error=INPUT_TOO_LONG) for _ in prompts]
        for ok in self._length_sorted(encoded):
            texts = self._generate([encoded[i] for i in ok], sampling)
            for i, text in zip(ok, texts, strict=True):
                results[i] = Generation(text=text)
        return results

    @torch.inference_mode()
    def _generate(self, encoded: list[list[int]], sampling: Sampling) -> list[str]:
        # Seeded by the batch's content, so a re-run of the same batch samples the same text.
        torch.manual_seed(sampling.seed + zlib.crc32(repr(encoded).encode()))
        batch = self._batch(encoded)
        sample = sampling.temperature > 0
        out = self.model.generate(
            **batch,
            do_sample=sample,
            temperature=sampling.temperature if sample else None,
            top_p=sampling.top_p if sample else None,
            top_k=None,
            max_new_tokens=sampling.max_new_tokens,
            pad_token_id=self.tokenizer.pad_token_id,
        )
        new_tokens = out[:, batch["input_ids"].shape[1] :]
        return self.tokenizer.batch_decode(new_tokens, skip_special_tokens=True)

    @torch.inference_mode()
    def label_distribution(
        self, prompts: list[Messages], answer_prefix: str, labels: list[str]
    ) -> list[LabelDistribution]:
        answer_prefix, label_ids = label_tokens(self.tokenizer, answer_prefix, labels)
        encoded = encode(self.tokenizer, prompts, self.cfg.max_input_tokens, answer_prefix)
        results = [LabelDistribution(error=INPUT_TOO_LONG) for _ in prompts]
        for ok in self._length_sorted(encoded):
            logits = self.model(**self._batch([encoded[i] for i in ok])).logits[:, -1, :]
            probs = logits.float().softmax(-1)[:, label_ids]
            probs = probs / probs.sum(-1, keepdim=True)
            for i, row in zip(ok, probs.tolist(), strict=True):
                results[i] = LabelDistribution(probs=row)
        return results
