"""Candidate text as a curator sees it: claims about its own rating removed, clearly delimited.

Web text is written by strangers who would like their pages selected, and pages carry ratings
of their own ("Rating: 5/5", "Score: 5"); a small curator copies them. Every curator (the rubric
in both modes, the PMI and the IFD) reads a candidate through `curator_view`, which removes
chat-template tokens, rating claims, sentences that rate the text, address its rater or string
together the rubric's words of praise, and the prompt's own delimiters. The records keep their
text; only what the curator reads changes.
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
            rf"\b(?:final\s+|overall\s+)?(?:score|rating|rated|grade|graded|stars?|verdict)\b"
            rf"\s*(?:[:=]|is|of|as|at)?\s*[*_]*\s*{_NUMBER}{_OUT_OF}?",
            rf"\b{_NUMBER}{_OUT_OF}",  # "5/5", "10 out of 10", "5 stars"
            r"[★☆⭐✩✪✫✬✭✮✯✰]{2,}",  # star glyphs
            r"\(\s*[\d.,]+\s+(?:reviews?|ratings?|votes?)\s*\)",  # "(1,204 reviews)"
            # a sentence that rates the text itself or addresses whoever rates it
            r"[^.!?\n]*\b(?:this|the|my|our)\s+(?:answer|response|reply|text|page|article|post|"
            r"content|example)\s+(?:is|was|deserves|merits|earns|should\s+(?:get|receive|be))\b"
            r"[^.!?\n]*\b(?:perfect|flawless|excellent|outstanding|exemplary|ideal|best|highest|"
            r"top|full\s+marks)\b[^.!?\n]*[.!?]?",
            r"[^.!?\n]*\b(?:evaluator|grader|judge|reviewer|rater|scorer|curator|assistant|AI|"
            r"model)s?\b[^.!?\n]*\b(?:score|rate|rating|grade|mark)\b[^.!?\n]*[.!?]?",
            r"[^.!?\n]*\b(?:ignore|disregard|forget)\s+(?:all\s+|any\s+)?(?:the\s+)?(?:previous|prior|"
            r"above|earlier|preceding)\s+(?:instructions?|prompts?|rules?|text)[^.!?\n]*[.!?]?",
        ]
    ),
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


def _unless_rubric_echo(sentence: re.Match) -> str:
    terms = {t.lower().replace("-", " ") for t in RUBRIC_TERMS.findall(sentence.group(0))}
    return "" if len(terms) >= 3 else sentence.group(0)


def curator_view(text: str) -> str:
    """`text` without chat-template tokens (defused or not), rating claims or the curation
    prompt's delimiters, its blank runs tidied."""
    text = TEMPLATE_TURNS.sub("", text.replace(ZERO_WIDTH_SPACE, ""))  # segments come defused
    text = DELIMITERS.sub("", _SENTENCE.sub(_unless_rubric_echo, RATING_CLAIMS.sub("", text)))
    lines = [line.rstrip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
