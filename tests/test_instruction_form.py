"""The check of instruction form: human instructions pass, meta-text and copies do not."""

import json

import pytest

from humpback.run.stages import augment_metrics
from humpback.schemas.config import AugmentConfig, DemonstrationsConfig
from humpback.tasks.backtranslate import BACKWARD_REQUEST, Backtranslate
from humpback.tasks.demonstrations import Demonstrations, choose_demonstrations
from humpback.tasks.instruction_form import form_problem
from humpback.tasks.seed_phrases import SeedPhrases
from humpback.tasks.task import Filtered, ModelStep, Rejected


@pytest.mark.parametrize(
    ("name", "at_least"), [("lima_single_turn", 0.85), ("oasst_first_turn_rank0", 0.85)]
)
def test_most_human_instructions_are_well_formed(data_dir, name, at_least):
    rows = [json.loads(line) for line in (data_dir / "seed" / f"{name}.jsonl").open()]
    passed = [form_problem(r["instruction"], r["response"], BACKWARD_REQUEST) is None for r in rows]
    assert sum(passed) / len(passed) >= at_least


SEGMENT = (
    "Tomatoes need six to eight hours of sun a day. Water them deeply twice a week, at the base "
    "of the plant, and mulch to keep the soil moist and cool."
)


@pytest.mark.parametrize(
    ("instruction", "reason"),
    [
        ("The answer to the instruction is: water twice a week.", "about_the_response"),
        ("This response will answer the question in 2 paragraphs.", "about_the_response"),
        ("How can I fix the issues you mentioned?", "about_the_response"),
        ("Write the instruction or question that this response would answer", "echoes_prompt"),
        ("Tomatoes need six to eight hours of sun a day. Water them deeply twice", "copies_text"),
        ("Tomatoes and sunlight, watering and mulch.", "not_a_request"),
        ("How do I water tomatoes? How do I water them? How do I water tomatoes? How do I water",
         "repetitive"),
        ("", "empty_instruction"),
        ("How do you do it?", "names_nothing"),
        ("Can you help me with this one?", "names_nothing"),
    ],
)  # fmt: skip
def test_malformed_instructions_get_their_reason(instruction, reason):
    assert form_problem(instruction, SEGMENT, BACKWARD_REQUEST) == reason


@pytest.mark.parametrize(
    "instruction",
    [
        "How often should I water tomato plants?",
        "Explain how to grow tomatoes in a sunny garden.",
        "I need tips for growing tomatoes",
        "Can you tell me how much sun tomatoes need",
        "How much sun do tomatoes need a day?",  # a title copied from the page is fine
        "How much water do tomatoes need? And how much water do peppers need in a dry summer?",
        "Tell me a joke.",  # a short request still names what it wants
    ],
)
def test_requests_and_questions_pass(instruction):
    assert form_problem(instruction, SEGMENT, BACKWARD_REQUEST) is None


def _segment(text: str) -> dict:
    return {"id": "s", "text": text, "header": "", "header_path": [], "url": "u",
            "document_id": "d", "source_file": "f", "record_offset": 0, "lang": None,
            "char_len": len(text)}  # fmt: skip


def test_backtranslation_drops_a_malformed_instruction_with_its_reason():
    task = Backtranslate("m")
    segment = _segment(SEGMENT)
    dropped = task.parse(segment, ["This response explains tomatoes."])
    assert dropped == Filtered("about_the_response", "This response explains tomatoes.")
    kept = task.parse(segment, ['Instruction: "How do I grow tomatoes?"'])
    assert kept["instruction"] == "How do I grow tomatoes?" and kept["alternatives"] == []
    assert Backtranslate("m", check_form=False).parse(segment, ["Tomatoes."])["instruction"]


def test_of_several_answers_the_well_formed_distinct_ones_are_kept_the_first_leading():
    task = Backtranslate("m", samples=4)
    segment = _segment(SEGMENT)
    answers = ["This response explains tomatoes.", "How do I grow tomatoes? And why?",
               "How do I grow tomatoes?", "When should I water tomato plants?"]  # fmt: skip
    kept = task.parse(segment, answers)
    assert kept["instruction"] == "How do I grow tomatoes?"
    assert kept["alternatives"] == ["When should I water tomato plants?"]
    assert task.reads.n == 4
    assert kept["dropped"] == ["about_the_response"]  # the first draw, by its reason
    dropped = task.parse(segment, ["This response explains tomatoes.", "The text is good."])
    assert dropped == Filtered("about_the_response", "This response explains tomatoes.",
                               also=("about_the_response",))  # fmt: skip


def test_demonstrations_are_well_formed_short_and_drawn_per_segment():
    pairs = [
        {"instruction": f"How do I fix bug {i}?", "output": "x" * (50 * i)} for i in range(1, 20)
    ]
    pairs.append({"instruction": "This response is short.", "output": "y"})
    cfg = DemonstrationsConfig(count=3, max_chars=400)
    chosen = choose_demonstrations(pairs, cfg)
    assert len(chosen.pool) == 8 and all(len(out) <= 400 for _, out in chosen.pool)
    assert "This response is short." not in [i for i, _ in chosen.pool]
    shown = [chosen.shown(f"segment-{i}") for i in range(20)]
    assert all(len(s) == 3 for s in shown) and len(set(shown)) > 10  # no set shown everywhere
    assert shown[0] == choose_demonstrations(pairs, cfg).shown("segment-0")  # a rerun: the same
    other = choose_demonstrations(pairs, cfg.model_copy(update={"seed": 1}))
    assert [other.shown(f"segment-{i}") for i in range(20)] != shown
    fixed = choose_demonstrations(pairs, cfg.model_copy(update={"choose": "shortest"}))
    assert {fixed.shown(f"segment-{i}") for i in range(5)} == {fixed.pool}
    assert [out for _, out in fixed.pool] == ["x" * 50, "x" * 100, "x" * 150]


def test_similar_demonstrations_are_the_outputs_nearest_the_segment():
    pool = (("How do I water tomatoes?", "Water tomato plants deeply twice a week."),
            ("How do I feed a cat?", "Feed an adult cat two small meals a day."),
            ("What is Python?", "Python is a programming language."))  # fmt: skip
    similar = Demonstrations(pool, 1, "similar")
    assert similar.shown("s", "My tomato plants wilt: how much water do they need?") == pool[:1]
    assert similar.shown("s", "Kittens and cats need meals of wet food.") == pool[1:2]


def test_an_instruction_that_borrows_a_shown_demonstrations_topic_is_filtered():
    pool = (("Write titles for a story about a kingdom tormented by mechanical wyrms.", "..."),)
    task = Backtranslate("m", Demonstrations(pool, 1, "shortest"), check_how_to=False)
    text = "Prof. Ada Lane studies soil. Contact: ada@example.org"
    segment = _segment(text)
    borrowed = "How do I write a story about a kingdom of mechanical wyrms?"
    assert task.parse(segment, [borrowed]) == Filtered("borrows_demonstration", borrowed)
    own = "How do I contact Prof. Lane about soil science?"
    assert task.parse(segment, [own])["instruction"] == own
    # a word the segment contains is its own, not the demonstration's
    about_wyrms = {**segment, "text": "Stories about mechanical wyrms that ruled a kingdom."}
    assert task.parse(about_wyrms, [borrowed])["instruction"] == borrowed
    unchecked = Backtranslate("m", Demonstrations(pool, 1, "shortest"), check_borrow=False,
                              check_how_to=False)  # fmt: skip
    assert unchecked.parse(segment, [borrowed])["instruction"] == borrowed


def test_an_instruction_that_takes_a_phrase_of_a_training_instruction_is_filtered():
    seed = SeedPhrases.of(["I am writing a short paper about revolutionary weapons in both world "
                           "wars. Write some headings.", "How do I water tomatoes?"])  # fmt: skip
    task = Backtranslate("m", seed_phrases=seed, check_how_to=False)
    segment = _segment("Mastodon servers moderate their own users: pick one whose rules you like.")
    borrowed = "I am writing a short paper about Mastodon. What are some ideas?"
    assert task.parse(segment, [borrowed]) == Filtered("borrows_seed", borrowed)
    own = "How do I choose a Mastodon server?"
    assert task.parse(segment, [own])["instruction"] == own
    # of two draws the other is the instruction; each dropped draw is counted by its reason
    both = task.parse(segment, [borrowed, own])
    assert both["instruction"] == own and both["dropped"] == ["borrows_seed"]
    assert task.counted(both) == ["dropped_draw:borrows_seed"]
    neither = task.parse(segment, [borrowed, "Wow, Mastodon."])
    assert neither == Filtered("borrows_seed", borrowed, also=("not_a_request",))
    assert task.counted(neither) == ["dropped_draw:not_a_request"]
    # the words apart are no phrase, and a phrase the segment holds is its own
    assert task.parse(segment, ["Is a paper on Mastodon short?"])["instruction"]
    paper = {**segment, "text": "A short paper on Mastodon's moderation, in four pages."}
    assert task.parse(paper, [borrowed])["instruction"] == borrowed
    unchecked = Backtranslate("m", seed_phrases=seed, check_borrow=False, check_how_to=False)
    kept = unchecked.parse(segment, [borrowed, "Is Mastodon a good place for researchers?"])
    assert kept["instruction"] == borrowed  # kept, and counted: the rate is measured unchecked
    assert unchecked.counted(kept) == ["kept_draw:borrows_seed"]


def test_the_borrow_rate_counts_every_draw_that_borrowed_dropped_or_kept():
    step = ModelStep(Backtranslate("m", samples=2), "m", AugmentConfig())
    counts = {"in": 11, "dead_lettered": 1, "filtered:not_an_answer": 2,  # no draw written
              "filtered:borrows_seed": 1, "dropped_draw:borrows_seed": 2,
              "dropped_draw:not_a_request": 1}  # fmt: skip
    found = augment_metrics([step], counts)
    assert found["draws"] == 16 and found["borrowed_draws"] == {"demonstration": 0, "seed": 3}
    assert found["borrow_rate"] == round(3 / 16, 4) and found["borrowed_kept"] == 0
    unchecked = augment_metrics([step], {**counts, "kept_draw:borrows_demonstration": 2})
    assert unchecked["borrowed_draws"] == {"demonstration": 2, "seed": 3}
    assert unchecked["borrow_rate"] == round(5 / 16, 4) and unchecked["borrowed_kept"] == 2


def test_a_segment_whose_first_draw_is_empty_is_dropped_by_a_filtered_draw_with_every_reason():
    task = Backtranslate("m", samples=3)
    segment = _segment(SEGMENT)
    dropped = task.parse(segment, ["", "This response explains tomatoes.", "The text is good."])
    assert dropped == Filtered("about_the_response", "This response explains tomatoes.",
                               also=("empty_instruction", "about_the_response"))  # fmt: skip
    assert task.counted(dropped) == ["dropped_draw:empty_instruction",
                                     "dropped_draw:about_the_response"]  # fmt: skip
    kept = task.parse(segment, ["", "How do I grow tomatoes?", "Tomatoes."])
    assert kept["dropped"] == ["empty_instruction", "not_a_request"]
    assert task.parse(segment, ["", " "]) == Rejected("empty_instruction", "")  # a dead letter
