"""One training job, described by a JSON spec: `python -m humpback.training.job SPEC`.

`humpback run` writes the spec into the stage folder and runs the job in process, or through the
config's launcher template (`accelerate launch -m humpback.training.job {spec}`, torchrun, srun).
Every process builds the same examples from the same seed; rank 0 writes `metrics.json`.
"""

import json
import os
import shutil
import sys
import tempfile
from typing import Literal

import fsspec
from pydantic import BaseModel, ConfigDict

from humpback.inference.chat_template import load_tokenizer
from humpback.schemas.config import MixConfig, SourceMix, TagsConfig, TrainingConfig
from humpback.storage.folders import download, is_remote, local_copy, remove_folder, upload
from humpback.storage.shards import count_rows
from humpback.training import data
from humpback.training.sft import train


class TrainingJob(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["backward", "seed", "iteration"]
    base_model: str
    stage_dir: str  # any fsspec URL: checkpoints/, model/, loss.png, metrics.json
    seed_shards: list[str]
    curated_shards: list[str] = []
    tags: TagsConfig = TagsConfig()
    mix: MixConfig = MixConfig()
    hp: TrainingConfig = TrainingConfig()
    chat_template: str | None = None  # unset: the base model's own, or the default


def build_examples(job: TrainingJob) -> tuple[data.Examples, int, dict]:
    """The role's examples, mixed with a fixed seed, their count, and data metrics."""
    streaming, seed = job.hp.streaming, job.hp.seed
    seed_rows = data.load_shards(job.seed_shards, streaming)
    n_seed = count_rows(job.seed_shards)
    if job.role == "backward":
        tokenizer = load_tokenizer(job.base_model, job.chat_template)
        fitted = seed_rows.map(
            data.fit_backward_prompt,
            fn_kwargs={"tokenizer": tokenizer, "max_length": job.hp.max_length},
        )
        clipped = sum(fitted["clipped"]) if not streaming else None
        examples = data.to_examples(fitted, data.backward_example)
        mixed, n, _ = data.mix([(examples, n_seed, SourceMix())], seed)
        return mixed, n, {"seed_examples": n_seed, "clipped_prompts": clipped}
    seed_examples = data.to_examples(seed_rows, data.seed_example, tags=job.tags)
    sources = [(seed_examples, n_seed, job.mix.seed if job.role == "iteration" else SourceMix())]
    n_curated = count_rows(job.curated_shards) if job.curated_shards else 0
    if job.role == "iteration" and n_curated:
        curated = data.load_shards(job.curated_shards, streaming)
        sources.append((data.to_examples(curated, data.curated_example), n_curated,
                        job.mix.augmented))  # fmt: skip
    mixed, n, spread = data.mix(sources, seed)
    cap = job.mix.augmented.max_examples if job.role == "iteration" else None
    used = n_curated if cap is None else min(n_curated, cap)  # distinct curated examples
    return mixed, n, {"seed_examples": n_seed, "curated_examples": used, "spread": spread}


def run_job(job: TrainingJob) -> dict:
    """Build the examples, train, and (on rank 0) write `metrics.json`; checkpoints are removed
    once the final model is saved. A remote stage folder is mirrored on local disk: checkpoints
    are downloaded to resume from, uploaded as they are saved, and the results uploaded last."""
    job = job.model_copy(update={"base_model": local_copy(job.base_model)})
    if not is_remote(job.stage_dir):
        return _train_in(job, job.stage_dir)
    local_dir = tempfile.mkdtemp(prefix="humpback-train-")
    try:
        download(f"{job.stage_dir}/checkpoints", f"{local_dir}/checkpoints")
    except FileNotFoundError:
        pass
    metrics = _train_in(job, local_dir, checkpoint_url=f"{job.stage_dir}/checkpoints")
    if _is_rank_zero():
        upload(local_dir, job.stage_dir, last=("metrics.json",))
        remove_folder(f"{job.stage_dir}/checkpoints")
    return metrics


def _is_rank_zero() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def _train_in(job: TrainingJob, local_dir: str, checkpoint_url: str | None = None) -> dict:
    examples, n, data_metrics = build_examples(job)
    trained = train(examples, n, job.base_model, job.hp, local_dir, checkpoint_url,
                    job.chat_template)  # fmt: skip
    metrics = {**trained, **data_metrics}
    if _is_rank_zero():
        shutil.rmtree(f"{local_dir}/checkpoints", ignore_errors=True)
        with open(f"{local_dir}/metrics.json", "w") as f:
            json.dump(metrics, f, indent=1)
    return metrics


def main(argv: list[str] | None = None) -> None:
    (spec,) = argv if argv is not None else sys.argv[1:]
    with fsspec.open(spec, "r") as f:
        run_job(TrainingJob.model_validate_json(f.read()))


if __name__ == "__main__":
    main()
