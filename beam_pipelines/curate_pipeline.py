"""The `curate_t` pipeline: a scorer model rates every candidate; keep those scored >= k."""

import json

import apache_beam as beam
from apache_beam.ml.inference.base import PredictionResult, RunInference

from beam_pipelines.counting import count
from beam_pipelines.curate.scores import (
    SCORE_LABELS,
    SCORE_PREFIX,
    score_from_completion,
    score_from_distribution,
)
from beam_pipelines.inference.handler import ChatModelHandler
from beam_pipelines.io.shards import read_shards, write_shards
from beam_pipelines.prompts import curation_prompt, tagged
from beam_pipelines.steps import DEAD, PromptRequests, dead_letter, failed_batches
from schemas.config import CurateConfig, TagsConfig
from schemas.records import DeadLetter, Scored, SFTExample


class ScoreCandidate(beam.DoFn):
    """Attach the scorer's score; an unparsable or failed rating becomes a dead letter."""

    def __init__(self, scorer: str, iteration: int):
        self.scorer = scorer
        self.iteration = iteration

    def process(self, result: PredictionResult):
        candidate, output = result.example["record"], result.inference
        stage = f"curate_{self.iteration}"
        if output.error:
            count("dead_lettered")
            yield beam.pvalue.TaggedOutput(DEAD, dead_letter(stage, candidate["id"], output.error))
            return
        if hasattr(output, "probs"):
            score, expected = score_from_distribution(output.probs)
            raw = json.dumps(dict(zip(SCORE_LABELS, output.probs, strict=True)))
        else:
            score, expected, raw = score_from_completion(output.text), None, output.text
        if score is None:
            count("dead_lettered")
            yield beam.pvalue.TaggedOutput(
                DEAD, dead_letter(stage, candidate["id"], "unparsable_score", raw)
            )
            return
        count(f"score:{score}")
        yield Scored(
            **candidate,
            score=score,
            expected_score=expected,
            scorer_raw=raw,
            scorer_model=self.scorer,
            iteration=self.iteration,
        ).model_dump()


def keep_at_least(k: int):
    def keep(scored: dict) -> bool:
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
    candidates_dir: str,
    scorer_path: str,
    cfg: CurateConfig,
    iteration: int,
    tags: TagsConfig,
    out_dir: str,
    cache_dir: str | None = None,
) -> None:
    task = "generate" if cfg.mode == "generate" else "label_distribution"
    handler = ChatModelHandler(scorer_path, cfg, task, SCORE_PREFIX, SCORE_LABELS, cache_dir)
    results, failures = (
        read_shards(pipeline, candidates_dir, "candidates")
        | "Prompt"
        >> beam.ParDo(
            PromptRequests(
                lambda c: curation_prompt(c["instruction"], c["text"]),
                scorer_path,
                cfg.max_input_tokens,
            )
        )
        | "Score" >> RunInference(handler).with_exception_handling()
    )
    out = results | "Parse scores" >> beam.ParDo(
        ScoreCandidate(scorer_path, iteration)
    ).with_outputs(DEAD, main="scored")
    curated = (
        out.scored
        | "Keep score >= k" >> beam.Filter(keep_at_least(cfg.k))
        | "To SFT rows" >> beam.Map(to_sft_example(tags))
    )
    dead = (
        out[DEAD],
        failures.failed_inferences | "Failed batches" >> failed_batches(f"curate_{iteration}"),
    )
    write_shards(out.scored, out_dir, "scored", Scored)
    write_shards(curated, out_dir, "curated", SFTExample)
    write_shards(dead | "All dead letters" >> beam.Flatten(), out_dir, DEAD, DeadLetter)
