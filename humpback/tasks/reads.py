"""How a task reads a model: a read mode makes the backend call, names what besides the model
and the prompt decides the result (the request cache's key), reads through that cache, and
hands `parse` its answer."""

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

from humpback.inference.backend import (
    ChatBackend,
    Generation,
    LabelDistribution,
    Likelihood,
    Samples,
    encode,
    encode_continuation,
)
from humpback.inference.request_cache import RequestCache
from humpback.schemas.config import InferenceConfig


class ReadMode(ABC):
    result: ClassVar[type]  # what the backend returns for one prompt

    @abstractmethod
    def infer(self, backend: ChatBackend, prompts: list, cfg: InferenceConfig) -> list: ...

    @abstractmethod
    def parameters(self, cfg: InferenceConfig) -> dict:
        """What besides the model and the prompt decides a result."""

    @abstractmethod
    def answer(self, result) -> Any:
        """What the task's `parse` is handed for one (error-free) result."""

    def tokens(self, tokenizer: Any, prompt) -> int:
        """The prompt's length in tokens."""
        (ids,) = encode(tokenizer, [prompt], 1 << 30)
        return len(ids)

    def read(
        self, backend: ChatBackend, prompts: list, cfg: InferenceConfig, cache: RequestCache | None
    ) -> tuple[list, int]:
        """The results for `prompts`, from `cache` where it holds them, and how many it held."""
        if cache is None:
            return self.infer(backend, prompts, cfg), 0
        keys = cache.keys(prompts, self.parameters(cfg))
        known = cache.get(keys)
        todo = [i for i, k in enumerate(keys) if k not in known]
        new = self.infer(backend, [prompts[i] for i in todo], cfg) if todo else []
        fresh = {keys[i]: result for i, result in zip(todo, new, strict=True)}
        cache.put(fresh)
        return [known.get(k) or fresh[k] for k in keys], len(keys) - len(todo)


@dataclass(frozen=True)
class Generate(ReadMode):
    """The model writes with the step's sampling; `parse` gets the completion."""

    result: ClassVar = Generation

    def infer(self, backend: ChatBackend, prompts: list, cfg: InferenceConfig) -> list:
        return backend.generate(prompts, cfg.sampling)

    def parameters(self, cfg: InferenceConfig) -> dict:
        return {"backend": cfg.backend, "sampling": cfg.sampling.model_dump()}

    def answer(self, result: Generation) -> str:
        return result.text


@dataclass(frozen=True)
class GenerateSamples(Generate):
    """`Generate` `n` times, seeded `seed`, `seed + 1`, ...; `parse` gets the completions. A
    prompt too long for one is too long for all."""

    n: int = 1
    result: ClassVar = Samples

    def infer(self, backend: ChatBackend, prompts: list, cfg: InferenceConfig) -> list:
        return backend.generate_samples(prompts, cfg.sampling, self.n)

    def parameters(self, cfg: InferenceConfig) -> dict:
        return super().parameters(cfg) | {"samples": self.n}

    def answer(self, result: Samples) -> list[str]:
        return result.texts

    def read(
        self, backend: ChatBackend, prompts: list, cfg: InferenceConfig, cache: RequestCache | None
    ) -> tuple[list, int]:
        """Each draw is cached alone, under the key of a one-draw read with its seed: a run with
        one more draw writes only that one, and a prompt's missing draws are written together."""
        if cache is None:
            return self.infer(backend, prompts, cfg), 0
        seeded = [_seeded(cfg, cfg.sampling.seed + j) for j in range(self.n)]
        keys = [cache.keys(prompts, GenerateSamples().parameters(c)) for c in seeded]  # [draw][i]
        known = cache.get([k for draw in keys for k in draw])
        texts = [[known[keys[j][i]].texts[0] if keys[j][i] in known else None
                  for j in range(self.n)] for i in range(len(prompts))]  # fmt: skip
        errors: list[str | None] = [None] * len(prompts)
        spans: dict[tuple[int, int], list[int]] = {}  # (first, last + 1) missing draw: prompts
        for i, row in enumerate(texts):
            missing = [j for j, text in enumerate(row) if text is None]
            if missing:
                spans.setdefault((missing[0], missing[-1] + 1), []).append(i)
        for (first, end), rows in spans.items():
            sampling = seeded[first].sampling
            results = backend.generate_samples([prompts[i] for i in rows], sampling, end - first)
            fresh = {}
            for i, result in zip(rows, results, strict=True):
                if result.error is not None:
                    errors[i] = result.error
                    continue
                for j, text in enumerate(result.texts, first):
                    texts[i][j] = text
                    fresh[keys[j][i]] = Samples(texts=[text])
            cache.put(fresh)
        samples = [
            Samples(error=e) if e else Samples(texts=t) for t, e in zip(texts, errors, strict=True)
        ]
        return samples, sum(k in known for draw in keys for k in draw)


def _seeded(cfg: InferenceConfig, seed: int) -> InferenceConfig:
    return cfg.model_copy(update={"sampling": cfg.sampling.model_copy(update={"seed": seed})})


@dataclass(frozen=True)
class ReadLabels(ReadMode):
    """One forward pass reads the next-token distribution over `labels` after `prefix`;
    `parse` gets their probabilities."""

    prefix: str
    labels: tuple[str, ...]
    result: ClassVar = LabelDistribution

    def infer(self, backend: ChatBackend, prompts: list, cfg: InferenceConfig) -> list:
        return backend.label_distribution(prompts, self.prefix, list(self.labels))

    def parameters(self, cfg: InferenceConfig) -> dict:
        return {"backend": cfg.backend, "prefix": self.prefix, "labels": list(self.labels)}

    def answer(self, result: LabelDistribution) -> list[float]:
        return result.probs


@dataclass(frozen=True)
class ReadLikelihood(ReadMode):
    """The prompt is continuations, (prompt, text) pairs; `parse` gets each text's summed
    log-probability after its prompt and its token count."""

    result: ClassVar = Likelihood

    def infer(self, backend: ChatBackend, prompts: list, cfg: InferenceConfig) -> list:
        """Each distinct continuation is scored once, on any backend (the measures ask a
        held-out answer alone for every probe that pairs it, an instruction alone for each of
        its probes); an element gets the first error among its continuations."""
        keys = [[json.dumps(c) for c in prompt] for prompt in prompts]
        distinct = {k: c for prompt, ks in zip(prompts, keys, strict=True)
                    for k, c in zip(ks, prompt, strict=True)}  # fmt: skip
        scored = dict(zip(distinct, backend.likelihood([[c] for c in distinct.values()]),
                          strict=True))  # fmt: skip
        return [_joined([scored[k] for k in ks]) for ks in keys]

    def parameters(self, cfg: InferenceConfig) -> dict:
        return {"backend": cfg.backend, "likelihood": True}

    def answer(self, result: Likelihood) -> tuple[list[float], list[int]]:
        return result.logprobs, result.tokens

    def tokens(self, tokenizer: Any, prompt) -> int:
        """The longest of its continuations, prompt and text."""
        return max(len(encode_continuation(tokenizer, p, t)[0]) for p, t in prompt)


def _joined(parts: list[Likelihood]) -> Likelihood:
    """One element's result from its continuations' results: the first error, if any."""
    if error := next((p.error for p in parts if p.error), None):
        return Likelihood(error=error)
    return Likelihood([p.logprobs[0] for p in parts], [p.tokens[0] for p in parts])


GENERATE = Generate()
LIKELIHOOD = ReadLikelihood()
