"""Beam pipelines: the segment pipeline, and the one task pipeline of every model stage.

Imported as `humpback.beam_pipelines`: pyproject.toml maps this folder there (setuptools'
package-dir), so tools that read the tree see it as `beam_pipelines/`.
"""
