"""What one document may cost: markup that makes HTML parsing quadratic is refused before it is
parsed, and a time budget is checked between the steps of segmenting (and inside the long ones).

Both raise, and the document becomes a dead letter with the reason; the job goes on.
"""

import re
import time

import numpy as np

MAX_DEPTH = 512  # elements open at once; Blink's HTML parser nests no deeper either
MAX_ATTRIBUTES = 1000  # on one element
_RAW_TEXT = re.compile(r"<(script|style|textarea|xmp|title)\b.*?</\1\s*>", re.I | re.S)
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9:-]*)([^>]*)>")
_ATTRIBUTE = re.compile(r"""[^\s"'>/=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'>]*))?""")
_ATTRIBUTE_BYTES = re.compile(_ATTRIBUTE.pattern.encode())
_NOT_NESTING = frozenset(
    "area base br col embed hr img input link meta source track wbr param keygen "  # void
    "p li dt dd option optgroup tr td th thead tbody tfoot rb rt rp colgroup caption "  # closed
    "html head body".split()  # implicitly by the next sibling, or never nested
)
LONG_TAG = 2 * MAX_ATTRIBUTES  # characters: only a tag this long can hold that many attributes
_MARKS = [b"=", b" ", b"\t", b"\n", b"\r", b"\f", b"/"]  # a value, or what separates attributes


class MarkupTooComplex(ValueError):
    """Markup nested deeper than MAX_DEPTH or with an element of over MAX_ATTRIBUTES
    attributes: HTML parsers take time quadratic in both (200,000 nested <div>: 90 s)."""


class OverBudget(TimeoutError):
    """A document that took longer than its budget to segment."""


def check_markup(page: bytes) -> None:
    """Raise MarkupTooComplex for markup (UTF-8) that would make parsing quadratic.

    A vectorised pass over the bytes bounds the depth (every `<x` opens, every `</x` closes);
    a tag longer than LONG_TAG with more `=` and separators than MAX_ATTRIBUTES has its
    attributes counted. Only a page over a bound gets the exact pass over its tags outside
    scripts and styles (3 of 325 real pages), which skips elements that are closed implicitly
    or never nested. A `>` inside a quoted value ends a tag early for both passes: an element
    can hide its attributes behind one (see SECURITY.md).
    """
    data = np.frombuffer(page, np.uint8)
    lt = np.flatnonzero(data[:-2] == ord("<"))
    first, second = data[lt + 1], data[lt + 2] | 32
    opens = _letter(first | 32)
    closes = (first == ord("/")) & _letter(second)
    depth = np.cumsum(opens.astype(np.int64) - closes)
    deep = len(depth) and np.max(depth - np.minimum.accumulate(np.minimum(depth, 0))) > MAX_DEPTH
    if deep or _many_attributes(page, lt[opens]):
        _exact_check(page.decode("utf-8", "replace"))


def _letter(byte: np.ndarray) -> np.ndarray:
    return (byte >= ord("a")) & (byte <= ord("z"))


def _many_attributes(page: bytes, starts: np.ndarray) -> bool:
    """Whether a tag (from its `<` to the next `>`) may hold over MAX_ATTRIBUTES attributes: it
    has more `=` and separators than that (each attribute but the first has one or the other)."""
    gt = np.flatnonzero(np.frombuffer(page, np.uint8) == ord(">"))
    ends = np.searchsorted(gt, starts)
    found = ends < len(gt)
    starts, ends = starts[found], gt[ends[found]]
    long = ends - starts > LONG_TAG
    return any(
        sum(page.count(mark, a, b) for mark in _MARKS) > MAX_ATTRIBUTES
        and len(_ATTRIBUTE_BYTES.findall(page, a + 1, b)) > MAX_ATTRIBUTES
        for a, b in zip(starts[long].tolist(), ends[long].tolist(), strict=True)
    )


def _exact_check(html: str) -> None:
    depth = 0
    for tag in _TAG.finditer(_RAW_TEXT.sub("", html)):
        closing, name, attributes = tag.groups()
        if len(attributes) > LONG_TAG and len(_ATTRIBUTE.findall(attributes)) > MAX_ATTRIBUTES:
            raise MarkupTooComplex(f"an element <{name}> with over {MAX_ATTRIBUTES} attributes")
        if name.lower() in _NOT_NESTING or attributes.endswith("/"):
            continue
        if closing:
            depth = max(depth - 1, 0)
        elif (depth := depth + 1) > MAX_DEPTH:
            raise MarkupTooComplex(f"elements nested over {MAX_DEPTH} deep")


class Deadline:
    """A document's time budget from now; `check` raises OverBudget once it has run out."""

    def __init__(self, seconds: float):
        self.seconds, self.end = seconds, time.monotonic() + seconds

    def check(self, step: str) -> None:
        if time.monotonic() > self.end:
            raise OverBudget(f"segmenting took over the {self.seconds:g} s budget ({step})")


NO_DEADLINE = Deadline(float("inf"))
