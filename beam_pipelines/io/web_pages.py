"""Read web pages from WARC/ARC files and plain HTML files through fsspec, as a stream."""

import os
from collections.abc import Iterator
from dataclasses import dataclass

import fsspec
from warcio.archiveiterator import ArchiveIterator

HTML_SUFFIXES = (".html", ".htm", ".html.gz", ".htm.gz")


@dataclass(frozen=True)
class WebPage:
    url: str
    html: bytes
    charset: str | None
    source_file: str
    record_offset: int


@dataclass(frozen=True)
class ReadError:
    source_file: str
    record_offset: int
    error: str
    message: str


def expand_paths(patterns: list[str]) -> list[str]:
    """Expand fsspec globs into sorted file URLs; a pattern matching nothing is an error."""
    files: list[str] = []
    for pattern in patterns:
        fs, _, matched = fsspec.get_fs_token_paths(pattern)
        if not matched:
            raise FileNotFoundError(f"corpus path matches no file: {pattern}")
        files.extend(fs.unstrip_protocol(p) if "://" in pattern else p for p in matched)
    return sorted(set(files))


def read_pages(path: str) -> Iterator[WebPage | ReadError]:
    """Yield the HTML pages of one file; a damaged file yields a ReadError and stops there."""
    if path.endswith(HTML_SUFFIXES):
        try:
            with fsspec.open(path, "rb", compression="infer") as f:
                url = path if "://" in path else "file://" + os.path.abspath(path)
                yield WebPage(url, f.read(), None, path, 0)
        except Exception as err:  # noqa: BLE001 - any unreadable file becomes a dead letter
            yield ReadError(path, 0, type(err).__name__, str(err))
        return
    yield from _read_archive(path)


def _read_archive(path: str) -> Iterator[WebPage | ReadError]:
    offset = 0
    try:
        with fsspec.open(path, "rb") as f:
            records = ArchiveIterator(f, arc2warc=True)
            for record in records:
                if record.rec_type != "response" or record.http_headers is None:
                    continue
                content_type = record.http_headers.get_header("Content-Type") or ""
                if "html" not in content_type.lower():
                    continue
                url = (record.rec_headers.get_header("WARC-Target-URI") or "").strip("<>")
                body = record.content_stream().read()
                offset = records.get_record_offset()  # valid only once the body is read
                missing = getattr(record.raw_stream, "limit", 0)  # bytes Content-Length promised
                if missing:
                    yield ReadError(path, offset, "TruncatedRecord", f"{missing} bytes missing")
                    continue
                yield WebPage(url, body, _charset(content_type), path, offset)
    except Exception as err:  # noqa: BLE001 - a damaged archive becomes a dead letter
        yield ReadError(path, offset, type(err).__name__, str(err))


def _charset(content_type: str) -> str | None:
    for part in content_type.split(";"):
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            return value.strip("\"' ")
    return None
