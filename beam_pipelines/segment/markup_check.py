"""Markup that would make HTML parsing quadratic is refused before it is parsed: a tokenizer of
HTML's element starts, ends and attributes counts nesting depth and attributes.

It raises, and the document becomes a dead letter with the reason; the job goes on.
"""

import re

import numpy as np

MAX_DEPTH = 512  # elements open at once; Blink's HTML parser nests no deeper either
MAX_ATTRIBUTES = 1000  # on one element
# a page with no more element starts parses fast however deep they nest (all in one: 0.11 s)
MAX_UNREAD_ELEMENTS = 10_000
# the tokens of HTML's tokenizer that open, close or hide elements, as it reads them: white
# space is ASCII's, and a quote starts a value only after `=` (possessive: no backtracking)
_SPACE = r"[\t\n\f\r ]"
_VALUE = rf"""(?:{_SPACE}*+={_SPACE}*+(?:"[^"]*+"|'[^']*+'|[^\t\n\f\r >]++))?"""
_ATTRIBUTES = rf"(?:[\t\n\f\r /]++|[^\t\n\f\r />][^\t\n\f\r />=]*+{_VALUE})*+"
_TOKEN = re.compile(
    r"<!--(?:-?>|.*?--!?>|.*)"  # a comment: cut short (<!-->), closed, or to the end
    r"|<(?:!|\?|/(?![a-zA-Z]))[^>]*+>?"  # a bogus comment: <!DOCTYPE …>, <?xml …?>, </ …>
    rf"|<(/?)([a-zA-Z][^\t\n\f\r />]*+)({_ATTRIBUTES})(>?)",  # a tag (cut by the end: no `>`)
    re.S,
)
# script's text ends at its end tag unless escaped (<!-- <script> … </script> … -->)
_SCRIPT_MARKS = re.compile(r"<!--(?:-?>)?|-->|<(/?)script[\t\n\f\r />]", re.I)
_STYLE_END = re.compile(r"</style[\t\n\f\r />]", re.I)
_FOREIGN = {"svg", "math"}  # where <style> and <script> are not raw text
_ATTRIBUTE = re.compile(r"""[^\s"'>/=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'>]*))?""")
_ATTRIBUTE_BYTES = re.compile(_ATTRIBUTE.pattern.encode())
_NOT_NESTING = frozenset(
    "area base br col embed hr img input link meta source track wbr param keygen "  # void
    "p li dt dd option optgroup tr td th thead tbody tfoot rb rt rp colgroup caption "  # closed
    "html head body".split()  # implicitly by the next sibling, or never nested
)
LONG_TAG = 2 * MAX_ATTRIBUTES  # characters: only a tag this long can hold that many attributes
# every byte but `=` (a value) and what separates attributes: deleted, the rest are counted
_NOT_MARKS = bytes(sorted(set(range(256)) - set(b"= \t\n\r\f/")))
_ELEMENT_START = re.compile(rb"<[a-zA-Z]")


class MarkupTooComplex(ValueError):
    """Markup nested deeper than MAX_DEPTH or with an element of over MAX_ATTRIBUTES
    attributes: HTML parsers take time quadratic in both (200,000 nested <div>: 90 s)."""


def check_markup(page: bytes) -> None:
    """Raise MarkupTooComplex for markup (UTF-8) that would make parsing quadratic.

    The element starts (`<` and a letter, anywhere: in scripts and attribute values too, so
    never fewer than the parser finds) are bounded by a vectorised count of `<`, and counted
    only past that bound. A page with at most MAX_UNREAD_ELEMENTS cannot nest deep enough to
    matter, whatever hides its closing tags; a tag longer than LONG_TAG with more `=` and
    separators than MAX_ATTRIBUTES has its attributes counted. A page past either bound gets
    the exact pass over its tags outside scripts and styles, which skips elements that are void
    or closed implicitly. A `>` inside a quoted value ends a tag early for both passes (see
    SECURITY.md).
    """
    data = np.frombuffer(page, np.uint8)
    many = (
        np.count_nonzero(data == ord("<")) > MAX_UNREAD_ELEMENTS  # `<` bounds the starts
        and len(_ELEMENT_START.findall(page)) > MAX_UNREAD_ELEMENTS
    )
    if many or _many_attributes(page, data):
        _exact_check(page.decode("utf-8", "replace"))


def _many_attributes(page: bytes, data: np.ndarray) -> bool:
    """Whether a tag (from its `<` to the next `>`) may hold over MAX_ATTRIBUTES attributes: it
    has more `=` and separators than that (each attribute but the first has one or the other).

    Only a run of over LONG_TAG bytes without `>` can hold so long a tag, and such a run holds
    a whole block (of half that length, from the page's start) without one."""
    block = LONG_TAG // 2
    blocks = data[: len(data) // block * block].reshape(-1, block) == ord(">")
    end = -1
    for empty in np.flatnonzero(~blocks.any(axis=1)).tolist():
        if empty * block < end:
            continue  # in the run just read
        after, end = page.rfind(b">", 0, empty * block) + 1, page.find(b">", empty * block)
        if end < 0:
            return False  # no tag ends after this: the parser drops an unclosed one
        for start in _ELEMENT_START.finditer(page, after, end - LONG_TAG + 1):
            a = start.start()
            if len(page[a:end].translate(None, _NOT_MARKS)) <= MAX_ATTRIBUTES:
                break  # the tags that start later in the run are parts of this one
            if len(_ATTRIBUTE_BYTES.findall(page, a + 1, end)) > MAX_ATTRIBUTES:
                return True
    return False


def _exact_check(html: str) -> None:
    """Tokenize as the HTML parser does (comments, quoted values, the raw text of scripts and
    styles) and count depth and attributes. Where the parser may read a style or script as
    markup (inside SVG or MathML), its closing tags are not counted: an error can only count
    too deep, never too shallow."""
    depth, at, foreign, closes_from = 0, 0, 0, 0
    while token := _TOKEN.search(html, at):
        at = token.end()
        closing, name, attributes, ended = token.groups()
        if name is None:
            continue  # a comment
        if not ended:
            return  # a tag cut by the end of the page: the parser drops it, and reads no more
        if len(attributes) > LONG_TAG and len(_ATTRIBUTE.findall(attributes)) > MAX_ATTRIBUTES:
            raise MarkupTooComplex(f"an element <{name}> with over {MAX_ATTRIBUTES} attributes")
        name = name.lower()
        if name in _FOREIGN:
            foreign = max(foreign - 1, 0) if closing else foreign + 1
        elif name in ("script", "style") and not closing:
            end = _raw_text_end(html, at, name)
            if foreign:
                closes_from = end  # text or markup: its opening tags count, not its closing
            else:
                at = end
        if name in _NOT_NESTING:  # `<div/>` opens a div all the same
            continue
        if closing:
            depth = max(depth - 1, 0) if at > closes_from else depth
        elif (depth := depth + 1) > MAX_DEPTH:
            raise MarkupTooComplex(f"elements nested over {MAX_DEPTH} deep")


def _raw_text_end(html: str, at: int, name: str) -> int:
    """Where the text of a script or style that starts at `at` ends (its end tag, or the page's
    end), read as the tokenizer reads it: script text can be escaped and double escaped."""
    if name == "style":
        end = _STYLE_END.search(html, at)
        return end.start() if end else len(html)
    escaped = double = False
    for mark in _SCRIPT_MARKS.finditer(html, at):
        text = mark.group(0).lower()
        if text == "<!--":
            escaped = True
        elif text.startswith("<!--") or text == "-->":
            escaped = double = False
        elif mark.group(1):  # </script
            if not double:
                return mark.start()
            double = False
        elif escaped:  # <script
            double = True
    return len(html)
