"""Cut web pages into self-contained segments under their headers, and filter them
(`humpback.beam_pipelines.segment`)."""
