"""The vllm backend against the real vLLM library, on a machine where vLLM imports but cannot run
a model (no GPU): `bash tools/vllm_contract.sh` makes the environment and runs this.

The backend's own methods run unchanged on the embedded model's tokenizer; only the engine is
stood in for. What the engine is handed must be vLLM's: the prompts valid `TokensPrompt`s, the
parameters `SamplingParams` that vLLM's own validation accepted, the engine arguments fields of
`EngineArgs`. What the backend parses is built with vLLM's classes and helpers as its engine
builds them (`RequestOutput`, `CompletionOutput`, `Logprob`, list and flat log-probabilities).
"""

import dataclasses
import math
import sys
import typing
from pathlib import Path

import vllm
import yaml
from transformers import AutoTokenizer
from vllm import SamplingParams
from vllm.engine.arg_utils import EngineArgs
from vllm.inputs import TokensPrompt
from vllm.logprobs import (
    append_logprobs_for_next_position,
    create_prompt_logprobs,
    create_sample_logprobs,
)
from vllm.outputs import CompletionOutput, RequestOutput

from humpback.inference import vllm_backend
from humpback.inference.backend import (
    INPUT_TOO_LONG,
    TOP_LOGPROBS,
    encode,
    encode_continuation,
    label_tokens,
)
from humpback.inference.chat_template import with_chat_template
from humpback.inference.embedded_model import ensure_embedded_model
from humpback.schemas.config import InferenceConfig, Sampling

ROOT = Path(__file__).resolve().parents[1]
TOKEN_KEYS = set(typing.get_type_hints(TokensPrompt))


def logprob_of(position: int, token: int) -> float:
    """The stand-in engine's log-probability of `token` at `position`: known, varied."""
    return -((position * 7 + token) % 13) / 4 - 0.01


class EngineStandIn:
    """`vllm.LLM.generate` as far as the backend sees it: checks what it is handed, answers
    with vLLM's own output objects."""

    def __init__(self, flat: bool, top: list[int]):
        self.flat, self.top = flat, top  # top: the tokens it ranks first after a prompt
        self.calls: list[SamplingParams] = []

    def generate(self, prompts, params, *, use_tqdm=True):
        assert isinstance(params, SamplingParams), type(params)
        self.calls.append(params)
        return [self._output(i, p, params) for i, p in enumerate(prompts)]

    def _output(self, i: int, prompt: dict, params: SamplingParams) -> RequestOutput:
        assert set(prompt) <= TOKEN_KEYS and all(
            isinstance(t, int) for t in prompt["prompt_token_ids"]
        )
        ids = prompt["prompt_token_ids"]
        prompt_logprobs = None
        if params.prompt_logprobs is not None:
            prompt_logprobs = create_prompt_logprobs(self.flat)  # position 0: None
            for j in range(1, len(ids)):
                append_logprobs_for_next_position(
                    prompt_logprobs, [ids[j]], [logprob_of(j, ids[j])], [None], 1, 0
                )
        logprobs = None
        next_ids = [11 + i]
        if params.logprobs is not None:
            logprobs = create_sample_logprobs(self.flat)
            top = self.top[: params.logprobs]
            ranked = [next_ids[0], *top]  # the sampled token first, as the engine appends them
            append_logprobs_for_next_position(
                logprobs, ranked, [logprob_of(len(ids), t) for t in ranked], [None] * len(ranked),
                1, params.logprobs,
            )  # fmt: skip
        completion = CompletionOutput(
            index=0, text=f"answer {i}", token_ids=next_ids, cumulative_logprob=None,
            logprobs=logprobs, finish_reason="length",
        )  # fmt: skip
        return RequestOutput(
            request_id=str(i), prompt=None, prompt_token_ids=ids,
            prompt_logprobs=prompt_logprobs, outputs=[completion], finished=True,
        )  # fmt: skip


def backend_with(engine: EngineStandIn, tokenizer, cfg: InferenceConfig):
    """A VllmBackend as its constructor makes it, with the stand-in as its engine."""
    backend = vllm_backend.VllmBackend.__new__(vllm_backend.VllmBackend)
    backend.cfg, backend.llm, backend.tokenizer = cfg, engine, tokenizer
    return backend


def check_engine_arguments() -> None:
    """The backend's own engine argument and every config's are fields of EngineArgs."""
    fields = {f.name for f in dataclasses.fields(EngineArgs)}
    assert "enable_prefix_caching" in fields
    for config in sorted((ROOT / "configs").glob("*.yaml")):
        text = yaml.safe_load(config.read_text())
        for step in ("augment", "curate", "evaluate", "judge"):
            args = ((text.get(step) or {}).get("vllm") or {}).get("engine_args", {})
            unknown = set(args) - fields
            assert not unknown, f"{config.name} {step}: not vLLM engine arguments: {unknown}"


def check(flat: bool, tokenizer) -> None:
    cfg = InferenceConfig(backend="vllm", max_input_tokens=256)
    labels = ["1", "2", "3", "4", "5"]
    _, label_ids = label_tokens(tokenizer, "Score:", labels)
    # the top 20 after a prompt: three of the labels and 17 other tokens (4 and 5 not among them)
    top = [*label_ids[:3], *(t for t in range(100, 200) if t not in label_ids)][:TOP_LOGPROBS]
    engine = EngineStandIn(flat, top)
    backend = backend_with(engine, tokenizer, cfg)
    chats = [[{"role": "user", "content": f"Question {i} about soil?"}] for i in range(3)]

    sampling = Sampling(temperature=0.7, top_p=0.9, max_new_tokens=32, seed=3)
    texts = backend.generate([*chats, [{"role": "user", "content": "word " * 400}]], sampling)
    assert [g.text for g in texts[:3]] == ["answer 0", "answer 1", "answer 2"]
    assert texts[3].error == INPUT_TOO_LONG
    params = engine.calls[-1]
    assert (params.temperature, params.top_p, params.max_tokens, params.seed) == (0.7, 0.9, 32, 3)

    found = backend.label_distribution(chats, "Score:", labels)
    assert engine.calls[-1].logprobs == TOP_LOGPROBS
    for i, dist in enumerate(found):
        (prompt_ids,) = encode(tokenizer, [chats[i]], 256, "Score:")
        ranked = {*top, 11 + i}
        raw = [math.exp(logprob_of(len(prompt_ids), t)) if t in ranked else 0 for t in label_ids]
        assert raw[3] == raw[4] == 0 < min(raw[:3])
        assert dist.probs and math.isclose(sum(dist.probs), 1.0)
        assert all(math.isclose(p, r / sum(raw)) for p, r in zip(dist.probs, raw, strict=True))

    pairs = [[(chats[0], "Water them weekly."), (chats[0], "Sun.")], [(chats[1], "Soil " * 300)]]
    scored = backend.likelihood(pairs)
    assert engine.calls[-1].prompt_logprobs == 0
    assert scored[1].error == INPUT_TOO_LONG  # the long text did not fit
    for (prompt, text), logprob, n in zip(pairs[0], scored[0].logprobs, scored[0].tokens,
                                          strict=True):  # fmt: skip
        ids, count = encode_continuation(tokenizer, prompt, text)
        expected = sum(logprob_of(j, ids[j]) for j in range(len(ids) - count, len(ids)))
        assert n == count and math.isclose(logprob, expected), (logprob, expected)


def main() -> int:
    tokenizer = with_chat_template(AutoTokenizer.from_pretrained(ensure_embedded_model()))
    check_engine_arguments()
    for flat in (False, True):
        check(flat, tokenizer)
    print(f"vllm {vllm.__version__}: the vllm backend's requests and parsing hold (list and flat "
          "log-probabilities); engine arguments of every config are EngineArgs fields")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
