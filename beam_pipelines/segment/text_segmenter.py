"""Text-only segmentation (WET, JSONL, plain text): cut at heading lines, then at blocks to fit.

Extracted web text keeps one block (paragraph, list item, heading) a line. A heading is a
markdown `#` line, or a short line that does not end a sentence, starts in upper case and comes
after a sentence or a blank line. Each heading's text runs to the next heading; a longer run
than `max_chars` is cut between blocks into pieces that keep the heading.
"""

import re

from humpback.beam_pipelines.segment.deadline import NO_DEADLINE, Deadline
from humpback.beam_pipelines.segment.sections import Block, Section

_MARKDOWN_HEADING = re.compile(r"^(#{1,6})\s+(.*?)[\s#]*$")
_SENTENCE_END = (".", "!", ",", ";", ":", '"', "”")
MAX_HEADING_WORDS = 12


def text_sections(
    text: str, max_chars: int, title: str | None = None, deadline: Deadline = NO_DEADLINE
) -> list[Section]:
    """Flat sections, one per heading with text (the title heads text before the first one)."""
    root = (title.strip(),) if title and title.strip() else ()
    out: list[Section] = []
    path: list[Block] = []
    header, body = (root[0] if root else ""), []

    def flush() -> None:
        header_path = (*root, *(h for _, h in path))
        for piece in _pieces(header, body, max_chars):
            out.append(Section(header, header_path, "\n\n".join(piece)))

    blocks = text_blocks(text)
    deadline.check("lines read")
    for level, line in blocks:
        if not level:
            body.append(line)
            continue
        if body:
            flush()
        while path and path[-1][0] >= level:
            path.pop()
        path.append((level, line))
        header, body = line, []
    if body:
        flush()
    return out


def text_blocks(text: str) -> list[Block]:
    """One block a non-blank line; headings get their markdown level, or 1."""
    blocks: list[Block] = []
    after_break = True  # the start, a blank line or a finished sentence
    lines = text.splitlines()
    for i, raw in enumerate(lines):
        line = " ".join(raw.split())
        if not line:
            after_break = True
            continue
        if markdown := _MARKDOWN_HEADING.match(line):
            blocks.append((len(markdown.group(1)), markdown.group(2)))
        elif after_break and i + 1 < len(lines) and _looks_like_heading(line):
            blocks.append((1, line))
        else:
            blocks.append((0, line))
        after_break = line.endswith((".", "!", "?", ":"))
    return blocks


def _looks_like_heading(line: str) -> bool:
    return (
        len(line.split()) <= MAX_HEADING_WORDS
        and not line.endswith(_SENTENCE_END)
        and (line[0].isupper() or line[0].isdigit())
    )


def _pieces(header: str, body: list[str], max_chars: int) -> list[list[str]]:
    """The header and its body blocks, cut between blocks so that each piece fits max_chars."""
    pieces, piece = [], [header] if header else []
    size = len(header)
    for block in body:
        if piece and piece != [header] and size + 2 + len(block) > max_chars:
            pieces.append(piece)
            piece, size = ([header] if header else []), len(header)
        size += (2 if piece else 0) + len(block)
        piece.append(block)
    if piece:
        pieces.append(piece)
    return pieces
