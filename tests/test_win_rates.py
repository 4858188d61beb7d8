"""Win rates as AlpacaEval computes them, position bias, paired differences, the scaling fit,
the judge's verdict parsing, and decontamination."""

import json
import math

import pytest

from humpback.measures.win_rates import (
    agreement,
    paired_difference,
    position_bias,
    preferences,
    scaling_fit,
    win_rate,
)
from humpback.tasks.compare import Compare, verdict_from_completion
from humpback.tasks.eval_overlap import EvalOverlap
from humpback.tasks.task import Rejected


def judgment(generator, pair, p_model, model_first=False, annotated=None):
    return {"generator": generator, "id": f"{generator}/{pair}", "p_model": p_model,
            "model_first": model_first, "annotated": annotated}  # fmt: skip


def test_win_rate_and_standard_error_match_alpaca_evals_figures():
    # AlpacaEval reports 44 wins of 100 as 44.0 with a standard error of 4.9889
    found = win_rate([2.0] * 44 + [1.0] * 56)
    assert found["win_rate"] == pytest.approx(44.0)
    assert found["standard_error"] == pytest.approx(4.988876515698589)
    assert win_rate([2.0, 1.0, 1.5])["win_rate"] == pytest.approx(50.0)  # a tie counts half
    assert win_rate([2.0, 1.0, 1.5])["n_draws"] == 1


def test_gpt4s_stored_judgments_give_the_leaderboards_win_rate(data_dir):
    rows = json.loads((data_dir / "eval/alpaca_eval/gpt4_annotations/guanaco-65b.json").read_text())
    found = win_rate([r["preference"] for r in rows])
    assert found["win_rate"] == pytest.approx(71.80124223602485)  # the AlpacaEval 1 leaderboard
    assert found["standard_error"] == pytest.approx(1.586912361158523)


def test_two_orders_that_disagree_make_a_tie_and_a_flip():
    judgments = [judgment("M1", 0, 1.0, False), judgment("M1", 0, 0.0, True),  # flips
                 judgment("M1", 1, 1.0, False), judgment("M1", 1, 1.0, True)]  # fmt: skip
    assert preferences(judgments) == {"M1": {"0": 1.5, "1": 2.0}}
    bias = position_bias(judgments)
    assert bias["flip_rate"] == 0.5 and bias["pairs_both_orders"] == 2
    # the answer shown first is preferred once: pair 1 with the model's answer first
    assert bias["first_preferred"] == 0.25 and bias["p_first"] == 0.25


def test_a_paired_bootstrap_interval_covers_the_difference():
    a = {str(i): 1.0 + (i % 2) for i in range(40)}  # 50%
    b = {str(i): 2.0 if i % 4 else 1.0 for i in range(40)}  # 75%
    found = paired_difference(a, b)
    assert found["difference"] == pytest.approx(25.0)
    assert found["low"] < 25.0 < found["high"] and found["prompts"] == 40
    assert paired_difference(a, a)["low"] == paired_difference(a, a)["high"] == 0.0


def test_the_scaling_fit_recovers_alpha_of_a_known_line():
    rungs = {n: {str(k): 1 + (5 * math.log(n) + 10 + (k % 3 - 1)) / 100 for k in range(30)}
             for n in (100, 400, 1600, 6400)}  # fmt: skip
    fit = scaling_fit(rungs)
    assert fit["alpha"] == pytest.approx(5.0) and fit["c"] == pytest.approx(10.0)
    assert fit["low"] <= 5.0 <= fit["high"] and fit["log"] == "natural"
    assert scaling_fit({100: rungs[100]})["alpha"] is None  # one rung fits nothing


def test_agreement_counts_draws_as_half_and_compares_with_always_the_model():
    judgments = [
        judgment("x", 0, 1.0, annotated=2.0),
        judgment("x", 1, 1.0, annotated=1.0),
        judgment("x", 2, 0.0, annotated=1.0),
        judgment("x", 3, 1.0, annotated=0.0),
    ]
    found = agreement(judgments)
    assert found["pairs"] == 4
    assert found["agreement"] == pytest.approx((1 + 0 + 1 + 0.5) / 4)
    assert found["always_model_agreement"] == pytest.approx((1 + 0 + 0 + 0.5) / 4)


def test_a_written_verdict_is_parsed_strictly():
    assert verdict_from_completion("Answer B misses the point.\nBetter: A") == "A"
    assert verdict_from_completion("**Better:** (b)") == "B"
    assert verdict_from_completion("Better: A. On reflection, Better: B") is None
    assert verdict_from_completion("I prefer the second answer.") is None
    assert verdict_from_completion("Better: Answers differ") is None
    task = Compare(judge="j", form="ranking")
    pair = {
        "id": "M1/0",
        "instruction": "i",
        "dataset": "d",
        "generator": "M1",
        "output_1": "ref",
        "output_2": "mine",
        "model_first": True,
        "annotated": None,
    }
    assert task.parse(pair, "Better: A")["p_model"] == 1.0  # A is the model's, shown first
    assert task.parse({**pair, "model_first": False}, "Better: A")["p_model"] == 0.0
    assert isinstance(task.parse(pair, "Both are fine."), Rejected)


def test_a_read_preference_is_renormalised_and_follows_the_order():
    task = Compare(judge="j", form="logprobs", answer_chars=3)
    pair = {
        "id": "M1/0",
        "instruction": "i",
        "dataset": "d",
        "generator": "M1",
        "output_1": "reference",
        "output_2": "model",
        "model_first": False,
        "annotated": None,
    }
    assert task.parse(pair, [0.3, 0.1])["p_model"] == pytest.approx(0.25)
    assert task.parse({**pair, "model_first": True}, [0.3, 0.1])["p_model"] == pytest.approx(0.75)
    shown = task.prompt({**pair, "model_first": True})[0]["content"]
    assert shown.index("Answer A:\nmod") < shown.index("Answer B:\nref")  # both cut alike
    assert "model" not in shown and "reference" not in shown


def test_decontamination_catches_copies_shared_ngrams_and_short_prompts_inside():
    overlap = EvalOverlap(
        [
            "What is the capital of France?",
            "Write a poem about the sea in the style of a pirate who has lost his ship",
            "Hi",
        ]  # fmt: skip
    )
    assert overlap("what is the CAPITAL of france")  # the same words
    assert overlap("Please: what is the capital of France? Be brief.")  # a short prompt inside
    assert overlap("Compose a poem about the sea in the style of a pirate, please")  # 8-gram
    assert not overlap("What is the capital of Spain?")
    assert not overlap("Hi there, how are you?")  # prompts under 3 words match only whole
    assert overlap("hi")


def test_iterations_trained_on_the_same_pairs_are_named_one_model(tmp_path):
    """M2 trained on curate_1's very pairs is M1: the tables of differences say so (a 0 there
    is by construction), and say nothing of iterations whose pairs differ."""
    from humpback.run.run_view import RunView
    from humpback.schemas.records import SFTExample
    from humpback.storage.shards import write_rows

    rows = [{"messages": [{"role": "user", "content": f"Q{i}?"},
                          {"role": "assistant", "content": f"A{i}."}],
             "source": "augmented", "score": 5, "iteration": 1, "segment_id": f"s{i}", "url": "u"}
            for i in range(3)]  # fmt: skip
    stages = {"curate_1": rows[:2], "curate_2": rows[1::-1], "curate_3": rows[1:]}
    for stage, kept in stages.items():
        write_rows(kept, str(tmp_path / stage), SFTExample)
        (tmp_path / stage / "manifest.json").write_text(json.dumps({"metrics": {}}))
    view = RunView(str(tmp_path), list(stages))
    assert view.same_models == (
        "M2 is M1 (curate_2 kept curate_1's 2 pairs): the same training data, one model"
    )
    assert RunView(str(tmp_path), ["curate_2", "curate_3"]).same_models == ""
    # with the rewrite on, train_t reads rewrite_t's pairs: the same curated pairs rewritten
    # otherwise are other training data
    rewritten = [{**r, "messages": [r["messages"][0], {"role": "assistant", "content": "B."}]}
                 for r in rows[:2]]  # fmt: skip
    for stage, kept in {"rewrite_1": rows[:2], "rewrite_2": rewritten}.items():
        write_rows(kept, str(tmp_path / stage), SFTExample)
        (tmp_path / stage / "manifest.json").write_text(json.dumps({"metrics": {}}))
    order = ["curate_1", "rewrite_1", "curate_2", "rewrite_2"]
    assert RunView(str(tmp_path), order).same_models == ""
    write_rows(rows[1::-1], str(tmp_path / "rewrite_2"), SFTExample)  # rewritten the same
    assert RunView(str(tmp_path), order).same_models == (
        "M2 is M1 (rewrite_2 kept rewrite_1's 2 pairs): the same training data, one model"
    )
