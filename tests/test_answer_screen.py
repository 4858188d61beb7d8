"""The not-an-answer screen: each rule on texts written for the test, and what it costs and
catches on the judged pairs."""

import json

import pytest

from humpback.tasks.answer_screen import not_an_answer
from tests.test_inference_pipeline import ABOUT_US

CHANGELOG = """Release notes

- Fixed a crash when the cache folder is missing (issue 4121)
- The importer reads gzip files again (issue 4133)
- Settings page loads faster, 12 Mar
- Dropped the old upload API (#5120)
- Updated the translations, 14 Mar"""

PROFILE = """About me

I am a research scientist at a lab in Lisbon. I received my PhD in statistics in 2019 and
joined the lab the year after. My research interests include survey methods and missing data.
Write to me at ana.silva@example.org or ana@lab.example.com."""

OPENING = """Ana Silva

I'm a data scientist at a small lab in Lisbon, working on survey methods and on tools that
help statisticians deal with missing answers in large national surveys."""

PAPERS = """Selected papers

1. Imputing answers in rotating panels

Ana Silva, Rui Costa, Marta Lopes, and 2 more authors

2. Weights for late respondents

Marta Lopes, Ana Silva, Joana Reis"""

TALKS = """News

| May 2024 | A talk on rotating panels at the spring workshop |
| March 2024 | Our paper on weights was accepted |
| January 2024 | Started a new project on panels |
| October 2023 | A tutorial on missing data, with slides |"""

READING_LIST = """Start with the classics

Topic models are old, and the first papers are still the clearest way in. Read the model's
original description before any tutorial, then a comparison of newer models:

- The first description of the model, by its three authors (2003)
- A systematic comparison of topic models (2021)
- Whether neural topic models are broken (2021)"""

COMPANY_HOWTO = """Rotate your keys

We rotate our keys every ninety days, and you should too. Open the console, choose the key you
want to retire, and create a new one first. Then update your services to read the new key, and
only when every service uses it, delete the old one. If you keep a backup of your keys, rotate
it as well: an old key in a backup is still a key."""

RECIPE_STEPS = """Bread in four steps

- Mix 500 g of flour with 350 g of water and 10 g of salt
- Knead for ten minutes and let the dough rise for two hours
- Shape the loaf and let it rise for another hour
- Bake at 230 degrees for 35 minutes"""

NEWS_QUOTES = """Council approves the new bridge

The city council approved the bridge on Monday by nine votes to two. "We have waited for this
for twenty years, and our neighbours deserve it," said the mayor. "We will start in spring, and
we will finish before our next election," she added. The bridge will cost about 40 million and
carry two lanes and a cycle path across the river."""


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        (ABOUT_US, "publisher_voice"),
        (CHANGELOG, "item_listing"),
        (PROFILE, "personal_profile"),
        (OPENING, "personal_profile"),
        (PAPERS, "publication_list"),
        (TALKS, "dated_listing"),
    ],
)
def test_each_kind_of_segment_that_answers_nothing_is_named(text, rule):
    assert not_an_answer(text) == rule


@pytest.mark.parametrize("text", [COMPANY_HOWTO, RECIPE_STEPS, NEWS_QUOTES, READING_LIST])
def test_how_tos_steps_reports_that_quote_a_we_and_reading_lists_pass(text):
    assert not_an_answer(text) is None


def test_on_the_judged_pairs_it_loses_no_usable_segment_and_catches_not_answers(data_dir):
    rows = [json.loads(line) for line in open(data_dir / "judged" / "candidates.jsonl")]
    dropped = [r["label"] for r in rows if not_an_answer(r["output"])]
    assert "A" not in dropped
    assert dropped.count("N") >= 4  # of 12 judged not an answer
    assert len(dropped) <= 2 * dropped.count("N")
