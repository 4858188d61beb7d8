"""A how-to request whose segment tells nobody how is dropped at the source."""

import json

import pytest

from humpback.measures.method import how_to_check
from humpback.tasks.backtranslate import Backtranslate
from humpback.tasks.how_to import asks_how_to, tells_how, unanswered_how_to
from humpback.tasks.task import Filtered

REVIEW = (
    "A Quiet Harbour\n\nThe director shot the film over one winter in a fishing town. It follows "
    "a widowed net-maker through a season of storms, and its long takes turn small chores into "
    "a study of grief. The score is sparse and the cast mostly local."
)
HOW = "How do I make a film about a widowed net-maker?"


def _segment(text: str) -> dict:
    return {"id": "s", "text": text, "header": "", "header_path": [], "url": "u",
            "document_id": "d", "source_file": "f", "record_offset": 0, "lang": None,
            "char_len": len(text)}  # fmt: skip


@pytest.mark.parametrize(
    ("instruction", "asks"),
    [
        (HOW, True),
        ("What is the best way to mend a fishing net?", True),
        ("Can you give me some tips for filming in winter?", True),
        ("I want to shoot a film. What can be done to keep the cost down?", True),
        ("A film would help them. How can it be done?", True),
        ("How can it be that the film won?", False),
        ("What is A Quiet Harbour about?", False),  # a description answers what and why
        ("How does the film show grief?", False),
        ("Tell me a joke about nets.", False),
    ],
)
def test_how_to_requests_are_told_from_questions_of_what(instruction, asks):
    assert asks_how_to(instruction) is asks


@pytest.mark.parametrize(
    "text",
    [
        "Check the net before the season. Keep each knot tight.",  # opens with a request verb
        "Nets rot in salt. Rinse them in fresh water after every trip.",  # a verb and "them"
        "If your net tears, a sheet bend holds best.",  # the reader addressed
        "Three things matter:\n\n- a sharp knife\n- a netting needle",  # a list
        "The key is patience: a torn mesh should be cut square first.",  # advice
        "Run it so:\n\n```\nmend --net old.net\n```",  # code
    ],
)
def test_a_segment_that_tells_how_is_seen(text):
    assert tells_how(text) and not unanswered_how_to(HOW, text)


def test_a_description_asked_how_to_is_not_an_answer():
    assert not tells_how(REVIEW) and unanswered_how_to(HOW, REVIEW)
    assert not unanswered_how_to("What is A Quiet Harbour about?", REVIEW)


def test_augment_drops_the_draw_and_keeps_another():
    task = Backtranslate("m", samples=2)
    segment = _segment(REVIEW)
    kept = task.parse(segment, [HOW, "What is A Quiet Harbour about?"])
    assert kept["instruction"] == "What is A Quiet Harbour about?"
    assert kept["dropped"] == ["unanswered_how_to"]
    assert task.parse(segment, [HOW, HOW]) == Filtered("unanswered_how_to", HOW,
                                                       also=("unanswered_how_to",))  # fmt: skip
    # a segment none remains for is dropped by its well-formed draw, the nearest to a candidate
    assert task.parse(segment, ["Wow.", HOW]) == Filtered("unanswered_how_to", HOW,
                                                          also=("not_a_request",))  # fmt: skip
    unchecked = Backtranslate("m", check_how_to=False)
    assert unchecked.parse(segment, [HOW])["instruction"] == HOW


def test_the_check_never_drops_most_human_pairs(data_dir):
    for name, at_most in (("lima_single_turn", 0.01), ("oasst_first_turn_rank0", 0.03)):
        rows = [json.loads(line) for line in (data_dir / "seed" / f"{name}.jsonl").open()]
        flagged = sum(unanswered_how_to(r["instruction"], r["response"]) for r in rows)
        assert flagged <= at_most * len(rows), name


def test_on_judged_pairs_its_drops_are_counted_by_label():
    judged = [
        {"instruction": HOW, "segment": REVIEW, "label": "R"},
        {"instruction": "What is A Quiet Harbour about?", "segment": REVIEW, "label": "A"},
        {"instruction": "How do I mend a net?", "segment": "Check each knot twice.", "label": "A"},
        {"instruction": "How can I write a bio?", "segment": "She was born in 1950.", "label": "N"},
    ]  # fmt: skip
    assert how_to_check(judged) == {"dropped": {"R": 1, "N": 1}, "usable_lost": 0, "usable": 2,
                                    "description_caught": 1, "description": 1}  # fmt: skip
