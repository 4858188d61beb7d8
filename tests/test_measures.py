"""The method's measures: probe pairs, boilerplate answers, and every measure on a tiny model."""

from humpback.measures.boilerplate import boilerplate_answers, page_boilerplate
from humpback.measures.method import instruction_form, measure, probe_pairs
from humpback.schemas.config import RunConfig

HELDOUT = [{"instruction": f"How do I do task {i}?", "output": f"Do task {i} in {i} steps."}
           for i in range(6)]  # fmt: skip


def test_mismatched_pairs_never_keep_their_own_answer():
    probes = probe_pairs(HELDOUT, ["Home | About | Contact " * 20] * 3)
    kinds = [p["kind"] for p in probes]
    assert kinds.count("true") == 6 and kinds.count("mismatched") == 6
    assert kinds.count("boilerplate") == 3
    truth = {p["instruction"]: p["answer"] for p in probes if p["kind"] == "true"}
    assert all(truth[p["instruction"]] != p["answer"] for p in probes if p["kind"] == "mismatched")


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
    dropped = [{"error": "not_a_request"}, {"error": "about_the_response"}]
    form = instruction_form(kept, dropped)
    assert form["instructions"] == 3 and form["well_formed"] == round(1 / 3, 4)


def test_every_measure_runs_on_a_tiny_model(tiny_model):
    config = RunConfig.model_validate(
        {"run_dir": "r", "seed": {"path": "s"}, "corpus": {"paths": ["c"]},
         "augment": {"sampling": {"max_new_tokens": 4}}}
    )  # fmt: skip
    boilerplate = ["Home | About | Contact | Login | Cart | Newsletter " * 8] * 4
    demos = (("How do I water tomatoes?", "Twice a week."),)
    found = measure(config, HELDOUT, demos, tiny_model, tiny_model, {"M0": tiny_model},
                    boilerplate, say=lambda _: None)  # fmt: skip
    assert found["probe_pairs"] == {"true": 6, "mismatched": 6, "boilerplate": 4}
    base = found["backward_fidelity"]["base"]
    assert base == {**found["backward_fidelity"]["M_yx"]}  # the same model, the same figures
    assert base["logprob_per_token"] < 0 and 0 <= base["rouge_l"] <= 1 and -1 <= base["cosine"] <= 1
    for name in ("pmi (M_yx)", "rubric (M0)", "ifd (M0)", "combined (M0)"):
        assert found["curators"][name]["pairs"] == 16
        assert 0 <= found["curators"][name]["auc_mismatched"] <= 1
