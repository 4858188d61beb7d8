"""Parquet shard sets `<folder>/<shard>-SSSSS-of-NNNNN.parquet`, read and written without Beam."""

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from humpback.schemas.records import Record


def shard_pattern(folder: str, shard: str) -> str:
    """The glob of a shard set: what a reader of `shard` in `folder` reads."""
    return f"{folder.rstrip('/')}/{shard}-*.parquet"


def shard_files(pattern: str) -> list[str]:
    """The files a shard glob matches, as URLs when remote."""
    fs, _, paths = fsspec.get_fs_token_paths(pattern)
    return sorted(fs.unstrip_protocol(p) if "://" in pattern else p for p in paths)


def read_parquet_rows(url: str) -> list[dict]:
    """The rows of one Parquet file (any fsspec URL), in memory.

    Read on the calling thread: a threaded read through a Python file object leaves work in
    pyarrow's thread pool that aborts the interpreter at exit (apache/arrow#33975, #50482).
    """
    with fsspec.open(url, "rb") as f:
        return pq.read_table(f, use_threads=False).to_pylist()


def load_rows(pattern: str) -> list[dict]:
    """Every row of a shard set, in memory (for small sets: seed pairs, curated data)."""
    return [row for path in shard_files(pattern) for row in read_parquet_rows(path)]


def count_rows(files: list[str]) -> int:
    """Rows in a shard set, from the Parquet footers alone."""
    total = 0
    for url in files:
        with fsspec.open(url, "rb") as f:
            total += pq.ParquetFile(f).metadata.num_rows
    return total


def write_rows(rows: list[dict], folder: str, record: type[Record]) -> str:
    """In-memory rows as one shard, named as Beam names its shards; returns its path."""
    path = f"{folder.rstrip('/')}/{record.shard}-00000-of-00001.parquet"
    fs, _, (local,) = fsspec.get_fs_token_paths(path)
    fs.makedirs(local.rsplit("/", 1)[0], exist_ok=True)
    with fs.open(local, "wb") as f:
        pq.write_table(
            pa.Table.from_pylist(rows, schema=record.arrow_schema()), f, compression="zstd"
        )
    return path
