"""Exact and near-duplicate removal as Beam transforms: grouping by key, never a global set.

Of each group of duplicates the segment with the smallest id is kept, so the result does not
depend on the order in which workers see segments.
"""

import hashlib
import zlib

import apache_beam as beam
from datasketch import MinHash

from humpback.beam_pipelines.counting import count
from humpback.schemas.config import DedupConfig

SCHEME = "affine32"  # datasketch's default: 32-bit hashes, shared permutations across workers
# a shingle's 32-bit hash before the permutations: CRC-32 is one C call, where datasketch's
# default (SHA-1, then unpacked) is three Python calls and took most of the signature's time
SHINGLE_HASH = zlib.crc32
EXACT = -1  # the text key's place among the band numbers


def text_key(words: list[str]) -> str:
    """Exact-duplicate key: a hash of the lower-cased text's words, whatever space is between."""
    return hashlib.sha1(" ".join(words).encode()).hexdigest()


class DropDuplicates(beam.PTransform):
    """Exact duplicates (equal normalised text) and near duplicates (MinHash LSH) in one
    grouping: a segment goes when its text key, or a band of its signature, equals a smaller
    id's; it counts as exact when its text key does.

    Following each drop to a smaller id ends at a kept segment, so every cluster of similar
    segments keeps at least one; two kept segments never share a key.
    """

    def __init__(self, cfg: DedupConfig):
        super().__init__()
        self.cfg = cfg

    def expand(self, segments):
        later = (
            segments
            | "Text key and bands" >> beam.ParDo(DuplicateKeys(self.cfg))
            | "Group keys" >> beam.GroupByKey()
            | "Ids after the first" >> beam.FlatMap(_ids_after_the_smallest)
        )
        keyed = segments | "Key by id" >> beam.Map(lambda s: (s["id"], s))
        return (
            {"segment": keyed, "similar_to": later}
            | "Join" >> beam.CoGroupByKey()
            | "Keep unmatched" >> beam.FlatMap(_keep_unmatched)
        )


class DuplicateKeys(beam.DoFn):
    """Emit ((EXACT, text key), id) and ((band, band hashes), id) for each band of the text's
    MinHash signature."""

    def __init__(self, cfg: DedupConfig):
        self.cfg = cfg

    def setup(self):
        if near := self.cfg.near:  # one signature, cleared for each segment
            self.signature = MinHash(
                near.bands * near.rows, seed=near.seed, hashfunc=SHINGLE_HASH, scheme=SCHEME
            )

    def process(self, segment: dict):
        words = segment["text"].lower().split()
        if self.cfg.exact:
            yield (EXACT, text_key(words)), segment["id"]
        if not (near := self.cfg.near):
            return
        self.signature.clear()
        self.signature.update_batch(shingles(words, near.ngram))
        values = self.signature.hashvalues
        for band in range(near.bands):
            yield (band, values[band * near.rows : (band + 1) * near.rows].tobytes()), segment["id"]


def shingles(words: list[str], n: int) -> set[bytes]:
    """The word n-grams (all the words when there are fewer than n)."""
    return {" ".join(words[i : i + n]).encode() for i in range(max(1, len(words) - n + 1))}


def _ids_after_the_smallest(bucket):
    (band, _), ids = bucket
    for later in sorted(set(ids))[1:]:
        yield later, "exact" if band == EXACT else "near"


def _keep_unmatched(joined):
    _, groups = joined
    segments = list(groups["segment"])
    if kinds := set(groups["similar_to"]):
        _count_duplicates("exact" if "exact" in kinds else "near", len(segments))
        return
    yield from segments


def _count_duplicates(kind: str, n: int) -> None:
    if n:
        count("duplicates", n)
        count(f"duplicates:{kind}", n)
