"""wordllama's bundled embedding model (static token embeddings, no download): similar texts for
choosing demonstrations and for the measures' cosines."""

from functools import cache, lru_cache
from pathlib import Path

import numpy as np


@cache
def embedder():
    """The bundled model, loaded once per process."""
    import wordllama

    return wordllama.WordLlama.load(
        cache_dir=Path(wordllama.__file__).parent, disable_download=True
    )


@lru_cache(maxsize=4)  # a pool, asked again for every segment
def _embed_cached(texts: tuple[str, ...]) -> np.ndarray:
    return np.asarray(embedder().embed(list(texts), norm=True))


def embed(texts: tuple[str, ...]) -> np.ndarray:
    """Unit vectors of `texts`, one row each (a pool's embedding is computed once)."""
    return _embed_cached(tuple(t or " " for t in texts))
