"""A section is the text under one header; pages and texts both become (level, text) blocks."""

from dataclasses import dataclass

Block = tuple[int, str]  # header level 1-6, or 0 for body text


@dataclass(frozen=True)
class Section:
    header: str
    header_path: tuple[str, ...]
    text: str


def nested_sections(blocks: list[Block]) -> list[Section]:
    """Each header's section: everything up to the next header of the same or a higher rank."""
    out = []
    path: list[Block] = []
    for i, (level, header) in enumerate(blocks):
        if not level:
            continue
        while path and path[-1][0] >= level:
            path.pop()
        path.append((level, header))
        body = []
        for sub_level, sub_text in blocks[i + 1 :]:
            if sub_level and sub_level <= level:
                break
            body.append(sub_text)
        out.append(Section(header, tuple(h for _, h in path), "\n\n".join([header, *body])))
    return out
