"""Parquet shards in Beam: a record type's shard set read into, or written from, a pipeline."""

import apache_beam as beam

from humpback.schemas.records import Record


def write_shards(pcoll: beam.PCollection, folder: str, record: type[Record]):
    """Write dict records as zstd Parquet shards: `<folder>/<record.shard>-SSSSS-of-NNNNN`."""
    return pcoll | f"Write {record.shard}" >> beam.io.WriteToParquet(
        f"{folder.rstrip('/')}/{record.shard}",
        schema=record.arrow_schema(),
        file_name_suffix=".parquet",
        codec="zstd",
    )


def read_shards(pipeline: beam.Pipeline, pattern: str) -> beam.PCollection:
    """The rows of the shard files a glob matches."""
    return pipeline | f"Read {pattern.rsplit('/', 1)[-1]}" >> beam.io.ReadFromParquet(pattern)
