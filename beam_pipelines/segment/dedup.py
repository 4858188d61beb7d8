"""Exact and near-duplicate removal, and blocks a site repeats on its pages, as Beam transforms:
grouping keys and ids by key, never a global set, and never the segments themselves.

Of each group of duplicates the segment with the smallest id is kept, so the result does not
depend on the order in which workers see segments. The segments go to scratch files as they
come; once the keys have been grouped into a verdict per marked id, a pass over those files
drops or trims each segment by its id. Memory grows with the keys and the marked ids, not with
the text.
"""

import hashlib
import json
import re
import zlib
from urllib.parse import urlsplit

import apache_beam as beam
import numpy as np
from apache_beam.io.filesystems import FileSystems
from datasketch import MinHash

from humpback.beam_pipelines.counting import count
from humpback.schemas.config import DedupConfig

SCHEME = "affine32"  # datasketch's default: 32-bit hashes, shared permutations across workers
MIX = np.uint64(0x100000001B3)  # FNV-1's 64-bit prime: a shingle's word hashes mixed in order
# A key is packed into one bytes value: its kind, an 8-byte digest (of the text, of a band's
# hashes, or of a host and block), for a site block the block's hash and the page's digest,
# then the id. Values are grouped by a bucket of the digest, so that the grouping holds a few
# thousand keys and small values, never a dict entry per text or band.
EXACT, NEAR, SITE = b"e", b"n", b"s"
DIGEST = 8
BUCKETS = 4096
BLOCK = "\n\n"  # both segmenters join a section's blocks so
# a header's line: a section's text holds its header and sub-headers as blocks ("History",
# "References" on every page of a wiki); one line of at most 8 words and 80 characters, no
# sentence end, no mark of a list, table or code block
HEADER_LIKE = re.compile(r"(?!- |\d+\. |\||```)[^\n]{1,80}(?<![.!?:;。！？：])", re.ASCII)
HEADER_WORDS = 8


def digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=DIGEST).digest()


def packed(kind: bytes, key: bytes, segment_id: str, extra: bytes = b"") -> tuple[int, bytes]:
    """(bucket, value) of one key of a segment."""
    return int.from_bytes(key[:4], "big") % BUCKETS, kind + key + extra + segment_id.encode()


class DropDuplicates(beam.PTransform):
    """Exact duplicates (equal normalised text), near duplicates (MinHash LSH) and site blocks
    in one grouping of keys.

    A segment goes when its text key, or a band of its signature, equals a smaller id's; it
    counts as exact when its text key does. Following each drop to a smaller id ends at a kept
    segment, so every cluster of similar segments keeps at least one; two kept segments never
    share a key.

    A block (the text between blank lines) whose text is on `min_pages` distinct pages of one
    host leaves every segment of that host that has it, unless it reads as a header; a segment
    left shorter than `min_chars` is filtered (site_boilerplate). The key is the block, not the
    host, so a large site's pages spread over many keys.

    The segments wait in JSON-lines files under `scratch` (a folder the caller removes) while
    the keys are grouped, and are read back once, a file at a time.
    """

    def __init__(self, cfg: DedupConfig, scratch: str, min_chars: int = 1):
        super().__init__()
        self.cfg, self.scratch, self.min_chars = cfg, scratch.rstrip("/"), min_chars

    def expand(self, segments):
        min_pages = self.cfg.site_blocks.min_pages if self.cfg.site_blocks else 0
        verdicts = (
            segments
            | "Text key, bands, blocks" >> beam.ParDo(DuplicateKeys(self.cfg))
            | "Group keys by bucket" >> beam.GroupByKey()
            | "Marks" >> beam.FlatMap(_marks, min_pages)
            | "Verdict by id" >> beam.CombinePerKey(Verdict())
        )
        files = (
            segments
            | "As JSON" >> beam.Map(json.dumps)
            | "Write scratch" >> beam.io.WriteToText(f"{self.scratch}/segments",
                                                     file_name_suffix=".jsonl")
        )  # fmt: skip
        return (
            files
            | "Spread scratch files" >> beam.Reshuffle()
            | "Keep unmatched"
            >> beam.FlatMap(_keep_unmatched, beam.pvalue.AsDict(verdicts), self.min_chars)
        )


class DuplicateKeys(beam.DoFn):
    """Emit a segment's keys, packed (`packed`): its text's (exact duplicates), each band of its
    text's MinHash signature (near duplicates), and each block of a segment with a URL, keyed by
    its host and carrying its page (site blocks)."""

    def __init__(self, cfg: DedupConfig):
        self.cfg = cfg

    def setup(self):
        if near := self.cfg.near:  # one signature, cleared for each segment
            self.signature = MinHash(
                near.bands * near.rows, seed=near.seed, hashfunc=int, scheme=SCHEME
            )

    def process(self, segment: dict):
        words, segment_id = segment["text"].lower().split(), segment["id"]
        if self.cfg.exact:  # the lower-cased words, whatever space is between
            yield packed(EXACT, digest(" ".join(words).encode()), segment_id)
        if self.cfg.site_blocks and (site := site_page(segment.get("url"))):
            host, page = (part.encode() for part in site)
            for block in {
                block_hash(b) for b in segment["text"].split(BLOCK) if _furniture_like(b)
            }:
                yield packed(SITE, digest(host + b"\0" + block), segment_id, block + digest(page))
        if not (near := self.cfg.near):
            return
        self.signature.clear()
        self.signature.update_batch(shingle_hashes(words, near.ngram))
        values = self.signature.hashvalues
        for band in range(near.bands):
            rows = values[band * near.rows : (band + 1) * near.rows].tobytes()
            yield packed(NEAR, digest(band.to_bytes(2, "big") + rows), segment_id)


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
    _, values = bucket
    groups: dict[bytes, list[bytes]] = {}
    for value in values:
        groups.setdefault(value[: 1 + DIGEST], []).append(value[1 + DIGEST :])
    for key, rest in groups.items():
        kind = key[:1]
        if kind != SITE:
            for later in sorted(set(rest))[1:]:
                yield later.decode(), "exact" if kind == EXACT else "near"
            continue
        if len({r[DIGEST : 2 * DIGEST] for r in rest}) >= min_pages:
            for r in rest:
                yield r[2 * DIGEST :].decode(), r[:DIGEST]


class Verdict(beam.CombineFn):
    """A marked id's verdict: "exact" or "near" for a duplicate (exact wins), else the hashes of
    its repeated blocks. Combined where the marks are made, so an exact copy, marked once for
    its text and once for each band, reaches the grouping as one mark, not 1 + `bands`."""

    def create_accumulator(self) -> set:
        return set()

    def add_input(self, marks: set, mark: str | bytes) -> set:
        marks.add(mark)
        return self.compact(marks)

    def merge_accumulators(self, accumulators) -> set:
        return self.compact(set().union(*accumulators))

    def compact(self, marks: set) -> set:
        """A duplicate's kind alone (its blocks no longer matter), else the block hashes."""
        for kind in ("exact", "near"):
            if kind in marks:
                return {kind}
        return marks

    def extract_output(self, marks: set) -> str | tuple[bytes, ...]:
        marks = self.compact(marks)
        return next(iter(marks)) if marks & {"exact", "near"} else tuple(sorted(marks))


def _keep_unmatched(path: str, verdicts: dict, min_chars: int):
    """The segments of a scratch file that are no duplicate, without their repeated blocks."""
    with FileSystems.open(path) as lines:
        for line in lines:
            segment = json.loads(line)
            verdict = verdicts.get(segment["id"])
            if verdict is None:
                yield segment
            elif isinstance(verdict, str):
                _count_duplicates(verdict, 1)
            elif segment := _without_blocks(segment, set(verdict), min_chars):
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
