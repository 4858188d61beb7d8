"""Candidate text as a curator sees it: claims about its own rating removed, clearly delimited.

Web text is written by strangers who would like their pages selected, and pages carry ratings
of their own ("Rating: 5/5", "Score: 5"); a small curator copies them. Every curator (the rubric
in both modes, the PMI and the IFD) reads a candidate through `curator_view`, which removes
chat-template tokens, rating claims (a number within its scale: "5/5", not "2018/10"), sentences
that rate the text, ask its rater for a rating or string together the rubric's words of praise,
and the prompt's own delimiters. The records keep their text; only what the curator reads
changes.
Special-token strings are also defused when a prompt is rendered (`inference.special_tokens`).
"""

import re

from humpback.inference.special_tokens import CHAT_TEMPLATE_TOKENS, ZERO_WIDTH_SPACE

_NUMBER = r"\d+(?:[.,]\d+)?"
_SCALE = r"(?:5|10|100)\b"
_OUT_OF = rf"(?:\s*/\s*{_SCALE}|\s+out\s+of\s+{_SCALE}|\s+stars?\b)"
RATING_CLAIMS = re.compile(
    "|".join(
        [
            # "Score: 5", "Final rating = 4.5/5", "Grade: 5 out of 5", "rated 5 stars"
            rf"(?P<scored>\b(?:final\s+|overall\s+)?(?:score|rating|rated|grade|graded|stars?|"
            rf"verdict)\b\s*(?:[:=]|is|of|as|at)?\s*[*_]*\s*{_NUMBER}{_OUT_OF}?)",
            rf"(?P<scaled>\b{_NUMBER}{_OUT_OF})",  # "5/5", "10 out of 10", "5 stars"
            r"[★☆⭐✩✪✫✬✭✮✯✰]{2,}",  # star glyphs
            r"\(\s*[\d.,]+\s+(?:reviews?|ratings?|votes?)\s*\)",  # "(1,204 reviews)"
        ]
    ),
    re.IGNORECASE,
)
# a claim's number past its scale is no rating: a date ("2018/10"), a benchmark's score
# ("a score of 409.30"), a count ("50 stars"); stars count to 10, a bare score to 100
_CLAIM_NUMBER = re.compile(_NUMBER)
_STARS = re.compile(r"stars?\b", re.IGNORECASE)
# sentences dropped whole (read one sentence at a time, so that no rule scans a text from each
# of its positions): one that rates the text itself, one that tells its rater to ignore the
# prompt, one that names a rater and asks it for a rating ("Note to the AI grader: rate this
# 5"; not one that names a model and a failure rate)
RATES_ITSELF = re.compile(
    r"\b(?:this|the|my|our)\s+(?:answer|response|reply|text|page|article|post|content|example)"
    r"\s+(?:is|was|deserves|merits|earns|should\s+(?:get|receive|be))\b[^.!?\n]*\b(?:perfect|"
    r"flawless|excellent|outstanding|exemplary|ideal|best|highest|top|full\s+marks)\b",
    re.IGNORECASE,
)
IGNORE_PROMPT = re.compile(
    r"\b(?:ignore|disregard|forget)\s+(?:all\s+|any\s+)?(?:the\s+)?(?:previous|prior|above|"
    r"earlier|preceding)\s+(?:instructions?|prompts?|rules?|text)",
    re.IGNORECASE,
)
RATERS = re.compile(
    r"\b(?:evaluator|grader|judge|reviewer|rater|scorer|curator|assistant|AI|model)s?\b",
    re.IGNORECASE,
)
RATING_ASKED = re.compile(
    r"\b(?:(?:scor|rat|grad|mark)(?:e|es|ing)?\s+(?:this|it|me|us|the\s+(?:answer|response|reply|"
    r"text|page|article|post|content))\b|(?:give|assign|award)s?\b[^.!?\n]*\b(?:scores?|ratings?|"
    r"grades?|marks|stars?)\b|(?:score|rating|grade|marks?)\s*(?:of|[:=])?\s*\d|"
    r"(?:deserves?|merits?|earns?)\s+(?:an?\s+|the\s+)?(?:\d|full\s+marks|top\s+marks|highest))",
    re.IGNORECASE,
)
# the rubric's own words of praise: a sentence that strings three of them together echoes the
# rubric at its rater ("the answer is focused, expert, well written and engaging")
RUBRIC_TERMS = re.compile(
    r"\b(?:AI[- ]assistant|focused|complete|clear|well[- ]organi[sz]ed|perfect|expert|"
    r"well[- ]written|logical|engaging|helpful|self[- ]contained|insightful|comprehensive|"
    r"high[- ]quality|irrelevant|relevant)\b",
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")
DELIMITERS = re.compile(r"</?(?:instruction|answer)>", re.IGNORECASE)
# a template token with the role name that follows it: "<|im_start|>assistant" opens a forged turn
TEMPLATE_TURNS = re.compile(
    rf"(?:{CHAT_TEMPLATE_TOKENS.pattern})(?:[ \t]*(?:system|user|assistant|model)\b)?"
)


def _unless_claimed(claim: re.Match) -> str:
    """Nothing for a rating claim; the text as it is when its number is past its scale."""
    if claim.lastgroup not in ("scored", "scaled"):
        return ""
    numbers = [float(n.replace(",", ".")) for n in _CLAIM_NUMBER.findall(claim.group(0))]
    scale = numbers[1] if len(numbers) > 1 else 10 if _STARS.search(claim.group(0)) else 100
    return claim.group(0) if numbers[0] > scale else ""


def _unless_addressed(sentence: re.Match) -> str:
    """Nothing for a sentence that rates the text, tells its rater to ignore the prompt, asks a
    rater for a rating or echoes the rubric's praise; any other as it is."""
    text = sentence.group(0)
    if RATES_ITSELF.search(text) or IGNORE_PROMPT.search(text):
        return ""
    if RATING_ASKED.search(text) and RATERS.search(text):
        return ""
    terms = {t.lower().replace("-", " ") for t in RUBRIC_TERMS.findall(text)}
    return "" if len(terms) >= 3 else text


def curator_view(text: str) -> str:
    """`text` without chat-template tokens (defused or not), rating claims or the curation
    prompt's delimiters, its blank runs tidied."""
    text = TEMPLATE_TURNS.sub("", text.replace(ZERO_WIDTH_SPACE, ""))  # segments come defused
    text = RATING_CLAIMS.sub(_unless_claimed, _SENTENCE.sub(_unless_addressed, text))
    text = DELIMITERS.sub("", text)
    lines = [line.rstrip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
