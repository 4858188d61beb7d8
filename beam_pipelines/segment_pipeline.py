"""The `segment` pipeline: corpus files -> pages -> header sections -> filtered, unique segments."""

import hashlib

import apache_beam as beam

from beam_pipelines.counting import count
from beam_pipelines.io.shards import write_shards
from beam_pipelines.io.web_pages import ReadError, WebPage, read_pages
from beam_pipelines.segment.filters import drop_reason, segment_filters
from beam_pipelines.segment.html_segmenter import decode_html, sections
from beam_pipelines.steps import DEAD, dead_letter
from schemas.config import SegmentConfig
from schemas.records import DeadLetter, Segment


class SegmentPages(beam.DoFn):
    """Read one corpus file and emit its segments; filtered sections are counted by reason.

    Reconciliation unit: a header section, a page without headers, or an unreadable record.
    """

    def __init__(self, cfg: SegmentConfig):
        self.cfg = cfg

    def setup(self):
        self.filters = segment_filters(self.cfg)

    def process(self, path: str):
        for item in read_pages(path):
            if isinstance(item, ReadError):
                count("in")
                count("dead_lettered")
                yield beam.pvalue.TaggedOutput(DEAD, _dead(item))
                continue
            count("pages")
            try:
                found = sections(decode_html(item.html, item.charset))
            except Exception as err:  # noqa: BLE001 - one bad page must not stop the job
                count("in")
                count("dead_lettered")
                yield beam.pvalue.TaggedOutput(
                    DEAD,
                    _dead(ReadError(path, item.record_offset, type(err).__name__, str(err))),
                )
                continue
            if not found:
                count("in")
                count("filtered:no_header")
            for section in found:
                count("in")
                reason = drop_reason(section, self.filters)
                if reason:
                    count(f"filtered:{reason}")
                    continue
                yield _segment(item, section)


def _segment(page: WebPage, section) -> dict:
    key = f"{page.url}|{page.source_file}|{page.record_offset}|{'/'.join(section.header_path)}"
    return Segment(
        id=hashlib.sha1(key.encode()).hexdigest()[:16],
        text=section.text,
        header=section.header,
        header_path=list(section.header_path),
        url=page.url,
        source_file=page.source_file,
        record_offset=page.record_offset,
        char_len=len(section.text),
    ).model_dump()


def _dead(err: ReadError) -> dict:
    return dead_letter(
        "segment",
        f"{err.source_file}@{err.record_offset}",
        err.error,
        message=err.message,
    )


def text_key(segment: dict) -> str:
    """Exact-duplicate key: a hash of the lower-cased, whitespace-normalised text."""
    return hashlib.sha1(" ".join(segment["text"].lower().split()).encode()).hexdigest()


def keep_first(keyed):
    """Keep the segment with the smallest id among exact duplicates (deterministic)."""
    _, group = keyed
    group = sorted(group, key=lambda s: s["id"])
    if len(group) > 1:
        count("duplicates", len(group) - 1)
    count("out")
    yield group[0]


def build(pipeline: beam.Pipeline, files: list[str], cfg: SegmentConfig, out_dir: str) -> None:
    results = (
        pipeline
        | "Files" >> beam.Create(files)
        | "Spread files" >> beam.Reshuffle()
        | "Segment" >> beam.ParDo(SegmentPages(cfg)).with_outputs(DEAD, main="segments")
    )
    segments = (
        results.segments
        | "Key by text" >> beam.Map(lambda s: (text_key(s), s))
        | "Group duplicates" >> beam.GroupByKey()
        | "Keep first" >> beam.FlatMap(keep_first)
    )
    write_shards(segments, out_dir, "segments", Segment)
    write_shards(results[DEAD], out_dir, DEAD, DeadLetter)
