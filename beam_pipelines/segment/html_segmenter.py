"""Header segmentation: a segment is the text under an h1-h6 header, with lower-level subtrees.

Boilerplate goes before segmentation, decided on the parsed tree: elements that are page
furniture by tag (nav, footer, forms, scripts), by ARIA role, or by a class or id naming a
sidebar, comments, share buttons and the like; then blocks whose text is mostly link text.
"""

import re
from functools import lru_cache
from itertools import groupby

from selectolax.lexbor import LexborHTMLParser, LexborNode

from humpback.beam_pipelines.segment.deadline import NO_DEADLINE, Deadline
from humpback.beam_pipelines.segment.markup_check import check_markup
from humpback.beam_pipelines.segment.sections import Block, Section, nested_sections

BOILERPLATE_TAGS = [
    "script", "style", "noscript", "template", "nav", "footer", "aside", "form", "button",
    "select", "iframe", "svg", "menu", "dialog", "figcaption",
]  # fmt: skip
BOILERPLATE_ROLES = ["navigation", "banner", "contentinfo", "complementary", "search", "menu"]
# matched against lower-cased names: case-blind search with alternations is five times slower;
# every alternative opens with a letter (an "ad" looks behind its "a"), so the search skips to
# the positions where one could start: half the time of an alternative opening with a lookbehind
BOILERPLATE_NAMES = re.compile(
    r"sidebar|comment|share|sharing|social|related|recommend|promo|sponsor|advert|"
    r"a(?<![\w-]a)ds?(?![\w-])|banner|breadcrumb|newsletter|subscribe|signup|cookie|consent|"
    r"popup|modal|masthead|site-header|site-footer|footer|menu|navbar|pagination|pager|toolbar|"
    r"widget|byline|caption|credit|skip-link|mw-editsection|printfooter|catlinks|navbox"
)
CONTENT_NAMES = re.compile(r"article|content|main|post-body|entry|story|body")
NEVER_REMOVED = {"html", "body", "main", "article"}
MAX_FURNITURE_SHARE = 1 / 3  # an element with more of the page's text is a layout wrapper
HEADER_LEVELS = {f"h{i}": i for i in range(1, 7)}
BLOCK_TAGS = {
    "p", "div", "section", "article", "main", "li", "ul", "ol", "dl", "dt", "dd", "table", "tr",
    "td", "th", "pre", "blockquote", "figure", "figcaption", "br", "hr", "caption", "header",
}  # fmt: skip
MAX_BLOCK_LINK_SHARE = 0.5  # a block whose text is mostly links is a menu or a link list
TEASER_CHARS = 600  # a linked header with less text under it is a link to another page (its blurb)
# a grid of links to other pages, each a linked title (not a header) and a short blurb: this
# many such pairs in a row, each blurb at most BLURB_CHARS
BLURB_RUN, BLURB_CHARS = 3, 300
# a short block with a clock time and no sentence end is a dateline ("Updated 6:55 AM | Nov 19"),
# one with a copyright sign a site's notice: both in any language
MAX_FURNITURE_LINE = 120
_CLOCK = re.compile(r"(?<!\d)\d{1,2}:\d{2}(?!\d)")  # "8:22", "8:22AM"
LABEL_WORDS = 6  # a short line without a sentence end names what follows it ("Trending now")
_SENTENCE_MARKS = (".", "!", "?", "。", "！", "？", "…")
_HEADER_ANCHOR = re.compile(r"\s*(\[\s*edit\s*\]|[#¶§🔗])\s*$")
_END_BLOCK, _END_LINK, _END_LIST = 0, 1, 2  # on the walk's stack after an element's children
# text only screen readers get (the label of a share bar, of icons): CSS frameworks' classes
VISUALLY_HIDDEN = frozenset({"sr-only", "screen-reader-text", "visually-hidden", "visuallyhidden"})
# removed by tag, by ARIA role or as hidden, in one pass over the tree
_REMOVABLE = f":not({', '.join(NEVER_REMOVED)})"
_REMOVED = ", ".join([*BOILERPLATE_TAGS, *(f'[role="{r}"]{_REMOVABLE}' for r in BOILERPLATE_ROLES),
                      f'[aria-hidden="true"]{_REMOVABLE}', f"[hidden]{_REMOVABLE}"])  # fmt: skip
# then read by their class and id names, in one more pass
_NAMED = f"[class]{_REMOVABLE}, [id]{_REMOVABLE}"
HIDDEN, FURNITURE = "hidden", "furniture"
# a table row holding any of these is page layout (old sites lay pages out in tables), not data
_LAYOUT = "p, div, table, ul, ol, pre, blockquote, h1, h2, h3, h4, h5, h6"


def html_sections(
    html: str | bytes, deadline: Deadline = NO_DEADLINE, markdown: bool = True
) -> list[Section]:
    """The header sections of a page (text, or UTF-8 bytes), after its boilerplate is removed,
    in Markdown (lists, code and tables as such) or plain lines; markup too complex to parse in
    linear time raises MarkupTooComplex, a page past its deadline OverBudget."""
    page = html.encode("utf-8", "replace") if isinstance(html, str) else html
    check_markup(page)
    deadline.check("markup checked")
    tree = LexborHTMLParser(page)
    deadline.check("parsed")
    for node in tree.css(_REMOVED):
        node.decompose(recursive=False)  # its subtree leaves the tree with it
    if tree.body is None:
        return []
    deadline.check("removed by tag")
    _remove_furniture(tree.body)
    deadline.check("furniture removed")
    return nested_sections(_blocks(tree.body, deadline, markdown))


def _remove_furniture(body: LexborNode) -> None:
    """Remove what a class says only screen readers get, and what a class or id names as page
    furniture, unless it is a header or holds over MAX_FURNITURE_SHARE of the page's text."""
    page_chars = len(body.text() or "")
    for node in body.css(_NAMED):
        attributes = node.attributes
        kind = _named(attributes.get("class"), attributes.get("id"))
        if kind == HIDDEN or (
            kind == FURNITURE
            and node.tag_id not in _HEADER_IDS
            and len(node.text() or "") <= MAX_FURNITURE_SHARE * page_chars
        ):
            node.decompose(recursive=False)


@lru_cache(maxsize=1 << 16)
def _named(element_class: str | None, element_id: str | None) -> str | None:
    """HIDDEN, FURNITURE or None for an element's class and id (sites repeat them: cached); an
    id with three hyphens is a slug of the section's heading, not a widget's name."""
    if element_class and not VISUALLY_HIDDEN.isdisjoint(element_class.split()):
        return HIDDEN
    if element_id and element_id.count("-") >= 3:
        element_id = None
    names = f"{element_class or ''} {element_id or ''}".lower()
    if BOILERPLATE_NAMES.search(names) and not CONTENT_NAMES.search(names):
        return FURNITURE
    return None


def _label(text: str) -> bool:
    return len(text.split()) <= LABEL_WORDS and not text.endswith(_SENTENCE_MARKS)


def _furniture_line(text: str) -> bool:
    """A dateline, a copyright notice, or a line without a letter (counts, pages, icons)."""
    if len(text) > MAX_FURNITURE_LINE:
        return False
    if not any(c.isalpha() for c in text):
        return True
    return "©" in text or bool(_CLOCK.search(text)) and not text.endswith(_SENTENCE_MARKS)


def _link_share(node: LexborNode, text: str) -> float:
    linked = sum(len(" ".join((a.text() or "").split())) for a in node.css("a"))
    return linked / max(len(text), 1)


def _tag_ids(names: set[str]) -> dict[str, int]:
    """lexbor's ids of standard HTML tags (a custom element's id differs from page to page, so
    it is never one of these), and "-text" for text nodes."""
    table = ["caption", "tr", "td", "th"]  # parsed only inside a table
    page = "".join(f"<{n}>-</{n}>" for n in sorted(names - {*table})) + "<table><caption>"
    page += "</caption><tr><td><th></table>"
    ids = {n.tag: n.tag_id for n in LexborHTMLParser(page).root.traverse(include_text=True)}
    return {n: ids[n] for n in {*names, "-text"}}


_IDS = _tag_ids({*BLOCK_TAGS, *HEADER_LEVELS, "a", "tr", "td", "th"})
_TEXT, _A, _PRE, _TR, _UL, _OL, _LI = (_IDS[t] for t in "-text a pre tr ul ol li".split())
_CELLS = {_IDS["td"], _IDS["th"]}
_HEADER_IDS = {_IDS[tag]: level for tag, level in HEADER_LEVELS.items()}
_BLOCK_IDS = {_IDS[tag] for tag in BLOCK_TAGS}


def _blocks(root: LexborNode, deadline: Deadline, markdown: bool = True) -> list[Block]:
    """Flatten the DOM into (header level or 0, text) blocks in document order: paragraphs,
    list items, code and table rows as such (in Markdown, or plain lines). Tags are compared
    by lexbor's ids: the walk visits every node of the page."""
    blocks: list[Block] = []
    # each block's kind: consecutive items and rows join into one block, and a linked header
    # may be a teaser
    kinds: list[str] = []
    inline: list[str] = []
    linked = [0, 0]  # open links, characters of link text in the current block
    lists: list[list] = []  # open lists: [ordered, items so far]
    item: list[str] = []  # the marker for the next text of an open list item
    after_links: set[int] = set()  # indexes of the blocks that follow a block of links that went

    def emit(text: str, kind: str) -> None:
        if kinds and kinds[-1] == kind in ("item", "row"):
            blocks[-1] = (0, f"{blocks[-1][1]}\n{text}")
        else:
            blocks.append((0, text))
            kinds.append(kind)

    def flush() -> None:
        if not inline:
            return
        text = " ".join(" ".join(inline).split())
        links = text and linked[1] / len(text) > MAX_BLOCK_LINK_SHARE
        if text and not links and not _furniture_line(text):
            emit(f"{item[0]}{text}" if item else text, "item" if item else "text")
        elif links and kinds and kinds[-1] == "text" and _label(blocks[-1][1]):
            blocks.pop()  # the label of links that went ("Related articles", "Lesen Sie auch")
            kinds.pop()
        if links and "://" not in text:  # a linked title, not a bare URL (a listed source)
            after_links.add(len(blocks))
        if text:
            item.clear()  # an item's marker goes on its first text, kept or not
        inline.clear()
        linked[1] = 0

    stack: list = [root]
    steps = 0
    while stack:
        if (steps := steps + 1) % 4096 == 0:
            deadline.check("reading blocks")
        node = stack.pop()
        if type(node) is int:
            if node == _END_BLOCK:
                flush()
            elif node == _END_LINK:
                linked[0] -= 1
            else:
                lists.pop()
                item.clear()
            continue
        tag = node.tag_id
        if tag == _TEXT:
            text = node.text_content
            if text and not text.isspace():  # most are the white space between tags
                inline.append(text)
                if linked[0]:
                    linked[1] += len(" ".join(text.split()))
        elif tag in _HEADER_IDS:
            flush()
            text = _HEADER_ANCHOR.sub("", " ".join(node.text(separator=" ").split()))
            blocks.append((_HEADER_IDS[tag], text))
            link = _link_share(node, text) > MAX_BLOCK_LINK_SHARE
            kinds.append("linked header" if link else "header")
        elif tag == _PRE:
            flush()
            code = (node.text(deep=True) or "").strip("\n")
            if code.strip():
                emit(f"```\n{code}\n```" if markdown else code, "code")
        elif tag == _TR and node.css_first(_LAYOUT) is None:  # a data table's row
            flush()
            cells = [" ".join((c.text(separator=" ") or "").split())
                     for c in node.iter() if c.tag_id in _CELLS]  # fmt: skip
            text = " | ".join(cells)
            if any(cells) and _link_share(node, text) <= MAX_BLOCK_LINK_SHARE:
                row = f"| {text} |" if markdown else "\t".join(cells)
                if markdown and (not kinds or kinds[-1] != "row"):
                    row += f"\n|{'---|' * len(cells)}"  # the first row heads the table
                emit(row, "row")
        else:
            if tag in _BLOCK_IDS:
                flush()
                stack.append(_END_BLOCK)
            if tag == _UL or tag == _OL:
                lists.append([tag == _OL, 0])
                stack.append(_END_LIST)
            elif tag == _LI and lists:
                lists[-1][1] += 1
                ordered, n = lists[-1]
                indent = "  " * (len(lists) - 1)
                item[:] = [f"{indent}{n}. " if ordered else f"{indent}- "] if markdown else [""]
            if tag == _A:
                linked[0] += 1
                stack.append(_END_LINK)
            child = node.last_child  # the children go on the stack last first
            while child is not None:
                stack.append(child)
                child = child.prev
    flush()
    _drop_blurbs(blocks, kinds, after_links)
    return _without_teasers_or_empty_headers(blocks, kinds)


def _drop_blurbs(blocks: list[Block], kinds: list[str], after_links: set[int]) -> None:
    """Drop the blurbs of a grid of links to other pages ("Popular", "Read also", in any
    language): BLURB_RUN or more blocks in a row, each short and right after links that went."""
    blurbs = [i in after_links and kinds[i] == "text" and len(blocks[i][1]) <= BLURB_CHARS
              for i in range(len(blocks))]  # fmt: skip
    runs = [list(run) for blurb, run in groupby(range(len(blocks)), blurbs.__getitem__) if blurb]
    for run in reversed(runs):  # from the end: deleting leaves the earlier indexes as they are
        if len(run) >= BLURB_RUN:
            del blocks[run[0] : run[-1] + 1], kinds[run[0] : run[-1] + 1]


def _without_teasers_or_empty_headers(blocks: list[Block], kinds: list[str]) -> list[Block]:
    """Drop the title and blurb of each link to another page (related, popular, next: a linked
    header with less than TEASER_CHARS of text before the next header), then every header with
    nothing under it (a "Read more" whose links went as link text) so it is not left in the
    section above it."""
    kept: list[Block] = []
    i = 0
    while i < len(blocks):
        end = i + 1
        while end < len(blocks) and not blocks[end][0]:
            end += 1
        under = sum(len(t) for _, t in blocks[i + 1 : end])
        teaser = kinds[i] == "linked header" and under < TEASER_CHARS
        if not teaser:
            kept.extend(blocks[i:end])
        elif kept and not kept[-1][0] and _label(kept[-1][1]):
            kept.pop()  # the label of the teasers
        i = end
    backwards: list[Block] = []
    for level, text in reversed(kept):
        following = backwards[-1][0] if backwards else 1
        if level and following and following <= level:
            continue  # followed by a header of its rank or higher, or by nothing
        backwards.append((level, text))
    return backwards[::-1]
