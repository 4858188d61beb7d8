"""Inference results kept by (model, backend, task, prompt, parameters), so a re-run or a
retried bundle does not pay twice. One small JSON file a request under any fsspec folder."""

import dataclasses
import hashlib
import json

import fsspec

from humpback.inference.backend import Generation, LabelDistribution, Likelihood, Samples

Result = Generation | Samples | LabelDistribution | Likelihood  # what a read mode returns


def model_fingerprint(model_path: str) -> str:
    """The model folder's file names, sizes and times: retraining in place changes it."""
    fs, root = fsspec.core.url_to_fs(model_path)
    if not fs.isdir(root):
        return model_path  # a served model's name
    files = fs.find(root, detail=True)
    stamps = sorted(
        (name[len(root) :], info.get("size"), str(info.get("mtime") or info.get("updated")
                                                  or info.get("LastModified") or info.get("ETag")))
        for name, info in files.items()
    )  # fmt: skip
    return hashlib.sha256(json.dumps([model_path, stamps]).encode()).hexdigest()


class RequestCache:
    def __init__(self, directory: str, model_key: str, kind: type[Result]):
        self.fs, self.root = fsspec.core.url_to_fs(directory)
        self.model_key, self.kind = model_key, kind

    def keys(self, prompts: list, parameters: dict) -> list[str]:
        return [
            hashlib.sha256(
                json.dumps([self.model_key, parameters, p], sort_keys=True).encode()
            ).hexdigest()
            for p in prompts
        ]

    def _path(self, key: str) -> str:
        return f"{self.root}/{key[:2]}/{key}.json"

    def get(self, keys: list[str]) -> dict[str, Result]:
        found = self.fs.cat([self._path(k) for k in keys], on_error="omit")
        results = {}
        for key in keys:
            try:
                results[key] = self.kind(**json.loads(found[self._path(key)]))
            except (KeyError, ValueError, TypeError):  # missing or torn: a miss
                continue
        return results

    def put(self, results: dict[str, Result]) -> None:
        """Store results without an error (a failure is worth another try)."""
        kept = {k: r for k, r in results.items() if r.error is None}
        for prefix in {k[:2] for k in kept}:
            self.fs.makedirs(f"{self.root}/{prefix}", exist_ok=True)
        if kept:
            self.fs.pipe(
                {self._path(k): json.dumps(dataclasses.asdict(r)).encode() for k, r in kept.items()}
            )
