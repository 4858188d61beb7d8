"""A corpus: the files its globs match, each read by the reader its format names."""

import os
from collections.abc import Iterator
from functools import partial

import fsspec

from humpback.beam_pipelines.io.documents import (
    COMPRESSIONS,
    Document,
    ReadError,
    read_file,
    read_jsonl,
    read_parquet,
)
from humpback.beam_pipelines.io.warc_records import read_archive
from humpback.schemas.config import CorpusConfig
from humpback.schemas.errors import InputNotFound

FORMATS = {
    ".warc": "warc", ".arc": "warc", ".wet": "warc",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
    ".parquet": "parquet",
    ".html": "html", ".htm": "html", ".xhtml": "html",
    ".txt": "text", ".md": "text",
}  # fmt: skip
READERS = {
    "warc": read_archive,
    "jsonl": read_jsonl,
    "parquet": read_parquet,
    "html": partial(read_file, markup="html"),
    "text": partial(read_file, markup="text"),
}


def expand_paths(patterns: list[str]) -> list[str]:
    """Expand fsspec globs (`*`, `?`, `[...]`) into sorted file URLs; a pattern matching
    nothing is an error."""
    files: list[str] = []
    for pattern in patterns:
        fs, path = fsspec.core.url_to_fs(pattern)
        matched = fs.glob(path) if any(c in path for c in "*?[") else [path]
        if not matched:
            raise InputNotFound(f"corpus.paths: {pattern} matches no file")
        files.extend(fs.unstrip_protocol(p) if "://" in pattern else p for p in matched)
    return sorted(set(files))


def format_of(path: str, cfg: CorpusConfig) -> str:
    """The configured format, or the one the suffix under any compression suffix names.

    An unknown suffix is read as an archive: warcio recognises WARC and ARC by their content.
    """
    if cfg.format != "auto":
        return cfg.format
    stem, ext = os.path.splitext(path)
    if ext.lower() not in COMPRESSIONS:
        stem = path
    return FORMATS.get(os.path.splitext(stem)[1].lower(), "warc")


def read_documents(path: str, cfg: CorpusConfig) -> Iterator[Document | ReadError]:
    """Every document of one corpus file, streamed, in file order."""
    yield from READERS[format_of(path, cfg)](path, cfg)
