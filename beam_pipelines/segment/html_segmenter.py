"""Header segmentation: a segment is the text under an h1-h6 header, with lower-level subtrees."""

from selectolax.lexbor import LexborHTMLParser, LexborNode

from beam_pipelines.segment.sections import Block, Section, nested_sections

BOILERPLATE_TAGS = [
    "script", "style", "noscript", "template", "nav", "footer", "header", "aside", "form",
    "button", "select", "iframe", "svg", "menu", "dialog",
]  # fmt: skip
HEADER_LEVELS = {f"h{i}": i for i in range(1, 7)}
BLOCK_TAGS = {
    "p", "div", "section", "article", "main", "li", "ul", "ol", "dl", "dt", "dd", "table", "tr",
    "td", "th", "pre", "blockquote", "figure", "figcaption", "br", "hr", "caption",
}  # fmt: skip


def html_sections(html: str) -> list[Section]:
    """The header sections of a page, after its boilerplate elements are removed."""
    tree = LexborHTMLParser(html)
    tree.strip_tags(BOILERPLATE_TAGS)
    return nested_sections(_blocks(tree.body)) if tree.body is not None else []


def _blocks(root: LexborNode) -> list[Block]:
    """Flatten the DOM into (header level or 0, text) blocks in document order."""
    blocks: list[Block] = []
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
