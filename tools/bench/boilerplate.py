"""Boilerplate precision and recall: extracted words against a page's human-made main content.

References: the scrapinghub article benchmark's `articleBody` (human annotators), and Mozilla
Readability's `expected.html` beside each `source.html`. Words are compared as multisets, so a
word counts as often as the reference holds it.
"""

import gzip
import json
import re
from collections import Counter
from pathlib import Path

from selectolax.lexbor import LexborHTMLParser

_WORD = re.compile(r"\w+")


def words(text: str) -> Counter:
    return Counter(_WORD.findall(text.lower()))


def readability_references(folder: Path) -> dict[str, str]:
    """{source.html path: the text of Readability's extraction} for every page under folder."""
    found = {}
    for page in sorted(folder.glob("*/source.html")):
        tree = LexborHTMLParser((page.parent / "expected.html").read_text(errors="replace"))
        found[str(page)] = tree.root.text(separator=" ") if tree.root else ""
    return found


def scrapinghub_references(folder: Path) -> dict[str, str]:
    """{html.gz path: the human-made article body} for the benchmark's pages."""
    truth = json.loads((folder / "ground-truth.json").read_text())
    return {str(folder / "html" / f"{key}.html.gz"): row["articleBody"] or ""
            for key, row in sorted(truth.items())}  # fmt: skip


def by_page(segments: list[dict]) -> dict[str, str]:
    """{source file: its segments' text}: what humpback extracted from each page."""
    pages: dict[str, str] = {}
    for s in segments:
        pages[s["source_file"]] = f"{pages.get(s['source_file'], '')}\n{s['text']}"
    return pages


def page_html(path: str) -> bytes:
    data = Path(path).read_bytes()
    return gzip.decompress(data) if path.endswith(".gz") else data


def per_page(extracted: dict[str, str], references: dict[str, str]) -> dict[str, tuple]:
    """{page: (matched words, extracted words, reference words)}."""
    out = {}
    for page, reference in references.items():
        found, truth = words(extracted.get(page, "")), words(reference)
        out[page] = (sum((found & truth).values()), sum(found.values()), sum(truth.values()))
    return out


def precision_recall(extracted: dict[str, str], references: dict[str, str]) -> tuple[float, float]:
    """Micro-averaged over pages: the share of extracted words in the main content (precision),
    and the share of main-content words extracted (recall)."""
    rows = per_page(extracted, references).values()
    matched = sum(r[0] for r in rows)
    return matched / max(sum(r[1] for r in rows), 1), matched / max(sum(r[2] for r in rows), 1)
