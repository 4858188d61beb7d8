"""Exact and near-duplicate removal as Beam transforms: grouping by key, never a global set.

Of each group of duplicates the segment with the smallest id is kept, so the result does not
depend on the order in which workers see segments.
"""

import hashlib

import apache_beam as beam
from datasketch import MinHash

from humpback.beam_pipelines.counting import count
from humpback.schemas.config import NearDedupConfig

SCHEME = "affine32"  # datasketch's default: 32-bit hashes, shared permutations across workers


def text_key(segment: dict) -> str:
    """Exact-duplicate key: a hash of the lower-cased, whitespace-normalised text."""
    return hashlib.sha1(" ".join(segment["text"].lower().split()).encode()).hexdigest()


class DropExactDuplicates(beam.PTransform):
    def expand(self, segments):
        return (
            segments
            | "Key by text" >> beam.Map(lambda s: (text_key(s), s))
            | "Group equal texts" >> beam.GroupByKey()
            | "Keep smallest id" >> beam.FlatMap(_keep_smallest_id)
        )


def _keep_smallest_id(keyed):
    _, group = keyed
    group = list(group)
    _count_duplicates("exact", len(group) - 1)
    yield min(group, key=lambda s: s["id"])


class DropNearDuplicates(beam.PTransform):
    """MinHash LSH: a segment goes when a band of its signature equals a smaller id's band.

    Following each drop to a smaller id ends at a kept segment, so every cluster of similar
    segments keeps at least one; two kept segments never share a band.
    """

    def __init__(self, cfg: NearDedupConfig):
        super().__init__()
        self.cfg = cfg

    def expand(self, segments):
        later = (
            segments
            | "MinHash bands" >> beam.ParDo(MinHashBands(self.cfg))
            | "Group bands" >> beam.GroupByKey()
            | "Ids after the first" >> beam.FlatMap(_ids_after_the_smallest)
        )
        keyed = segments | "Key by id" >> beam.Map(lambda s: (s["id"], s))
        return (
            {"segment": keyed, "similar_to": later}
            | "Join" >> beam.CoGroupByKey()
            | "Keep unmatched" >> beam.FlatMap(_keep_unmatched)
        )


class MinHashBands(beam.DoFn):
    """Emit ((band, band hashes), segment id) for each band of the text's MinHash signature."""

    def __init__(self, cfg: NearDedupConfig):
        self.cfg = cfg

    def setup(self):
        num_perm = self.cfg.bands * self.cfg.rows
        self.permutations = MinHash(num_perm, seed=self.cfg.seed, scheme=SCHEME).permutations

    def process(self, segment: dict):
        signature = MinHash(
            self.cfg.bands * self.cfg.rows, permutations=self.permutations, scheme=SCHEME
        )
        signature.update_batch(shingles(segment["text"], self.cfg.ngram))
        values, rows = signature.hashvalues, self.cfg.rows
        for band in range(self.cfg.bands):
            yield (band, values[band * rows : (band + 1) * rows].tobytes()), segment["id"]


def shingles(text: str, n: int) -> set[bytes]:
    """Word n-grams of the lower-cased text (the whole text when it is shorter than n words)."""
    words = text.lower().split()
    return {" ".join(words[i : i + n]).encode() for i in range(max(1, len(words) - n + 1))}


def _ids_after_the_smallest(bucket):
    _, ids = bucket
    ids = sorted(set(ids))
    for later in ids[1:]:
        yield later, ids[0]


def _keep_unmatched(joined):
    _, groups = joined
    segments = list(groups["segment"])
    if next(iter(groups["similar_to"]), None) is not None:
        _count_duplicates("near", len(segments))
        return
    yield from segments


def _count_duplicates(kind: str, n: int) -> None:
    if n:
        count("duplicates", n)
        count(f"duplicates:{kind}", n)
