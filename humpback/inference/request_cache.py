"""Inference results kept by (model, backend, task, prompt, parameters), so a re-run or a
retried bundle does not pay twice. One small JSON file a request under any fsspec folder."""

import dataclasses
import hashlib
import json

import fsspec

from humpback.inference.backend import Generation, LabelDistribution, Likelihood, Samples
from humpback.storage.folders import write_files

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
        self.directory = directory.rstrip("/")
        self.fs, self.root = fsspec.core.url_to_fs(directory)
        self.model_key, self.kind = model_key, kind

    def keys(self, prompts: list, parameters: dict) -> list[str]:
        return [
            hashlib.sha256(
                json.dumps([self.model_key, parameters, p], sort_keys=True).encode()
            ).hexdigest()
            for p in prompts
        ]

    @staticmethod
    def _name(key: str) -> str:
        return f"{key[:2]}/{key}.json"

    def get(self, keys: list[str]) -> dict[str, Result]:
        paths = {k: f"{self.root}/{self._name(k)}" for k in keys}  # as the filesystem names them
        found = self.fs.cat(list(paths.values()), on_error="omit")
        results = {}
        for key in keys:
            try:
                results[key] = self.kind(**json.loads(found[paths[key]]))
            except (KeyError, ValueError, TypeError):  # missing or torn: a miss
                continue
        return results

    def put(self, results: dict[str, Result]) -> None:
        """Store results without an error (a failure is worth another try), each file whole or
        not at all: a run killed while writing leaves no torn entry."""
        write_files({
            f"{self.directory}/{self._name(k)}": json.dumps(dataclasses.asdict(r)).encode()
            for k, r in results.items()
            if r.error is None
        })  # fmt: skip
