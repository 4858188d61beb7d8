"""vLLM backend: in-process `vllm.LLM` offline batched generation with prefix caching."""

import math

from vllm import LLM, SamplingParams

from humpback.inference.backend import (
    INPUT_TOO_LONG,
    TOP_LOGPROBS,
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
    samples_by_seed,
)
from humpback.inference.chat_template import with_chat_template
from humpback.schemas.config import InferenceConfig, Sampling


class VllmBackend:
    def __init__(self, model_path: str, cfg: InferenceConfig):
        self.cfg = cfg
        self.llm = LLM(model=model_path, enable_prefix_caching=True, **cfg.settings.engine_args)
        self.tokenizer = with_chat_template(self.llm.get_tokenizer())

    def _prompts(self, prompts: list[Messages], answer_prefix: str = "") -> list[dict | None]:
        """Token-id prompts (no second BOS from re-tokenising); None where too long."""
        encoded = encode(self.tokenizer, prompts, self.cfg.max_input_tokens, answer_prefix)
        return [None if ids is None else {"prompt_token_ids": ids} for ids in encoded]

    def generate(self, prompts: list[Messages], sampling: Sampling) -> list[Generation]:
        requests = self._prompts(prompts)
        ok = [i for i, r in enumerate(requests) if r is not None]
        params = SamplingParams(
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            max_tokens=sampling.max_new_tokens,
            seed=sampling.seed,
        )
        outputs = self.llm.generate([requests[i] for i in ok], params, use_tqdm=False) if ok else []
        results = [Generation(error=INPUT_TOO_LONG) for _ in prompts]
        for i, out in zip(ok, outputs, strict=True):
            results[i] = Generation(text=out.outputs[0].text)
        return results

    def generate_samples(
        self, prompts: list[Messages], sampling: Sampling, n: int
    ) -> list[Samples]:
        return samples_by_seed(self, prompts, sampling, n)

    def label_distribution(
        self, prompts: list[Messages], answer_prefix: str, labels: list[str]
    ) -> list[LabelDistribution]:
        answer_prefix, label_ids = label_tokens(self.tokenizer, answer_prefix, labels)
        requests = self._prompts(prompts, answer_prefix)
        ok = [i for i, r in enumerate(requests) if r is not None]
        params = SamplingParams(temperature=0.0, max_tokens=1, logprobs=TOP_LOGPROBS)
        outputs = self.llm.generate([requests[i] for i in ok], params, use_tqdm=False) if ok else []
        results = [LabelDistribution(error=INPUT_TOO_LONG) for _ in prompts]
        for i, out in zip(ok, outputs, strict=True):
            top = out.outputs[0].logprobs[0]
            probs = [math.exp(top[t].logprob) if t in top else 0.0 for t in label_ids]
            total = sum(probs)
            results[i] = (
                LabelDistribution(probs=[p / total for p in probs])
                if total > 0
                else LabelDistribution(error="no_label_in_top_logprobs")
            )
        return results

    def likelihood(self, requests: list[list[Continuation]]) -> list[Likelihood]:
        """Each text's log-probability from vLLM's prompt log-probabilities (the actual token's
        entry is always among them)."""
        flat = encode_continuations(self.tokenizer, requests)
        ok = [i for i, (ids, _) in enumerate(flat) if len(ids) <= self.cfg.max_input_tokens]
        params = SamplingParams(temperature=0.0, max_tokens=1, prompt_logprobs=0)
        prompts = [{"prompt_token_ids": flat[i][0]} for i in ok]
        outputs = self.llm.generate(prompts, params, use_tqdm=False) if ok else []
        scores: list[float | None] = [None] * len(flat)
        for i, out in zip(ok, outputs, strict=True):
            ids, n = flat[i]
            text = range(len(ids) - n, len(ids))
            scores[i] = sum(out.prompt_logprobs[j][ids[j]].logprob for j in text)
        return group_likelihoods(requests, scores, [n for _, n in flat])
