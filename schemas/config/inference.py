"""A model step's inference settings, one convention for every step: the settings every
backend shares, and a section of the chosen backend's own."""

from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationInfo, field_validator

from humpback.schemas.config.base import Fp32Matmul, Strict


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
    fp32_matmul: Fp32Matmul = "bf16"


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
