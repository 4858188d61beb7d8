"""Run directories on object storage: the loop on a tiny model with its run directory on s3://
(moto's S3 server) and on gs:// (a GCS emulator), both on loopback, started and stopped here;
shards, manifests, model folders and the report all live there, and the counts and record ids
equal those of the same run on local disk."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import fsspec
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BUCKET = "humpback-test"
STAGES = ["seed", "train_backward", "train_seed", "segment", "augment", "curate_1", "train_1"]
S3_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
          "AWS_DEFAULT_REGION": "us-east-1"}  # fmt: skip
# gcsfs: no credentials, and no probe of the bucket's type over gRPC (the emulator has none)
GCS_ENV = {"FSSPEC_GCS_TOKEN": "anon", "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(command: list[str], url: str) -> subprocess.Popen:
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            urllib.request.urlopen(url, timeout=1)
            return server
        except urllib.error.HTTPError:
            return server  # it answers
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError(f"{command[0]} did not start")


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, str]]:
    """moto's S3 server and a GCS emulator on loopback, each with the bucket; the environment
    that points clients (fsspec and Beam's own filesystems alike) at them."""
    s3_port, gcs_port = _free_port(), _free_port()
    env = {**S3_ENV, **GCS_ENV, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{s3_port}",
           "STORAGE_EMULATOR_HOST": f"http://127.0.0.1:{gcs_port}"}  # fmt: skip
    bin_dir = Path(sys.executable).parent
    s3 = _serve([sys.executable, "-m", "moto.server", "-p", str(s3_port)], env["AWS_ENDPOINT_URL"])
    gcs = _serve(
        [str(bin_dir / "gcp-storage-emulator"), "start", "--port", str(gcs_port), "--in-memory"],
        env["STORAGE_EMULATOR_HOST"],
    )
    try:
        with pytest.MonkeyPatch.context() as patch:
            for name, value in env.items():
                patch.setenv(name, value)
            fsspec.filesystem("s3", skip_instance_cache=True).mkdir(BUCKET)
            fsspec.filesystem("gs", skip_instance_cache=True).mkdir(BUCKET)
            yield env
    finally:
        for server in (s3, gcs):
            server.terminate()
            server.wait(10)


def _run(config: dict, folder: Path, env: dict) -> None:
    path = folder / f"{abs(hash(config['run_dir']))}.yaml"
    path.write_text(yaml.safe_dump(config))
    result = subprocess.run(
        [sys.executable, "-m", "humpback", "run", str(path)],
        capture_output=True, text=True, cwd=ROOT, env={**os.environ, **env},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]


def _counts_and_ids(run_dir: str) -> tuple[dict, dict]:
    """Each stage's counts, and the record ids of each shard set the Beam stages wrote."""
    from humpback.storage.shards import load_rows, shard_pattern

    counts, ids = {}, {}
    for stage in STAGES:
        with fsspec.open(f"{run_dir}/{stage}/manifest.json") as f:
            counts[stage] = json.load(f)["counts"]
    for stage, shard in [("segment", "segments"), ("augment", "candidates"),
                         ("curate_1", "scored"), ("curate_1", "curated")]:  # fmt: skip
        rows = load_rows(shard_pattern(f"{run_dir}/{stage}", shard))
        ids[f"{stage}/{shard}"] = sorted(r.get("segment_id") or r["id"] for r in rows)
    return counts, ids


def test_the_loop_on_s3_and_gcs_makes_what_it_makes_on_local_disk(
    servers, tiny_base_model, data_dir, tmp_path
):
    tiny_training = {"max_steps": 2, "batch_size": 2, "max_length": 256}
    config = {
        "base_model": tiny_base_model,
        "seed": {"path": str(data_dir / "seed/oasst_first_turn_rank0.jsonl"), "limit": 16,
                 "holdout": 4},
        "corpus": {"paths": [str(data_dir / "web/warc/english-pages-0001.warc.gz")]},
        "augment": {"batch_size": 4, "sampling": {"max_new_tokens": 8}, "check_form": False,
                    "demonstrations": {"count": 1}},
        "curate": {"mode": "logprobs", "k": 1, "batch_size": 4},
        "iterations": 1,
        "measure": {"enabled": False},
        "training": {"backward": tiny_training, "seed": tiny_training, "iteration": tiny_training},
    }  # fmt: skip
    local = str(tmp_path / "local")
    _run({**config, "run_dir": local}, tmp_path, {})
    expected_counts, expected_ids = _counts_and_ids(local)
    assert expected_counts["curate_1"]["out"] > 0
    for scheme in ("s3", "gs"):
        run_dir = f"{scheme}://{BUCKET}/runs/tiny"
        _run({**config, "run_dir": run_dir}, tmp_path, servers)
        counts, ids = _counts_and_ids(run_dir)
        assert counts == expected_counts, scheme
        assert ids == expected_ids, scheme
        fs, root = fsspec.core.url_to_fs(run_dir)
        assert fs.isfile(f"{root}/train_1/model/model.safetensors")
        assert fs.cat_file(f"{root}/report.html").startswith(b"<!doctype html>")
