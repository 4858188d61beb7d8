import gzip
import json

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from humpback.beam_pipelines.io.corpus import format_of, read_documents
from humpback.beam_pipelines.io.documents import Document, ReadError
from humpback.beam_pipelines.segment.charsets import decode
from humpback.schemas.config import CorpusConfig

CORPUS = CorpusConfig(paths=["-"])
ROWS = [{"doc": f"Text {i}.", "key": f"k{i}", "link": f"https://e.org/{i}"} for i in range(5)]
FIELDS = CorpusConfig(paths=["-"], text_field="doc", id_field="key", url_field="link")


def _documents(path, cfg=CORPUS) -> list[Document]:
    items = list(read_documents(str(path), cfg))
    assert all(isinstance(i, Document) for i in items), items
    return items


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("s3://b/CC-MAIN-1.warc.gz", "warc"),
        ("x.warc.wet.gz", "warc"),
        ("x.arc", "warc"),
        ("gs://b/dump.jsonl.zst", "jsonl"),
        ("dump.ndjson.gz", "jsonl"),
        ("part-0.parquet", "parquet"),
        ("page.html.gz", "html"),
        ("notes.txt", "text"),
        ("example.warc.gz.bad", "warc"),  # unknown: warcio tells WARC and ARC by their content
    ],
)
def test_the_format_is_read_from_the_suffix_under_any_compression(path, expected):
    assert format_of(path, CORPUS) == expected
    assert format_of(path, CorpusConfig(paths=["-"], format="jsonl")) == "jsonl"


def _jsonl(rows) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in rows)


def test_jsonl_plain_gzip_and_multi_frame_zstd_give_every_row(tmp_path):
    body = _jsonl(ROWS)
    zstd = zstandard.ZstdCompressor()
    files = {
        "a.jsonl": body,
        "a.jsonl.gz": gzip.compress(body[:40]) + gzip.compress(body[40:]),  # two members
        "a.jsonl.zst": zstd.compress(_jsonl(ROWS[:2])) + zstd.compress(_jsonl(ROWS[2:])),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        docs = _documents(tmp_path / name, FIELDS)
        assert [d.content for d in docs] == [r["doc"] for r in ROWS], name
        assert [d.document_id for d in docs] == [r["key"] for r in ROWS]
        assert [d.url for d in docs] == [r["link"] for r in ROWS]
        assert [d.record_offset for d in docs] == list(range(5)) and docs[0].markup == "text"


def test_a_bad_jsonl_line_is_a_read_error_at_its_line_and_reading_goes_on(tmp_path):
    lines = [b'{"text": "first"}', b"{not json", b'{"text": 5}', b'{"body": "x"}', b"[1, 2]",
             b'{"text": "\xff\xfe"}', b'{"text": "last"}']  # fmt: skip
    (tmp_path / "bad.jsonl").write_bytes(b"\n".join(lines))
    items = list(read_documents(str(tmp_path / "bad.jsonl"), CORPUS))
    assert [i.content for i in items if isinstance(i, Document)] == ["first", "last"]
    errors = [i for i in items if isinstance(i, ReadError)]
    assert [e.record_offset for e in errors] == [1, 2, 3, 4, 5]
    assert {e.error for e in errors} >= {"JSONDecodeError", "TypeError", "KeyError"}


def test_a_truncated_gzip_stream_gives_its_rows_then_one_error(tmp_path):
    rows = [{"text": f"row {i} " + "word " * 50} for i in range(200)]
    data = gzip.compress(_jsonl(rows))
    (tmp_path / "cut.jsonl.gz").write_bytes(data[: len(data) // 2])
    items = list(read_documents(str(tmp_path / "cut.jsonl.gz"), CORPUS))
    assert isinstance(items[-1], ReadError) and items[-1].error == "EOFError"
    assert 0 < len(items) - 1 < 200 and all(isinstance(i, Document) for i in items[:-1])


def test_parquet_rows_stream_from_any_fsspec_url_and_a_missing_column_is_an_error():
    table = pa.Table.from_pylist([{**r, "extra": 1} for r in ROWS])
    with fsspec.open("memory://corpus/part-0.parquet", "wb") as f:
        pq.write_table(table, f, row_group_size=2)
    docs = _documents("memory://corpus/part-0.parquet", FIELDS)
    assert [(d.content, d.document_id, d.record_offset) for d in docs] == [
        (r["doc"], r["key"], i) for i, r in enumerate(ROWS)
    ]
    (error,) = read_documents("memory://corpus/part-0.parquet", CORPUS)  # text_field: "text"
    assert isinstance(error, ReadError) and "text_field" in error.message


def _uncompressed(path) -> bytes:
    with gzip.open(path) as f:  # reads every gzip member
        return f.read()


def test_whole_file_gzip_and_zstd_warcs_read_like_gzip_per_record(data_dir, tmp_path):
    original = data_dir / "web/warc/english-pages-0000.warc.gz"
    raw = _uncompressed(original)
    (tmp_path / "whole.warc.gz").write_bytes(gzip.compress(raw))  # one member for the file
    (tmp_path / "frames.warc.zst").write_bytes(zstandard.ZstdCompressor().compress(raw))
    (tmp_path / "plain.warc").write_bytes(raw)
    expected = [(d.url, d.content) for d in _documents(original)]
    assert len(expected) > 20
    for name in ("whole.warc.gz", "frames.warc.zst", "plain.warc"):
        assert [(d.url, d.content) for d in _documents(tmp_path / name)] == expected, name
    (page,) = _documents(data_dir / "web/edge-cases/example-bad-non-chunked.warc.gz")
    assert page.markup == "html" and page.url.startswith("http")


def test_only_web_content_records_are_documents(data_dir):
    docs = _documents(data_dir / "web/warc/english-pages-0000.warc.gz")
    assert all(d.url.startswith(("http://", "https://")) for d in docs)  # no wget log
    assert all(d.document_id.startswith("<urn:uuid:") for d in docs)
    (wet,) = _documents(data_dir / "web/warc/cc-main-2024-22-one-page.warc.wet.gz")
    assert wet.markup == "text" and wet.url.startswith("http") and len(wet.content) > 1000


def test_damaged_records_are_read_errors_with_the_record_offset(data_dir):
    edge = data_dir / "web/edge-cases"
    (clipped,) = read_documents(str(edge / "clipped.warc.gz"), CORPUS)
    assert clipped.error == "TruncatedRecord" and "bytes missing" in clipped.message
    (wrong_length,) = read_documents(str(edge / "wrong-content-length.warc.wet"), CORPUS)
    assert wrong_length.error == "ArchiveLoadFailed" and wrong_length.record_offset > 0


def test_charsets_http_then_meta_then_utf8_then_a_guess(data_dir):
    pages = _documents(data_dir / "web/warc/clueweb09-ja-excerpt.warc.gz")
    texts = [decode(p.content, p.charset) for p in pages]
    assert all("\ufffd" not in t for t in texts)
    assert sum(any("\u3040" <= c <= "\u30ff" for c in t) for t in texts) > 20  # kana
    japanese = "日本語のページです。検索エンジンの研究に使われました。" * 5
    assert decode(japanese.encode("euc-jp"), None) == japanese  # no charset declared: guessed
    assert decode(b"\xef\xbb\xbfBOM first", "cp1252") == "BOM first"
    assert decode(b'<meta charset="utf-8">caf\xc3\xa9', "bogus-charset").endswith("café")
