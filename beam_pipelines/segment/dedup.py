"""Exact and near-duplicate removal, and blocks a site repeats on its pages, as Beam transforms:
grouping by key, never a global set.

Of each group of duplicates the segment with the smallest id is kept, so the result does not
depend on the order in which workers see segments.
"""

import hashlib
import re
import zlib
from urllib.parse import urlsplit

import apache_beam as beam
import numpy as np
from datasketch import MinHash

from humpback.beam_pipelines.counting import count
from humpback.schemas.config import DedupConfig

SCHEME = "affine32"  # datasketch's default: 32-bit hashes, shared permutations across workers
MIX = np.uint64(0x100000001B3)  # FNV-1's 64-bit prime: a shingle's word hashes mixed in order
EXACT = -1  # the text key's place among the band numbers
SITE = -2  # a site block's: ((SITE, host, block hash), (id, page))
BLOCK = "\n\n"  # both segmenters join a section's blocks so
# a header's line: a section's text holds its header and sub-headers as blocks ("History",
# "References" on every page of a wiki); one line of at most 8 words and 80 characters, no
# sentence end, no mark of a list, table or code block
HEADER_LIKE = re.compile(r"(?!- |\d+\. |\||```)[^\n]{1,80}(?<![.!?:;。！？：])", re.ASCII)
HEADER_WORDS = 8


def text_key(words: list[str]) -> str:
    """Exact-duplicate key: a hash of the lower-cased text's words, whatever space is between."""
    return hashlib.sha1(" ".join(words).encode()).hexdigest()


class DropDuplicates(beam.PTransform):
    """Exact duplicates (equal normalised text), near duplicates (MinHash LSH) and site blocks
    in one grouping.

    A segment goes when its text key, or a band of its signature, equals a smaller id's; it
    counts as exact when its text key does. Following each drop to a smaller id ends at a kept
    segment, so every cluster of similar segments keeps at least one; two kept segments never
    share a key.

    A block (the text between blank lines) whose text is on `min_pages` distinct pages of one
    host leaves every segment of that host that has it, unless it reads as a header; a segment
    left shorter than `min_chars` is filtered (site_boilerplate). The key is the block, not the
    host, so a large site's pages spread over many keys.
    """

    def __init__(self, cfg: DedupConfig, min_chars: int = 1):
        super().__init__()
        self.cfg, self.min_chars = cfg, min_chars

    def expand(self, segments):
        min_pages = self.cfg.site_blocks.min_pages if self.cfg.site_blocks else 0
        marks = (
            segments
            | "Text key, bands, blocks" >> beam.ParDo(DuplicateKeys(self.cfg))
            | "Group keys" >> beam.GroupByKey()
            | "Marks" >> beam.FlatMap(_marks, min_pages)
        )
        keyed = segments | "Key by id" >> beam.Map(lambda s: (s["id"], s))
        return (
            (keyed, marks)
            | "Segments and marks" >> beam.Flatten()
            | "By id" >> beam.GroupByKey()  # a segment (a dict) meets its marks
            | "Keep unmatched" >> beam.FlatMap(_keep_unmatched, self.min_chars)
        )


class DuplicateKeys(beam.DoFn):
    """Emit ((EXACT, text key), id), ((band, band hashes), id) for each band of the text's
    MinHash signature, and ((SITE, host, block hash), (id, page)) for each block of a segment
    with a URL."""

    def __init__(self, cfg: DedupConfig):
        self.cfg = cfg

    def setup(self):
        if near := self.cfg.near:  # one signature, cleared for each segment
            self.signature = MinHash(
                near.bands * near.rows, seed=near.seed, hashfunc=int, scheme=SCHEME
            )

    def process(self, segment: dict):
        words = segment["text"].lower().split()
        if self.cfg.exact:
            yield (EXACT, text_key(words)), segment["id"]
        if self.cfg.site_blocks and (site := site_page(segment.get("url"))):
            host, page = site
            for block in {
                block_hash(b) for b in segment["text"].split(BLOCK) if _furniture_like(b)
            }:
                yield (SITE, host, block), (segment["id"], page)
        if not (near := self.cfg.near):
            return
        self.signature.clear()
        self.signature.update_batch(shingle_hashes(words, near.ngram))
        values = self.signature.hashvalues
        for band in range(near.bands):
            yield (band, values[band * near.rows : (band + 1) * near.rows].tobytes()), segment["id"]


def shingle_hashes(words: list[str], n: int) -> list[int]:
    """32-bit hashes of the word n-grams (of all the words when there are fewer than n): each
    word's CRC-32, then n at a time mixed in numpy, so a text costs one C call per word, where
    joining and hashing each n-gram took most of the signature's time."""
    hashes = np.fromiter(map(zlib.crc32, map(str.encode, words)), np.uint64, len(words))
    count = max(1, len(words) - n + 1)
    mixed = hashes[:count].copy()
    for k in range(1, min(n, len(words))):
        mixed = mixed * MIX + hashes[k : k + count]
    return ((mixed ^ (mixed >> np.uint64(32))) & np.uint64(0xFFFFFFFF)).tolist()


def site_page(url: str | None) -> tuple[str, str] | None:
    """(host without "www.", the URL without scheme and fragment), or None for no http URL."""
    try:
        parts = urlsplit(url or "")
        host = parts.hostname
    except ValueError:  # a malformed URL (a bad port, an unclosed IPv6 bracket) names no site
        return None
    if not host:
        return None
    host = host.removeprefix("www.")
    query = f"?{parts.query}" if parts.query else ""
    return host, f"{host}{parts.path or '/'}{query}"


def _furniture_like(block: str) -> bool:
    """A block that may be site furniture: any but a header's line."""
    return not (block.count(" ") < HEADER_WORDS and HEADER_LIKE.fullmatch(block))


def block_hash(block: str) -> bytes:
    """A block's key: a hash of its text, whose spaces the segmenters have already normalised."""
    return hashlib.blake2b(block.encode(), digest_size=8).digest()


def _marks(bucket, min_pages: int):
    """(id, "exact" | "near") for each id after the smallest of a text key or band; (id, block
    hash) for each segment with a block found on at least `min_pages` pages of its host."""
    key, values = bucket
    if key[0] != SITE:
        for later in sorted(set(values))[1:]:
            yield later, "exact" if key[0] == EXACT else "near"
        return
    pages = set()
    for _, page in values:
        pages.add(page)
        if len(pages) == min_pages:  # a second pass: Beam's grouped values can be iterated again
            for segment_id, _ in values:
                yield segment_id, key[2]
            return


def _keep_unmatched(grouped, min_chars: int):
    _, values = grouped
    segments, marks = [], set()
    for value in values:
        if isinstance(value, dict):
            segments.append(value)
        else:
            marks.add(value)
    if kinds := marks & {"exact", "near"}:
        _count_duplicates("exact" if "exact" in kinds else "near", len(segments))
        return
    for segment in segments:
        if marks:
            segment = _without_blocks(segment, marks, min_chars)
        if segment:
            yield segment


def _without_blocks(segment: dict, repeated: set[bytes], min_chars: int) -> dict | None:
    """The segment without its blocks whose hash is in `repeated`; None (counted) if too short."""
    blocks = segment["text"].split(BLOCK)
    kept = [b for b in blocks if block_hash(b) not in repeated]
    count("site_blocks_removed", len(blocks) - len(kept))
    text = BLOCK.join(kept)
    if len(text) < min_chars:
        count("filtered:site_boilerplate")
        return None
    return {**segment, "text": text, "char_len": len(text)}


def _count_duplicates(kind: str, n: int) -> None:
    if n:
        count("duplicates", n)
        count(f"duplicates:{kind}", n)
