"""A Beam ModelHandler over any ChatBackend: RunInference loads it once per worker and batches."""

from collections.abc import Iterable, Sequence
from typing import Any, Literal

from apache_beam.ml.inference.base import ModelHandler, PredictionResult

from beam_pipelines.inference.backend import ChatBackend, load_backend
from beam_pipelines.io.model_folders import local_copy
from schemas.config import InferenceConfig

Task = Literal["generate", "label_distribution"]


class ChatModelHandler(ModelHandler[dict, PredictionResult, ChatBackend]):
    """Elements are dicts with a `prompt` (chat messages); the inference is a Generation or a
    LabelDistribution (with `answer_prefix` and `labels` for the latter)."""

    def __init__(
        self,
        model_path: str,
        cfg: InferenceConfig,
        task: Task = "generate",
        answer_prefix: str = "",
        labels: Sequence[str] = (),
    ):
        # A fixed batch size: adaptive (timing-based) batching would make sampled outputs
        # depend on machine load, and a resumed run differ from an uninterrupted one.
        super().__init__(min_batch_size=cfg.batch_size, max_batch_size=cfg.batch_size)
        self.model_path = model_path
        self.cfg = cfg
        self.task = task
        self.answer_prefix = answer_prefix
        self.labels = list(labels)

    def load_model(self) -> ChatBackend:
        return load_backend(local_copy(self.model_path), self.cfg)

    def run_inference(
        self,
        batch: Sequence[dict],
        model: ChatBackend,
        inference_args: dict[str, Any] | None = None,
    ) -> Iterable[PredictionResult]:
        prompts = [element["prompt"] for element in batch]
        if self.task == "generate":
            outputs = model.generate(prompts, self.cfg.sampling)
        else:
            outputs = model.label_distribution(prompts, self.answer_prefix, self.labels)
        return [
            PredictionResult(e, o, self.model_path) for e, o in zip(batch, outputs, strict=True)
        ]

    def get_num_bytes(self, batch: Sequence[dict]) -> int:
        return sum(len(str(element["prompt"])) for element in batch)

    def get_metrics_namespace(self) -> str:
        return "humpback_inference"
