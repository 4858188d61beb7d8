"""How a task reads a model: a read mode makes the backend call, names what besides the model
and the prompt decides the result (the request cache's key), and hands `parse` its answer."""

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
        return backend.likelihood(prompts)

    def parameters(self, cfg: InferenceConfig) -> dict:
        return {"backend": cfg.backend, "likelihood": True}

    def answer(self, result: Likelihood) -> tuple[list[float], list[int]]:
        return result.logprobs, result.tokens

    def tokens(self, tokenizer: Any, prompt) -> int:
        """The longest of its continuations, prompt and text."""
        return max(len(encode_continuation(tokenizer, p, t)[0]) for p, t in prompt)


GENERATE = Generate()
LIKELIHOOD = ReadLikelihood()
