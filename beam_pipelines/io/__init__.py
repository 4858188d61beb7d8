"""Readers of the corpus and writers of shards."""
