"""The `curate_t` pipeline: a scorer model rates every candidate; keep those that pass.

The rubric keeps a score >= k; the likelihood thresholds keep a PMI >= min_pmi (recorded by
augment) and an IFD <= max_ifd under the scorer; `combined` asks for both.
"""

import apache_beam as beam

from humpback.beam_pipelines.counting import count
from humpback.beam_pipelines.io.shards import read_shards, write_shards
from humpback.beam_pipelines.run_task import chain_tasks, write_task_outputs
from humpback.schemas.config import CurateConfig, TagsConfig
from humpback.schemas.records import Scored, SFTExample
from humpback.tasks.eval_overlap import EvalOverlap
from humpback.tasks.likelihood import AnswerIFD
from humpback.tasks.score import Score
from humpback.tasks.tags import tagged


def keep_passing(cfg: CurateConfig, overlap: EvalOverlap | None = None):
    """Keep a candidate that passes the mode's thresholds and overlaps no evaluation prompt."""

    def keep(scored: dict) -> bool:
        if scored["score"] is not None:
            count(f"score:{scored['score']}")
        reason = cfg.why_dropped(scored["score"], scored["pmi"], scored["ifd"])
        if reason is None and overlap is not None and overlap(scored["instruction"]):
            reason = "eval_overlap"
        count(f"filtered:{reason}" if reason else "out")
        return reason is None

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
            pmi=scored["pmi"],
            ifd=scored["ifd"],
        ).model_dump()

    return convert


def scoring_tasks(cfg: CurateConfig, scorer_path: str, iteration: int) -> list:
    """The tasks the mode runs with the scorer, in order."""
    tasks = []
    if cfg.rubric:
        tasks.append(Score(scorer_model=scorer_path, iteration=iteration, mode=cfg.rubric))
    if cfg.uses_likelihood:
        tasks.append(AnswerIFD(scorer_model=scorer_path, iteration=iteration))
    return tasks


def build(
    pipeline: beam.Pipeline,
    candidates: str,
    scorer_path: str,
    cfg: CurateConfig,
    iteration: int,
    tags: TagsConfig,
    out_dir: str,
    cache_dir: str | None = None,
    overlap: EvalOverlap | None = None,
    total: int | None = None,
) -> None:
    """Scored and curated shards from the candidates shards that the glob `candidates` matches
    (`total` of them, for progress); a candidate whose instruction overlaps an evaluation
    prompt (`overlap`) is not kept."""
    outputs = chain_tasks(
        read_shards(pipeline, candidates), f"curate_{iteration}",
        scoring_tasks(cfg, scorer_path, iteration), scorer_path, cfg, total, cache_dir,
    )  # fmt: skip
    curated = (
        write_task_outputs(outputs, out_dir, Scored)
        | "Keep passing" >> beam.Filter(keep_passing(cfg, overlap))
        | "To SFT rows" >> beam.Map(to_sft_example(tags))
    )
    write_shards(curated, out_dir, SFTExample)
