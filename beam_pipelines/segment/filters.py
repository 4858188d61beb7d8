"""Segment filters from the paper; each returns the reason to drop a segment, or None to keep it."""

import re
from collections.abc import Callable

import py3langid

from humpback.beam_pipelines.segment.sections import Section
from humpback.schemas.config import SegmentConfig

Filter = Callable[[Section], str | None]
_SENTENCE_MARK = re.compile(r"([.!?])\s+")  # a sentence ends there (made a line break) or at one
# fenced code and table rows repeat their shapes by nature
_CODE_AND_ROWS = re.compile(r"^```.*?^```|^\|.*\|$", re.M | re.S)


def length_filter(cfg: SegmentConfig) -> Filter:
    def check(s: Section) -> str | None:
        if len(s.text) < cfg.min_chars:
            return "too_short"
        if len(s.text) > cfg.max_chars:
            return "too_long"
        return None

    return check


def header_filter(cfg: SegmentConfig) -> Filter:
    """Drop empty, all-caps, mostly-capitals and navigation headers."""
    navigation = [n.lower() for n in cfg.navigation_headers]

    def check(s: Section) -> str | None:
        letters = [c for c in s.header if c.isalpha()]
        if not letters:
            return "empty_header"
        if all(c.isupper() for c in letters) and len(letters) > 1:
            return "all_caps_header"
        if sum(c.isupper() for c in letters) / len(letters) > cfg.max_header_caps_ratio:
            return "capitalised_header"
        if any(n in s.header.lower() for n in navigation):
            return "navigation_header"
        return None

    return check


def repetition_filter(cfg: SegmentConfig) -> Filter:
    """Drop segments in which two sentences share too many word trigrams (Jaccard similarity);
    fenced code and table rows are not read. A sentence is compared with each one before it
    only when it shares over the limit with all of them together (else no one can reach it)."""
    limit = cfg.max_sentence_jaccard

    def check(s: Section) -> str | None:
        earlier: list[set] = []
        seen: set = set()  # the trigrams of every sentence before
        text = _SENTENCE_MARK.sub("\\1\n", _CODE_AND_ROWS.sub("", s.text))
        for sentence in text.split("\n"):
            words = sentence.lower().split()
            grams = set(zip(words, words[1:], words[2:], strict=False))
            if not grams:
                continue
            if len(grams & seen) > limit * len(grams):
                for other in earlier:
                    common = len(grams & other)
                    if common / (len(grams) + len(other) - common) > limit:
                        return "repetitive"
            earlier.append(grams)
            seen |= grams
        return None

    return check


def segment_filters(cfg: SegmentConfig) -> list[Filter]:
    """The filters in the order they run: cheap ones first."""
    return [length_filter(cfg), header_filter(cfg), repetition_filter(cfg)]


def drop_reason(section: Section, filters: list[Filter]) -> str | None:
    return next((reason for f in filters if (reason := f(section))), None)


def identify_language(text: str) -> str:
    """The ISO 639-1 code py3langid gives the text (its 97 languages)."""
    return py3langid.classify(text)[0]
