"""The method's measures: probe pairs, boilerplate answers, and every measure on a tiny model."""

import json

from humpback.measures.boilerplate import boilerplate_answers, page_boilerplate
from humpback.measures.method import (
    augment_keeps,
    instruction_form,
    measure,
    method_kept,
    probe_pairs,
    seed_borrow,
)
from humpback.schemas.config import RunConfig
from humpback.tasks.demonstrations import Demonstrations
from humpback.tasks.seed_phrases import NO_SEED_PHRASES, SeedPhrases

HELDOUT = [{"id": f"h{i}", "instruction": f"How do I do task {i}?",
            "output": f"Do task {i} in {i} steps."} for i in range(6)]  # fmt: skip


def test_mismatched_and_nearest_pairs_never_keep_their_own_answer():
    heldout = [*HELDOUT, {"id": "t", "instruction": "How do I water tomatoes?",
                          "output": "Water tomatoes deeply twice a week."},
               {"id": "c", "instruction": "How do I feed cats?",
                "output": "Feed cats twice a day."},
               {"id": "p", "instruction": "How often should I water tomato plants?",
                "output": "Tomato plants want deep watering twice a week."}]  # fmt: skip
    probes = probe_pairs(heldout, ["Home | About | Contact " * 20] * 3)
    kinds = [p["kind"] for p in probes]
    assert [kinds.count(k) for k in ("true", "mismatched", "nearest")] == [9, 9, 9]
    assert kinds.count("boilerplate") == 3
    truth = {p["instruction"]: p["answer"] for p in probes if p["kind"] == "true"}
    assert all(truth[p["instruction"]] != p["answer"] for p in probes if p["kind"] != "true")
    nearest = {p["instruction"]: p["key"] for p in probes if p["kind"] == "nearest"}
    assert nearest["How do I water tomatoes?"] == "p"  # the same topic, another pair's answer


def test_boilerplate_is_the_text_outside_the_main_content(data_dir):
    main = "<html><body><p>" + "Soil and water for tomatoes. " * 30 + "</p></body></html>"
    menu = "".join(f"<li>Menu entry number {i} for shoppers</li>" for i in range(30))
    page = f"<html><body><ul>{menu}</ul>{main[12:-14]}<footer>Cookies</footer></body></html>"
    found = page_boilerplate(page, main)
    assert found.startswith("Menu entry number 0") and "tomatoes" not in found
    assert page_boilerplate(main, main) is None
    answers = boilerplate_answers(str(data_dir / "web/html/readability"))
    assert len(answers) >= 20 and all(300 <= len(a) <= 1200 for a in answers)


def test_instruction_form_counts_dropped_instructions_as_malformed():
    kept = [{"instruction": "How do I water tomatoes?", "text": "Water twice a week."}]
    dropped = [{"error": "not_a_request"}, {"error": "about_the_response"},
               {"error": "not_an_answer"},  # screened out: no instruction was written
               {"error": "borrows_seed"}]  # well formed, about a borrowed topic
    form = instruction_form(kept, dropped)
    assert form["instructions"] == 4 and form["well_formed"] == 0.5


def test_every_measure_runs_on_a_tiny_model(tiny_model, tmp_path):
    config = RunConfig.model_validate(
        {"run_dir": "r", "seed": {"path": "s"}, "corpus": {"paths": ["c"]},
         "augment": {"sampling": {"max_new_tokens": 4}}}
    )  # fmt: skip
    boilerplate = ["Home | About | Contact | Login | Cart | Newsletter " * 8] * 4
    demos = Demonstrations((("How do I water tomatoes?", "Twice a week."),), 1)
    judged = tmp_path / "judged.jsonl"
    judged.write_text("".join(
        json.dumps({"id": f"j{i}", "instruction": f"How do I do task {i}?", "usable": i % 3 == 0,
                    "output": f"Do task {i} in {i} steps.", "label": "AMN"[i % 3]}) + "\n"
        for i in range(6)))  # fmt: skip
    config = config.model_copy(update={
        "measure": config.measure.model_copy(update={"judged": str(judged)}),
        "curate": config.curate.model_copy(update={"mode": "likelihood"})})  # fmt: skip
    scorers = {"M0": tiny_model, "M1": tiny_model}
    seed = SeedPhrases.of(["How do I do a hard task quickly?"])
    found = measure(config, HELDOUT, demos, tiny_model, tiny_model, scorers, boilerplate,
                    say=lambda _: None, seed=seed)  # fmt: skip
    # curate reads no rubric in likelihood mode: later scorers are measured by their IFD alone
    assert set(found["curators"]) == {"pmi (M_yx)", "similarity (embedding)", "rubric (M0)",
                                      "ifd (M0)", "combined (M0)", "ifd (M1)"}  # fmt: skip
    assert found["curators"]["ifd (M1)"] == found["curators"]["ifd (M0)"]  # the same model
    assert found["probe_pairs"] == {
        "true": 6,
        "mismatched": 6,
        "nearest": 6,
        "boilerplate": 4,
        "not_an_answer": 2,
    }  # the judged segments labelled N
    assert found["judged_pairs"] == {"A": 2, "M": 2, "N": 2}
    assert found["answer_screen"] == {
        "dropped": {},
        "usable_lost": 0,
        "usable": 2,
        "not_an_answer_caught": 0,
        "not_an_answer": 2,
    }
    assert found["seed_borrow"] == {"dropped": {}, "usable_lost": 0, "usable": 2,
                                    "borrowed_caught": 0, "borrowed": 0}  # fmt: skip
    # the method's own keep rule (likelihood: the IFD's), after augment's checks, per scorer
    assert set(found["method_judged"]) == {"augment's checks + ifd (M0)",
                                           "augment's checks + ifd (M1)"}  # fmt: skip
    method = found["method_judged"]["augment's checks + ifd (M0)"]
    assert method["pairs"] == 6 and method["kept"] <= found["curators_judged"]["ifd (M0)"]["kept"]
    # every judged segment tells how ("Do task 3 in 3 steps."): the how-to check drops none
    assert found["how_to_check"] == {"dropped": {}, "usable_lost": 0, "usable": 2,
                                     "description_caught": 0, "description": 0}  # fmt: skip
    base = found["backward_fidelity"]["base"]
    assert base == {**found["backward_fidelity"]["M_yx"]}  # the same model, the same figures
    assert base["logprob_per_token"] < 0 and 0 <= base["rouge_l"] <= 1 and -1 <= base["cosine"] <= 1
    # a written text that is no instruction scores 0 as one
    assert base["rouge_l_as_instruction"] <= base["rouge_l"]
    assert base["well_formed"] > 0 or base["rouge_l_as_instruction"] == 0
    for name in ("pmi (M_yx)", "rubric (M0)", "ifd (M0)", "combined (M0)"):
        assert found["curators"][name]["pairs"] == 24
        assert 0 <= found["curators"][name]["auc_not_an_answer"] <= 1
        assert 0 <= found["curators"][name]["auc_mismatched"] <= 1
        assert 0 <= found["curators"][name]["auc_nearest"] <= 1
        on_judged = found["curators_judged"][name]
        assert on_judged["pairs"] == 6 and 0 <= on_judged["auc_unusable"] <= 1
        assert on_judged["recall"] is None or 0 <= on_judged["recall"] <= 1


def test_the_papers_rubric_is_measured_only_when_asked_if_curate_reads_none(tiny_model):
    config = RunConfig.model_validate(
        {"run_dir": "r", "seed": {"path": "s"}, "corpus": {"paths": ["c"]},
         "augment": {"sampling": {"max_new_tokens": 4}}, "curate": {"mode": "likelihood"},
         "measure": {"paper_rubric": False, "embeddings": False}}
    )  # fmt: skip
    found = measure(config, HELDOUT[:3], Demonstrations((), 0), tiny_model, tiny_model,
                    {"M0": tiny_model}, [], say=lambda _: None)  # fmt: skip
    assert set(found["curators"]) == {"pmi (M_yx)", "similarity (embedding)", "ifd (M0)"}


def test_the_training_phrase_check_on_judged_pairs_counts_its_drops_by_label():
    seed = SeedPhrases.of(["Generate titles for a short story about a fantasy kingdom.",
                           "How do I bake bread?"])  # fmt: skip
    judged = [
        {"instruction": "Write a short story about Mastodon.", "label": "B",
         "segment": "Mastodon is a social network run on many servers."},
        {"instruction": "How do I pick a Mastodon server?", "label": "A",
         "segment": "Pick a server whose rules you like."},
        {"instruction": "Write a short story about a robot.", "label": "A",
         "segment": "A short story: the robot woke before dawn."},
    ]  # fmt: skip
    assert seed_borrow(judged, seed) == {"dropped": {"B": 1}, "usable_lost": 0, "usable": 2,
                                         "borrowed_caught": 1, "borrowed": 1}  # fmt: skip


def test_the_method_on_judged_pairs_keeps_what_augment_passes_and_the_rule_keeps():
    config = RunConfig.model_validate({"run_dir": "r", "seed": {"path": "s"},
                                       "corpus": {"paths": ["c"]}})  # fmt: skip
    review = ("The director shot the film over one winter. It follows a net-maker through a "
              "season of storms; its long takes turn chores into a study of grief.")  # fmt: skip
    judged = [
        {"key": "a", "instruction": "What is the film about?", "segment": review, "kind": "true"},
        {"key": "b", "instruction": "How do I make a film about grief?", "segment": review,
         "kind": "unusable"},
        {"key": "c", "instruction": "What does the net-maker do?", "segment": review,
         "kind": "unusable"},
    ]  # fmt: skip
    passes = augment_keeps(judged, Demonstrations((), 0), NO_SEED_PHRASES, config)
    assert passes == [True, False, True]  # a how-to the review does not answer
    found = method_kept(judged, [True, True, False], passes)
    assert found == {"pairs": 3, "precision": 1.0, "recall": 1.0, "kept": 1}
