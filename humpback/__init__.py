"""humpback: instruction backtranslation (Li et al. 2023) as Beam pipelines and TRL jobs.

Layers, imports pointing down only (a contract in CI keeps it so):
  run                              the stage graph, planning, manifests, the `humpback` command
  beam_pipelines | training        Beam pipelines; TRL jobs
  tasks                            one file per model step: prompt in, record out
  storage | inference              fsspec files and shards; inference backends and models
  schemas                          records and the run config
"""
