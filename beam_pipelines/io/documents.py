"""Documents and the readers of row files (JSONL, Parquet) and one-document files (HTML, text).

A reader never raises: a damaged record or file becomes a ReadError (file, offset, error) and the
reader goes on where it can (a bad JSONL line) or stops (a truncated gzip stream).
"""

import gzip
import io
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO, Literal

import fsspec
import pyarrow.parquet as pq
import zstandard

from humpback.schemas.config import CorpusConfig

Markup = Literal["html", "text"]
COMPRESSIONS = {".gz": "gzip", ".zst": "zstd", ".zstd": "zstd"}


@dataclass(frozen=True)
class Document:
    """One page or text; markup None means a content type we cannot segment (an image, a PDF)."""

    url: str
    document_id: str
    content: bytes | str
    markup: Markup | None
    charset: str | None
    source_file: str
    record_offset: int  # byte offset of a WARC record, row number in JSONL / Parquet, 0 in a file
    title: str | None = None


@dataclass(frozen=True)
class ReadError:
    source_file: str
    record_offset: int
    error: str
    message: str

    @classmethod
    def of(cls, path: str, offset: int, err: BaseException) -> "ReadError":
        return cls(path, offset, type(err).__name__, str(err))


def compression_of(path: str) -> str | None:
    return COMPRESSIONS.get(os.path.splitext(path)[1].lower())


@contextmanager
def open_stream(path: str, compression: str | None = None) -> Iterator[BinaryIO]:
    """A file as a decompressed byte stream, across every gzip member and every zstd frame."""
    with fsspec.open(path, "rb") as raw:
        if compression == "gzip":
            yield gzip.GzipFile(fileobj=raw)
        elif compression == "zstd":
            reader = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
            yield io.BufferedReader(reader)
        else:
            yield raw


def read_file(path: str, cfg: CorpusConfig, markup: Markup) -> Iterator[Document | ReadError]:
    """A whole HTML or text file is one document (for pages saved one per file)."""
    try:
        with open_stream(path, compression_of(path)) as f:
            content = f.read(cfg.max_document_bytes + 1)
    except Exception as err:  # noqa: BLE001 - any unreadable file becomes a dead letter
        yield ReadError.of(path, 0, err)
        return
    url = path if "://" in path else "file://" + os.path.abspath(path)
    yield Document(url, url, content, markup, None, path, 0)


def read_jsonl(path: str, cfg: CorpusConfig) -> Iterator[Document | ReadError]:
    """One JSON object a line; a bad line is a ReadError at its line number and reading goes on."""
    line_no = 0
    try:
        with open_stream(path, compression_of(path)) as f:
            for line_no, line in enumerate(f):
                if not line.strip():
                    continue
                try:
                    yield _row_document(json.loads(line), path, line_no, cfg)
                except (ValueError, TypeError, KeyError) as err:
                    yield ReadError.of(path, line_no, err)
    except Exception as err:  # noqa: BLE001 - a damaged stream (truncated gzip) ends the file
        yield ReadError.of(path, line_no, err)


def read_parquet(path: str, cfg: CorpusConfig) -> Iterator[Document | ReadError]:
    """Rows of a Parquet file, read a batch of row groups at a time with only the needed columns."""
    fields = [cfg.text_field, cfg.id_field, cfg.url_field, cfg.title_field]
    row = 0
    try:
        with fsspec.open(path, "rb") as f:
            parquet = pq.ParquetFile(f)
            names = set(parquet.schema_arrow.names)
            if cfg.text_field not in names:
                raise KeyError(f"no text_field column {cfg.text_field!r}; columns: {sorted(names)}")
            columns = [c for c in dict.fromkeys(fields) if c and c in names]
            for batch in parquet.iter_batches(batch_size=1024, columns=columns):
                for record in batch.to_pylist():
                    try:
                        yield _row_document(record, path, row, cfg)
                    except (ValueError, TypeError, KeyError) as err:
                        yield ReadError.of(path, row, err)
                    row += 1
    except Exception as err:  # noqa: BLE001 - an unreadable file or row group becomes a dead letter
        yield ReadError.of(path, row, err)


def _row_document(record: dict, path: str, row: int, cfg: CorpusConfig) -> Document:
    if not isinstance(record, dict):
        raise TypeError(f"expected a JSON object, got {type(record).__name__}")
    text = record[cfg.text_field]
    if not isinstance(text, str):
        raise TypeError(f"{cfg.text_field} is {type(text).__name__}, not a string")
    doc_id = str(record.get(cfg.id_field) or "") if cfg.id_field else ""
    url = str(record.get(cfg.url_field) or "") if cfg.url_field else ""
    title = record.get(cfg.title_field) if cfg.title_field else None
    return Document(
        url=url,
        document_id=doc_id or f"{path}#{row}",
        content=text,
        markup=cfg.markup,
        charset=None,
        source_file=path,
        record_offset=row,
        title=title if isinstance(title, str) else None,
    )
