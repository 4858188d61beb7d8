"""The run config: one YAML file describes a whole run; unknown keys and bad values are rejected."""

import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from humpback.schemas.errors import UserError

SEED_TAG = "Answer in the style of an AI Assistant."
WEB_TAG = "Answer with knowledge from web search."


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TextConfig(Strict):
    """How text is normalised where it enters: control characters (but tab and newline) and
    terminal escapes always go, line breaks become newlines; counted as `normalised:<kind>`."""

    surrogates: Literal["replace", "dead_letter"] = Field(
        "replace", description="a lone surrogate (a broken JSON escape): U+FFFD, or a dead letter"
    )
    remove_bidi_controls: bool = Field(True, description="bidi embeddings, overrides, isolates")
    remove_invisible: bool = Field(
        True, description="zero-width space, soft hyphen, BOM, tag characters (not ZWJ / ZWNJ)"
    )
    nfc: bool = Field(True, description="Unicode normalisation form C")


class SeedConfig(Strict):
    path: str = Field(description="JSONL or Parquet (any fsspec URL), or hf:<dataset id>")
    instruction_field: str = "instruction"
    output_field: str = "response"
    exclude_field: str | None = Field(None, description="rows where this field is true are dropped")
    limit: int | None = Field(None, gt=0)
    holdout: int = Field(
        40, ge=0, description="pairs (a seeded draw) kept out of training to measure the method"
    )
    text: TextConfig = TextConfig()


class CorpusConfig(Strict):
    """Where the web text is and how to read it; every path is an fsspec URL or glob."""

    paths: list[str] = Field(min_length=1, description="fsspec URLs or globs of corpus files")
    format: Literal["auto", "warc", "jsonl", "parquet", "html", "text"] = Field(
        "auto", description="auto: by file suffix (.warc/.arc/.wet, .jsonl, .parquet, .html, .txt)"
    )
    text_field: str = Field("text", description="JSONL / Parquet: the field holding the document")
    id_field: str | None = "id"
    url_field: str | None = "url"
    title_field: str | None = Field(None, description="JSONL / Parquet: a title, the top header")
    markup: Literal["text", "html"] = Field("text", description="what text_field holds")
    max_document_bytes: int = Field(
        5_000_000, gt=0, description="larger documents are filtered (document_too_large)"
    )
    max_compression_ratio: float = Field(
        200,
        gt=1,
        description="a gzip or zstd file that expands more (past 64 MB) is a decompression bomb: "
        "a dead letter at the byte offset reached",
    )
    text: TextConfig = TextConfig()


class NearDedupConfig(Strict):
    """MinHash LSH: segments sharing all `rows` hashes of any of `bands` bands are near-duplicates.

    The defaults (14 x 8, word 5-grams) catch pairs above a Jaccard similarity of about 0.75.
    """

    bands: int = Field(14, gt=0)
    rows: int = Field(8, gt=0)
    ngram: int = Field(5, gt=0, description="shingles are word n-grams")
    seed: int = 1


class SiteBlocksConfig(Strict):
    """A block (paragraph, list, table) found on `min_pages` pages of one host is the site's
    furniture (a newsletter prompt, a "read also" list, a cookie notice), in any language."""

    min_pages: int = Field(3, ge=2, description="distinct URLs of one host that show the block")


class DedupConfig(Strict):
    exact: bool = Field(True, description="drop segments whose normalised text repeats")
    near: NearDedupConfig | None = Field(NearDedupConfig(), description="null: no MinHash LSH")
    site_blocks: SiteBlocksConfig | None = Field(
        SiteBlocksConfig(), description="null: keep blocks that a site repeats on its pages"
    )


class SegmentConfig(Strict):
    min_chars: int = Field(600, gt=0)
    document_budget_s: float = Field(
        10, gt=0, description="a document that takes longer to segment is a dead letter"
    )
    max_chars: int = Field(3000, gt=0)
    render: Literal["markdown", "plain"] = Field(
        "markdown", description="web pages' lists, code and tables as Markdown, or plain lines"
    )
    max_header_caps_ratio: float = Field(0.5, ge=0, le=1)
    navigation_headers: list[str] = [
        "advertisement",
        "forum",
        "quick link",
        "free newsletter",
        "navigation",
        "menu",
        "related posts",
        "comments",
        "share this",
    ]
    max_sentence_jaccard: float = Field(0.6, ge=0, le=1, description="trigram Jaccard limit")
    languages: list[str] | None = Field(
        None, description="ISO 639-1 codes to keep (py3langid); unset: no language filter"
    )
    dedup: DedupConfig = DedupConfig()

    @model_validator(mode="after")
    def _window(self) -> "SegmentConfig":
        if self.min_chars > self.max_chars:
            raise ValueError("min_chars must not exceed max_chars")
        return self


class Sampling(Strict):
    temperature: float = Field(0.7, ge=0, description="0 means greedy decoding")
    top_p: float = Field(0.9, gt=0, le=1)
    max_new_tokens: int = Field(64, gt=0)
    seed: int = 0


class TransformersSettings(Strict):
    """transformers backend: in process, CPU or GPU."""

    device: str | None = Field(None, description="cpu, cuda, ...; auto if unset")
    length_sort_window: int = Field(
        4, gt=0, description="this many batches are sorted by length to cut padding"
    )


class VllmSettings(Strict):
    """vllm backend: in-process vllm.LLM."""

    engine_args: dict[str, Any] = Field({}, description="extra vllm.LLM arguments")


class OpenAISettings(Strict):
    """openai backend: any OpenAI-compatible server (vllm serve, llama.cpp server, SGLang)."""

    base_url: str = "http://127.0.0.1:8000/v1"
    model: str | None = Field(None, description="served model name; unset: the stage's model")
    api_key_env: str = Field("OPENAI_API_KEY", description="environment variable with the key")
    concurrency: int = Field(16, gt=0, description="requests in flight per worker")
    timeout_s: float = Field(120.0, gt=0, description="per request")
    max_retries: int = Field(5, ge=0, description="with exponential backoff")


class Resources(Strict):
    """Beam resource hints for a step's inference alone: on Dataflow they turn on right
    fitting, so only the inference steps run on GPU workers and reading, prompting and parsing
    stay on the CPU workers of the job's machine type."""

    accelerator: str | None = Field(
        None,
        description="e.g. 'type:nvidia-l4;count:1;install-nvidia-driver' (Beam's accelerator hint)",
    )
    min_ram: str | None = Field(None, description="e.g. '32GB' (Beam's min_ram hint)")

    def hints(self) -> dict[str, str]:
        """The set hints, as `with_resource_hints` takes them."""
        return self.model_dump(exclude_none=True)


BackendSettings = TransformersSettings | VllmSettings | OpenAISettings
BACKEND_SETTINGS = {
    "transformers": TransformersSettings,
    "vllm": VllmSettings,
    "openai": OpenAISettings,
}


class InferenceConfig(Strict):
    """A model step's inference: the settings every backend shares, and one section of the
    chosen backend's own (`transformers:`, `vllm:` or `openai:`); another backend's section is
    an error."""

    backend: Literal["transformers", "vllm", "openai"] = "transformers"
    batch_size: int = Field(8, gt=0)
    max_input_tokens: int = Field(
        2048, gt=0, description="longer prompts have their segment cut to fit, by tokens"
    )
    cache: bool = Field(True, description="reuse results of (model, prompt, sampling) already run")
    sampling: Sampling = Sampling()
    resources: Resources = Resources()
    share_model_across_processes: bool = Field(
        False,
        description="one model a worker, served to all its SDK processes (Beam's large_model); "
        "set it for GPU workers, where a copy a process would not fit",
    )
    model_copies: int | None = Field(
        None, gt=0, description="models a worker holds when shared (e.g. one per GPU)"
    )
    transformers: TransformersSettings | None = None
    vllm: VllmSettings | None = None
    openai: OpenAISettings | None = None

    @field_validator("transformers", "vllm", "openai")
    @classmethod
    def _of_the_chosen_backend(cls, value: BaseModel | None, info: ValidationInfo):
        backend = info.data.get("backend")
        if value is not None and backend is not None and info.field_name != backend:
            raise ValueError(
                f"settings of the {info.field_name} backend, but this step's backend is {backend}"
            )
        return value

    @property
    def settings(self) -> BackendSettings:
        """The chosen backend's settings, its defaults where its section is unset."""
        return getattr(self, self.backend) or BACKEND_SETTINGS[self.backend]()


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
        "of its instruction that the segment lacks (filtered:borrows_demonstration)",
    )
    pmi: bool = Field(True, description="record each candidate's instruction-answer PMI under M_yx")


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

    def why_dropped(self, score: int | None, pmi: float | None, ifd: float | None) -> str | None:
        """The first threshold of the mode a candidate misses, or None when it is kept."""
        if self.rubric and score < self.k:
            return "below_k"
        if self.uses_likelihood:
            if pmi is None or pmi < self.min_pmi:
                return "below_min_pmi"
            if ifd > self.max_ifd:
                return "above_max_ifd"
        return None


class LoraSettings(Strict):
    """peft LoRA adapters; the trained adapter is merged into the base so vLLM serves it as is."""

    r: int = Field(16, gt=0)
    alpha: int = Field(32, gt=0)
    dropout: float = Field(0.05, ge=0, lt=1)
    target_modules: str | list[str] = "all-linear"


class TrainingConfig(Strict):
    max_steps: int | None = Field(None, gt=0, description="unset: the paper's table by data size")
    batch_size: int | None = Field(
        None, gt=0, description="global batch; unset: 32, or 8 below 3,000 examples"
    )
    gradient_accumulation_steps: int = Field(1, gt=0)
    learning_rate: float = Field(1e-5, gt=0)
    final_lr_factor: float = Field(0.9, gt=0, le=1, description="linear decay to lr * factor")
    weight_decay: float = Field(0.1, ge=0)
    dropout: float = Field(0.1, ge=0, lt=1)
    max_length: int = Field(2048, gt=0)
    seed: int = 42
    bf16: bool | None = Field(None, description="unset: bf16 where the GPU supports it")
    gradient_checkpointing: bool = False
    lora: LoraSettings | None = Field(None, description="unset: full fine-tuning")
    save_steps: int = Field(100, gt=0, description="checkpoint interval; a rerun resumes from it")
    streaming: bool = Field(False, description="stream shards instead of caching them as Arrow")


class SourceMix(Strict):
    max_examples: int | None = Field(None, ge=0, description="cap, taken after a seeded shuffle")
    weight: float = Field(
        1.0, gt=0, description="times each example is used (0.5: a seeded half; 2: twice)"
    )


class MixConfig(Strict):
    """How seed and curated (augmented) examples are mixed for the iteration models M1, M2, ..."""

    seed: SourceMix = SourceMix()
    augmented: SourceMix = SourceMix()


class TrainingRoles(Strict):
    backward: TrainingConfig = TrainingConfig()
    seed: TrainingConfig = TrainingConfig()
    iteration: TrainingConfig = TrainingConfig()
    mix: MixConfig = MixConfig()
    launcher: str | None = Field(
        None,
        description="command template run per training job, e.g. "
        "'accelerate launch -m humpback.training.job {spec}'; unset: in process",
    )

    @model_validator(mode="after")
    def _launcher_takes_the_spec(self) -> "TrainingRoles":
        if self.launcher is not None and "{spec}" not in self.launcher:
            raise ValueError("launcher must contain {spec}, the path of the job's spec file")
        return self


class TagsConfig(Strict):
    seed: str | None = SEED_TAG
    augmented: str | None = WEB_TAG
    style: Literal["sentence", "system"] = Field(
        "sentence", description="sentence: appended to the instruction (the paper); system: a turn"
    )


LIKELIHOOD_BACKENDS = ("transformers", "vllm")
INFERENCE_STEPS = ("augment", "curate", "evaluate", "judge")


class MeasureConfig(Strict):
    """The method's measures on the held-out seed pairs (the `measure` stage)."""

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
    inference: InferenceConfig = InferenceConfig()


class EvaluateConfig(InferenceConfig):
    """The `evaluate` stage: every model of the run (M0 .. M_T, the scaling rungs, and any named
    here) answers the evaluation prompts with the paper's decoding. Unset `prompts`: no
    evaluation and no decontamination."""

    prompts: str | None = Field(
        None,
        description="the evaluation prompts: a JSON list (AlpacaEval's model_outputs.json) or "
        "JSONL of {instruction, dataset}; seed pairs and candidates overlapping them are dropped",
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
    decontamination_ngram: int = Field(
        8, ge=3, description="an instruction sharing a word n-gram (or, shorter, a whole prompt) "
        "with an evaluation prompt overlaps it",
    )  # fmt: skip
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


class BeamConfig(Strict):
    """Beam's pipeline options for every Beam stage, as `--name=value` flags; arguments after
    `--` on the command line come after them (and win)."""

    options: dict[str, str | int | float | bool | list[str]] = Field(
        {},
        description="e.g. runner: DataflowRunner, project, region, temp_location, "
        "sdk_container_image, sdk_location: container, machine_type, max_num_workers",
    )

    def args(self) -> list[str]:
        """The options as command-line flags: a list repeats its flag, true is a bare flag."""
        flags = []
        for name, value in self.options.items():
            for item in value if isinstance(value, list) else [value]:
                if item is True:
                    flags.append(f"--{name}")
                elif item is not False:
                    flags.append(f"--{name}={item}")
        return flags


class DatasetCardConfig(Strict):
    """What `humpback export` writes into the dataset card's metadata."""

    name: str | None = Field(None, description="the card's title; unset: the run folder's name")
    license: str = Field(
        "other", description="a Hub licence id; web text keeps its authors' rights: check yours"
    )
    language: list[str] | None = Field(
        None, description="ISO 639-1 codes; unset: segment.languages, where set"
    )


class RunConfig(Strict):
    run_dir: str
    base_model: str = "embedded:SmolLM2-135M-Instruct"
    seed: SeedConfig
    corpus: CorpusConfig
    segment: SegmentConfig = SegmentConfig()
    augment: AugmentConfig = AugmentConfig()
    curate: CurateConfig = CurateConfig()
    iterations: int = Field(2, ge=1)
    training: TrainingRoles = TrainingRoles()
    tags: TagsConfig = TagsConfig()
    chat_template: str | None = Field(
        None,
        description="a Jinja chat template for every model of the run; unset: the base model's "
        "own, or a plain default where its tokenizer has none",
    )
    measure: MeasureConfig = MeasureConfig()
    evaluate: EvaluateConfig = EvaluateConfig()
    judge: JudgeConfig = JudgeConfig()
    beam: BeamConfig = BeamConfig()
    dataset: DatasetCardConfig = DatasetCardConfig()

    @model_validator(mode="after")
    def _likelihood_backends(self) -> "RunConfig":
        needs = {"augment": self.augment.pmi, "curate": self.curate.uses_likelihood}
        for step, needed in needs.items():
            backend = getattr(self, step).backend
            if needed and backend not in LIKELIHOOD_BACKENDS:
                raise ValueError(
                    f"{step}: likelihoods need a backend of {LIKELIHOOD_BACKENDS}, not {backend} "
                    "(set augment.pmi: false, or a curate.mode of generate or logprobs)"
                )
        if self.curate.uses_likelihood and not self.augment.pmi:
            raise ValueError(f"curate.mode {self.curate.mode} reads the PMI: set augment.pmi")
        if self.evaluate.prompts and not self.judge.reference:
            raise ValueError("evaluate.prompts is set: set judge.reference, the reference outputs")
        gpus = [s for s in INFERENCE_STEPS if getattr(self, s).resources.accelerator]
        if gpus and "worker_accelerator" in " ".join(self.beam.args()):
            raise ValueError(
                f"{', '.join(gpus)} ask for GPUs by resource hints (right fitting); the "
                "worker_accelerator service option would put GPUs on every worker: drop it"
            )
        return self


_SECRET_WORDS = {"secret", "password", "passwd", "token", "credential", "credentials"}
_KEY_KINDS = {"access", "api", "private"}  # access_key, api_key, private_key


def names_secret(key: str) -> bool:
    """Whether a config key names a secret by its words (`aws_secret_access_key`, `hf_token`),
    not a setting that mentions one (`max_new_tokens`, `api_key_env`)."""
    words = re.split(r"[_\-.]", key.lower())
    if words[-1] == "env":  # the name of the variable holding it
        return False
    return bool(_SECRET_WORDS & set(words)) or ("key" in words and bool(_KEY_KINDS & set(words)))


def redact_secrets(value: Any) -> Any:
    """A config dump with the value of every key that names a secret replaced (a run folder
    keeps its config; credentials belong in the environment)."""
    if isinstance(value, dict):
        return {k: "<redacted>" if names_secret(str(k)) and v else redact_secrets(v)
                for k, v in value.items()}  # fmt: skip
    if isinstance(value, list):
        return [redact_secrets(v) for v in value]
    return value


class ConfigError(UserError, ValueError):
    """A config that cannot be loaded; the message names each bad field by its YAML path."""


_ENV = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}")


def _expand(value: Any) -> Any:
    """Expand ${VAR} and ${VAR:-default} in every string of the parsed YAML."""
    if isinstance(value, str):
        return _ENV.sub(lambda m: os.environ.get(m.group(1), m.group(2) or ""), value)
    if isinstance(value, dict):
        return {k: _expand(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v) for v in value]
    return value


def apply_override(data: dict, assignment: str) -> None:
    """Apply one `key.sub=value` override; the value is parsed as YAML."""
    key, sep, raw = assignment.partition("=")
    if not sep or not key:
        raise ConfigError(f"--set expects key.sub=value, got {assignment!r}")
    *parents, leaf = key.split(".")
    node = data
    for part in parents:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"--set {key}: {part} is not a mapping")
    node[leaf] = yaml.safe_load(raw)


def load_config(path: str | Path, overrides: list[str] = ()) -> RunConfig:
    """Read, expand, override and validate a run config."""
    try:
        data = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError(f"{path}: {err}") from err
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping")
    for assignment in overrides:
        apply_override(data, assignment)
    try:
        return RunConfig.model_validate(_expand(data))
    except ValidationError as err:
        lines = [f"{path}: {err.error_count()} invalid field(s)"]
        for e in err.errors():
            where = ".".join(str(p) for p in e["loc"]) or "(top level)"
            lines.append(f"  {where}: {e['msg']}")
        raise ConfigError("\n".join(lines)) from err
