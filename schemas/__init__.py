"""Records that flow between stages, and the run config.

Imported as `humpback.schemas`: pyproject.toml maps this folder there (setuptools' package-dir),
so tools that read the tree see it as `schemas/`.
"""
