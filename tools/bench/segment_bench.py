"""Segment-stage throughput against trafilatura, and both extractors' boilerplate precision.

    python -m tools.bench.segment_bench [--mb 200] [--data ../shared/data]

Builds a corpus of at least --mb MB by concatenating the sample WARC files (gzip per record, so
the copies stay valid WARC), then, in one run:
- humpback: the whole segment stage (Beam DirectRunner, one worker: read, decode, segment,
  filter, exact + MinHash dedup, Parquet shards);
- baseline: the same reader and decoding, then `trafilatura.extract` per page, as a user would
  without humpback (spread over processes; CPU time is summed over them).
Throughput is per core: MB of corpus files per CPU-second of the process(es) that did the work.
Precision: the share of extracted words inside Readability's main content of the sample pages.
"""

import argparse
import json
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from humpback.beam_pipelines import segment_pipeline
from humpback.beam_pipelines.counting import run_and_count
from humpback.beam_pipelines.io.corpus import read_documents
from humpback.beam_pipelines.io.documents import Document
from humpback.beam_pipelines.segment.charsets import decode
from humpback.run.manifest import counts_from
from humpback.schemas.config import CorpusConfig, SegmentConfig
from humpback.storage.shards import load_rows
from tools.bench.boilerplate import precision_recall

CORPUS = CorpusConfig(paths=["-"])
SAMPLES = ["english-pages-*.warc.gz", "cc-main-2020-34-excerpt.warc.gz", "clueweb09-ja-*.warc.gz"]


def build_corpus(data: Path, folder: Path, megabytes: float, files: int) -> list[str]:
    """`files` WARC files of concatenated sample archives, together at least `megabytes` MB."""
    sample = b"".join(p.read_bytes() for g in SAMPLES for p in sorted((data / "web/warc").glob(g)))
    copies = max(1, int(megabytes * 1e6 / len(sample) / files + 1))
    paths = []
    for i in range(files):
        path = folder / f"corpus-{i:03d}.warc.gz"
        with path.open("wb") as f:
            for _ in range(copies):
                f.write(sample)
        paths.append(str(path))
    return paths


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def run_humpback(files: list[str], out_dir: str) -> tuple[dict, float, float]:
    pipeline = beam.Pipeline(options=PipelineOptions(["--direct_num_workers=1"]))
    segment_pipeline.build(
        pipeline, CORPUS.model_copy(update={"paths": files}), SegmentConfig(), out_dir
    )
    cpu, wall = cpu_seconds(), time.perf_counter()
    counts = counts_from(run_and_count(pipeline))
    return counts, cpu_seconds() - cpu, time.perf_counter() - wall


def trafilatura_file(path: str) -> tuple[int, int, float]:
    """Pages extracted, pages read and CPU seconds for one file (in a worker process)."""
    import trafilatura

    start = time.process_time()
    extracted = pages = 0
    for doc in read_documents(path, CORPUS):
        if isinstance(doc, Document) and doc.markup == "html":
            pages += 1
            extracted += bool(trafilatura.extract(decode(doc.content, doc.charset)))
    return extracted, pages, time.process_time() - start


def run_trafilatura(files: list[str], workers: int) -> tuple[int, int, float, float]:
    wall = time.perf_counter()
    with ProcessPoolExecutor(workers) as pool:
        results = list(pool.map(trafilatura_file, files))
    extracted, pages, cpu = (sum(r[i] for r in results) for i in range(3))
    return extracted, pages, cpu, time.perf_counter() - wall


def precision_on_readability(data: Path, out_dir: str) -> dict[str, tuple[float, float]]:
    """(precision, recall) of humpback's kept segments and of trafilatura, page by page."""
    import trafilatura

    pages = sorted(p.parent for p in (data / "web/html/readability").glob("*/source.html"))
    files = [str(p / "source.html") for p in pages]
    pipeline = beam.Pipeline(options=PipelineOptions([]))
    segment_pipeline.build(
        pipeline, CORPUS.model_copy(update={"paths": files}), SegmentConfig(), out_dir
    )
    run_and_count(pipeline)
    segments: dict[str, str] = {}
    for row in load_rows(f"{out_dir}/segments-*.parquet"):
        page = str(Path(row["source_file"]).parent)
        segments[page] = f"{segments.get(page, '')}\n{row['text']}"
    extracted = {
        str(p): trafilatura.extract(decode((p / "source.html").read_bytes(), None)) or ""
        for p in pages
    }
    return {
        "humpback": precision_recall(segments, pages),
        "trafilatura": precision_recall(extracted, pages),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=float, default=200, help="corpus size to build")
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--workers", type=int, default=os.cpu_count(), help="trafilatura's")
    parser.add_argument("--data", default=os.environ.get("HUMPBACK_DATA", "../shared/data"))
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    data = Path(args.data).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        files = build_corpus(data, Path(tmp), args.mb, args.files)
        mb = sum(os.path.getsize(f) for f in files) / 1e6
        print(f"corpus: {len(files)} files, {mb:.1f} MB", flush=True)
        counts, h_cpu, h_wall = run_humpback(files, f"{tmp}/humpback")
        print(f"humpback: {h_cpu:.1f} CPU-s, {h_wall:.1f} s wall", flush=True)
        extracted, pages, t_cpu, t_wall = run_trafilatura(files, args.workers)
        print(f"trafilatura: {t_cpu:.1f} CPU-s, {t_wall:.1f} s wall", flush=True)
        quality = precision_on_readability(data, f"{tmp}/readability")
    figures = {
        "corpus_mb": round(mb, 1),
        "pages": pages,
        "humpback": {
            "mb_per_s_per_core": round(mb / h_cpu, 2),
            "pages_per_s_per_core": round(counts["detail"]["documents"] / h_cpu, 1),
            "sections_per_s_per_core": round(counts["in"] / h_cpu, 1),
            "segments_kept_per_s_per_core": round(  # past the filters, before dedup
                (counts["out"] + counts["duplicates"]) / h_cpu, 1
            ),
            "segments_out": counts["out"],  # the corpus repeats itself: most are duplicates
            "segments_out_per_s_per_core": round(counts["out"] / h_cpu, 1),
            "cpu_s": round(h_cpu, 1),
            "counts": counts,
        },
        "trafilatura": {
            "mb_per_s_per_core": round(mb / t_cpu, 2),
            "pages_per_s_per_core": round(pages / t_cpu, 1),
            "documents_extracted": extracted,
            "cpu_s": round(t_cpu, 1),
        },
        "throughput_ratio": round(t_cpu / h_cpu, 2),
        "readability_precision_recall": {k: [round(x, 4) for x in v] for k, v in quality.items()},
    }
    print(json.dumps(figures, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
