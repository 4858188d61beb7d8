"""Documents and the readers of row files (JSONL, Parquet) and one-document files (HTML, text).

A reader never raises: a damaged record or file becomes a ReadError (file, offset, error) and the
reader goes on where it can (a bad JSONL line) or stops (a truncated gzip stream).
"""

import io
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import BinaryIO, Literal

import fsspec
import pyarrow.parquet as pq
import zstandard
from isal import igzip

from humpback.schemas.config import CorpusConfig, TextConfig
from humpback.schemas.text import clean_text

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


def cleaned(doc: Document, cfg: TextConfig) -> tuple[Document, set[str]]:
    """The document with its text fields normalised (humpback.schemas.text), and the kinds of
    change made; raises InvalidText where a lone surrogate is to be a dead letter."""
    fields, changes = {}, set()
    for name in ("url", "document_id", "title", "content"):
        if isinstance(value := getattr(doc, name), str):
            fields[name], found = clean_text(value, cfg)
            changes |= found
    return replace(doc, **fields), changes


@dataclass(frozen=True)
class ReadError:
    source_file: str
    record_offset: int
    error: str
    message: str

    @classmethod
    def of(cls, path: str, offset: int, err: BaseException) -> "ReadError":
        name = type(err).__name__
        if name == "error":  # zlib.error, binascii.error: name the module too
            name = f"{type(err).__module__}.error"
        return cls(path, offset, name, str(err))


def compression_of(path: str) -> str | None:
    return COMPRESSIONS.get(os.path.splitext(path)[1].lower())


class DecompressionBomb(ValueError):
    """A stream that expands far more than text does."""


class TruncatedStream(EOFError):
    """A compressed stream that ends inside a frame."""


ZSTD_INPUT = 512  # compressed bytes a decompress call gets: bounds its output (RLE blocks)
BOMB_FLOOR = 64 << 20  # decompressed bytes before the ratio is checked


@contextmanager
def open_stream(
    path: str, compression: str | None = None, max_ratio: float | None = None
) -> Iterator[BinaryIO]:
    """A file as a decompressed byte stream, across every gzip member and every zstd frame; a
    stream that expands more than `max_ratio` times (past BOMB_FLOOR bytes) raises
    DecompressionBomb, one that ends inside a zstd frame TruncatedStream."""
    with fsspec.open(path, "rb") as raw:
        if compression is None:
            yield raw
            return
        counted = _Counted(raw)
        # ISA-L's gzip reader inflates 2.5 times as fast as the standard library's
        inner = igzip.GzipFile(fileobj=counted) if compression == "gzip" else _ZstdFrames(counted)
        yield io.BufferedReader(_Guarded(inner, counted, max_ratio or float("inf")))


class _Counted(io.RawIOBase):
    """A byte stream that counts what is read from it."""

    def __init__(self, raw: BinaryIO):
        self.raw, self.n = raw, 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.n += len(data)
        return data

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class _ZstdFrames(io.RawIOBase):
    """zstd frames one after another, decompressed a few hundred input bytes at a time; the end
    of the input inside a frame raises TruncatedStream (zstandard's readers just stop there)."""

    def __init__(self, source: _Counted):
        self.source, self.maker = source, zstandard.ZstdDecompressor()
        self.frame, self.in_frame, self.pending = self.maker.decompressobj(), False, b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self.pending:
            data = self.source.read(ZSTD_INPUT)
            if not data:
                if self.in_frame:
                    raise TruncatedStream(
                        f"zstd stream ends inside a frame at byte {self.source.n}"
                    )
                return 0
            self.pending = self._decompress(data)
        n = min(len(buffer), len(self.pending))
        buffer[:n], self.pending = self.pending[:n], self.pending[n:]
        return n

    def _decompress(self, data: bytes) -> bytes:
        out = []
        while data:
            self.in_frame = True
            out.append(self.frame.decompress(data))
            data = b""
            if self.frame.eof:  # the frame is complete; what follows starts the next one
                data, self.in_frame = self.frame.unused_data, False
                self.frame = self.maker.decompressobj()
        return b"".join(out)


class _Guarded(io.RawIOBase):
    """A decompressed stream that raises DecompressionBomb past `max_ratio`."""

    def __init__(self, inner, source: _Counted, max_ratio: float):
        self.inner, self.source, self.max_ratio, self.n = inner, source, max_ratio, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self.inner.readinto(buffer)
        self.n += n
        if self.n > BOMB_FLOOR and self.n > self.max_ratio * self.source.n:
            raise DecompressionBomb(
                f"{self.n} bytes from {self.source.n} compressed: over {self.max_ratio:g}:1"
            )
        return n


def read_file(path: str, cfg: CorpusConfig, markup: Markup) -> Iterator[Document | ReadError]:
    """A whole HTML or text file is one document (for pages saved one per file)."""
    try:
        with open_stream(path, compression_of(path), cfg.max_compression_ratio) as f:
            content = f.read(cfg.max_document_bytes + 1)
    except Exception as err:  # noqa: BLE001 - any unreadable file becomes a dead letter
        yield ReadError.of(path, 0, err)
        return
    url = path if "://" in path else "file://" + os.path.abspath(path)
    yield Document(url, url, content, markup, None, path, 0)


def read_jsonl(path: str, cfg: CorpusConfig) -> Iterator[Document | ReadError]:
    """One JSON object a line; a bad line, or one over `max_document_bytes` (skipped without
    being held), is a ReadError at its line number and reading goes on."""
    line_no = 0
    try:
        with open_stream(path, compression_of(path), cfg.max_compression_ratio) as f:
            for line_no, line in enumerate(_lines(f, cfg.max_document_bytes)):
                if line is None:
                    yield ReadError(path, line_no, "RecordTooLarge", _too_large(cfg))
                    continue
                if not line.strip():
                    continue
                try:
                    yield _row_document(json.loads(line), path, line_no, cfg)
                except (ValueError, TypeError, KeyError) as err:
                    yield ReadError.of(path, line_no, err)
    except Exception as err:  # noqa: BLE001 - a damaged stream (truncated gzip) ends the file
        yield ReadError.of(path, line_no, err)


def _lines(f: BinaryIO, limit: int) -> Iterator[bytes | None]:
    """The lines of a stream; None for a line longer than `limit`, read through, never held."""
    while line := f.readline(limit + 1):
        if len(line) > limit and not line.endswith(b"\n"):
            while (rest := f.readline(1 << 20)) and not rest.endswith(b"\n"):
                pass
            yield None
        else:
            yield line


def _too_large(cfg: CorpusConfig) -> str:
    return f"a record over corpus.max_document_bytes ({cfg.max_document_bytes} bytes)"


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
