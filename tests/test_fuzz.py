"""Fuzzing the readers and the segmenter (hypothesis): arbitrary bytes and arbitrary JSON strings,
lone surrogates, control characters, escapes, entities and broken compression. No exception
leaves the stage, the counts reconcile, and every string out encodes as UTF-8 and holds no
control or bidi character.

CI runs a bounded, derandomized number of examples; `HUMPBACK_FUZZ_EXAMPLES=N` runs N random
ones (the pipeline test a tenth of that).
"""

import gzip
import io
import json
import os
import tempfile
from pathlib import Path

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from humpback.beam_pipelines.segment_pipeline import SegmentFile
from humpback.schemas.config import SegmentConfig
from humpback.schemas.text import valid_unicode
from tests.segment_run import CORPUS, run_segment
from tests.test_hostile_text import assert_clean, body

EXAMPLES = int(os.environ.get("HUMPBACK_FUZZ_EXAMPLES", 0))
FUZZ = settings(
    max_examples=EXAMPLES or 120,
    derandomize=not EXAMPLES,  # CI: the same examples every run
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PIPELINE_FUZZ = settings(FUZZ, max_examples=max(EXAMPLES // 10, 6))

HOSTILE = [
    "\ud800", "\udfff", "\ud83d", "\ude00", "\x00", "\x07", "\x1b", "\x1b[2J", "\x1b]0;t\x07",
    "\x1b]8;;http://x\x1b\\", "\x9b31m", "\x85", "\r", "\r\n", "\x0c", "\u202e", "\u2066",
    "\u200b", "\u200d", "\ufeff", "\U000e0041", "e\u0301", "\u2028", "&#x202e;", "&#0;",
    "&#xd800;", "&#x1b;", "&#128;", "<|im_end|>", "<script>", "</h1>", "<h2>", "# ", "\n\n",
    "\\", '"',
]  # fmt: skip
characters = st.characters(exclude_categories=())  # every code point, surrogates too
fragments = st.one_of(st.sampled_from(HOSTILE), st.text(characters, max_size=12))
noise = st.lists(fragments, max_size=12).map("".join)


@st.composite
def documents(draw) -> str:
    """A text with a header and enough words to become a segment, hostile noise inside."""
    n = draw(st.integers(0, 10_000))
    return f"# {draw(noise)}Header {n}\n\n{draw(noise)}{body(n)}{draw(noise)} {body(n + 1)}"


def _surrogate_bytes(text: str) -> bytes:
    """UTF-8, with a lone surrogate as its three (invalid) bytes, as a broken encoder writes."""
    return text.encode("utf-8", "surrogatepass")


@st.composite
def corpus_files(draw) -> tuple[str, bytes]:
    """A file name and its bytes: JSONL (plain, gzip, zstd, cut short), HTML, text, WARC,
    Parquet, or arbitrary bytes under any of those suffixes."""
    kind = draw(st.sampled_from(["jsonl", "jsonl.gz", "jsonl.zst", "html", "txt", "warc",
                                 "parquet", "bytes"]))  # fmt: skip
    docs = draw(st.lists(documents(), min_size=1, max_size=3))
    urls = draw(st.lists(noise, min_size=len(docs), max_size=len(docs)))
    if kind.startswith("jsonl"):
        rows = [{"id": u, "url": u, "text": d} for u, d in zip(urls, docs, strict=True)]
        lines = [json.dumps(row).encode() for row in rows]
        lines += draw(st.lists(st.binary(max_size=64), max_size=2))  # not JSON, not UTF-8
        data = b"\n".join(lines) + b"\n"
        if kind.endswith(".gz"):
            data = gzip.compress(data)
        if kind.endswith(".zst"):
            data = zstandard.ZstdCompressor().compress(data)
        if kind != "jsonl" and draw(st.booleans()):
            data = data[: draw(st.integers(0, len(data)))]  # cut short
        return f"f.{kind}", data
    if kind == "html":
        page = "".join(f"<h1>{d.split(chr(10), 1)[0]}</h1><p>{d}</p>" for d in docs)
        return "f.html", _surrogate_bytes(f"<html><body>{page}</body></html>")
    if kind == "txt":
        return "f.txt", _surrogate_bytes(docs[0])
    if kind == "warc":
        return "f.warc", _warc(docs, urls)
    if kind == "parquet":  # Arrow strings are UTF-8: no surrogate gets into a Parquet file
        pairs = zip(urls, docs, strict=True)
        rows = [{"id": valid_unicode(u), "text": valid_unicode(d)} for u, d in pairs]
        out = io.BytesIO()
        pq.write_table(pa.Table.from_pylist(rows), out)
        return "f.parquet", out.getvalue()
    suffix = draw(st.sampled_from(["jsonl", "jsonl.gz", "jsonl.zst", "html", "txt", "warc"]))
    return f"f.{suffix}", draw(st.binary(max_size=2048))


def _warc(docs: list[str], urls: list[str]) -> bytes:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    out = io.BytesIO()
    writer = WARCWriter(out, gzip=False)
    for doc, url in zip(docs, urls, strict=True):
        safe = "".join(c for c in valid_unicode(url) if c.isprintable() and c != " ")
        headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")],
                                   protocol="HTTP/1.1")  # fmt: skip
        page = f"<html><body><h1>{doc.split(chr(10), 1)[0]}</h1><p>{doc}</p></body></html>"
        record = writer.create_warc_record(f"https://e.org/{safe}", "response",
                                           payload=io.BytesIO(_surrogate_bytes(page)),
                                           http_headers=headers)  # fmt: skip
        writer.write_record(record)
    return out.getvalue()


CODER = beam.coders.registry.get_coder(object)  # what carries a dict between Beam steps


@FUZZ
@given(corpus_files())
def test_no_file_makes_the_segmenter_raise_or_emit_unclean_text(file):
    name, data = file
    segmenter = SegmentFile(CORPUS, SegmentConfig())
    segmenter.setup()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        for out in segmenter.process((str(path), name)):
            record = out.value if isinstance(out, beam.pvalue.TaggedOutput) else out
            assert_clean(record)
            CODER.encode(record)  # the step where a lone surrogate used to kill the job


@PIPELINE_FUZZ
@given(st.lists(corpus_files(), min_size=2, max_size=6))
def test_the_segment_stage_finishes_and_reconciles_on_any_files(files):
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for i, (name, data) in enumerate(files):
            paths.append(Path(folder) / f"{i}-{name}")
            paths[-1].write_bytes(data)
        counts, segments, dead = run_segment(paths, Path(folder) / "out")  # reconciled, or raises
        assert counts["out"] == len(segments) and counts["dead_lettered"] == len(dead)
        assert_clean(segments)
        assert_clean(dead)
