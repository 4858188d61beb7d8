"""Boilerplate precision: the share of extracted words that lie in a page's main content.

The reference is Mozilla Readability's `expected.html` beside each `source.html` in the sample
data. Words are compared as multisets, so a word counts as often as the reference holds it.
"""

import re
from collections import Counter
from pathlib import Path

from selectolax.lexbor import LexborHTMLParser

_WORD = re.compile(r"\w+")


def words(text: str) -> Counter:
    return Counter(_WORD.findall(text.lower()))


def main_content_words(page_dir: Path) -> Counter:
    """The words of Readability's extraction of one page."""
    tree = LexborHTMLParser((page_dir / "expected.html").read_text(errors="replace"))
    return words(tree.root.text(separator=" ") if tree.root else "")


def precision_recall(extracted: dict[str, str], page_dirs: list[Path]) -> tuple[float, float]:
    """Micro-averaged over pages ({page dir: extracted text}): the share of extracted words in
    the main content (precision), and the share of main-content words extracted (recall)."""
    matched = found_total = reference_total = 0
    for page in page_dirs:
        found, reference = words(extracted.get(str(page), "")), main_content_words(page)
        matched += sum((found & reference).values())
        found_total += sum(found.values())
        reference_total += sum(reference.values())
    return matched / max(found_total, 1), matched / max(reference_total, 1)
