"""Readers of the corpus and writers of shards (`humpback.beam_pipelines.io`)."""
