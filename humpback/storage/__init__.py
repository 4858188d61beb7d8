"""Storage: every path an fsspec URL; folders, small files and Parquet shards. No Beam."""
