"""The method's steps: augment (M_yx writes instructions), curate (a scorer keeps pairs), the
tags of the training mix, and the measures."""

from typing import Literal

from pydantic import Field, model_validator

from humpback.schemas.config.base import Strict
from humpback.schemas.config.inference import InferenceConfig, Sampling
from humpback.schemas.config.training import TrainingRoles

SEED_TAG = "Answer in the style of an AI Assistant."
WEB_TAG = "Answer with knowledge from web search."


class DemonstrationsConfig(Strict):
    """Seed pairs shown to M_yx before each segment, as earlier turns of the same request."""

    count: int = Field(3, ge=0, description="0: none (the paper's prompt alone)")
    choose: Literal["per_segment", "similar", "shortest", "random"] = Field(
        "per_segment",
        description="among well-formed pairs whose output fits max_chars: per_segment, a draw "
        "seeded by the segment's id; similar, the outputs nearest the segment (wordllama); "
        "shortest or random, one fixed set for every segment",
    )
    max_chars: int = Field(600, gt=0)
    seed: int = 0


class AugmentConfig(InferenceConfig):
    demonstrations: DemonstrationsConfig = DemonstrationsConfig()
    check_form: bool = Field(
        True, description="drop instructions that are not requests or questions (with a reason)"
    )
    check_borrow: bool = Field(
        True,
        description="drop instructions that take a shown demonstration's topic: content words "
        "of its instruction that the segment lacks (filtered:borrows_demonstration); or a phrase "
        "of an instruction M_yx trained on whose words the segment lacks (filtered:borrows_seed)",
    )
    check_answer: bool = Field(
        True,
        description="drop segments that can answer no request (a publisher's own voice, a "
        "changelog or news listing, a personal profile) before the model call "
        "(filtered:not_an_answer)",
    )
    check_how_to: bool = Field(
        True,
        description="drop a request for how to do something whose segment tells nobody how: no "
        "second person, code, list or word of advice (filtered:unanswered_how_to)",
    )
    pmi: bool = Field(True, description="record each candidate's instruction-answer PMI under M_yx")
    samples: int = Field(
        1,
        ge=1,
        description="instructions M_yx writes for each segment (sampling seeds seed, seed + 1, "
        "...); the well-formed one with the highest PMI is kept, the others recorded as its "
        "alternatives",
    )

    @model_validator(mode="after")
    def _samples_need_pmi_and_sampling(self) -> "AugmentConfig":
        if self.samples > 1 and not self.pmi:
            raise ValueError("augment.samples > 1 chooses an instruction by its PMI: set pmi: true")
        if self.samples > 1 and self.sampling.temperature == 0:
            raise ValueError(
                "augment.samples > 1 needs sampling.temperature > 0: greedy decoding writes the "
                "same instruction every time"
            )
        return self


class CurateConfig(InferenceConfig):
    """The paper's rubric (`generate`: the scorer writes "Score: N"; `logprobs`: its distribution
    over 1..5), `likelihood` (PMI under M_yx and IFD under the scorer, no rubric) or
    `combined` (the rubric read from log-probabilities, and both likelihood thresholds)."""

    mode: Literal["generate", "logprobs", "likelihood", "combined"] = "generate"
    k: int = Field(5, ge=1, le=5, description="rubric modes: keep candidates scored >= k")
    min_pmi: float = Field(
        0.1, description="likelihood modes: keep a PMI (nats per instruction token) >= this"
    )
    max_ifd: float = Field(
        1.0, gt=0, description="likelihood modes: keep an IFD (perplexity ratio) <= this"
    )
    min_similarity: float | None = Field(
        None,
        ge=-1,
        le=1,
        description="likelihood modes: also keep only an instruction whose cosine with its "
        "segment's first 400 characters, in wordllama's bundled embedding, is >= this; unset: "
        "no such rule",
    )
    sampling: Sampling = Sampling(temperature=0.0, max_new_tokens=128)

    @property
    def rubric(self) -> Literal["generate", "logprobs"] | None:
        """How the rubric score is read, or None when the mode uses none."""
        return {"generate": "generate", "logprobs": "logprobs", "combined": "logprobs"}.get(
            self.mode
        )

    @property
    def uses_likelihood(self) -> bool:
        return self.mode in ("likelihood", "combined")

    def why_dropped(
        self,
        score: int | None,
        pmi: float | None,
        ifd: float | None,
        similarity: float | None = None,
    ) -> str | None:
        """The first threshold of the mode a candidate misses, or None when it is kept."""
        if self.rubric and score < self.k:
            return "below_k"
        if self.uses_likelihood:
            if pmi is None or pmi < self.min_pmi:
                return "below_min_pmi"
            if ifd > self.max_ifd:
                return "above_max_ifd"
            if self.min_similarity is not None and (
                similarity is None or similarity < self.min_similarity
            ):
                return "below_min_similarity"
        return None


class TagsConfig(Strict):
    seed: str | None = SEED_TAG
    augmented: str | None = WEB_TAG
    style: Literal["sentence", "system"] = Field(
        "sentence", description="sentence: appended to the instruction (the paper); system: a turn"
    )


class RewriteConfig(InferenceConfig):
    """Instruction back-and-forth translation (Nguyen et al. 2024): after each curate, a model
    rewrites every curated web answer as an assistant's answer to its instruction, keeping its
    facts; train_t then trains on the rewritten rows (`rewrite_t`)."""

    enabled: bool = False
    model: str | None = Field(
        None, description="the rewriter: folder, hub id or embedded:NAME; unset: the base model"
    )
    min_length_ratio: float = Field(
        0.3,
        gt=0,
        description="a rewrite shorter than this share of the web answer drops its content: "
        "filtered (rewrite_too_short), the row kept as it was",
    )
    sampling: Sampling = Sampling(temperature=0.0, max_new_tokens=768)


class DecontaminationConfig(Strict):
    """Training data that overlaps an evaluation prompt is dropped, counted
    `filtered:eval_overlap`: seed pairs (the `seed` stage) and candidates (each `curate_t`)."""

    prompts: str | None = Field(
        None, description="the prompts to keep out of training (as evaluate.prompts); unset: "
        "evaluate.prompts, and none when that is unset too",
    )  # fmt: skip
    ngram: int = Field(
        8, ge=3, description="an instruction sharing a word n-gram (or, shorter, a whole prompt) "
        "with a prompt overlaps it",
    )  # fmt: skip


class MeasureConfig(InferenceConfig):
    """The method's measures on the held-out seed pairs (the `measure` stage), with the
    inference settings of its models."""

    enabled: bool = True
    pairs: int | None = Field(None, gt=0, description="use at most this many held-out pairs")
    answer_chars: int = Field(1500, gt=0, description="answers are cut to this many characters")
    boilerplate: str | None = Field(
        None,
        description="folder of saved pages (<site>/source.html with expected.html, the main "
        "content) whose other text makes boilerplate answers; unset: no boilerplate pairs",
    )
    judged: str | None = Field(
        None,
        description="JSONL of candidate pairs judged by reading ({instruction, output, id, "
        "usable, label}; the data's judged/candidates.jsonl): each curator's AUC and keep-rule "
        "precision and recall on them; unset: none",
    )
    embeddings: bool = Field(True, description="embedding cosine (the wordllama package)")
    paper_rubric: bool = Field(
        True,
        description="when curate reads no rubric (likelihood mode), measure the paper's rubric "
        "and the combined curator under M0 anyway: what the paper's curator would have done",
    )


class MethodSections(Strict):
    """The method's sections of a run config: its model steps, iterations and training."""

    augment: AugmentConfig = AugmentConfig()
    curate: CurateConfig = CurateConfig()
    decontamination: DecontaminationConfig = DecontaminationConfig()
    rewrite: RewriteConfig = RewriteConfig()
    iterations: int = Field(2, ge=1)
    training: TrainingRoles = TrainingRoles()
    tags: TagsConfig = TagsConfig()
    measure: MeasureConfig = MeasureConfig()
