"""The tail of `curate_t`, after its scorer has rated every candidate: keep those that pass,
as SFT rows.

The rubric keeps a score >= k; the likelihood thresholds keep a PMI >= min_pmi (recorded by
augment), an IFD <= max_ifd under the scorer and, where set, an instruction's embedding cosine
with its segment's opening >= min_similarity; `combined` asks for both.
"""

import apache_beam as beam

from humpback.beam_pipelines.counting import count
from humpback.beam_pipelines.io.shards import write_shards
from humpback.beam_pipelines.task_pipeline import Tail
from humpback.schemas.config import CurateConfig, TagsConfig
from humpback.schemas.records import SFTExample
from humpback.tasks.eval_overlap import EvalOverlap
from humpback.tasks.similarity import instruction_similarity
from humpback.tasks.tags import tagged


def keep_passing(cfg: CurateConfig, overlap: EvalOverlap | None = None):
    """Keep a candidate that passes the mode's thresholds and overlaps no evaluation prompt."""

    def keep(scored: dict) -> bool:
        if scored["score"] is not None:
            count(f"score:{scored['score']}")
        similarity = None
        if cfg.uses_likelihood and cfg.min_similarity is not None:
            similarity = instruction_similarity(scored["instruction"], scored["text"])
        reason = cfg.why_dropped(scored["score"], scored["pmi"], scored["ifd"], similarity)
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


def keep_and_convert(
    cfg: CurateConfig, tags: TagsConfig, out_dir: str, overlap: EvalOverlap | None = None
) -> Tail:
    """Scored candidates that pass, as `curated` shards of SFT rows in `out_dir`; a candidate
    whose instruction overlaps an evaluation prompt (`overlap`) is not kept."""

    def tail(scored: beam.PCollection) -> None:
        curated = (
            scored
            | "Keep passing" >> beam.Filter(keep_passing(cfg, overlap))
            | "To SFT rows" >> beam.Map(to_sft_example(tags))
        )
        write_shards(curated, out_dir, SFTExample)

    return tail
