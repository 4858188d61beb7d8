"""Self-curation: turn scorer output into 1-5 scores, and select the candidates to keep."""
