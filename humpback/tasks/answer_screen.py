"""Segments that can be no request's answer, found before a model call is spent on them.

A backward model asked for the instruction of a page's "Our values" block, of a weekly news
listing or of a researcher's profile still writes one ("How do I promote ideas for a better
world?"), and likelihood curators often keep it. Six kinds are cheap to see in the text:

- `publisher_voice`: the publisher speaking of itself (its values, strategy, plans, news): "we"
  and "our" are frequent and the reader is never addressed. A how-to in a company's voice
  addresses the reader ("you") and passes.
- `personal_voice`: the writer speaking of themself (their work, their year, their reviews):
  "I" and "my" are frequent and the reader is never addressed. The paper's rubric scores text
  "from another person's perspective ... personal experience" 3 at best, below what curation
  keeps, whatever the instruction. A tip written in the first person that addresses the reader
  passes.
- `item_listing`: most lines are list items and most items carry a reference (a bug or issue
  number, a date, an amount, a long number): a changelog or a news digest, many unrelated things.
- `personal_profile`: a person's profile or contact block: it opens by naming the person's role
  ("I am an assistant professor at ..."), or states a role with credentials, or gives several
  e-mail addresses and phone numbers.
- `dated_listing`: several short lines carry a year and make up a good part of the text, or most
  rows of a table open with a date: a list of talks or news items.
- `publication_list`: several lines are lists of people's names (a paper's authors).

Each rule names what it saw; the augment stage counts a drop `filtered:not_an_answer` with the
rule in the filtered row. The rules read form, not topic, and are measured on the judged pairs
(`humpback measure`: usable segments lost, not-an-answer segments caught).
"""

import re

NOT_AN_ANSWER = "not_an_answer"  # the filtered reason of a screened-out segment

_WORD = re.compile(r"[^\W\d_][\w'’]*")
_PUBLISHER = frozenset({"we", "our", "ours", "us", "we're", "we’re", "we've", "we’ve"})
_YOU = frozenset({"you", "your", "yours", "you're", "you’re", "yourself"})
ADDRESSED = _YOU | {"you'll", "you’ll", "you've", "you’ve"}  # the reader (personal_voice, how_to)
# a person, not a publisher: the reader, or a writer speaking for themself (publisher_voice)
_READER = _YOU | {"i", "my", "me", "i'm", "i’m", "i've", "i’ve"}
_SELF = frozenset({"my", "me", "mine", "myself", "i'm", "i’m", "i've", "i’ve", "i'd", "i’d",
                   "i'll", "i’ll"})  # fmt: skip
_I = re.compile(r"\bI\s+[a-z]")  # "I think"; not "Part I", "A = I" (but "Parts I and II")
_ITEM = re.compile(r"^(?:[-*•–]|\d{1,2}[.)])\s")
_REFERENCE = re.compile(
    r"\b(?:bug|issue|pr|cve)[\s#-]*\d+|#\d{3,}|\d{4,}|[$£€¥]\s?\d|\d{1,2}\s+(?:jan|feb|mar|apr|may"
    r"|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b|\b\d{4}-\d{2}-\d{2}\b",
    re.IGNORECASE,
)
_TITLE = (
    r"(?:professor|lecturer|researcher|scientist|student|fellow|postdoc|investigator|"
    r"director|founder|editor|engineer)\b"
)
_ROLE_NAMED = r"(?:a|an|the|currently)\s+(?:[\w-]+\s+){0,3}?" + _TITLE
_ROLE = re.compile(  # "is a professor", "is Professor Emeritus"
    r"\b(?:is|was|am)\s+(?:(?:a|an|the|currently)\s+)?(?:[\w-]+\s+){0,3}?" + _TITLE, re.IGNORECASE
)
_FIRST_PERSON_ROLE = re.compile(r"\bI(?:\s+am|['’]m)\s+" + _ROLE_NAMED, re.IGNORECASE)
_CREDENTIAL = re.compile(
    r"\b(?:ph\.?\s?d|doctorate|research interests|received (?:his|her|their|my)|joined|"
    r"graduated|alumn|bachelor|m\.sc|b\.sc)",
    re.IGNORECASE,
)
_NAME = re.compile(r"^[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*){0,3}$")
_YEAR = re.compile(r"\b(?:19|20)\d{2}\b")
_DATED_ROW = re.compile(r"^\|[^|]*" + _YEAR.pattern + r"[^|]*\|")  # first cell: a year
_CONTACT = re.compile(  # e-mail addresses (not @user@server handles) and labelled phones
    r"(?<![@\w.+-])[\w.+-]+@[\w-]+\.[a-z]{2,}\b|\b(?:phone|tel|fax|mobile)\b[.:]?\s*\+?\d",
    re.IGNORECASE,
)
QUOTED = re.compile(  # speech a report quotes is not its own voice; a quote runs to its closing
    r"\"[^\"]*?(?:\"|(?=\n\s*\n)|\Z)|“[^”]*?(?:”|(?=\n\s*\n)|\Z)"  # mark or its paragraph's end
)

MIN_WORDS = 40  # shorter blocks say too little to judge by frequencies
PUBLISHER_SHARE = 0.03  # "we"/"our" in at least this share of the words
READER_SHARE = 0.005  # and "you"/"I" in less than this
PERSONAL_SHARE = 0.025  # "I"/"my"/"me" in at least this share of the words (one of them not a
# bare "I"), "you" in less than READER_SHARE
MIN_ITEMS, ITEM_SHARE, REFERENCED_SHARE = 4, 0.6, 0.5
OPENING_CHARS = 200  # a profile names the role in its first sentence
DATED_LINES, DATED_SHARE, SHORT_LINE = 4, 0.3, 150
DATED_ROWS, DATED_TEXT_SHARE = 3, 0.5  # table rows that open with a date, half the text
AUTHOR_LINES, AUTHOR_SHARE, MIN_NAMES = 2, 0.15, 3


def _body_lines(text: str) -> list[str]:
    """The lines under the segment's heading, outside code fences."""
    lines, fenced = [], False
    for line in text.split("\n")[1:]:
        line = line.strip()
        if line.startswith("```"):
            fenced = not fenced
        elif line and not fenced:
            lines.append(line)
    return lines


def _own_words(text: str) -> tuple[str, list[str]]:
    """The text without what it quotes, and its words in lower case."""
    plain = QUOTED.sub(" ", text)
    return plain, [w.lower() for w in _WORD.findall(plain)]


def publisher_voice(text: str) -> bool:
    _, words = _own_words(text)
    if len(words) < MIN_WORDS:
        return False
    publisher = sum(w in _PUBLISHER for w in words) / len(words)
    reader = sum(w in _READER for w in words) / len(words)
    return publisher >= PUBLISHER_SHARE and reader < READER_SHARE


def personal_voice(text: str) -> bool:
    plain, words = _own_words(text)
    if len(words) < MIN_WORDS:
        return False
    mine = sum(w in _SELF for w in words)  # a bare "I" may be a numeral or a symbol
    own = len(_I.findall(plain)) + mine
    addressed = sum(w in ADDRESSED for w in words)
    return mine > 0 and own >= PERSONAL_SHARE * len(words) and addressed < READER_SHARE * len(words)


def item_listing(text: str) -> bool:
    lines = _body_lines(text)
    items = [line for line in lines if _ITEM.match(line)]
    if len(items) < MIN_ITEMS or len(items) < ITEM_SHARE * len(lines):
        return False
    return sum(bool(_REFERENCE.search(item)) for item in items) >= REFERENCED_SHARE * len(items)


def personal_profile(text: str) -> bool:
    if len(_CONTACT.findall(text)) >= 2:
        return True
    opening = " ".join(_body_lines(text))[:OPENING_CHARS]
    if _FIRST_PERSON_ROLE.search(opening):
        return True
    return bool(_ROLE.search(text)) and len(set(_CREDENTIAL.findall(text.lower()))) >= 2


def dated_listing(text: str) -> bool:
    lines = _body_lines(text)
    dated = [line for line in lines if len(line) <= SHORT_LINE and _YEAR.search(line)]
    if len(dated) >= DATED_LINES and len(dated) >= DATED_SHARE * len(lines):
        return True
    dated_rows = [line for line in lines if _DATED_ROW.match(line)]
    row_chars, all_chars = sum(map(len, dated_rows)), sum(map(len, lines))
    return len(dated_rows) >= DATED_ROWS and row_chars >= DATED_TEXT_SHARE * all_chars


def _is_author_line(line: str) -> bool:
    parts = [p.strip() for p in re.split(r",|\band\b|&", line) if p.strip()]
    parts = [p for p in parts if not re.fullmatch(r"\d+ more authors?", p)]
    names = sum(bool(_NAME.match(p)) for p in parts)
    return len(parts) >= MIN_NAMES and names >= 0.8 * len(parts)


def publication_list(text: str) -> bool:
    lines = _body_lines(text)
    authors = sum(_is_author_line(line) for line in lines)
    return authors >= AUTHOR_LINES and authors >= AUTHOR_SHARE * len(lines)


RULES = {"publisher_voice": publisher_voice, "item_listing": item_listing,
         "personal_profile": personal_profile, "dated_listing": dated_listing,
         "publication_list": publication_list, "personal_voice": personal_voice}  # fmt: skip


def not_an_answer(text: str) -> str | None:
    """The first rule by which `text` answers no request, or None when it may answer one."""
    return next((name for name, rule in RULES.items() if rule(text)), None)
