"""Header segmentation: a segment is the text under an h1-h6 header, with lower-level subtrees.

Boilerplate goes before segmentation, decided on the parsed tree: elements that are page
furniture by tag (nav, footer, forms, scripts), by ARIA role, or by a class or id naming a
sidebar, comments, share buttons and the like; then blocks whose text is mostly link text.
"""

import re
from functools import lru_cache

from selectolax.lexbor import LexborHTMLParser, LexborNode

from humpback.beam_pipelines.segment.budget import NO_DEADLINE, Deadline, check_markup
from humpback.beam_pipelines.segment.sections import Block, Section, nested_sections

BOILERPLATE_TAGS = [
    "script", "style", "noscript", "template", "nav", "footer", "aside", "form", "button",
    "select", "iframe", "svg", "menu", "dialog",
]  # fmt: skip
BOILERPLATE_ROLES = ["navigation", "banner", "contentinfo", "complementary", "search", "menu"]
BOILERPLATE_NAMES = re.compile(
    r"sidebar|comment|share|sharing|social|related|recommend|promo|sponsor|advert|"
    r"(?<![\w-])ads?(?![\w-])|banner|breadcrumb|newsletter|subscribe|signup|cookie|consent|"
    r"popup|modal|masthead|site-header|site-footer|footer|menu|navbar|pagination|pager|toolbar|"
    r"widget|byline|caption|credit|skip-link|mw-editsection|printfooter|catlinks|navbox",
    re.I,
)
CONTENT_NAMES = re.compile(r"article|content|main|post-body|entry|story|body", re.I)
NEVER_REMOVED = {"html", "body", "main", "article"}
MAX_FURNITURE_SHARE = 1 / 3  # an element with more of the page's text is a layout wrapper
HEADER_LEVELS = {f"h{i}": i for i in range(1, 7)}
BLOCK_TAGS = {
    "p", "div", "section", "article", "main", "li", "ul", "ol", "dl", "dt", "dd", "table", "tr",
    "td", "th", "pre", "blockquote", "figure", "figcaption", "br", "hr", "caption", "header",
}  # fmt: skip
MAX_BLOCK_LINK_SHARE = 0.5  # a block whose text is mostly links is a menu or a link list
_HEADER_ANCHOR = re.compile(r"\s*(\[\s*edit\s*\]|[#¶§🔗])\s*$")
_END_BLOCK, _END_LINK = object(), object()


def html_sections(html: str, deadline: Deadline = NO_DEADLINE) -> list[Section]:
    """The header sections of a page, after its boilerplate is removed; markup too complex to
    parse in linear time raises MarkupTooComplex, a page past its deadline OverBudget."""
    check_markup(html)
    tree = LexborHTMLParser(html)
    tree.strip_tags(BOILERPLATE_TAGS)
    if tree.body is None:
        return []
    deadline.check("parsed")
    _remove_furniture(tree.body)
    deadline.check("furniture removed")
    return nested_sections(_blocks(tree.body, deadline))


def _remove_furniture(body: LexborNode) -> None:
    """Remove elements whose ARIA role, class or id says they are not the page's content."""
    roles = ", ".join(f'[role="{r}"]' for r in BOILERPLATE_ROLES)
    for node in body.css(f'{roles}, [aria-hidden="true"], [hidden]'):
        if node.tag not in NEVER_REMOVED:
            node.decompose()
    page_chars = len(body.text() or "")
    for node in body.css("[class], [id]"):
        if node.tag in NEVER_REMOVED or node.tag in HEADER_LEVELS:
            continue
        element_id = node.attributes.get("id") or ""
        if element_id.count("-") >= 3:  # a slug of the section's heading, not a widget's name
            element_id = ""
        names = f"{node.attributes.get('class') or ''} {element_id}"
        if _names_furniture(names) and len(node.text() or "") <= MAX_FURNITURE_SHARE * page_chars:
            node.decompose()


@lru_cache(maxsize=1 << 16)
def _names_furniture(names: str) -> bool:
    """True for class and id names of page furniture (sites repeat them: cached)."""
    return bool(BOILERPLATE_NAMES.search(names)) and not CONTENT_NAMES.search(names)


def _blocks(root: LexborNode, deadline: Deadline) -> list[Block]:
    """Flatten the DOM into (header level or 0, text) blocks in document order."""
    blocks: list[Block] = []
    inline: list[str] = []
    linked = [0, 0]  # open links, characters of link text in the current block

    def flush() -> None:
        text = " ".join(" ".join(inline).split())
        if text and linked[1] / len(text) <= MAX_BLOCK_LINK_SHARE:
            blocks.append((0, text))
        inline.clear()
        linked[1] = 0

    stack: list = [root]
    steps = 0
    while stack:
        if (steps := steps + 1) % 4096 == 0:
            deadline.check("reading blocks")
        node = stack.pop()
        if node is _END_BLOCK:
            flush()
        elif node is _END_LINK:
            linked[0] -= 1
        elif node.tag == "-text":
            text = node.text_content or ""
            inline.append(text)
            if linked[0]:
                linked[1] += len(" ".join(text.split()))
        elif node.tag in HEADER_LEVELS:
            flush()
            text = _HEADER_ANCHOR.sub("", " ".join(node.text(separator=" ").split()))
            blocks.append((HEADER_LEVELS[node.tag], text))
        else:
            if node.tag in BLOCK_TAGS:
                flush()
                stack.append(_END_BLOCK)
            if node.tag == "a":
                linked[0] += 1
                stack.append(_END_LINK)
            stack.extend(reversed(list(node.iter(include_text=True))))
    flush()
    return blocks
