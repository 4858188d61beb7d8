"""TRL training jobs from a JSON spec; never imports the pipelines.

Imported as `humpback.training`: pyproject.toml maps this folder there (setuptools' package-dir),
so tools that read the tree see it as `training/`.
"""
