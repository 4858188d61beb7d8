"""The fault corpus: broken and hostile files, and the table of what segmenting does with them.

`python -m tools.faults [FOLDER]` writes the corpus, segments each file alone in a fresh process
(Beam's local runner) and prints, per fault: the records it holds, what became of them (kept,
filtered, dead-lettered, with the reasons), whether the counts reconcile, the peak memory and the
slowest document's time. `tests/test_faults.py` runs the same files in CI.
"""

import gzip
import json
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

import zstandard

from humpback.schemas.config import SegmentConfig

SENTENCES = [
    "Tomatoes need deep watering twice a week rather than a little every day.",
    "Water at the base of the plant in the morning so that the leaves dry before evening.",
    "A layer of straw mulch keeps the soil moist and stops soil splashing onto the leaves.",
    "Plants in pots dry out faster and may need water daily during a heat wave.",
    "Yellow lower leaves often mean too much water, while curled leaves can mean too little.",
    "Cracked fruit usually follows a heavy rain after a long dry spell.",
    "Drip irrigation on a timer gives the most even moisture with the least effort.",
]
BODY = " ".join(SENTENCES)
PAGE = f"<html><body><h1>Watering tomatoes</h1><p>{BODY}</p></body></html>"
MEMORY_CAP_MB = 1500  # peak resident memory of a process segmenting any one fault file
BUDGET_S = SegmentConfig().document_budget_s  # no document may take longer


def _rows(n: int, start: int = 0) -> bytes:
    return b"".join(
        json.dumps({"id": f"r{i}", "text": f"# Watering, part {i}\n\n{_varied(i)}"}).encode()
        + b"\n"
        for i in range(start, start + n)
    )


def _varied(i: int) -> str:
    return " ".join(SENTENCES[(i + k) % len(SENTENCES)] + f" (note {i}.{k})" for k in range(7))


def _bomb_gzip(size: int) -> bytes:
    z = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: a gzip stream
    chunk = b"\0" * (1 << 20)
    return b"".join(z.compress(chunk) for _ in range(size >> 20)) + z.flush()


def _bomb_zstd(size: int) -> bytes:
    z = zstandard.ZstdCompressor(level=19).compressobj()
    chunk = b"\0" * (1 << 20)
    return b"".join(z.compress(chunk) for _ in range(size >> 20)) + z.flush()


def make_fault_corpus(folder: Path) -> dict[str, str]:
    """Write every fault file into `folder`; returns file name -> what the fault is."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = _rows(50)
    gz, zst = gzip.compress(rows), zstandard.ZstdCompressor().compress(rows)
    corrupt = bytearray(zst)
    corrupt[len(corrupt) // 2 : len(corrupt) // 2 + 64] = b"\xff" * 64
    files = {
        "truncated.jsonl.gz": (gz[: len(gz) // 2], "half of a 50-record gzip file"),
        "truncated.jsonl.zst": (zst[: len(zst) // 2], "half of a 50-record zstd file"),
        "corrupt.jsonl.gz": (gz[:40] + b"\x00garbage" * 8 + gz[104:], "gzip bytes overwritten"),
        "corrupt.jsonl.zst": (bytes(corrupt), "zstd bytes overwritten"),
        "invalid-json.jsonl": (
            _rows(3) + b'{"id": "x", "text": \n' + b"[1, 2]\n" + b'{"id": 5}\n' + _rows(2, 3),
            "a cut JSON line, an array, a record without text, among good rows",
        ),
        "invalid-utf8.jsonl": (
            _rows(2) + b'{"id": "u", "text": "caf\xe9 \xff\xfe"}\n' + _rows(1, 2),
            "a line of invalid UTF-8 among good rows",
        ),
        "huge-record.jsonl": (
            _rows(1) + json.dumps({"id": "big", "text": "x" * (100 << 20)}).encode() + b"\n"
            + _rows(1, 1),
            "a single 100 MB record between two good ones",
        ),
        "empty.jsonl": (b"", "an empty file"),
        "empty-records.jsonl": (b"\n\n{}\n" + b'{"id": "e", "text": ""}\n' + _rows(1),
                                "blank lines, an empty object, an empty text"),
        "empty.html": (b"", "an empty HTML file"),
        "deep.html": (
            b"<html><body><h1>Deep</h1>" + b"<div class='c'>x " * 100_000 + b"</div>" * 100_000
            + b"</body></html>",
            "100,000 nested elements (1.8 MB)",
        ),
        "many-attributes.html": (
            b"<html><body><h1>A</h1><div " + b" ".join(b"a%d=1" % i for i in range(100_000))
            + b"></div></body></html>",
            "an element with 100,000 attributes",
        ),
        "binary-body.warc": (_warc_binary(), "a response of random bytes served as text/html"),
        "nul-bytes.jsonl": (
            json.dumps({"id": "n", "text": f"# NUL\n\n{BODY}\0\0{BODY}"}).encode() + b"\n"
            + b"\0" * 4096 + b"\n" + _rows(1),
            "NUL characters in a text, a line of NUL bytes",
        ),
        "nul-bytes.html": (PAGE.replace("<p>", "<p>\0\0").encode() + b"\0" * 1024,
                           "NUL bytes in a page"),
        "surrogates.jsonl": (
            _rows(1) + b'{"id": "s\\udcff", "url": "https://e.org/\\ud800", "text": "# Broken '
            b'emoji \\ud83d\\n\\n' + _varied(50).encode() + b' \\ude00"}\n' + _rows(1, 1),
            "lone surrogate escapes in a text, an id and a URL (valid JSON) among good rows",
        ),
        "controls.html": (
            ("<html><body><h1>Watering\u202e tomatoes&#x1b;[2J</h1><p>\x1b]0;pwned\x07"
             + _varied(60).replace(". ", ".\u200b\x1b[31m ")
             + "&#x202E;&#7;</p></body></html>").encode(),
            "terminal escapes, a bidi override, zero-width spaces and control characters, raw "
            "and as entities",
        ),
        "bomb.jsonl.gz": (_bomb_gzip(1 << 30), "1 GiB of zeros in gzip"),
        "bomb.jsonl.zst": (_bomb_zstd(1 << 30), "1 GiB of zeros in zstd"),
    }  # fmt: skip
    for name, (data, _) in files.items():
        (folder / name).write_bytes(data)
    return {name: what for name, (_, what) in files.items()}


def _warc_binary() -> bytes:
    import io
    import random

    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    out = io.BytesIO()
    writer = WARCWriter(out, gzip=False)
    body = random.Random(0).randbytes(200_000)
    headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
    record = writer.create_warc_record("https://example.com/binary", "response",
                                       payload=io.BytesIO(body), http_headers=headers)  # fmt: skip
    writer.write_record(record)
    return out.getvalue()


SEGMENT_ONE = """
import json, sys, time
from humpback.beam_pipelines import segment_pipeline
from humpback.beam_pipelines.counting import counters, maxima
from humpback.run.beam_run import new_pipeline
from humpback.run.manifest import counts_from
from humpback.run.memory import peak_resident_bytes
from humpback.schemas.config import CorpusConfig, SegmentConfig
from humpback.storage.shards import load_rows
files, out = json.loads(sys.argv[1]), sys.argv[2]
pipeline = new_pipeline()
segment_pipeline.build(pipeline, CorpusConfig(paths=files), SegmentConfig(), out)
start = time.monotonic()
result = pipeline.run()
result.wait_until_finish()
raw = counters(result)
print(json.dumps({
    "counts": counts_from(raw), "raw": raw, "wall_s": time.monotonic() - start,
    "slowest_document_ms": maxima(result).get("document_ms", 0),
    "peak_mb": peak_resident_bytes() / 2**20,
    "dead": [{k: d[k] for k in ("input_id", "error", "message")}
             for d in load_rows(out + "/dead_letter-*.parquet")],
    "segments": len(load_rows(out + "/segments-*.parquet")),
}))
"""


def segment_in_process(files: list[str], out_dir: str) -> dict:
    """Segment `files` in a fresh Python process: its counts (reconciled, or it fails), dead
    letters, segment count, slowest document, wall time and peak memory."""
    done = subprocess.run([sys.executable, "-c", SEGMENT_ONE, json.dumps(files), out_dir],
                          capture_output=True, text=True)  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp()) / "faults"
    faults = make_fault_corpus(folder)
    print("| fault | records | kept | filtered | dead-lettered (reason) | normalised | reconciles |"
          " peak MB | slowest document ms | pipeline s |\n"
          "|---|---|---|---|---|---|---|---|---|---|")  # fmt: skip
    for name, what in faults.items():
        result = segment_in_process([str(folder / name)], f"{folder}.out/{name}")
        c = result["counts"]
        reasons = sorted({d["error"] for d in result["dead"]})
        filtered = ", ".join(f"{k} {v}" for k, v in sorted(c["filtered"].items()))
        docs = result["raw"].get("documents", 0)
        normalised = ", ".join(
            f"{k.split(':', 1)[1]} {v}" for k, v in sorted(c["detail"].items())
            if k.startswith("normalised:")
        )  # fmt: skip
        print(f"| {name}: {what} | {docs} documents, {c['in']} in | {c['out']} | "
              f"{filtered or 0} | {c['dead_lettered']} {' '.join(reasons)} "
              f"| {normalised or '-'} | yes "
              f"| {result['peak_mb']:.0f} | {result['slowest_document_ms']} "
              f"| {result['wall_s']:.1f} |")  # fmt: skip


if __name__ == "__main__":
    main()
