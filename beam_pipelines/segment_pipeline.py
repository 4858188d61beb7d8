"""The `segment` pipeline: corpus files -> documents -> sections -> filtered, unique segments.

Reconciliation unit: a section, a document that gave none, or an unreadable record or file.
"""

import hashlib
import time

import apache_beam as beam

from humpback.beam_pipelines.counting import count, count_out, observe
from humpback.beam_pipelines.io.corpus import named_files, read_documents
from humpback.beam_pipelines.io.documents import Document, ReadError, cleaned
from humpback.beam_pipelines.io.shards import write_shards
from humpback.beam_pipelines.progress import ReportProgress
from humpback.beam_pipelines.segment.charsets import decode, utf8
from humpback.beam_pipelines.segment.deadline import Deadline
from humpback.beam_pipelines.segment.dedup import DropDuplicates
from humpback.beam_pipelines.segment.filters import drop_reason, identify_language, segment_filters
from humpback.beam_pipelines.segment.html_segmenter import html_sections
from humpback.beam_pipelines.segment.sections import Section
from humpback.beam_pipelines.segment.text_segmenter import text_sections
from humpback.inference.special_tokens import defuse
from humpback.schemas.config import CorpusConfig, SegmentConfig
from humpback.schemas.records import DeadLetter, Segment
from humpback.schemas.text import SURROGATE, clean_text

DEAD = DeadLetter.shard
DEDUP_SCRATCH = "dedup_scratch"  # the segments while their keys are grouped; removed after


class SegmentFile(beam.DoFn):
    """Read one corpus file as a stream and emit its segments; every drop is counted by reason."""

    def __init__(self, corpus: CorpusConfig, cfg: SegmentConfig):
        self.corpus, self.cfg = corpus, cfg

    def setup(self):
        self.filters = segment_filters(self.cfg)
        self.languages = set(self.cfg.languages or ())

    def process(self, file: tuple[str, str]):
        path, name = file
        for item in read_documents(path, self.corpus):
            if isinstance(item, ReadError):
                yield beam.pvalue.TaggedOutput(DEAD, _dead(item))
                continue
            count("documents")
            if item.markup is None:
                _drop("unsupported_content_type")
                continue
            if len(item.content) > self.corpus.max_document_bytes:
                _drop("document_too_large")
                continue
            start = time.perf_counter()
            try:
                item, changes = cleaned(item, self.corpus.text)
                found = [self.cleaned(section, changes) for section in self.sections(item)]
            except Exception as err:  # noqa: BLE001 - one bad document must not stop the job
                error = ReadError.of(path, item.record_offset, err)
                yield beam.pvalue.TaggedOutput(DEAD, _dead(error))
                continue
            finally:
                observe("document_ms", round(1000 * (time.perf_counter() - start)))
            for kind in sorted(changes):
                count(f"normalised:{kind}")  # documents changed so
            if not found:
                _drop("no_header" if item.markup == "html" else "no_text")
            for index, section in enumerate(found):
                count("in")
                reason = drop_reason(section, self.filters)
                lang = identify_language(section.text) if self.languages and not reason else None
                if lang is not None and lang not in self.languages:
                    reason = "language"
                if reason:
                    count(f"filtered:{reason}")
                    continue
                yield _segment(item, name, index, section, lang)

    def cleaned(self, section: Section, changes: set[str]) -> Section:
        """The section's text as records hold it: a page's entities can spell any character."""
        text, header, *path = (
            self.clean(t, changes) for t in (section.text, section.header, *section.header_path)
        )
        return Section(header, tuple(path), text)

    def clean(self, text: str, changes: set[str]) -> str:
        text, found = clean_text(text, self.corpus.text)
        changes |= found
        return text

    def sections(self, doc: Document, deadline: Deadline | None = None) -> list[Section]:
        """The document's sections within its time budget (else OverBudget); `deadline` is
        checked between the steps (by default the configured budget from now)."""
        deadline = deadline or Deadline(self.cfg.document_budget_s)
        html = doc.markup == "html"
        content = doc.content
        if isinstance(content, bytes):  # the HTML parser reads UTF-8, as most pages already are
            content = utf8(content, doc.charset) if html else decode(content, doc.charset, False)
            deadline.check("decoded")
        if html:
            return html_sections(content, deadline, self.cfg.render == "markdown")
        return text_sections(content, self.cfg.max_chars, doc.title, deadline)


def _drop(reason: str) -> None:
    count("in")
    count(f"filtered:{reason}")


def _segment(doc: Document, name: str, index: int, section: Section, lang: str | None) -> dict:
    """A kept section as a record; its id hashes the file's name in the corpus (`named_files`),
    the record's offset and the section's index: the same wherever the corpus lies."""
    key = f"{name}|{doc.record_offset}|{index}"
    return Segment(
        id=hashlib.sha1(key.encode()).hexdigest()[:16],
        text=defuse(section.text),  # web text never carries a chat template's tokens on
        header=defuse(section.header),
        header_path=[defuse(h) for h in section.header_path],
        url=doc.url,
        document_id=doc.document_id,
        source_file=doc.source_file,
        record_offset=doc.record_offset,
        lang=lang,
        char_len=len(section.text),
    ).model_dump()


def _listed(_, patterns: list[str]):
    """((path, name), None) for each file; a dead letter for a name that is not valid UTF-8
    (listed with lone surrogates, it cannot be carried between steps)."""
    for path, name in named_files(patterns).items():
        if SURROGATE.search(path):
            error = ReadError(path, 0, "InvalidFileName", "the file name is not valid UTF-8")
            yield beam.pvalue.TaggedOutput(DEAD, _dead(error))
        else:
            yield (path, name), None


def _dead(err: ReadError) -> dict:
    count("in")
    count("dead_lettered")
    return DeadLetter.row(
        "segment", f"{err.source_file}@{err.record_offset}", err.error, message=err.message
    )


def build(
    pipeline: beam.Pipeline,
    corpus: CorpusConfig,
    cfg: SegmentConfig,
    out_dir: str,
    total_files: int | None = None,
) -> None:
    """Segments of the files `corpus.paths` match, listed by the workers (the job carries the
    globs, not a list of every file); `total_files` is for progress only."""
    listed = (
        pipeline
        | "Start" >> beam.Impulse()
        | "List files" >> beam.FlatMap(_listed, corpus.paths).with_outputs(DEAD, main="files")
    )
    results = (
        listed.files
        | "Spread files" >> beam.GroupByKey()  # over the workers, not on the one that listed them
        | "Files" >> beam.Keys()
        | "Progress" >> beam.ParDo(ReportProgress("segment", total_files, "files"))
        | "Segment" >> beam.ParDo(SegmentFile(corpus, cfg)).with_outputs(DEAD, main="segments")
    )
    segments = results.segments
    if cfg.dedup.exact or cfg.dedup.near or cfg.dedup.site_blocks:
        scratch = f"{out_dir.rstrip('/')}/{DEDUP_SCRATCH}"
        segments = segments | "Dedup" >> DropDuplicates(cfg.dedup, scratch, cfg.min_chars)
    write_shards(segments | "Count out" >> beam.Map(count_out), out_dir, Segment)
    dead = (results[DEAD], listed[DEAD]) | "Dead letters" >> beam.Flatten()
    write_shards(dead, out_dir, DeadLetter)
