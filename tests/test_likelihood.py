"""Likelihood curation: log-probabilities of continuations, PMI and IFD, the keep rules, AUC."""

import pytest

from humpback.beam_pipelines.curate_tail import keep_passing
from humpback.inference.transformers_backend import TransformersBackend
from humpback.measures.ranking import auc, percentile_ranks, precision_recall
from humpback.schemas.config import (
    ConfigError,
    CurateConfig,
    InferenceConfig,
    TransformersSettings,
    load_config,
)
from humpback.tasks.likelihood import ifd, ifd_from, pmi, pmi_from
from humpback.tasks.similarity import instruction_similarity

DEMOS = (
    ("How cold is Antarctica?", "About -57 C inland in winter; the coast is milder."),
    ("How do I print in C++?", "Use std::cout << 'text'; after including <iostream>."),
)
PAIRS = [
    ("What is the capital of France?", "Paris is the capital of France."),
    ("How to bake bread?", "Mix flour, water, yeast and salt, knead, let rise, bake."),
    ("Name a prime number.", "Seven is prime: its only divisors are one and itself."),
]


def test_batched_and_prefix_shared_likelihoods_equal_one_sequence_at_a_time(tiny_model):
    requests = [pmi(x, y, DEMOS) for x, y in PAIRS] + [ifd(x, y) for x, y in PAIRS]
    exact = TransformersSettings(fp32_matmul="ieee")  # bf16 units (AMX) would move the last digits
    backend = TransformersBackend(tiny_model, InferenceConfig(batch_size=4, transformers=exact))
    batched = backend.likelihood(requests)
    backend.shares_prefixes = False
    alone = [backend.likelihood([r])[0] for r in requests]
    for a, b in zip(batched, alone, strict=True):
        assert a.tokens == b.tokens and all(t > 0 for t in a.tokens)
        assert a.logprobs == pytest.approx(b.logprobs, abs=1e-3)
        assert all(lp < 0 for lp in a.logprobs)


def test_an_overlong_continuation_is_an_error_for_its_element_only(tiny_model):
    backend = TransformersBackend(tiny_model, InferenceConfig(max_input_tokens=64))
    short, long = backend.likelihood([ifd("Hi?", "Hello."), ifd("Hi?", "word " * 200)])
    assert short.error is None and long.error == "input_too_long"


def test_pmi_and_ifd_from_log_probabilities():
    assert pmi_from(([-4.0, -10.0], [3, 3])) == pytest.approx(2.0)
    assert ifd_from(([-20.0, -30.0], [10, 10])) == pytest.approx(2.718281828**-1)
    assert pmi_from(([0.0, 0.0], [0, 0])) is None


def test_the_keep_rule_of_each_mode():
    row = {"score": 3, "pmi": 0.5, "ifd": 0.8}
    assert CurateConfig(mode="logprobs", k=4).why_dropped(**row) == "below_k"
    assert CurateConfig(mode="likelihood", min_pmi=0.2).why_dropped(**row) is None
    assert CurateConfig(mode="likelihood", min_pmi=0.6).why_dropped(**row) == "below_min_pmi"
    assert CurateConfig(mode="likelihood", max_ifd=0.7).why_dropped(**row) == "above_max_ifd"
    assert CurateConfig(mode="combined", k=3, min_pmi=0.2).why_dropped(**row) is None
    assert CurateConfig(mode="combined", k=4, min_pmi=0.2).why_dropped(**row) == "below_k"
    near = CurateConfig(mode="likelihood", min_pmi=0.2, min_similarity=0.45)
    assert near.why_dropped(**row, similarity=0.5) is None
    assert near.why_dropped(**row, similarity=0.3) == "below_min_similarity"
    assert near.why_dropped(**row) == "below_min_similarity"  # not measured: not kept
    assert CurateConfig(mode="logprobs", k=3, min_similarity=0.45).why_dropped(**row) is None


def test_curation_by_similarity_keeps_an_instruction_near_its_segments_opening():
    text = ("Tomato plants need six to eight hours of sun a day. Water them deeply twice a week "
            "at the base of the plant, and mulch to keep the soil moist. ") * 8  # fmt: skip
    asked = instruction_similarity("How often should I water my tomato plants?", text)
    other = instruction_similarity("I am writing a paper about Mastodon servers. Any ideas?", text)
    assert -1 <= other < asked <= 1
    # only the opening counts: what follows it changes nothing
    assert instruction_similarity("How do I grow tomatoes?", text + "Mastodon " * 200) \
        == pytest.approx(instruction_similarity("How do I grow tomatoes?", text))
    keep = keep_passing(CurateConfig(mode="likelihood", min_pmi=0.0, min_similarity=0.3))
    row = {"score": None, "pmi": 1.0, "ifd": 0.9, "text": text}
    assert keep({**row, "instruction": "How often should I water my tomato plants?"})
    assert not keep({**row, "instruction": "What are the best Mastodon servers for a hotel?"})


def test_likelihood_modes_need_a_backend_that_reads_prompt_log_probabilities(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("run_dir: r\nseed: {path: s}\ncorpus: {paths: [c]}\n")
    with pytest.raises(ConfigError, match="augment: likelihoods need a backend"):
        load_config(path, ["augment.backend=openai"])
    load_config(path, ["augment.backend=openai", "augment.pmi=false"])
    with pytest.raises(ConfigError, match="reads the PMI"):
        load_config(path, ["augment.pmi=false", "curate.mode=combined"])


def test_auc_precision_recall_and_ranks():
    assert auc([3, 4], [1, 2]) == 1.0 and auc([1], [2]) == 0.0 and auc([2], [2]) == 0.5
    assert auc([], [1]) is None
    kept = precision_recall([True, True, False], [True, False])
    assert kept == {"precision": 2 / 3, "recall": 2 / 3, "kept": 3}
    assert percentile_ranks([10, 30, 20, 20]) == [0.0, 1.0, 0.5, 0.5]
