"""The segment stage against trafilatura on varied real pages: quality, speed, and the profile.

    python -m tools.bench.segment_bench [--data ../shared/data] [--json FILE] [--samples 10]

Every page is read once; no sample is repeated (caches stay as cold as real mixes make them).
Pages: the scrapinghub article benchmark (181 pages, human-made article bodies), the Readability
test pages (Readability's extraction as reference) and the HTML responses of the sample WARCs
(English, Common Crawl excerpts, Japanese ClueWeb09). In one run:
- quality: word precision and recall of humpback's kept segments and of `trafilatura.extract`
  against each page's reference, micro-averaged and as a distribution over pages (median,
  5th and 95th percentiles); on scrapinghub also on the pages where humpback keeps segments;
- speed per core: MB of HTML per CPU-second for the whole segment stage (Beam DirectRunner, one
  worker: read, decode, segment, filter, dedup, Parquet shards; also less the fixed CPU cost of
  starting a pipeline, measured on one page, as a large corpus sees it), for the segmenter alone
  (decode, parse, boilerplate, sections, filters) and for trafilatura (decode, extract), with
  each page's milliseconds (median, 95th percentile);
- the profile of the whole stage (cProfile, run apart from the timed run): where its CPU goes;
- `--samples` random scrapinghub segments, rendered as they go into training.
"""

import argparse
import cProfile
import io
import json
import os
import pstats
import random
import tempfile
import time
from pathlib import Path

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from humpback.beam_pipelines import segment_pipeline
from humpback.beam_pipelines.counting import run_and_count
from humpback.beam_pipelines.io.corpus import read_documents
from humpback.beam_pipelines.io.documents import Document
from humpback.beam_pipelines.segment.charsets import decode
from humpback.beam_pipelines.segment.filters import drop_reason
from humpback.beam_pipelines.segment_pipeline import SegmentFile
from humpback.run.manifest import counts_from
from humpback.schemas.config import CorpusConfig, SegmentConfig
from humpback.storage.shards import load_rows
from tools.bench.boilerplate import (
    by_page,
    per_page,
    readability_references,
    scrapinghub_references,
)

CORPUS = CorpusConfig(paths=["-"])
WARCS = ["english-pages-*.warc.gz", "cc-main-*.warc.gz", "clueweb09-ja-*.warc.gz"]


def corpus_files(data: Path) -> tuple[list[str], dict[str, dict[str, str]]]:
    """Every corpus file, and the references by set ({set: {file: reference text}})."""
    references = {
        "scrapinghub": scrapinghub_references(data / "web/html/scrapinghub"),
        "readability": readability_references(data / "web/html/readability"),
    }
    warcs = sorted(str(p) for g in WARCS for p in (data / "web/warc").glob(g))
    return [*references["scrapinghub"], *references["readability"], *warcs], references


def html_pages(files: list[str]) -> list[tuple[str, Document]]:
    """(file, document) for every HTML document of the files, in order."""
    return [(f, d) for f in files for d in read_documents(f, CORPUS)
            if isinstance(d, Document) and d.markup == "html"]  # fmt: skip


def cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


def run_stage(files: list[str], out_dir: str) -> tuple[dict, float]:
    pipeline = beam.Pipeline(options=PipelineOptions(["--direct_num_workers=1"]))
    segment_pipeline.build(pipeline, CORPUS.model_copy(update={"paths": files}),
                           SegmentConfig(), out_dir)  # fmt: skip
    start = cpu_seconds()
    counts = counts_from(run_and_count(pipeline))
    return counts, cpu_seconds() - start


def time_pages(pages: list[tuple[str, Document]], extract) -> tuple[list[float], dict[str, str]]:
    """Each page's CPU milliseconds under `extract(document) -> text`, and the texts by file."""
    times, texts = [], {}
    for path, doc in pages:
        start = time.process_time()
        text = extract(doc)
        times.append(1000 * (time.process_time() - start))
        texts[path] = f"{texts[path]}\n{text}" if path in texts else text
    return times, texts


def humpback_extractor():
    """humpback's segmenter alone: the kept sections' text of one document."""
    segmenter = SegmentFile(CORPUS, SegmentConfig())
    segmenter.setup()

    def extract(doc: Document) -> str:
        try:
            sections = segmenter.sections(doc)
        except Exception:  # noqa: BLE001 - a dead letter in the stage
            return ""
        kept = [s.text for s in sections if not drop_reason(s, segmenter.filters)]
        return "\n\n".join(kept)

    return extract


def trafilatura_extract(doc: Document) -> str:
    import trafilatura

    return trafilatura.extract(decode(doc.content, doc.charset, html=True)) or ""


def quantiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    if not ordered:
        return {}
    at = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {"median": round(at(0.5), 3), "p5": round(at(0.05), 3), "p95": round(at(0.95), 3)}


def quality(texts: dict[str, str], references: dict[str, str], pages: list[str] | None = None):
    rows = per_page(texts, {p: references[p] for p in (pages or references)})
    matched, found, truth = (sum(r[i] for r in rows.values()) for i in range(3))
    precisions = [r[0] / r[1] for r in rows.values() if r[1]]
    recalls = [r[0] / r[2] for r in rows.values() if r[2]]
    return {
        "pages": len(rows),
        "pages_with_text": len(precisions),
        "precision": round(matched / max(found, 1), 4),
        "recall": round(matched / max(truth, 1), 4),
        "precision_by_page": quantiles(precisions),
        "recall_by_page": quantiles(recalls),
    }


def profile_stage(files: list[str], out_dir: str, top: int = 25) -> tuple[str, dict]:
    """The stage under cProfile: the top functions by own time, and the share of CPU spent in
    segmenting documents (`SegmentFile.sections`) and in the filters."""
    profiler = cProfile.Profile()
    profiler.enable()
    run_stage(files, out_dir)
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = stats.total_tt
    shares = {}
    for (file, _, name), (_, _, _, cumulative, _) in stats.stats.items():
        if file.endswith("segment_pipeline.py") and name == "sections":
            shares["segmenting documents"] = cumulative / total
        if file.endswith("filters.py") and name == "drop_reason":
            shares["filters"] = shares.get("filters", 0) + cumulative / total
        if file.endswith("dedup.py") and name == "process":
            shares["dedup"] = shares.get("dedup", 0) + cumulative / total
    out = io.StringIO()
    stats.stream = out
    stats.sort_stats("tottime").print_stats(top)
    return out.getvalue(), {k: round(v, 3) for k, v in shares.items()}


def render_samples(out_dir: str, references: dict[str, str], n: int) -> list[str]:
    rows = [r for r in load_rows(f"{out_dir}/segments-*.parquet") if r["source_file"] in references]
    picked = random.Random(0).sample(rows, min(n, len(rows)))
    return [f"--- {r['url']}\n{r['text']}" for r in picked]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=os.environ.get("HUMPBACK_DATA", "../shared/data"))
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--profile", action="store_true", help="print the profile's top lines")
    args = parser.parse_args()
    data = Path(args.data).resolve()
    files, references = corpus_files(data)
    pages = html_pages(files)
    mb = sum(len(d.content) for _, d in pages) / 1e6
    print(f"{len(pages)} HTML pages, {mb:.1f} MB, from {len(files)} files", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        counts, stage_cpu = run_stage(files, f"{tmp}/stage")
        _, fixed_cpu = run_stage(files[:1], f"{tmp}/one-page")  # a pipeline's own start-up
        segments = by_page(load_rows(f"{tmp}/stage/segments-*.parquet"))
        h_ms, _ = time_pages(pages, humpback_extractor())
        t_ms, t_texts = time_pages(pages, trafilatura_extract)
        profile, shares = profile_stage(files, f"{tmp}/profiled")
        samples = render_samples(f"{tmp}/stage", references["scrapinghub"], args.samples)
    scrapinghub = references["scrapinghub"]
    kept = [p for p in scrapinghub if segments.get(p)]
    figures = {
        "pages": len(pages),
        "mb": round(mb, 2),
        "quality": {
            "scrapinghub": {"humpback": quality(segments, scrapinghub),
                            "trafilatura": quality(t_texts, scrapinghub)},
            "scrapinghub, pages where humpback keeps segments": {
                "humpback": quality(segments, scrapinghub, kept),
                "trafilatura": quality(t_texts, scrapinghub, kept)},
            "readability": {"humpback": quality(segments, references["readability"]),
                            "trafilatura": quality(t_texts, references["readability"])},
        },
        "speed": {
            "stage_mb_per_cpu_s": round(mb / stage_cpu, 2),
            "segmenter_mb_per_cpu_s": round(mb / (sum(h_ms) / 1000), 2),
            "trafilatura_mb_per_cpu_s": round(mb / (sum(t_ms) / 1000), 2),
            "stage_vs_trafilatura": round(sum(t_ms) / 1000 / stage_cpu, 2),
            # what a large corpus sees: the stage less the fixed cost of starting a pipeline
            "stage_marginal_mb_per_cpu_s": round(mb / (stage_cpu - fixed_cpu), 2),
            "stage_marginal_vs_trafilatura": round(sum(t_ms) / 1000 / (stage_cpu - fixed_cpu), 2),
            "segmenter_vs_trafilatura": round(sum(t_ms) / sum(h_ms), 2),
            "segmenter_ms_by_page": quantiles(h_ms),
            "trafilatura_ms_by_page": quantiles(t_ms),
            "stage_cpu_s": round(stage_cpu, 2),
            "stage_fixed_cpu_s": round(fixed_cpu, 2),
            "stage_cpu_shares": shares,
        },
        "counts": counts,
    }  # fmt: skip
    print(json.dumps(figures, indent=1))
    if args.profile:
        print(profile)
    print("\n".join(samples))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
