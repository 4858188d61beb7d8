"""Header segmentation: a segment is the text under an h1-h6 header, with lower-level subtrees."""

import codecs
import re
from dataclasses import dataclass

from selectolax.lexbor import LexborHTMLParser, LexborNode

BOILERPLATE_TAGS = [
    "script", "style", "noscript", "template", "nav", "footer", "header", "aside", "form",
    "button", "select", "iframe", "svg", "menu", "dialog",
]  # fmt: skip
HEADER_LEVELS = {f"h{i}": i for i in range(1, 7)}
BLOCK_TAGS = {
    "p", "div", "section", "article", "main", "li", "ul", "ol", "dl", "dt", "dd", "table", "tr",
    "td", "th", "pre", "blockquote", "figure", "figcaption", "br", "hr", "caption",
}  # fmt: skip
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([\w.:-]+)""", re.I)


@dataclass(frozen=True)
class Section:
    header: str
    header_path: tuple[str, ...]
    text: str


def decode_html(body: bytes, declared: str | None) -> str:
    """Decode with the HTTP charset, else the <meta> charset, else UTF-8, else cp1252."""
    meta = _META_CHARSET.search(body[:4096])
    candidates = [
        declared,
        meta.group(1).decode("ascii") if meta else None,
        "utf-8",
        "cp1252",
    ]
    for name in candidates:
        if not name:
            continue
        try:
            return body.decode(codecs.lookup(name).name)
        except (LookupError, UnicodeDecodeError):
            continue
    return body.decode("utf-8", errors="replace")


def sections(html: str) -> list[Section]:
    """Each header's section: everything up to the next header of the same or a higher rank."""
    tree = LexborHTMLParser(html)
    tree.strip_tags(BOILERPLATE_TAGS)
    if tree.body is None:
        return []
    blocks = _blocks(tree.body)
    out = []
    path: list[tuple[int, str]] = []
    for i, (level, text) in enumerate(blocks):
        if not level:
            continue
        while path and path[-1][0] >= level:
            path.pop()
        path.append((level, text))
        body = []
        for sub_level, sub_text in blocks[i + 1 :]:
            if sub_level and sub_level <= level:
                break
            body.append(sub_text)
        out.append(Section(text, tuple(h for _, h in path), "\n\n".join([text, *body])))
    return out


def _blocks(root: LexborNode) -> list[tuple[int, str]]:
    """Flatten the DOM into (header level or 0, text) blocks in document order."""
    blocks: list[tuple[int, str]] = []
    inline: list[str] = []

    def flush() -> None:
        text = " ".join(" ".join(inline).split())
        if text:
            blocks.append((0, text))
        inline.clear()

    stack: list[LexborNode | None] = [root]
    while stack:
        node = stack.pop()
        if node is None:  # end of a block element
            flush()
            continue
        if node.tag == "-text":
            inline.append(node.text_content or "")
        elif node.tag in HEADER_LEVELS:
            flush()
            text = " ".join(node.text(separator=" ").split())
            blocks.append((HEADER_LEVELS[node.tag], text))
        else:
            if node.tag in BLOCK_TAGS:
                flush()
                stack.append(None)
            stack.extend(reversed(list(node.iter(include_text=True))))
    flush()
    return blocks
