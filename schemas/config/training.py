"""Training: each model role's hyperparameters, the mix of seed and curated examples, and the
launcher."""

from pydantic import Field, model_validator

from humpback.schemas.config.base import Fp32Matmul, Strict


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
    fp32_matmul: Fp32Matmul = "bf16"
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
