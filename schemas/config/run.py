"""The run config: every section, and the checks that span sections."""

from pydantic import Field, model_validator

from humpback.schemas.config.base import Strict
from humpback.schemas.config.corpus import CorpusSections
from humpback.schemas.config.evaluation import EvaluationSections
from humpback.schemas.config.inference import InferenceConfig
from humpback.schemas.config.method import MethodSections

LIKELIHOOD_BACKENDS = ("transformers", "vllm")


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


class RunBasics(Strict):
    """Where a run lives and what it starts from."""

    run_dir: str
    base_model: str = "embedded:SmolLM2-135M-Instruct"
    chat_template: str | None = Field(
        None,
        description="a Jinja chat template for every model of the run; unset: the base model's "
        "own, or a plain default where its tokenizer has none",
    )


class RunConfig(EvaluationSections, MethodSections, CorpusSections, RunBasics):
    """A whole run: each module of this package declares its group of sections (a new model
    step's section goes into its group), composed here in order, then Beam and the card."""

    beam: BeamConfig = BeamConfig()
    dataset: DatasetCardConfig = DatasetCardConfig()

    @property
    def inference_steps(self) -> list[str]:
        """The sections that run a model: each has an InferenceConfig's settings."""
        return [name for name in type(self).model_fields
                if isinstance(getattr(self, name), InferenceConfig)]  # fmt: skip

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
        gpus = [s for s in self.inference_steps if getattr(self, s).resources.accelerator]
        if gpus and "worker_accelerator" in " ".join(self.beam.args()):
            raise ValueError(
                f"{', '.join(gpus)} ask for GPUs by resource hints (right fitting); the "
                "worker_accelerator service option would put GPUs on every worker: drop it"
            )
        return self
