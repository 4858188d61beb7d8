import warnings

import apache_beam as beam
import pytest
import torch
from apache_beam.ml.inference.base import RunInference
from apache_beam.testing.util import assert_that

from humpback.beam_pipelines.model_handler import ChatModelHandler
from humpback.inference.backend import INPUT_TOO_LONG, label_tokens, load_backend, samples_by_seed
from humpback.run.beam_run import new_pipeline
from humpback.schemas.config import InferenceConfig, Sampling, TransformersSettings
from humpback.tasks.backtranslate import Backtranslate, backward_prompt
from humpback.tasks.reads import LIKELIHOOD
from humpback.tasks.score import SCORE_LABELS, SCORE_PREFIX, curation_prompt

# Exact fp32 for the tests that compare one path with another (batched and alone, a shared
# prefix and padding): a CPU with bf16 units (AMX) computes the default `bf16` setting in bf16,
# which moves a probability in its third digit.
EXACT = TransformersSettings(fp32_matmul="ieee")


@pytest.fixture(scope="module")
def backend(tiny_model):
    return load_backend(tiny_model, InferenceConfig(max_input_tokens=512))


def test_generate_returns_text_per_prompt_and_flags_overlong_inputs(backend):
    prompts = [
        backward_prompt("Short answer."),
        backward_prompt("word " * 600),
        backward_prompt("B"),
    ]
    out = backend.generate(prompts, Sampling(max_new_tokens=5))
    assert [o.error for o in out] == [None, INPUT_TOO_LONG, None]
    assert isinstance(out[0].text, str) and out[1].text is None


def test_label_distribution_is_a_distribution_over_the_five_scores(backend):
    out = backend.label_distribution(
        [curation_prompt("Q?", "A."), curation_prompt("Q?", "x " * 600)], SCORE_PREFIX, SCORE_LABELS
    )
    assert len(out[0].probs) == 5 and sum(out[0].probs) == pytest.approx(1.0)
    assert out[1].error == INPUT_TOO_LONG


def test_label_tokens_follow_the_tokenizer(backend):
    prefix, ids = label_tokens(backend.tokenizer, SCORE_PREFIX, SCORE_LABELS)
    assert prefix.startswith(SCORE_PREFIX) and len(set(ids)) == 5
    decoded = [backend.tokenizer.decode([i]).strip() for i in ids]
    assert decoded == SCORE_LABELS


def test_handler_runs_inside_a_beam_pipeline(tiny_model):
    cfg = InferenceConfig(batch_size=3, sampling=Sampling(max_new_tokens=4))
    records = [
        {"prompt": backward_prompt(f"Answer {i}."), "record": {"id": str(i)}} for i in range(7)
    ]

    def check(results):
        assert sorted(r.example["record"]["id"] for r in results) == [str(i) for i in range(7)]
        assert all(r.inference.error is None for r in results)

    with new_pipeline() as p:
        results = (
            p
            | beam.Create(records)
            | RunInference(ChatModelHandler(tiny_model, cfg, Backtranslate(tiny_model)))
        )
        assert_that(results, check)


def test_a_backend_computes_under_its_own_fp32_setting(tiny_model, monkeypatch):
    exact = load_backend(tiny_model, InferenceConfig(transformers=EXACT))
    load_backend(tiny_model, InferenceConfig())  # bf16, the default, set in the same process
    seen, forward = [], exact._forward

    def recorded(*args):
        seen.append(torch.backends.mkldnn.matmul.fp32_precision)
        return forward(*args)

    monkeypatch.setattr(exact, "_forward", recorded)
    exact.label_distribution([curation_prompt("Q?", "A.")], SCORE_PREFIX, SCORE_LABELS)
    exact.likelihood([[(curation_prompt("Q?", "A."), "Yes.")]])
    assert seen == ["ieee", "ieee"]


def test_length_sorted_batches_return_each_prompt_its_own_result(tiny_model):
    cfg = InferenceConfig(batch_size=2, max_input_tokens=512, transformers=EXACT)
    backend = load_backend(tiny_model, cfg)
    prompts = [curation_prompt("Q?", "word " * n) for n in (40, 2, 90, 10, 60)]
    together = backend.label_distribution(prompts, SCORE_PREFIX, SCORE_LABELS)
    for prompt, result in zip(prompts, together, strict=True):
        (alone,) = backend.label_distribution([prompt], SCORE_PREFIX, SCORE_LABELS)
        assert result.probs == pytest.approx(alone.probs, abs=1e-4)


@pytest.fixture(scope="module")
def embedded_backend(embedded_model):
    cfg = InferenceConfig(batch_size=3, max_input_tokens=512, transformers=EXACT)
    return load_backend(embedded_model, cfg)


def scoring_prompts() -> list:
    sizes = {"soil": 3, "rain": 30, "wind": 1, "sand": 12, "clay": 7}
    return [curation_prompt(f"What is {w}?", f"{w.title()} is " + "a thing. " * n)
            for w, n in sizes.items()]  # fmt: skip


def test_a_shared_prefix_computed_once_gives_what_left_padding_gives(embedded_backend, monkeypatch):
    prompts = scoring_prompts()
    greedy = Sampling(temperature=0.0, max_new_tokens=12)
    template = embedded_backend.tokenizer.apply_chat_template
    encoded = [template(p, add_generation_prompt=True)["input_ids"] for p in prompts]
    assert len(embedded_backend._shared(encoded)) > 200  # the chat template and the rubric
    shared = (
        embedded_backend.label_distribution(prompts, SCORE_PREFIX, SCORE_LABELS),
        embedded_backend.generate(prompts, greedy),
    )
    monkeypatch.setattr(embedded_backend, "shares_prefixes", False)
    padded = (
        embedded_backend.label_distribution(prompts, SCORE_PREFIX, SCORE_LABELS),
        embedded_backend.generate(prompts, greedy),
    )
    for a, b in zip(shared[0], padded[0], strict=True):
        assert a.probs == pytest.approx(b.probs, abs=1e-4)
    assert [g.text for g in shared[1]] == [g.text for g in padded[1]]
    assert len({g.text for g in shared[1]}) > 1  # each prompt got its own answer


def test_a_prompt_samples_the_same_text_in_any_batch(embedded_backend):
    prompts = [backward_prompt(f"{w.title()} is " + "a thing. " * n)
               for w, n in {"soil": 2, "rain": 9, "wind": 0, "sand": 5}.items()]  # fmt: skip
    sampling = Sampling(temperature=1.0, top_p=1.0, max_new_tokens=10, seed=3)
    together = [g.text for g in embedded_backend.generate(prompts, sampling)]
    alone = [embedded_backend.generate([p], sampling)[0].text for p in prompts]
    reversed_ = [g.text for g in embedded_backend.generate(prompts[::-1], sampling)][::-1]
    assert together == alone == reversed_
    reseeded = embedded_backend.generate(prompts, sampling.model_copy(update={"seed": 4}))
    assert [g.text for g in reseeded] != together  # it samples: another seed, other texts


def test_samples_read_each_prompt_once_and_write_what_one_call_per_seed_writes(embedded_backend):
    prompts = [backward_prompt(f"{w.title()} is " + "a thing. " * n)
               for w, n in {"soil": 2, "rain": 9, "wind": 0, "sand": 5}.items()]  # fmt: skip
    sampling = Sampling(temperature=1.0, top_p=1.0, max_new_tokens=10, seed=3)
    samples = embedded_backend.generate_samples(prompts, sampling, 3)
    assert samples == samples_by_seed(embedded_backend, prompts, sampling, 3)
    assert all(len(set(s.texts)) > 1 for s in samples)  # three draws, not one three times
    too_long = [[{"role": "user", "content": "soil " * 5000}]]
    assert embedded_backend.generate_samples(too_long, sampling, 2)[0].error == INPUT_TOO_LONG


def test_the_key_value_cache_goes_by_its_current_name(embedded_backend):
    """transformers 5.24 renamed `past_key_values` to `cache` and drops the old name in 5.40:
    every pass that hands the model a cache (a shared prefix, draws of one reading) or reads
    one back warns nothing."""
    prompts = scoring_prompts()[:2]
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        embedded_backend.generate(prompts, Sampling(temperature=0.0, max_new_tokens=3))
        sampling = Sampling(temperature=1.0, max_new_tokens=3)
        embedded_backend.generate_samples(prompts, sampling, 2)
        embedded_backend.likelihood([[(prompts[0], "Soil is dirt."), (prompts[1], "Rain.")]])
        embedded_backend.label_distribution(prompts, SCORE_PREFIX, SCORE_LABELS)


def test_a_text_asked_again_after_the_same_prompt_is_scored_once(embedded_backend, monkeypatch):
    prompts = scoring_prompts()
    soil, rain = (prompts[0], "Soil is a thing."), (prompts[1], "Rain is a thing.")
    scored, logprobs = [], embedded_backend._logprobs

    def counted(rows: list, shared: list) -> list[float]:
        scored.extend(rows)
        return logprobs(rows, shared)

    monkeypatch.setattr(embedded_backend, "_logprobs", counted)
    asked = [[soil, rain], [rain, soil]]
    both, again = LIKELIHOOD.infer(embedded_backend, asked, InferenceConfig())
    assert len(scored) == 2
    assert again.logprobs == both.logprobs[::-1] and again.tokens == both.tokens[::-1]
    (alone,) = embedded_backend.likelihood([[rain]])
    assert alone.logprobs == pytest.approx(both.logprobs[1:], abs=1e-4)


def test_identical_prompts_still_each_get_a_result(embedded_backend):
    prompt = scoring_prompts()[0]
    (alone,) = embedded_backend.label_distribution([prompt], SCORE_PREFIX, SCORE_LABELS)
    twice = embedded_backend.label_distribution([prompt, prompt], SCORE_PREFIX, SCORE_LABELS)
    assert [t.probs for t in twice] == [pytest.approx(alone.probs, abs=1e-5)] * 2


def test_a_sliding_window_model_scores_a_batch_as_it_scores_each_prompt_alone(make_tiny_model):
    model = make_tiny_model("mistral", sliding_window=32)  # shorter than the shared rubric
    cfg = InferenceConfig(batch_size=3, max_input_tokens=512, transformers=EXACT)
    backend = load_backend(model, cfg)
    prompts = scoring_prompts()
    together = backend.label_distribution(prompts, SCORE_PREFIX, SCORE_LABELS)
    for prompt, result in zip(prompts, together, strict=True):
        (alone,) = backend.label_distribution([prompt], SCORE_PREFIX, SCORE_LABELS)
        assert result.probs == pytest.approx(alone.probs, abs=1e-5)
