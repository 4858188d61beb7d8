"""WARC, ARC and WET files through warcio: response, resource and conversion records as documents.

gzip per record is read as it lies (offsets are those of the compressed file, as in CDX indexes);
a whole-file gzip or zstd stream is decompressed first (offsets then count decompressed bytes).
"""

from collections.abc import Iterator

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from humpback.beam_pipelines.io.documents import (
    Document,
    Markup,
    ReadError,
    compression_of,
    open_stream,
)
from humpback.schemas.config import CorpusConfig

CONTENT_RECORDS = {"response", "resource", "conversion"}  # request, metadata, revisit: no page
WEB_SCHEMES = ("http://", "https://")  # not a crawler's own log (metadata://) or DNS (dns:)


def read_archive(path: str, cfg: CorpusConfig) -> Iterator[Document | ReadError]:
    """Every content record of one archive; reading stops at the first damaged one."""
    compression = "zstd" if compression_of(path) == "zstd" else None
    yielded = 0
    while True:
        reader = _Records(path, cfg)
        try:
            with open_stream(path, compression, cfg.max_compression_ratio) as stream:
                for i, item in enumerate(reader.read(stream)):
                    if i >= yielded:  # a restart skips what the first pass already gave
                        yielded += 1
                        yield item
            return
        except ArchiveLoadFailed as err:
            if compression is None and "non-chunked gzip" in str(err):
                compression = "gzip"  # one gzip member for the whole file: warcio refuses it
                continue
            yield ReadError.of(path, reader.offset, err)
            return
        except Exception as err:  # noqa: BLE001 - a damaged archive becomes a dead letter
            yield ReadError.of(path, reader.offset, err)
            return


class _Records:
    """One pass over an archive stream; `offset` is where the record being read starts."""

    def __init__(self, path: str, cfg: CorpusConfig):
        self.path, self.cfg, self.offset = path, cfg, 0

    def read(self, stream) -> Iterator[Document | ReadError]:
        records = ArchiveIterator(stream, arc2warc=True)
        for record in records:
            uri = (record.rec_headers.get_header("WARC-Target-URI") or "").strip("<>")
            content = record.rec_type in CONTENT_RECORDS and uri.lower().startswith(WEB_SCHEMES)
            headers = record.http_headers or record.rec_headers
            content_type = (headers.get_header("Content-Type") or "").lower()
            markup = _markup(content_type) if content else None
            body = record.content_stream().read(self.cfg.max_document_bytes + 1) if markup else b""
            offset = records.get_record_offset()  # reads the rest of the record
            self.offset = offset + records.get_record_length()
            missing = getattr(record.raw_stream, "limit", 0)  # bytes Content-Length promised
            if missing:
                yield ReadError(self.path, offset, "TruncatedRecord", f"{missing} bytes missing")
                continue
            if not content:
                continue
            yield Document(
                url=uri,
                document_id=record.rec_headers.get_header("WARC-Record-ID")
                or f"{self.path}@{offset}",
                content=body,
                markup=markup,
                charset=_charset(content_type),
                source_file=self.path,
                record_offset=offset,
            )


def _markup(content_type: str) -> Markup | None:
    if "html" in content_type:
        return "html"
    if content_type.startswith("text/plain"):
        return "text"
    return None


def _charset(content_type: str) -> str | None:
    for part in content_type.split(";"):
        key, _, value = part.strip().partition("=")
        if key == "charset" and value:
            return value.strip("\"' ")
    return None
