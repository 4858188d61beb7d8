"""A Beam ModelHandler over any ChatBackend: RunInference loads it once per worker and batches."""

import json
from collections.abc import Iterable, Sequence
from typing import Any

from apache_beam.ml.inference.base import ModelHandler, PredictionResult

from humpback.beam_pipelines.counting import count
from humpback.inference.backend import (
    ChatBackend,
    Generation,
    LabelDistribution,
    Likelihood,
    load_backend,
)
from humpback.inference.request_cache import RequestCache, model_fingerprint
from humpback.schemas.config import InferenceConfig
from humpback.storage.folders import local_copy
from humpback.tasks.task import Task

RESULTS = {"text": Generation, "labels": LabelDistribution, "likelihood": Likelihood}


class ChatModelHandler(ModelHandler[dict, PredictionResult, ChatBackend]):
    """Elements are dicts with a `prompt` (chat messages, or continuations); the inference is a
    Generation, a LabelDistribution or a Likelihood, as the task reads."""

    def __init__(
        self, model_path: str, cfg: InferenceConfig, task: Task, cache_dir: str | None = None
    ):
        # Fixed batches, as configured: the transformers backend sorts `length_sort_window`
        # batches by length at a time. A prompt's result does not depend on its batch.
        size = cfg.batch_size * getattr(cfg.settings, "length_sort_window", 1)
        super().__init__(min_batch_size=size, max_batch_size=size)
        self.model_path = model_path
        self.cfg = cfg
        self.task = task
        self.cache_dir = cache_dir if cfg.cache else None
        self.cache: RequestCache | None = None

    def load_model(self) -> ChatBackend:
        if self.cache_dir:
            kind = RESULTS[self.task.reads]
            served = getattr(self.cfg.settings, "model", None)
            model_key = [model_fingerprint(self.model_path), served]
            self.cache = RequestCache(self.cache_dir, json.dumps(model_key), kind)
        return load_backend(local_copy(self.model_path), self.cfg)

    def parameters(self) -> dict:
        """What besides the model and the prompt decides a result."""
        if self.task.reads == "text":
            return {"backend": self.cfg.backend, "sampling": self.cfg.sampling.model_dump()}
        if self.task.reads == "likelihood":
            return {"backend": self.cfg.backend, "likelihood": True}
        return {
            "backend": self.cfg.backend,
            "prefix": self.task.answer_prefix,
            "labels": list(self.task.labels),
        }

    def infer(self, model: ChatBackend, prompts: list) -> list:
        if self.task.reads == "text":
            return model.generate(prompts, self.cfg.sampling)
        if self.task.reads == "likelihood":
            return model.likelihood(prompts)
        return model.label_distribution(prompts, self.task.answer_prefix, list(self.task.labels))

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
