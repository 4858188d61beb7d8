"""OpenAI-compatible server backend (vllm serve, llama.cpp server, SGLang): concurrent requests.

Requests of a batch run concurrently, at most `server.concurrency` in flight, on one event loop
the backend owns; the openai client retries connection errors, timeouts, 429s and 5xx with
exponential backoff. A request that still fails, or whose answer is not an OpenAI response,
becomes that prompt's error, never the batch's.
"""

import asyncio
import math
import os
import threading
from collections.abc import Awaitable

from openai import AsyncOpenAI, OpenAIError

from humpback.inference.backend import (
    INPUT_TOO_LONG,
    TOP_LOGPROBS,
    Generation,
    LabelDistribution,
    Messages,
    Samples,
    defused,
    encode,
    label_tokens,
    render,
    samples_by_seed,
)
from humpback.inference.chat_template import load_tokenizer
from humpback.schemas.config import InferenceConfig, Sampling

# what reading an answer that is not an OpenAI response raises (a proxy's HTML page, say)
MALFORMED = (AttributeError, IndexError, KeyError, TypeError, ValueError)


class OpenAIBackend:
    def __init__(self, model_path: str, cfg: InferenceConfig):
        server = cfg.settings
        self.cfg = cfg
        self.model = server.model or model_path
        self.tokenizer = load_tokenizer(model_path)  # lengths, logprob prompts
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.client = AsyncOpenAI(
            base_url=server.base_url,
            api_key=os.environ.get(server.api_key_env) or "none",
            timeout=server.timeout_s,
            max_retries=server.max_retries,
        )
        self.slots = asyncio.Semaphore(server.concurrency)

    def _run_all(self, requests: list[Awaitable]) -> list:
        async def gather():
            return await asyncio.gather(*requests)

        return asyncio.run_coroutine_threadsafe(gather(), self.loop).result()

    def generate(self, prompts: list[Messages], sampling: Sampling) -> list[Generation]:
        fits = encode(self.tokenizer, prompts, self.cfg.max_input_tokens)
        return self._run_all(
            [self._chat(p, sampling) if ids else _done(INPUT_TOO_LONG, Generation)
             for p, ids in zip(prompts, fits, strict=True)]
        )  # fmt: skip

    async def _chat(self, prompt: Messages, sampling: Sampling) -> Generation:
        async with self.slots:
            try:
                response = await self.client.chat.completions.create(
                    model=self.model,
                    messages=defused(self.tokenizer, prompt),
                    temperature=sampling.temperature,
                    top_p=sampling.top_p,
                    max_tokens=sampling.max_new_tokens,
                    seed=sampling.seed,
                )
                return Generation(text=response.choices[0].message.content or "")
            except OpenAIError as err:
                return Generation(error=type(err).__name__)
            except MALFORMED:
                return Generation(error="malformed_response")

    def generate_samples(
        self, prompts: list[Messages], sampling: Sampling, n: int
    ) -> list[Samples]:
        return samples_by_seed(self, prompts, sampling, n)

    def label_distribution(
        self, prompts: list[Messages], answer_prefix: str, labels: list[str]
    ) -> list[LabelDistribution]:
        answer_prefix, _ = label_tokens(self.tokenizer, answer_prefix, labels)
        fits = encode(self.tokenizer, prompts, self.cfg.max_input_tokens, answer_prefix)
        return self._run_all(
            [self._next_token(render(self.tokenizer, p, answer_prefix), labels) if ids
             else _done(INPUT_TOO_LONG, LabelDistribution)
             for p, ids in zip(prompts, fits, strict=True)]
        )  # fmt: skip

    async def _next_token(self, text: str, labels: list[str]) -> LabelDistribution:
        """The labels' share of the next-token distribution, from the top logprobs."""
        async with self.slots:
            try:
                response = await self.client.completions.create(
                    model=self.model,
                    prompt=text,
                    max_tokens=1,
                    temperature=0.0,
                    logprobs=TOP_LOGPROBS,
                )
                logprobs = response.choices[0].logprobs
                top = (logprobs.top_logprobs or [{}])[0] if logprobs else {}
                probs = [sum(math.exp(lp) for t, lp in top.items() if t.strip() == lb)
                         for lb in labels]  # fmt: skip
            except OpenAIError as err:
                return LabelDistribution(error=type(err).__name__)
            except MALFORMED:
                return LabelDistribution(error="malformed_response")
        total = sum(probs)
        if total == 0:
            return LabelDistribution(error="no_label_in_top_logprobs")
        return LabelDistribution(probs=[p / total for p in probs])


async def _done(error: str, kind: type):
    return kind(error=error)
