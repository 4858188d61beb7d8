"""vLLM backend: in-process `vllm.LLM` offline batched generation with prefix caching."""

import math

from vllm import LLM, SamplingParams

from beam_pipelines.inference.backend import (
    INPUT_TOO_LONG,
    Generation,
    LabelDistribution,
    Messages,
    label_tokens,
    render,
)
from schemas.config import InferenceConfig, Sampling

TOP_LOGPROBS = 20


class VllmBackend:
    def __init__(self, model_path: str, cfg: InferenceConfig):
        self.cfg = cfg
        self.llm = LLM(model=model_path, enable_prefix_caching=True, **cfg.engine_args)
        self.tokenizer = self.llm.get_tokenizer()

    def _texts(self, prompts: list[Messages], answer_prefix: str = "") -> list[str | None]:
        texts = [render(self.tokenizer, p, answer_prefix) for p in prompts]
        lengths = [len(ids) for ids in self.tokenizer(texts, add_special_tokens=False)["input_ids"]]
        return [
            t if n <= self.cfg.max_input_tokens else None
            for t, n in zip(texts, lengths, strict=True)
        ]

    def generate(self, prompts: list[Messages], sampling: Sampling) -> list[Generation]:
        texts = self._texts(prompts)
        ok = [i for i, t in enumerate(texts) if t is not None]
        params = SamplingParams(
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            max_tokens=sampling.max_new_tokens,
            seed=sampling.seed,
        )
        outputs = self.llm.generate([texts[i] for i in ok], params, use_tqdm=False) if ok else []
        results = [Generation(error=INPUT_TOO_LONG) for _ in prompts]
        for i, out in zip(ok, outputs, strict=True):
            results[i] = Generation(text=out.outputs[0].text)
        return results

    def label_distribution(
        self, prompts: list[Messages], answer_prefix: str, labels: list[str]
    ) -> list[LabelDistribution]:
        answer_prefix, label_ids = label_tokens(self.tokenizer, answer_prefix, labels)
        texts = self._texts(prompts, answer_prefix)
        ok = [i for i, t in enumerate(texts) if t is not None]
        params = SamplingParams(temperature=0.0, max_tokens=1, logprobs=TOP_LOGPROBS)
        outputs = self.llm.generate([texts[i] for i in ok], params, use_tqdm=False) if ok else []
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
