"""Evaluation: the prompts every model answers, and the pairwise judge with its calibration."""

from typing import Literal

from pydantic import Field

from humpback.schemas.config.base import Strict
from humpback.schemas.config.inference import InferenceConfig, Sampling


class EvaluateConfig(InferenceConfig):
    """The `evaluate` stage: every model of the run (M0 .. M_T, the scaling rungs, and any named
    here) answers the evaluation prompts with the paper's decoding. Unset `prompts`: no
    evaluation (and, unless `decontamination.prompts` is set, no decontamination)."""

    prompts: str | None = Field(
        None,
        description="the evaluation prompts: a JSON list (AlpacaEval's model_outputs.json) or "
        "JSONL of {instruction, dataset}; seed pairs and candidates overlapping them are dropped "
        "(see decontamination)",
    )
    limit: int | None = Field(None, gt=0, description="a seeded draw of this many prompts")
    seed: int = 0
    tags: Literal["none", "seed", "both"] = Field(
        "both", description="appended to each prompt at inference (the paper: both worked best)"
    )
    models: dict[str, str] = Field({}, description="more models to evaluate: name -> folder")
    scaling: list[int] = Field(
        [],
        description="data scaling: a model per size N trained on seed + N curated examples of "
        "the last iteration, evaluated and fitted with win rate = alpha * ln N + C",
    )
    sampling: Sampling = Sampling(temperature=0.7, top_p=0.9, max_new_tokens=512)


class CalibrationOutputs(Strict):
    path: str = Field(description="model_outputs.json of a model judged against the reference")
    published_win_rate: float | None = Field(None, description="its win rate on a leaderboard")


class CalibrationConfig(Strict):
    """Run the judge on a stronger judge's judgments (AlpacaEval 1's GPT-4 annotations) and on
    published outputs: agreement, position bias and recovered win rates."""

    annotations: str = Field(
        description="folder of <model>.json: {instruction, output_1 (reference), output_2, "
        "preference (1: reference better, 2: model better, 0: draw)}"
    )
    pairs: int | None = Field(40, gt=0, description="a seeded draw of pairs per model")
    seed: int = 0
    outputs: dict[str, CalibrationOutputs] = {}


class JudgeConfig(InferenceConfig):
    """The pairwise judge: which of two answers to a prompt is better, the reference's or the
    model's. `ranking`: the judge writes a verdict, parsed strictly; `logprobs`: its
    probabilities of "A" and "B" after "Better:". Position bias: each pair in both orders, or
    in one seeded random order."""

    model: str | None = Field(None, description="folder or hub id; unset: the base model")
    reference: str | None = Field(
        None, description="the reference's model_outputs.json (AlpacaEval 1: text_davinci_003)"
    )
    form: Literal["ranking", "logprobs"] = "logprobs"
    order: Literal["both", "random"] = "both"
    seed: int = 0
    answer_chars: int | None = Field(
        None, gt=0, description="both answers are cut to this many characters before judging"
    )
    calibration: CalibrationConfig | None = None
    sampling: Sampling = Sampling(temperature=0.0, max_new_tokens=96)
    max_input_tokens: int = Field(4096, gt=0)


class ReferenceLikelihoodConfig(InferenceConfig):
    """The `reference_likelihood` stage: how likely each model finds strong reference answers
    (mean log-probability per token of the answer given its prompt, with the evaluation's tags),
    a measure a small model can give where its judgments cannot. With `ablation`, the paper's
    comparison in kind: M_T (seed + curated) against models trained alike on seed + as many
    random candidates (`ablate_random`) and on seed + every candidate (`ablate_all`)."""

    answers: str | None = Field(
        None,
        description="reference outputs, AlpacaEval's model_outputs.json (e.g. gpt4_1106_preview); "
        "unset: no such stage",
    )
    prompts: int = Field(48, gt=1, description="a seeded draw of prompts, none of evaluate's")
    seed: int = 0
    answer_chars: int | None = Field(
        800, gt=0, description="each reference answer is cut to this many characters"
    )
    ablation: bool = Field(
        False, description="also train seed + random and seed + all candidates and compare"
    )
    max_input_tokens: int = Field(1024, gt=0)


class EvaluationSections(Strict):
    """The evaluation sections of a run config."""

    evaluate: EvaluateConfig = EvaluateConfig()
    judge: JudgeConfig = JudgeConfig()
    reference_likelihood: ReferenceLikelihoodConfig = ReferenceLikelihoodConfig()
