"""The `augment` pipeline: the backward model M_yx writes an instruction for every segment."""

import apache_beam as beam
from apache_beam.ml.inference.base import PredictionResult, RunInference

from beam_pipelines.counting import count
from beam_pipelines.inference.handler import ChatModelHandler
from beam_pipelines.io.shards import read_shards, write_shards
from beam_pipelines.prompts import backward_prompt
from beam_pipelines.steps import DEAD, PromptRequests, dead_letter, failed_batches
from schemas.config import InferenceConfig
from schemas.records import Candidate, DeadLetter


def clean_instruction(text: str) -> str:
    """Trim a generated instruction: whitespace, wrapping quotes, a leading 'Instruction:' label."""
    text = text.strip()
    label, sep, rest = text.partition(":")
    if sep and label.strip().lower() in {"instruction", "question"}:
        text = rest.strip()
    return text.strip("\"'").strip()


class ToCandidate(beam.DoFn):
    def __init__(self, model_id: str):
        self.model_id = model_id

    def process(self, result: PredictionResult):
        segment, generation = result.example["record"], result.inference
        instruction = clean_instruction(generation.text or "")
        if generation.error or not instruction:
            count("dead_lettered")
            yield beam.pvalue.TaggedOutput(
                DEAD,
                dead_letter("augment", segment["id"], generation.error or "empty_instruction",
                            generation.text or ""),
            )  # fmt: skip
            return
        count("out")
        yield Candidate(
            **segment, instruction=instruction, backward_model=self.model_id
        ).model_dump()


def build(
    pipeline: beam.Pipeline,
    segments_dir: str,
    model_path: str,
    cfg: InferenceConfig,
    out_dir: str,
    cache_dir: str | None = None,
) -> None:
    results, failures = (
        read_shards(pipeline, segments_dir, "segments")
        | "Prompt"
        >> beam.ParDo(
            PromptRequests(lambda s: backward_prompt(s["text"]), model_path, cfg.max_input_tokens)
        )
        | "Generate"
        >> RunInference(
            ChatModelHandler(model_path, cfg, cache_dir=cache_dir)
        ).with_exception_handling()
    )
    out = results | "Candidates" >> beam.ParDo(ToCandidate(model_path)).with_outputs(
        DEAD, main="candidates"
    )
    dead = (
        out[DEAD],
        failures.failed_inferences | "Failed batches" >> failed_batches("augment"),
    )
    write_shards(out.candidates, out_dir, "candidates", Candidate)
    write_shards(dead | "All dead letters" >> beam.Flatten(), out_dir, DEAD, DeadLetter)
