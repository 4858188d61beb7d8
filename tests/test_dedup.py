import random
import tempfile

import apache_beam as beam
import numpy as np
import pytest
from apache_beam.testing.util import assert_that, equal_to

from humpback.beam_pipelines.counting import run_and_count
from humpback.beam_pipelines.segment.dedup import (
    DropDuplicates,
    _furniture_like,
    shingle_hashes,
    site_page,
)
from humpback.run.beam_run import new_pipeline
from humpback.schemas.config import DedupConfig, NearDedupConfig

WORDS = "garden soil water seed tomato root leaf sun shade compost mulch prune harvest".split()


def _text(seed: int, n: int = 150) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) + str(rng.randrange(50)) for _ in range(n))


def _edit(text: str, every: int) -> str:
    """Replace every `every`-th word: a near-duplicate of the text."""
    return " ".join("CHANGED" if i % every == 0 else w for i, w in enumerate(text.split()))


def _hex(name: str) -> str:
    """A readable name as a segment id (16 hex digits) that sorts as the name does."""
    return name.encode().hex().rjust(16, "0")


def _name(segment_id: str) -> str:
    return bytes.fromhex(segment_id.lstrip("0")).decode()


def _dedup(segments: list[dict], expected, cfg: DedupConfig | None = None, min_chars: int = 1):
    """Run DropDuplicates on segments with readable ids (made segment ids on the way in and
    back on the way out); `expected` is the kept ids, or {id: text} of the kept segments."""
    pipeline = new_pipeline()
    scratch = tempfile.mkdtemp()
    segments = [{**s, "id": _hex(s["id"])} for s in segments]
    kept = pipeline | beam.Create(segments) | DropDuplicates(cfg or DedupConfig(), scratch,
                                                             min_chars)  # fmt: skip
    kept = kept | beam.Map(lambda s: {**s, "id": _name(s["id"])})
    if isinstance(expected, dict):
        kept = kept | beam.Map(lambda s: (s["id"], s["text"], s["char_len"]))
        expected = [(i, text, len(text)) for i, text in expected.items()]
    else:
        kept = kept | beam.Map(lambda s: s["id"])
    assert_that(kept, equal_to(expected))
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
    assert len(shingle_hashes(["two", "words"], 5)) == 1
    six = "one two three four five six".split()
    first, second = shingle_hashes(six, 5)
    assert first != second and shingle_hashes(six[:5], 5) == [first]
    assert shingle_hashes(six[1:], 5) == [second]  # an n-gram's hash is the same anywhere
    assert shingle_hashes(six[::-1][1:], 5) != [second]  # and its words' order counts
    assert all(0 <= h < 2**32 for h in shingle_hashes(six * 50, 3))


NEWSLETTER = "Abonnieren Sie unseren Newsletter und verpassen Sie keine Nachricht mehr."
READ_ALSO = "Lesen Sie auch:\n\n- Der Herbst im Garten\n- Tomaten richtig schneiden"


def _page(segment_id: str, url: str | None, *blocks: str) -> dict:
    text = "\n\n".join(blocks)
    return {"id": segment_id, "url": url, "text": text, "char_len": len(text)}


def test_blocks_a_site_repeats_on_three_pages_leave_its_segments_in_any_language():
    body = [_text(20 + i, 40) for i in range(6)]  # over 300 characters each
    segments = [
        # three pages of one site (with and without www.) end with the same two blocks; the
        # sub-header they share is a header, not furniture
        _page("a", "https://zeitung.example/garten/1", body[0], "Pflege", NEWSLETTER, READ_ALSO),
        _page("b", "http://www.zeitung.example/garten/2?x=1", body[1], "Pflege", NEWSLETTER),
        _page(
            "c", "https://zeitung.example/garten/3#top", READ_ALSO, "Pflege", body[2], NEWSLETTER
        ),
        # a fourth segment of the site that is nothing but its furniture
        _page("d", "https://zeitung.example/garten/4", NEWSLETTER, READ_ALSO),
        # another site may say the same: two of its pages are not enough
        _page("e", "https://blog.example/1", _text(23, 10), NEWSLETTER),
        _page("f", "https://blog.example/2", _text(24, 10), NEWSLETTER),
        # one page crawled three times is one page, and a segment without a URL has no site
        *(_page(f"g{i}", "https://other.example/", _text(30 + i, 40), READ_ALSO) for i in range(3)),
        _page("h", None, body[5], NEWSLETTER),
    ]
    kept = {s["id"]: s["text"] for s in segments[4:]}
    kept |= {"a": f"{body[0]}\n\nPflege", "b": f"{body[1]}\n\nPflege", "c": f"Pflege\n\n{body[2]}"}
    counts = _dedup(segments, kept, DedupConfig(exact=False, near=None), min_chars=20)
    assert counts["filtered:site_boilerplate"] == 1  # d
    assert counts["site_blocks_removed"] == 3 + 1 + 3 + 3  # "Lesen Sie auch:" is a block
    # two pages are enough when asked; segments left too short are filtered, not emptied
    counts = _dedup(
        segments,
        ["a", "b", "c", "g0", "g1", "g2", "h"],
        DedupConfig(exact=False, near=None, site_blocks={"min_pages": 2}),
        300,
    )
    assert counts["filtered:site_boilerplate"] == 3  # d, e and f: under 300 characters left
    # off: every segment stays whole
    _dedup(segments, {s["id"]: s["text"] for s in segments}, DedupConfig(site_blocks=None))


def test_duplicates_go_as_duplicates_before_their_site_blocks_are_counted():
    texts = {"a": _text(40, 60), "b": _text(40, 60), "c": _text(41, 60)}
    segments = [_page(i, f"https://x.example/{i}", text, NEWSLETTER) for i, text in texts.items()]
    counts = _dedup(segments, {"a": texts["a"], "c": texts["c"]})
    assert counts["duplicates:exact"] == 1 and counts["site_blocks_removed"] == 2
    # a text on three pages of a site is its furniture: the one kept copy is filtered too
    segments.append(_page("d", "https://x.example/d", texts["a"], NEWSLETTER))
    counts = _dedup(segments, {"c": texts["c"]})
    assert counts["duplicates:exact"] == 2 and counts["filtered:site_boilerplate"] == 1


def test_a_page_is_its_host_and_path():
    assert site_page("https://WWW.Example.org/a?b=1#c") == ("example.org", "example.org/a?b=1")
    assert site_page("http://example.org") == ("example.org", "example.org/")
    assert site_page("http://[::1") is None and site_page("") is None and site_page(None) is None


@pytest.mark.parametrize(
    "block, furniture",
    [
        ("Historia", False),  # a (sub-)header's line stays whatever the site repeats
        ("Weitere Informationen zum Thema", False),
        ("Lesen Sie auch:", True),  # a label that leads into a list
        ("- Startseite", True),  # a list, a table row, a sentence
        ("| Preis | 3 € |", True),
        ("Melden Sie sich für unseren Newsletter an.", True),
        ("eins zwei drei vier fünf sechs sieben acht neun", True),  # nine words
        ("x" * 81, True),
        ("Zeile eins\nZeile zwei", True),
    ],
)
def test_only_blocks_that_do_not_read_as_headers_can_be_site_furniture(block, furniture):
    assert _furniture_like(block) is furniture


def test_the_keys_go_to_files_as_packed_digests_and_ids_and_the_grouping_carries_ranges(
    tmp_path,
):
    from humpback.beam_pipelines.segment.dedup import PARTS, RECORD, DuplicateKeys, _read_range

    keys = DuplicateKeys(DedupConfig(), str(tmp_path))
    keys.setup()
    keys.start_bundle()
    text = _text(3, 400) + "\n\n" + _text(4, 60)  # two blocks, 460 words
    segment_id = "00000000000000ff"
    for i in range(3):  # three copies: their records wait in memory to the end of the bundle
        assert not list(keys.process({"id": segment_id, "text": text, "url": f"https://x.org/{i}"}))
    emitted = [w.value for w in keys.finish_bundle()]
    assert len(list(tmp_path.glob("keys/*.bin"))) == 1  # one file a flush
    assert all(0 <= part < PARTS and isinstance(where, tuple) for (_, part), where in emitted)
    records = {kind: np.frombuffer(b"".join(_read_range(w) for (k, _), w in emitted if k == kind),
                                   dtype) for kind, dtype in RECORD.items()}  # fmt: skip
    assert [len(records[kind]) for kind in RECORD] == [3, 3 * 14, 3 * 2]  # text, bands, blocks
    assert all((r["id"] == 255).all() for r in records.values())
    assert len(set(records[2]["page"].tolist())) == 3 and len(set(records[2]["key"].tolist())) == 2
    files = sum(f.stat().st_size for f in tmp_path.glob("keys/*.bin"))
    assert files == 3 * (16 + 14 * 16 + 2 * 20)  # digests and ids: no text, no names


def test_marks_keep_one_mark_per_duplicate_exact_winning_and_no_blocks_of_a_duplicate(
    tmp_path,
):
    from humpback.beam_pipelines.segment.dedup import RECORD, MarkTable, _marks

    def group(kind, *records):
        path = tmp_path / f"{kind}.bin"
        path.write_bytes(b"--" + np.array(list(records), RECORD[kind]).tobytes())
        return (kind, 0), [(str(path), 2, path.stat().st_size)]

    text, band = group(0, (7, 1), (7, 3), (9, 2)), group(1, (5, 3), (5, 1), (6, 2), (6, 4))
    blocks = group(2, (8, 1, 2), (8, 2, 4), (8, 3, 1), (8, 3, 5), (4, 1, 2), (4, 2, 5))
    table = MarkTable()
    parts = [table.add_input(table.create_accumulator(), _marks(g, 3)) for g in (text, band)]
    marks = table.extract_output(
        table.merge_accumulators([*parts, [_marks(blocks, 3)], table.create_accumulator()])
    )
    assert [(n, marks.duplicate(n)) for n in range(1, 6)] == [
        (1, None), (2, None), (3, "exact"), (4, "near"), (5, None)]  # fmt: skip
    # block 8 is on three pages: segments 1, 2 and 5 lose it, 4 goes whole; block 4 is on two
    assert marks.repeated(1) == marks.repeated(2) == marks.repeated(5) == {8}
    assert marks.repeated(3) == marks.repeated(4) == set()
    assert _marks(blocks, 4)[1].size == 0
    empty = table.extract_output(table.create_accumulator())
    assert empty.duplicate(1) is None and empty.repeated(1) == set()


def test_a_segment_id_is_16_hex_digits():
    from humpback.beam_pipelines.segment.dedup import id_number

    assert id_number("00000000000000ff") == 255 < id_number("0000000000000100")
    with pytest.raises(ValueError, match="16 hex digits"):
        id_number("seg-1")
