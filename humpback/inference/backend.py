"""The interface every inference backend implements, and helpers they share.

torch, transformers, vllm and openai are imported lazily by the backend that needs them, on the
worker that loads it.
"""

import importlib
import os
from dataclasses import dataclass
from typing import Any, Protocol

from humpback.inference.special_tokens import defuse, tokenizer_specials
from humpback.schemas.config import InferenceConfig, Sampling

Messages = list[dict[str, str]]
INPUT_TOO_LONG = "input_too_long"
TOP_LOGPROBS = 20  # next-token log-probabilities a server returns; the labels are looked up there


@dataclass(frozen=True)
class Generation:
    """One prompt's completion, or the reason there is none."""

    text: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class Samples:
    """One prompt's completions, one per sampling seed, or the reason there are none."""

    texts: list[str] | None = None
    error: str | None = None


@dataclass(frozen=True)
class LabelDistribution:
    """Each label's probability as the next token after a prefix, or why there is none."""

    probs: list[float] | None = None
    error: str | None = None


Continuation = tuple[Messages, str]  # a prompt, and a text whose likelihood as its answer is asked


@dataclass(frozen=True)
class Likelihood:
    """One element's continuations: each text's log-probability after its prompt (summed over
    its tokens) and its token count, or why there are none."""

    logprobs: list[float] | None = None
    tokens: list[int] | None = None
    error: str | None = None


class ChatBackend(Protocol):
    def generate(self, prompts: list[Messages], sampling: Sampling) -> list[Generation]: ...

    def generate_samples(
        self, prompts: list[Messages], sampling: Sampling, n: int
    ) -> list[Samples]: ...

    def label_distribution(
        self, prompts: list[Messages], answer_prefix: str, labels: list[str]
    ) -> list[LabelDistribution]: ...

    def likelihood(self, requests: list[list[Continuation]]) -> list[Likelihood]: ...


def samples_by_seed(
    backend: ChatBackend, prompts: list[Messages], sampling: Sampling, n: int
) -> list[Samples]:
    """`n` completions of each prompt, seeded `sampling.seed` to `sampling.seed + n - 1`, as `n`
    calls of `generate`; a prompt too long for one is too long for all."""
    draws = [backend.generate(prompts, sampling.model_copy(update={"seed": sampling.seed + j}))
             for j in range(n)]  # fmt: skip
    return [
        Samples(error=next(g.error for g in row if g.error))
        if any(g.error for g in row)
        else Samples(texts=[g.text for g in row])
        for row in zip(*draws, strict=True)
    ]


BACKENDS = {  # name: (class, the extra that installs what it imports)
    "transformers": ("humpback.inference.transformers_backend:TransformersBackend", None),
    "vllm": ("humpback.inference.vllm_backend:VllmBackend", "vllm"),
    "openai": ("humpback.inference.openai_backend:OpenAIBackend", "openai"),
}


def load_backend(model_path: str, cfg: InferenceConfig) -> ChatBackend:
    """Import and construct the backend the config names."""
    where, extra = BACKENDS[cfg.backend]
    module, _, cls = where.partition(":")
    try:
        backend = getattr(importlib.import_module(module), cls)
    except ModuleNotFoundError as err:
        if extra is None:
            raise
        raise ModuleNotFoundError(
            f"the {cfg.backend} backend needs {err.name}: pip install 'humpback[{extra}]'"
        ) from err
    return backend(model_path, cfg)


def defused(tokenizer: Any, prompt: Messages) -> Messages:
    """The prompt with the tokenizer's special-token strings in its messages defused."""
    specials = tokenizer_specials(tokenizer)
    return [{**m, "content": defuse(m["content"], specials)} for m in prompt]


def render(tokenizer: Any, prompt: Messages, answer_prefix: str = "") -> str:
    """The model's chat template applied to a prompt (its special-token strings defused),
    opening the assistant turn."""
    text = tokenizer.apply_chat_template(
        defused(tokenizer, prompt), tokenize=False, add_generation_prompt=True
    )
    return text + answer_prefix


def encode(
    tokenizer: Any, prompts: list[Messages], max_tokens: int, answer_prefix: str = ""
) -> list[list[int] | None]:
    """Rendered prompts as token ids; None where a prompt exceeds max_tokens."""
    texts = [render(tokenizer, p, answer_prefix) for p in prompts]
    ids = tokenizer(texts, add_special_tokens=False)["input_ids"]
    return [i if len(i) <= max_tokens else None for i in ids]


def encode_continuation(tokenizer: Any, prompt: Messages, text: str) -> tuple[list[int], int]:
    """The rendered prompt followed by `text` as token ids, and how many of the last ids are the
    text's (a token that merges across the boundary counts as the text's)."""
    head, text = render(tokenizer, prompt), defuse(text, tokenizer_specials(tokenizer))
    head_ids, ids = tokenizer([head, head + text], add_special_tokens=False)["input_ids"]
    return ids, len(ids) - len(os.path.commonprefix([head_ids, ids]))


def encode_continuations(
    tokenizer: Any, requests: list[list[Continuation]]
) -> list[tuple[list[int], int]]:
    """Every element's continuations, flattened in order, as `encode_continuation` gives them."""
    return [encode_continuation(tokenizer, p, t) for pairs in requests for p, t in pairs]


def group_likelihoods(
    requests: list[list[Continuation]], scores: list[float | None], tokens: list[int]
) -> list[Likelihood]:
    """Flat per-continuation scores (None: it did not fit) regrouped per element; an element
    with any continuation that did not fit is an INPUT_TOO_LONG error."""
    results, start = [], 0
    for pairs in requests:
        span = range(start, start + len(pairs))
        start += len(pairs)
        if any(scores[i] is None for i in span):
            results.append(Likelihood(error=INPUT_TOO_LONG))
        else:
            results.append(Likelihood([scores[i] for i in span], [tokens[i] for i in span]))
    return results


def label_tokens(tokenizer: Any, answer_prefix: str, labels: list[str]) -> tuple[str, list[int]]:
    """The prefix to score after, and each label's single token there.

    Tries "Score:" then "Score: " as the prefix, since tokenizers differ on whether the space
    joins the digit (' 4') or stands alone (' ', '4').
    """
    for prefix in (answer_prefix, answer_prefix + " "):
        base = tokenizer(prefix, add_special_tokens=False)["input_ids"]
        ids = []
        for label in labels:
            full = tokenizer(f"{answer_prefix} {label}", add_special_tokens=False)["input_ids"]
            if full[: len(base)] == base and len(full) == len(base) + 1:
                ids.append(full[-1])
        if len(ids) == len(labels):
            return prefix, ids
    raise ValueError(f"labels {labels} are not single tokens after {answer_prefix!r}")
