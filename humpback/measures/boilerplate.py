"""Boilerplate answers: text of saved pages that is not their main content (menus, footers,
share and cookie notices), for probing whether a curator keeps such text."""

import re
from pathlib import Path

from selectolax.lexbor import LexborHTMLParser

_WORD = re.compile(r"\w+")
MIN_CHARS, MAX_CHARS = 300, 1200


def _lines(html: str) -> list[str]:
    tree = LexborHTMLParser(html)
    for node in tree.css("script, style, noscript"):
        node.decompose()
    text = tree.body.text(separator="\n") if tree.body else ""
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


def page_boilerplate(source_html: str, main_html: str) -> str | None:
    """The longest run of the page's lines that are mostly outside its main content, joined and
    cut to MAX_CHARS; None when no run reaches MIN_CHARS."""
    main = set(_WORD.findall(" ".join(_lines(main_html)).lower()))
    runs, run = [], []
    for line in _lines(source_html):
        words = _WORD.findall(line.lower())
        if words and sum(w in main for w in words) / len(words) < 0.5:
            run.append(line)
        elif run:
            runs.append(run)
            run = []
    runs.append(run)
    best = max(("\n".join(r) for r in runs), key=len)
    return best[:MAX_CHARS] if len(best) >= MIN_CHARS else None


def boilerplate_answers(folder: str) -> list[str]:
    """One boilerplate text per page of `folder` (<page>/source.html beside expected.html)."""
    found = []
    for page in sorted(Path(folder).glob("*/source.html")):
        expected = page.with_name("expected.html")
        if expected.is_file():
            text = page_boilerplate(
                page.read_text(errors="replace"), expected.read_text(errors="replace")
            )
            if text:
                found.append(text)
    return found
