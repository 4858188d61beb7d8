"""The segment stage against trafilatura on varied real pages: quality, speed, and the profile.

    python -m tools.bench.segment_bench [--data ../shared/data] [--repeats 3] [--json FILE]
                                        [--samples 10] [--profile]

Every page is read once per pass; no sample is repeated within a pass. Each pass runs in a fresh
process (caches as cold as real mixes make them), and each figure is the median of `--repeats`
passes, so one noisy pass on a shared machine does not make the figure.
Pages: the scrapinghub article benchmark (181 pages, human-made article bodies), the Readability
test pages (Readability's extraction as reference) and the HTML responses of the sample WARCs
(English, Common Crawl excerpts, Japanese ClueWeb09). In one run:
- quality: word precision and recall of humpback's kept segments and of `trafilatura.extract`
  against each page's reference, micro-averaged and as a distribution over pages (median,
  5th and 95th percentiles); on scrapinghub also on the pages where humpback keeps segments;
- speed per core: MB of HTML per CPU-second for the whole segment stage (Beam's local runner, one
  worker: read, decode, segment, filter, dedup, Parquet shards; also less the fixed CPU cost of
  starting a pipeline, measured on one page, as a large corpus sees it), for the stage's own work
  (the stage again with each document's sections worked out beforehand and looked up: what it
  costs at the margin with a segmenter that costs nothing), for the segmenter alone
  (decode, parse, boilerplate, sections, filters), for trafilatura and resiliparse (decode,
  extract; resiliparse if installed) and for reading the files (decompress, WARC records), with
  each page's milliseconds (median, 95th percentile), and the segmenter's CPU by step (parse,
  removal by tag, furniture, the walk, ...). The stage reads its files; the extractors are given
  the pages, so their speed with the same reading is reported too;
- the profile of the whole stage (cProfile, run apart from the timed run): where its CPU goes;
- `--samples` random scrapinghub segments, rendered as they go into training.
"""

import argparse
import cProfile
import gc
import io
import json
import os
import pstats
import random
import statistics
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from importlib.util import find_spec
from multiprocessing import get_context
from pathlib import Path

from apache_beam.options.pipeline_options import PipelineOptions

from humpback.beam_pipelines import segment_pipeline
from humpback.beam_pipelines.counting import run_and_count
from humpback.beam_pipelines.io.corpus import read_documents
from humpback.beam_pipelines.io.documents import Document, cleaned
from humpback.beam_pipelines.segment.charsets import decode
from humpback.beam_pipelines.segment.deadline import Deadline
from humpback.beam_pipelines.segment.filters import drop_reason
from humpback.beam_pipelines.segment_pipeline import SegmentFile
from humpback.run.beam_run import new_pipeline
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


def collected_cpu_seconds() -> float:
    """CPU seconds so far, after a full garbage collection: the first full collection after the
    imports (0.1 s) is charged to no pass, rather than to whichever pass happens to start it."""
    gc.collect()
    return cpu_seconds()


def in_fresh_process(function, *args):
    """function(*args) in a new Python process: no cache or warm allocator from another pass."""
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


def run_stage(files: list[str], out_dir: str) -> tuple[dict, float]:
    """The stage's counts and CPU seconds, from building the pipeline to its last shard."""
    start = collected_cpu_seconds()
    pipeline = new_pipeline(PipelineOptions(["--direct_num_workers=1"]))
    segment_pipeline.build(pipeline, CORPUS.model_copy(update={"paths": files}),
                           SegmentConfig(), out_dir)  # fmt: skip
    counts = counts_from(run_and_count(pipeline))
    return counts, cpu_seconds() - start


def run_stage_looked_up(files: list[str], out_dir: str) -> tuple[dict, float]:
    """`run_stage` with every document's sections worked out beforehand and looked up: the
    stage's own work (reading, normalising, filters, records, dedup, shards, Beam), as with a
    segmenter that costs nothing. Only this pass's own process has the lookup."""
    segmenter = SegmentFile(CORPUS, SegmentConfig())
    segmenter.setup()
    found: dict[tuple[str, int], list | Exception] = {}
    for path in files:
        for doc in read_documents(path, CORPUS):
            if isinstance(doc, Document) and doc.markup:
                try:
                    found[doc.source_file, doc.record_offset] = segmenter.sections(
                        cleaned(doc, CORPUS.text)[0])
                except Exception as err:  # noqa: BLE001 - raised again where the stage asks
                    found[doc.source_file, doc.record_offset] = err

    def looked_up(self, doc: Document, deadline: Deadline | None = None) -> list:
        sections = found[doc.source_file, doc.record_offset]
        if isinstance(sections, Exception):
            raise sections
        return sections

    SegmentFile.sections = looked_up
    return run_stage(files, out_dir)


def read_cpu(files: list[str]) -> float:
    """CPU seconds to read every document of the files (decompress, parse WARC records)."""
    start = collected_cpu_seconds()
    for path in files:
        for _ in read_documents(path, CORPUS):
            pass
    return cpu_seconds() - start


def time_extractor(files: list[str], name: str) -> tuple[list[float], dict[str, str]]:
    """Each HTML page's CPU milliseconds under the named extractor, and its texts by file."""
    return time_pages(html_pages(files), EXTRACTORS[name]())


def time_pages(pages: list[tuple[str, Document]], extract) -> tuple[list[float], dict[str, str]]:
    """Each page's CPU milliseconds under `extract(document) -> text`, and the texts by file."""
    times, texts = [], {}
    gc.collect()
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


class PartClock(Deadline):
    """No budget: the CPU seconds of each step of segmenting, summed over documents by the label
    of the check that ends the step (the walk checks every 4,096 nodes)."""

    def __init__(self, parts: dict[str, float]):
        super().__init__(float("inf"))
        self.parts, self.last = parts, time.process_time()

    def check(self, step: str) -> None:
        now = time.process_time()
        self.parts[step] = self.parts.get(step, 0.0) + now - self.last
        self.last = now


def segmenter_parts(files: list[str]) -> dict[str, float]:
    """The segmenter's CPU seconds over every HTML page, by step: decoding to UTF-8, the markup
    check, lexbor's parse, removal by tag, role and hidden (CSS selectors), furniture by class
    and id, the walk and the sections, the filters."""
    segmenter = SegmentFile(CORPUS, SegmentConfig())
    segmenter.setup()
    parts: dict[str, float] = {}
    for _, doc in html_pages(files):
        clock = PartClock(parts)
        try:
            sections = segmenter.sections(doc, clock)
        except Exception:  # noqa: BLE001 - a dead letter in the stage
            continue
        clock.check("reading blocks")  # the walk's last nodes and the sections
        for section in sections:
            drop_reason(section, segmenter.filters)
        clock.check("filters")
    return parts


def trafilatura_extractor():
    import trafilatura

    return lambda doc: trafilatura.extract(decode(doc.content, doc.charset, html=True)) or ""


def resiliparse_extractor():
    """Resiliparse's main-content text (lexbor's C tree and its boilerplate rules)."""
    from resiliparse.extract.html2text import extract_plain_text

    return lambda doc: extract_plain_text(decode(doc.content, doc.charset), main_content=True)


EXTRACTORS = {
    "humpback": humpback_extractor,
    "trafilatura": trafilatura_extractor,
    "resiliparse": resiliparse_extractor,
}


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


def timed_passes(files: list[str], tools: list[str], repeats: int, tmp: str) -> dict:
    """Each pass in fresh processes, the passes interleaved: the stage, a one-page stage (a
    pipeline's fixed cost), reading alone, and each extractor over every page."""
    passes: dict[str, list] = {"stage": [], "fixed": [], "own": [], "reading": [], "parts": [],
                               **{t: [] for t in tools}}  # fmt: skip
    for i in range(repeats):
        passes["stage"].append(in_fresh_process(run_stage, files, f"{tmp}/stage-{i}"))
        passes["fixed"].append(in_fresh_process(run_stage, files[:1], f"{tmp}/one-page-{i}")[1])
        own = in_fresh_process(run_stage_looked_up, files, f"{tmp}/looked-up-{i}")
        if own[0] != passes["stage"][-1][0]:
            raise AssertionError(f"looked-up sections made other counts: {own[0]}")
        passes["own"].append(own[1])
        passes["reading"].append(in_fresh_process(read_cpu, files))
        passes["parts"].append(in_fresh_process(segmenter_parts, files))
        for tool in tools:
            passes[tool].append(in_fresh_process(time_extractor, files, tool))
        print(f"pass {i + 1} of {repeats}: stage {passes['stage'][-1][1]:.2f} CPU s", flush=True)
    return passes


def speed(mb: float, passes: dict, tools: list[str]) -> dict:
    """MB per CPU-second and the stage's ratios to each extractor, from the passes' medians (an
    extractor's time is the sum of its pages' median milliseconds)."""
    cpu = {
        "stage": statistics.median(c for _, c in passes["stage"]),
        "stage_fixed": statistics.median(passes["fixed"]),
        "reading": statistics.median(passes["reading"]),
    }
    cpu["stage_marginal"] = cpu["stage"] - cpu["stage_fixed"]  # what a large corpus sees
    # the stage's own work at the margin: its marginal cost with a segmenter that costs nothing
    cpu["stage_own_marginal"] = statistics.median(passes["own"]) - cpu["stage_fixed"]
    by_page = {t: [statistics.median(ms) for ms in zip(*(p[0] for p in passes[t]), strict=True)]
               for t in tools}  # fmt: skip
    cpu |= {t: sum(ms) / 1000 for t, ms in by_page.items()}
    stage_vs = {}
    for tool in tools[1:]:  # the baselines
        with_reading = cpu[tool] + cpu["reading"]
        stage_vs[tool] = {
            "extract only": round(cpu[tool] / cpu["stage"], 2),
            "with reading": round(with_reading / cpu["stage"], 2),
            "with reading, marginal": round(with_reading / cpu["stage_marginal"], 2),
            "with reading, marginal, segmenter at no cost": round(
                with_reading / cpu["stage_own_marginal"], 2),
        }
    stage_vs["humpback segmenter vs trafilatura"] = round(cpu["trafilatura"] / cpu["humpback"], 2)
    parts = {step: round(statistics.median(p.get(step, 0.0) for p in passes["parts"]), 3)
             for step in passes["parts"][0]}  # fmt: skip
    return {
        "passes": len(passes["stage"]),
        "stage_cpu_s_each_pass": [round(c, 2) for _, c in passes["stage"]],
        "looked_up_stage_cpu_s_each_pass": [round(c, 2) for c in passes["own"]],
        "fixed_cpu_s_each_pass": [round(c, 2) for c in passes["fixed"]],
        "cpu_s": {k: round(v, 2) for k, v in cpu.items()},
        "mb_per_cpu_s": {k: round(mb / v, 2) for k, v in cpu.items()},
        "stage_vs": stage_vs,
        "ms_by_page": {t: quantiles(ms) for t, ms in by_page.items()},
        "segmenter_cpu_s_by_step": parts,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=os.environ.get("HUMPBACK_DATA", "../shared/data"))
    parser.add_argument("--repeats", type=int, default=3, help="passes; figures are medians")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--profile", action="store_true", help="print the profile's top lines")
    args = parser.parse_args()
    data = Path(args.data).resolve()
    files, references = corpus_files(data)
    pages = html_pages(files)
    mb = sum(len(d.content) for _, d in pages) / 1e6
    tools = ["humpback", "trafilatura"] + (["resiliparse"] if find_spec("resiliparse") else [])
    print(f"{len(pages)} HTML pages, {mb:.1f} MB, from {len(files)} files; {tools}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        passes = timed_passes(files, tools, args.repeats, tmp)
        segments = by_page(load_rows(f"{tmp}/stage-0/segments-*.parquet"))
        profile, shares = in_fresh_process(profile_stage, files, f"{tmp}/profiled")
        samples = render_samples(f"{tmp}/stage-0", references["scrapinghub"], args.samples)
    texts = {t: passes[t][0][1] for t in tools[1:]} | {"humpback": segments}
    scrapinghub, readability = references["scrapinghub"], references["readability"]
    kept = [p for p in scrapinghub if segments.get(p)]
    figures = {
        "pages": len(pages),
        "mb": round(mb, 2),
        "quality": {
            "scrapinghub": {t: quality(x, scrapinghub) for t, x in texts.items()},
            "scrapinghub, pages where humpback keeps segments": {
                t: quality(x, scrapinghub, kept) for t, x in texts.items()},
            "readability": {t: quality(x, readability) for t, x in texts.items()},
        },
        "speed": speed(mb, passes, tools) | {"stage_cpu_shares": shares},
        "counts": passes["stage"][0][0],
    }  # fmt: skip
    print(json.dumps(figures, indent=1))
    if args.profile:
        print(profile)
    print("\n".join(samples))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
