"""A Beam ModelHandler over any ChatBackend: RunInference loads it once per worker and batches."""

import json
from collections.abc import Iterable, Sequence
from typing import Any, Literal

from apache_beam.ml.inference.base import ModelHandler, PredictionResult

from beam_pipelines.counting import count
from beam_pipelines.inference.backend import (
    ChatBackend,
    Generation,
    LabelDistribution,
    load_backend,
)
from beam_pipelines.inference.request_cache import RequestCache, model_fingerprint
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
        cache_dir: str | None = None,
    ):
        # Fixed batches, as configured: the transformers backend sorts `length_sort_window`
        # batches by length at a time. A prompt's result does not depend on its batch.
        size = cfg.batch_size * (cfg.length_sort_window if cfg.backend == "transformers" else 1)
        super().__init__(min_batch_size=size, max_batch_size=size)
        self.model_path = model_path
        self.cfg = cfg
        self.task = task
        self.answer_prefix = answer_prefix
        self.labels = list(labels)
        self.cache_dir = cache_dir if cfg.cache else None
        self.cache: RequestCache | None = None

    def load_model(self) -> ChatBackend:
        if self.cache_dir:
            kind = Generation if self.task == "generate" else LabelDistribution
            model_key = [model_fingerprint(self.model_path), self.cfg.server.model]
            self.cache = RequestCache(self.cache_dir, json.dumps(model_key), kind)
        return load_backend(local_copy(self.model_path), self.cfg)

    def parameters(self) -> dict:
        """What besides the model and the prompt decides a result."""
        if self.task == "generate":
            return {"backend": self.cfg.backend, "sampling": self.cfg.sampling.model_dump()}
        return {"backend": self.cfg.backend, "prefix": self.answer_prefix, "labels": self.labels}

    def infer(self, model: ChatBackend, prompts: list) -> list:
        if self.task == "generate":
            return model.generate(prompts, self.cfg.sampling)
        return model.label_distribution(prompts, self.answer_prefix, self.labels)

    def run_inference(
        self,
        batch: Sequence[dict],
        model: ChatBackend,
        inference_args: dict[str, Any] | None = None,
    ) -> Iterable[PredictionResult]:
        prompts = [element["prompt"] for element in batch]
        if self.cache is None:
            outputs = self.infer(model, prompts)
        else:
            keys = self.cache.keys(prompts, self.parameters())
            known = self.cache.get(keys)
            todo = [i for i, k in enumerate(keys) if k not in known]
            new = self.infer(model, [prompts[i] for i in todo]) if todo else []
            fresh = {keys[i]: result for i, result in zip(todo, new, strict=True)}
            self.cache.put(fresh)
            count("cache_hits", len(keys) - len(todo))
            outputs = [known.get(k) or fresh[k] for k in keys]
        return [
            PredictionResult(e, o, self.model_path) for e, o in zip(batch, outputs, strict=True)
        ]

    def get_num_bytes(self, batch: Sequence[dict]) -> int:
        return sum(len(str(element["prompt"])) for element in batch)

    def get_metrics_namespace(self) -> str:
        return "humpback_inference"
