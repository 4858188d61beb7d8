"""Peak memory and time of the segment stage as the corpus grows: the varied pages (the
scrapinghub and Readability pages and the sample WARCs' HTML responses) written as WARC files
in a temporary folder, 1x, 4x, 12x and 36x, each repetition under new URLs (hosts `rK.`), so
that every repetition is a copy the dedup must find.

    python -m tools.bench.segment_memory [--data ../shared/data] [--times 1 4 12 36]
                                         [--workers 2] [--json FILE]

Each size runs `humpback run --only segment` in a fresh process on Beam's local runner with
`--workers` worker processes; peak memory is the largest sum of the resident sets of the
process tree (sampled every 50 ms), stage time the manifest's wall time. Reported: per size
the HTML bytes, segments in and out, peak MB, seconds; and the growth of memory per GB of HTML
between the smallest and the largest size (a least-squares slope over all sizes).
"""

import argparse
import gzip
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import yaml
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from humpback.beam_pipelines.io.corpus import read_documents
from humpback.beam_pipelines.io.documents import Document
from humpback.schemas.config import CorpusConfig

ROOT = Path(__file__).resolve().parents[2]


def varied_pages(data: Path) -> list[tuple[str, bytes]]:
    """(URL, HTML bytes) of every varied page: scrapinghub, Readability, the WARCs' HTML."""
    pages = []
    for path in sorted((data / "web/html/scrapinghub/html").glob("*.html.gz")):
        pages.append((f"https://scrapinghub.example/{path.name[:16]}", gzip.decompress(
            path.read_bytes())))  # fmt: skip
    for path in sorted((data / "web/html/readability").glob("*/source.html")):
        pages.append((f"https://{path.parent.name}.example/", path.read_bytes()))
    corpus = CorpusConfig(paths=["-"])
    for path in sorted((data / "web/warc").glob("*.warc.gz")):
        for doc in read_documents(str(path), corpus):
            if isinstance(doc, Document) and doc.markup == "html" and doc.url.startswith("http"):
                content = doc.content if isinstance(doc.content, bytes) else doc.content.encode()
                pages.append((doc.url, content))
    return pages


def write_corpus(pages: list[tuple[str, bytes]], times: int, folder: Path) -> int:
    """One WARC file per repetition, each page under the host `rK.<host>`; the HTML bytes."""
    total = 0
    for k in range(times):
        with open(folder / f"rep-{k:03d}.warc.gz", "wb") as out:
            writer = WARCWriter(out, gzip=True)
            for url, html in pages:
                scheme, _, rest = url.partition("://")
                headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html")],
                                           protocol="HTTP/1.1")  # fmt: skip
                record = writer.create_warc_record(f"{scheme}://r{k}.{rest}", "response",
                                                   payload=_stream(html), http_headers=headers)
                writer.write_record(record)  # fmt: skip
                total += len(html)
    return total


def _stream(data: bytes):
    import io

    return io.BytesIO(data)


def peak_tree_rss(process: subprocess.Popen) -> tuple[int, float]:
    """Wait for the process; the largest resident set of its tree, and its wall seconds."""
    peak, start, root = 0, time.monotonic(), psutil.Process(process.pid)
    done = threading.Event()

    def sample():
        nonlocal peak
        while not done.is_set():
            try:
                tree = [root, *root.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
            except psutil.Error:
                pass
            time.sleep(0.05)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    process.wait()
    done.set()
    thread.join()
    return peak, time.monotonic() - start


def run_size(pages, times: int, data: Path, workers: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "corpus").mkdir()
        html = write_corpus(pages, times, folder / "corpus")
        config = {"run_dir": str(folder / "run"), "seed": {"path": str(data / "seed" /
                  "oasst_first_turn_rank0.jsonl")},
                  "corpus": {"paths": [str(folder / "corpus" / "*.warc.gz")]}}  # fmt: skip
        (folder / "config.yaml").write_text(yaml.safe_dump(config))
        command = [sys.executable, "-m", "humpback", "run", str(folder / "config.yaml"),
                   "--only", "segment", "--", f"--direct_num_workers={workers}",
                   "--direct_running_mode=multi_processing"]  # fmt: skip
        process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, text=True)  # fmt: skip
        peak, wall = peak_tree_rss(process)
        if process.returncode != 0:
            raise RuntimeError(process.stderr.read()[-2000:])
        manifest = json.loads((folder / "run/segment/manifest.json").read_text())
        c = manifest["counts"]
        return {"times": times, "html_mb": round(html / 1e6, 1), "in": c["in"], "out": c["out"],
                "duplicates": c["duplicates"], "peak_mb": round(peak / 1e6),
                "stage_s": manifest["wall_s"], "process_s": round(wall, 1)}  # fmt: skip


def slope(xs: list[float], ys: list[float]) -> float:
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mx) ** 2 for x in xs)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared/data")
    parser.add_argument("--times", type=int, nargs="+", default=[1, 4, 12, 36])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    pages = varied_pages(args.data)
    print(f"{len(pages)} varied pages, repeated under new hosts in a temporary folder")
    rows = []
    for times in args.times:
        rows.append(run_size(pages, times, args.data, args.workers))
        print(json.dumps(rows[-1]), flush=True)
    gb = [r["html_mb"] / 1000 for r in rows]
    result = {"pages": len(pages), "workers": args.workers, "sizes": rows}
    if len(rows) > 1:
        result["mb_per_gb_html"] = round(slope(gb, [r["peak_mb"] for r in rows]), 1)
        result["s_per_gb_html"] = round(slope(gb, [r["stage_s"] for r in rows]), 1)
    print(json.dumps({k: v for k, v in result.items() if k != "sizes"}))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
