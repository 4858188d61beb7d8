"""The `curate_t` pipeline: a scorer model rates every candidate; keep those scored >= k."""

import apache_beam as beam

from humpback.beam_pipelines.counting import count
from humpback.beam_pipelines.io.shards import read_shards, write_shards
from humpback.beam_pipelines.run_task import RunTask
from humpback.schemas.config import CurateConfig, TagsConfig
from humpback.schemas.records import SFTExample
from humpback.storage.shards import count_rows, shard_files
from humpback.tasks.score import Score
from humpback.tasks.tags import tagged


def keep_at_least(k: int):
    def keep(scored: dict) -> bool:
        count(f"score:{scored['score']}")
        if scored["score"] >= k:
            count("out")
            return True
        count("filtered:below_k")
        return False

    return keep


def to_sft_example(tags: TagsConfig):
    """A curated row: the instruction (web-tagged) asks, the segment answers."""

    def convert(scored: dict) -> dict:
        return SFTExample(
            messages=[
                *tagged(scored["instruction"], tags.augmented, tags.style),
                {"role": "assistant", "content": scored["text"]},
            ],
            source="augmented",
            score=scored["score"],
            iteration=scored["iteration"],
            segment_id=scored["id"],
            url=scored["url"],
        ).model_dump()

    return convert


def build(
    pipeline: beam.Pipeline,
    candidates: str,
    scorer_path: str,
    cfg: CurateConfig,
    iteration: int,
    tags: TagsConfig,
    out_dir: str,
    cache_dir: str | None = None,
) -> None:
    """Scored and curated shards from the candidates shards that the glob `candidates` matches."""
    task = Score(scorer_model=scorer_path, iteration=iteration, mode=cfg.mode)
    total = count_rows(shard_files(candidates))
    scored = read_shards(pipeline, candidates) | RunTask(
        f"curate_{iteration}", task, scorer_path, cfg, out_dir, total, cache_dir
    )
    curated = (
        scored
        | "Keep score >= k" >> beam.Filter(keep_at_least(cfg.k))
        | "To SFT rows" >> beam.Map(to_sft_example(tags))
    )
    write_shards(curated, out_dir, SFTExample)
