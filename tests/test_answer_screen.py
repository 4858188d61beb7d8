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

THIRD_PERSON_PROFILE = """Rui Costa

Rui Costa is Professor Emeritus of Statistics at the University of Porto. He received
bachelor's degrees in mathematics and physics in 1979 and a Ph.D. in statistics in 1985, and
has since written two books on sampling and many papers on surveys."""

NEWS_TABLE = """News

| May 2, 2024 | The paper on rotating panels won the best paper award at the \
spring workshop; thanks to everyone who came to the talk and asked such good questions. |
| March 12, 2024 | The paper on weights for late respondents was accepted at the autumn \
conference, and the code and the data are now public for anyone who wants to try them. |
| January 8, 2024 | Welcome to the three students who join the lab this winter to work \
on panels, on weights and on the new survey of small farms in the north. |"""

REVIEWER_DIARY = """My first year of reviewing

Last spring I was asked to review papers for the first time. My first reaction was
excitement, then worry: I had never written a review, and I thought my comments would be
useless to authors far more senior than me. I read each paper twice, wrote my notes by hand,
and sent my drafts to my advisor, who told me I was being far too polite."""

FIRST_PERSON_TIP = """Label the topics by hand

While I'm working, I usually read the most probable words of each topic. When I show the
results to others, I replace them with labels that two people agreed on. If your readers do
not know topic models, labels save you from questions about stopwords; write down how you
chose them, and keep the top words in an appendix."""

ROMAN_NUMERALS = """Part I: the identity matrix

The identity matrix I has ones on its diagonal and zeros elsewhere, so that A I = I A = A for
every square matrix A. In Part II the product is used to define the inverse: B is the inverse
of A when A B = I. Parts I and II assume real matrices; Part III extends both to complex ones,
where the transpose becomes the conjugate transpose."""

LONG_QUOTE = """New coach for the city club

The club named its new coach on Friday, a 56-year-old who led two clubs abroad. He said after \
his appointment: "I am excited to join a club with such a history and such loyal supporters.

"The quality of the squad excites me. Working with these players is what attracted me, and my \
staff and I will start on Monday."

The coach signs for three years and takes over a team that finished sixth last season, four \
points short of the places that lead to the European competitions."""

TOWN_WITH_TABLE = """Escarp

Escarp is a village of 84 people in the hills of the province, at 860 metres above the sea
and 47 km from the provincial capital. Its church dates from the thirteenth century and was
partly destroyed in the civil war; it was rebuilt in the 1950s with the old stones, and its
bell tower is the oldest part of the village that still stands.

| Term | Mayor |
|---|---|
| 1979 - 1983 | |
| 1983 - 1987 | |
| 1987 - 1991 | |"""


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        (ABOUT_US, "publisher_voice"),
        (CHANGELOG, "item_listing"),
        (PROFILE, "personal_profile"),
        (OPENING, "personal_profile"),
        (PAPERS, "publication_list"),
        (TALKS, "dated_listing"),
        (NEWS_TABLE, "dated_listing"),
        (THIRD_PERSON_PROFILE, "personal_profile"),
        (REVIEWER_DIARY, "personal_voice"),
    ],
)
def test_each_kind_of_segment_that_answers_nothing_is_named(text, rule):
    assert not_an_answer(text) == rule


@pytest.mark.parametrize(
    "text",
    [
        COMPANY_HOWTO,
        RECIPE_STEPS,
        NEWS_QUOTES,
        READING_LIST,
        FIRST_PERSON_TIP,
        ROMAN_NUMERALS,
        TOWN_WITH_TABLE,
        LONG_QUOTE,
    ],
)
def test_how_tos_steps_reports_that_quote_a_we_and_reading_lists_pass(text):
    """And a tip in the first person that addresses the reader, a numeral "I", an article
    with a short dated table, and a quote over two paragraphs (each opens with a mark, the
    last closes)."""
    assert not_an_answer(text) is None


def test_on_the_judged_pairs_it_loses_no_usable_segment_and_catches_not_answers(data_dir):
    rows = [json.loads(line) for line in open(data_dir / "judged" / "candidates.jsonl")]
    dropped = [r["label"] for r in rows if not_an_answer(r["output"])]
    assert "A" not in dropped
    assert dropped.count("N") >= 4  # of 12 judged not an answer
    assert len(dropped) <= 2 * dropped.count("N")
