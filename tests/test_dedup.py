import random

import apache_beam as beam
from apache_beam.testing.util import assert_that, equal_to

from humpback.beam_pipelines.counting import run_and_count
from humpback.beam_pipelines.segment.dedup import DropDuplicates, shingles
from humpback.schemas.config import DedupConfig, NearDedupConfig

WORDS = "garden soil water seed tomato root leaf sun shade compost mulch prune harvest".split()


def _text(seed: int, n: int = 150) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) + str(rng.randrange(50)) for _ in range(n))


def _edit(text: str, every: int) -> str:
    """Replace every `every`-th word: a near-duplicate of the text."""
    return " ".join("CHANGED" if i % every == 0 else w for i, w in enumerate(text.split()))


def _dedup(segments: list[dict], expected_ids: list[str], cfg: DedupConfig | None = None):
    pipeline = beam.Pipeline()
    kept = (
        pipeline
        | beam.Create(segments)
        | DropDuplicates(cfg or DedupConfig())
        | beam.Map(lambda s: s["id"])
    )
    assert_that(kept, equal_to(expected_ids))
    return run_and_count(pipeline)


def test_exact_and_near_duplicates_go_and_the_smallest_id_stays():
    base, other = _text(1), _text(2)
    segments = [
        {"id": "b", "text": base},
        {"id": "d", "text": "  " + base.upper()},  # the same text, case and spacing aside
        {"id": "a", "text": _edit(base, 75)},  # 2 of 150 words changed: 5-gram Jaccard ~0.87
        {"id": "c", "text": other},
    ]
    counts = _dedup(segments, ["a", "c"])
    assert counts["duplicates:exact"] == 1 and counts["duplicates:near"] == 1
    assert counts["duplicates"] == 2
    # each kind alone: "d" is only an exact duplicate of "b", "b" only a near one of "a"
    counts = _dedup(segments, ["a", "b", "c"], DedupConfig(near=None))
    assert counts["duplicates"] == counts["duplicates:exact"] == 1
    counts = _dedup(segments, ["a", "c"], DedupConfig(exact=False))
    assert counts["duplicates"] == counts["duplicates:near"] == 2


def test_texts_that_differ_enough_are_all_kept():
    base = _text(3)
    segments = [{"id": f"s{i}", "text": _text(10 + i)} for i in range(20)]
    segments.append({"id": "z", "text": _edit(base, 2)})  # half the words changed
    segments.append({"id": "y", "text": base})
    counts = _dedup(segments, [s["id"] for s in segments])
    assert counts.get("duplicates", 0) == 0


def test_bands_and_rows_set_the_similarity_threshold():
    base = _text(4)
    segments = [{"id": "a", "text": base}, {"id": "b", "text": _edit(base, 75)}]
    _dedup(segments, ["a"])  # defaults: a 2-word edit (Jaccard ~0.87) is a near-duplicate
    strict = NearDedupConfig(bands=2, rows=64)  # only near-identical texts share 64 hashes
    _dedup(segments, ["a", "b"], DedupConfig(near=strict))


def test_short_texts_still_have_a_shingle():
    assert shingles(["two", "words"], 5) == {b"two words"}
    assert len(shingles("one two three four five six".split(), 5)) == 2
