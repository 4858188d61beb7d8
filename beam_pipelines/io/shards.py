"""Parquet shards of records: Beam writers for pipelines, plain readers for everything else."""

import apache_beam as beam
import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from schemas.records import Record


def write_shards(pcoll: beam.PCollection, directory: str, name: str, record: type[Record]):
    """Write dict records as zstd Parquet shards `<directory>/<name>-SSSSS-of-NNNNN.parquet`."""
    return pcoll | f"Write {name}" >> beam.io.WriteToParquet(
        f"{directory}/{name}",
        schema=record.arrow_schema(),
        file_name_suffix=".parquet",
        codec="zstd",
    )


def read_shards(pipeline: beam.Pipeline, directory: str, name: str) -> beam.PCollection:
    return pipeline | f"Read {name}" >> beam.io.ReadFromParquet(f"{directory}/{name}-*.parquet")


def shard_files(directory: str, name: str) -> list[str]:
    fs, _, paths = fsspec.get_fs_token_paths(f"{directory}/{name}-*.parquet")
    return sorted(fs.unstrip_protocol(p) if "://" in directory else p for p in paths)


def load_rows(directory: str, name: str) -> list[dict]:
    """Read every row of a shard set into memory (for small sets: seed pairs, curated data)."""
    rows: list[dict] = []
    for path in shard_files(directory, name):
        with fsspec.open(path, "rb") as f:
            rows.extend(pq.read_table(f).to_pylist())
    return rows


def write_rows(rows: list[dict], directory: str, name: str, record: type[Record]) -> str:
    """Write in-memory rows as one Parquet shard named like the Beam writers' shards."""
    path = f"{directory}/{name}-00000-of-00001.parquet"
    fs, _, (local,) = fsspec.get_fs_token_paths(path)
    fs.makedirs(directory, exist_ok=True)
    with fs.open(local, "wb") as f:
        pq.write_table(
            pa.Table.from_pylist(rows, schema=record.arrow_schema()), f, compression="zstd"
        )
    return path
