import pytest

from humpback.tasks.backtranslate import clean_instruction, first_request
from humpback.tasks.score import score_from_completion, score_from_distribution


@pytest.mark.parametrize(
    ("text", "score"),
    [
        ("The answer is focused.\nScore: 4", 4),
        ("Score: 2 at first... on reflection\nScore: 5", 5),  # the LAST score line counts
        ("score:3", 3),
        ("**Score:** 5", 5),
        ("Score: 5/5", 5),
        ("Score: 2\nScore: 7", None),  # the last one is out of range: no guess from earlier ones
        ("Score: 0", None),
        ("I would give it a 4.", None),
        ("", None),
    ],
)
def test_score_is_the_last_score_line_or_none(text, score):
    assert score_from_completion(text) == score


def test_distribution_gives_argmax_and_expectation():
    best, expected = score_from_distribution([0.1, 0.0, 0.2, 0.6, 0.1])
    assert best == 4
    assert expected == pytest.approx(0.1 + 0.6 + 2.4 + 0.5)


@pytest.mark.parametrize(
    ("text", "clean"),
    [
        ('  "How do I grow tomatoes?"  ', "How do I grow tomatoes?"),
        ("Instruction: Explain pH.", "Explain pH."),
        ("Question:\nWhy?", "Why?"),
        ("Note: keep this", "Note: keep this"),
        ("A: How many topics should I use?", "How many topics should I use?"),
        ("Q: Why?", "Why?"),
    ],
)
def test_clean_instruction(text, clean):
    assert clean_instruction(text) == clean


@pytest.mark.parametrize(
    ("text", "kept"),
    [  # a small model's run-on requests, cut at max_new_tokens
        ("What is LDA? What are some of the ways it can be used? What is the most", "What is LDA?"),
        ("I am writing a paper on X. I need a title. Do you have ideas? I would love to have a",
         "I am writing a paper on X. I need a title. Do you have ideas?"),
        ("Write a poem on rain. Make it short. Use the", "Write a poem on rain. Make it short."),
        ('Write a tale titled "Why me?" of a cat', 'Write a tale titled "Why me?" of a cat'),
        ("Explain how a heat pump works", "Explain how a heat pump works"),
        ("日本の首都はどこですか？ 人口は", "日本の首都はどこですか？"),
    ],
)  # fmt: skip
def test_an_instruction_ends_at_its_first_question_or_last_finished_sentence(text, kept):
    assert first_request(text) == kept
