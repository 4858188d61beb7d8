"""Exact and near-duplicate removal, and blocks a site repeats on its pages, as Beam transforms:
never a global set, never the segments in a grouping, and memory that does not grow with the
corpus on the local runner, whose groupings live in memory.

Of each group of duplicates the segment with the smallest id is kept, so the result does not
depend on the order in which workers see segments. The segments go to scratch files as they
come; so do their keys, as fixed-width records (a digest and an id, a few bytes each) packed by
part of the digest space. The grouping carries only where each part's records lie in those
files. Each part is then read alone, numpy sorts it into marks (which ids are duplicates, which
blocks a segment repeats), the marks are combined into one table of sorted arrays, and a pass
over the segments' scratch files drops or trims each segment by its id.
"""

import hashlib
import json
import re
import uuid
import zlib
from dataclasses import dataclass
from urllib.parse import urlsplit

import apache_beam as beam
import numpy as np
from apache_beam.io.filesystems import FileSystems
from apache_beam.transforms.window import GlobalWindows
from datasketch import MinHash

from humpback.beam_pipelines.counting import count
from humpback.schemas.config import DedupConfig

SCHEME = "affine32"  # datasketch's default: 32-bit hashes, shared permutations across workers
MIX = np.uint64(0x100000001B3)  # FNV-1's 64-bit prime: a shingle's word hashes mixed in order
# A key is a record of one of three kinds: an 8-byte digest (of the text, of a band's hashes,
# or of a host and block) and the segment's id as 8 bytes; a site block's record also carries
# a 4-byte digest of its page, to count the pages that show it. Big-endian, so that numbers
# sort as the bytes (and the ids as their hex digits) do.
EXACT, NEAR, SITE = 0, 1, 2
KINDS = ("exact", "near")  # a duplicate's kind by its code; exact wins over near
RECORD = {
    EXACT: np.dtype([("key", ">u8"), ("id", ">u8")]),
    NEAR: np.dtype([("key", ">u8"), ("id", ">u8")]),
    SITE: np.dtype([("key", ">u8"), ("page", ">u4"), ("id", ">u8")]),
}
# Records are read back by their kind and a part of the digest space, one part at a time: a
# part holds 1/PARTS of a kind's records (on the local runner, the memory the marks take), and
# is read as one range of each file (an object store's request apiece).
PARTS = 16
FLUSH_BYTES = 4 << 20  # a worker's records wait in memory up to this much, then go to a file
BLOCK = "\n\n"  # both segmenters join a section's blocks so
# a header's line: a section's text holds its header and sub-headers as blocks ("History",
# "References" on every page of a wiki); one line of at most 8 words and 80 characters, no
# sentence end, no mark of a list, table or code block
HEADER_LIKE = re.compile(r"(?!- |\d+\. |\||```)[^\n]{1,80}(?<![.!?:;。！？：])", re.ASCII)
HEADER_WORDS = 8


def digest(data: bytes, size: int = 8) -> bytes:
    return hashlib.blake2b(data, digest_size=size).digest()


def id_number(segment_id: str) -> int:
    """A segment's id (16 hex digits, as the segment stage makes them) as a number that sorts
    as the id does."""
    if len(segment_id) != 16:
        raise ValueError(f"a segment id is 16 hex digits, not {segment_id!r}")
    return int(segment_id, 16)


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

    The segments and their keys wait in files under `scratch` (a folder the caller removes);
    each is read back once. Segment ids are 16 hex digits (`id_number`).
    """

    def __init__(self, cfg: DedupConfig, scratch: str, min_chars: int = 1):
        super().__init__()
        self.cfg, self.scratch, self.min_chars = cfg, scratch.rstrip("/"), min_chars

    def expand(self, segments):
        min_pages = self.cfg.site_blocks.min_pages if self.cfg.site_blocks else 0
        marks = (
            segments
            | "Text key, bands, blocks" >> beam.ParDo(DuplicateKeys(self.cfg, self.scratch))
            | "Where each part lies" >> beam.GroupByKey()
            | "Marks" >> beam.Map(_marks, min_pages)
            | "Table of marks" >> beam.CombineGlobally(MarkTable())
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
            >> beam.FlatMap(_keep_unmatched, beam.pvalue.AsSingleton(marks), self.min_chars)
        )


class DuplicateKeys(beam.DoFn):
    """A segment's keys, packed (`RECORD`): its text's (exact duplicates), each band of its
    text's MinHash signature (near duplicates), and each block of a segment with a URL, keyed by
    its host and carrying its page (site blocks).

    They wait in memory up to `FLUSH_BYTES` (and to the end of a bundle), then go to one file
    under `scratch`/keys, ordered by kind and part; emitted: ((kind, part), (file, start, end))
    for each part the file holds."""

    def __init__(self, cfg: DedupConfig, scratch: str):
        self.cfg, self.folder = cfg, f"{scratch}/keys"

    def setup(self):
        if near := self.cfg.near:  # one signature, cleared for each segment
            self.signature = MinHash(
                near.bands * near.rows, seed=near.seed, hashfunc=int, scheme=SCHEME
            )

    def start_bundle(self):
        self.waiting: dict[tuple[int, int], bytearray] = {}
        self.size = 0

    def process(self, segment: dict):
        words = segment["text"].lower().split()
        segment_id = id_number(segment["id"]).to_bytes(8, "big")
        if self.cfg.exact:  # the lower-cased words, whatever space is between
            self._add(EXACT, digest(" ".join(words).encode()) + segment_id)
        if self.cfg.site_blocks and (site := site_page(segment.get("url"))):
            host, page = site
            page_digest = digest(page.encode(), 4)
            blocks = segment["text"].split(BLOCK)
            for block in {block_key(host, b) for b in blocks if _furniture_like(b)}:
                self._add(SITE, block + page_digest + segment_id)
        if near := self.cfg.near:
            self.signature.clear()
            self.signature.update_batch(shingle_hashes(words, near.ngram))
            values = self.signature.hashvalues
            for band in range(near.bands):
                rows = values[band * near.rows : (band + 1) * near.rows].tobytes()
                self._add(NEAR, digest(band.to_bytes(2, "big") + rows) + segment_id)
        if self.size >= FLUSH_BYTES:
            yield from self._flush()

    def finish_bundle(self):
        for element in self._flush():
            yield GlobalWindows.windowed_value(element)

    def _add(self, kind: int, record: bytes) -> None:
        part = int.from_bytes(record[:4], "big") % PARTS
        self.waiting.setdefault((kind, part), bytearray()).extend(record)
        self.size += len(record)

    def _flush(self):
        waiting, self.waiting, self.size = self.waiting, {}, 0
        if not waiting:
            return
        path, start, ranges = f"{self.folder}/{uuid.uuid4().hex}.bin", 0, []
        with FileSystems.create(path) as out:  # written and closed before any range is emitted
            for kind_part, records in sorted(waiting.items()):
                out.write(records)
                ranges.append((kind_part, (path, start, start + len(records))))
                start += len(records)
        yield from ranges


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


def block_key(host: str, block: str) -> bytes:
    """A block's key on its site: a digest of the host and the block's text, whose spaces the
    segmenters have already normalised."""
    return digest(f"{host}\0{block}".encode())


# the marks: a duplicate's id and kind (an index of KINDS); a repeated block's segment and key
DUPLICATE = np.dtype([("id", "u8"), ("kind", "u1")])
REPEATED = np.dtype([("id", "u8"), ("key", "u8")])
NO_MARKS = (np.empty(0, DUPLICATE), np.empty(0, REPEATED))


def _marks(group, min_pages: int) -> tuple[np.ndarray, np.ndarray]:
    """The marks one group of records makes: each id after the smallest of a text key or band
    is a duplicate; each segment with a block found on at least `min_pages` pages of its host
    has that block repeated."""
    (kind, _), ranges = group
    packed = np.frombuffer(b"".join(map(_read_range, ranges)), RECORD[kind])
    records = np.unique(packed.astype(packed.dtype.newbyteorder("=")))  # by key, (page,) id
    key = records["key"]
    if kind != SITE:
        later = records[~_starts(key)]
        duplicates = np.empty(len(later), DUPLICATE)
        duplicates["id"], duplicates["kind"] = later["id"], kind
        return duplicates, NO_MARKS[1]
    keys, pages = np.unique(key[_starts(key, records["page"])], return_counts=True)
    on_many = records[np.isin(key, keys[pages >= min_pages])]
    repeated = np.empty(len(on_many), REPEATED)
    repeated["id"], repeated["key"] = on_many["id"], on_many["key"]
    return NO_MARKS[0], repeated


def _starts(*columns: np.ndarray) -> np.ndarray:
    """Of sorted rows, those that differ from the row before in any of the columns."""
    starts = np.zeros(len(columns[0]), bool)
    starts[:1] = True
    for column in columns:
        starts[1:] |= column[1:] != column[:-1]
    return starts


def _read_range(where: tuple[str, int, int]) -> bytes:
    path, start, end = where
    with FileSystems.open(path) as records:
        records.seek(start)
        return records.read(end - start)


@dataclass(frozen=True)
class Marks:
    """Every mark of a run, sorted by id: each duplicate once (exact wins over near), and the
    repeated blocks of the segments that are no duplicate."""

    duplicate_ids: np.ndarray
    duplicate_kinds: np.ndarray
    repeated_ids: np.ndarray
    repeated_keys: np.ndarray

    def duplicate(self, number: int) -> str | None:
        """The kind ("exact" or "near") of a duplicate's id number; None for any other."""
        i = int(np.searchsorted(self.duplicate_ids, np.uint64(number)))
        found = i < len(self.duplicate_ids) and self.duplicate_ids[i] == number
        return KINDS[self.duplicate_kinds[i]] if found else None

    def repeated(self, number: int) -> set[int]:
        """The keys of the repeated blocks of the segment with this id number."""
        ids, number = self.repeated_ids, np.uint64(number)
        lo, hi = (np.searchsorted(ids, number, side) for side in ("left", "right"))
        return set(self.repeated_keys[lo:hi].tolist())


class MarkTable(beam.CombineFn):
    """The groups' marks as one `Marks`: a few bytes a marked id, where a dict took a hundred.
    An accumulator is a list of (duplicates, repeated) arrays, joined when accumulators merge."""

    def create_accumulator(self) -> list:
        return []

    def add_input(self, marks: list, group_marks: tuple) -> list:
        marks.append(group_marks)
        return marks

    def merge_accumulators(self, accumulators) -> list:
        parts = [m for marks in accumulators for m in marks]
        return [tuple(np.concatenate([p[i] for p in parts] or [NO_MARKS[i]]) for i in (0, 1))]

    def extract_output(self, marks: list) -> Marks:
        duplicates, repeated = self.merge_accumulators([marks])[0]
        duplicates = np.unique(duplicates)  # by id, then kind: an id's first is its kind
        duplicates = duplicates[_starts(duplicates["id"])]
        repeated = np.unique(repeated[~np.isin(repeated["id"], duplicates["id"])])
        columns = duplicates["id"], duplicates["kind"], repeated["id"], repeated["key"]
        return Marks(*map(np.ascontiguousarray, columns))  # searchsorted reads them contiguous


def _keep_unmatched(path: str, marks: Marks, min_chars: int):
    """The segments of a scratch file that are no duplicate, without their repeated blocks."""
    with FileSystems.open(path) as lines:
        for line in lines:
            segment = json.loads(line)
            number = id_number(segment["id"])
            if kind := marks.duplicate(number):
                _count_duplicates(kind, 1)
            elif not (repeated := marks.repeated(number)):
                yield segment
            elif segment := _without_blocks(segment, repeated, min_chars):
                yield segment


def _without_blocks(segment: dict, repeated: set[int], min_chars: int) -> dict | None:
    """The segment without its blocks whose key is in `repeated`; None (counted) if too short."""
    host, _ = site_page(segment.get("url"))
    blocks = segment["text"].split(BLOCK)
    kept = [b for b in blocks if int.from_bytes(block_key(host, b), "big") not in repeated]
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
