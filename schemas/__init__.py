"""Records that flow between stages, and the run config."""
