"""Parquet shards in Beam: a record type's shard set read into, or written from, a pipeline."""

import apache_beam as beam

from humpback.schemas.records import Record


def write_shards(pcoll: beam.PCollection, folder: str, record: type[Record], part: str = ""):
    """Write dict records as zstd Parquet shards: `<folder>/<record.shard>-SSSSS-of-NNNNN`, or
    `<record.shard>-<part>-SSSSS-of-NNNNN` for one part of a set written by several pipelines."""
    prefix = f"{record.shard}-{part}" if part else record.shard
    return pcoll | f"Write {record.shard}" >> beam.io.WriteToParquet(
        f"{folder.rstrip('/')}/{prefix}",
        schema=record.arrow_schema(),
        file_name_suffix=".parquet",
        codec="zstd",
    )


def read_shards(pipeline: beam.Pipeline, pattern: str) -> beam.PCollection:
    """The rows of the shard files a glob matches; matched on the workers, not at construction
    (a stage runs after the one that wrote them, and a job can be built offline)."""
    read = beam.io.ReadFromParquet(pattern, validate=False)
    return pipeline | f"Read {pattern.rsplit('/', 1)[-1]}" >> read
