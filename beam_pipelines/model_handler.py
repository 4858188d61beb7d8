"""A Beam ModelHandler over any ChatBackend: RunInference loads it once per worker process (or
once per worker, shared by its processes) and batches; only its step carries the resource hints."""

import json
from collections.abc import Iterable, Sequence
from typing import Any

from apache_beam.ml.inference.base import ModelHandler, PredictionResult

from humpback.beam_pipelines.counting import count
from humpback.inference.backend import ChatBackend, load_backend
from humpback.inference.request_cache import RequestCache, model_fingerprint
from humpback.schemas.config import InferenceConfig
from humpback.storage.folders import local_copy
from humpback.tasks.task import Task


class ChatModelHandler(ModelHandler[dict, PredictionResult, ChatBackend]):
    """Elements are dicts with a `prompt` (chat messages, or continuations); the inference is
    what the task's read mode makes of them (a Generation, a LabelDistribution or a
    Likelihood)."""

    def __init__(
        self, model_path: str, cfg: InferenceConfig, task: Task, cache_dir: str | None = None
    ):
        # Fixed batches, as configured: the transformers backend sorts `length_sort_window`
        # batches by length at a time. A prompt's result does not depend on its batch.
        size = cfg.batch_size * getattr(cfg.settings, "length_sort_window", 1)
        super().__init__(
            min_batch_size=size,
            max_batch_size=size,
            large_model=cfg.share_model_across_processes,
            model_copies=cfg.model_copies if cfg.share_model_across_processes else None,
        )
        self.model_path = model_path
        self.cfg = cfg
        self.task = task
        self.cache_dir = cache_dir if cfg.cache else None
        self._cache: RequestCache | None = None

    def load_model(self) -> ChatBackend:
        """The backend; with a shared model this runs in one process of the worker, and the
        others call it through a proxy."""
        return load_backend(local_copy(self.model_path), self.cfg)

    def get_resource_hints(self) -> dict:
        """The inference step's hints (RunInference sets them on its ParDo alone)."""
        return self.cfg.resources.hints()

    @property
    def cache(self) -> RequestCache | None:
        """The request cache, opened in the process that runs the batch (not the one that loaded
        a shared model)."""
        if self._cache is None and self.cache_dir:
            kind = self.task.reads.result
            settings = self.cfg.settings
            model_key = [model_fingerprint(self.model_path), getattr(settings, "model", None),
                         getattr(settings, "fp32_matmul", None)]  # fmt: skip
            self._cache = RequestCache(self.cache_dir, json.dumps(model_key), kind)
        return self._cache

    def run_inference(
        self,
        batch: Sequence[dict],
        model: ChatBackend,
        inference_args: dict[str, Any] | None = None,
    ) -> Iterable[PredictionResult]:
        prompts = [element["prompt"] for element in batch]
        cache = self.cache
        outputs, hits = self.task.reads.read(model, prompts, self.cfg, cache)
        if cache is not None:
            count("cache_hits", hits)
        return [
            PredictionResult(e, o, self.model_path) for e, o in zip(batch, outputs, strict=True)
        ]

    def get_num_bytes(self, batch: Sequence[dict]) -> int:
        return sum(len(str(element["prompt"])) for element in batch)

    def get_metrics_namespace(self) -> str:
        return "humpback_inference"
