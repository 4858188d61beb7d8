"""A corpus: the files its globs match, each read by the reader its format names."""

import os
from collections import Counter
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
    return list(named_files(patterns))


def named_files(patterns: list[str]) -> dict[str, str]:
    """Each file URL the patterns match (sorted), with a name that does not depend on where the
    corpus lies: its path under the pattern's fixed folder (a literal path: its file name). A
    name two files would share stays their URLs. A pattern matching nothing is an error."""
    named: dict[str, str] = {}
    for pattern in patterns:
        fs, path = fsspec.core.url_to_fs(pattern)
        glob = next((i for i, c in enumerate(path) if c in "*?["), None)
        matched = [path] if glob is None else fs.glob(path)
        if not matched:
            raise InputNotFound(f"corpus.paths: {pattern} matches no file")
        folder = path[: path.rfind("/", 0, len(path) if glob is None else glob) + 1]
        for p in matched:
            url = fs.unstrip_protocol(p) if "://" in pattern else p
            named.setdefault(url, p.removeprefix(folder))
    shared = Counter(named.values())
    return {url: name if shared[name] == 1 else url for url, name in sorted(named.items())}


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
