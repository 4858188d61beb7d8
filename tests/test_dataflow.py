"""The production path's Dataflow jobs, built offline with the real DataflowRunner (`--dry_run`,
fake project and bucket, no credentials, no network): only inference steps ask for GPUs, every
environment runs the worker image; and the image's Dockerfile matches what launches it."""

import re
import tomllib
from pathlib import Path

import apache_beam
import pytest

from humpback.run.cli import main
from humpback.run.dataflow_job import dataflow_jobs
from humpback.schemas.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parents[1]
IMAGE = "us-docker.pkg.dev/fake-project/humpback/worker:0.1.0"
GPU = "type:nvidia-l4;count:1;install-nvidia-driver"
FAKE = ["--project=fake-project", "--region=us-central1", "--temp_location=gs://fake-bucket/tmp",
        f"--sdk_container_image={IMAGE}", "--sdk_location=container"]  # fmt: skip


def _is_inference(step: str) -> bool:
    return "/Infer/BeamML_RunInference/" in step


@pytest.fixture
def fake_cloud(monkeypatch):
    for name in ("HUMPBACK_BUCKET", "GCP_PROJECT", "GCP_REGION", "HUMPBACK_IMAGE"):
        monkeypatch.delenv(name, raising=False)


def test_the_1tb_job_puts_only_inference_steps_on_gpus(fake_cloud):
    jobs = {
        job.stage: job for job in dataflow_jobs(load_config(ROOT / "configs/dataflow-1tb.yaml"))
    }
    assert list(jobs) == ["segment", "augment", "curate_1", "curate_2"]
    for job in jobs.values():
        assert job.images == [IMAGE]
        inference = [s for s in job.steps if _is_inference(s.name)]
        assert [s for s in job.steps if s.hints] == inference
        for step in inference:
            assert step.hints == {"accelerator": GPU, "min_ram": str(32 * 10**9)}
    assert not jobs["segment"].with_hints()
    assert [s.name.split("/")[0] for s in jobs["augment"].with_hints()] == ["Backtranslate"]
    assert [s.name.split("/")[0] for s in jobs["curate_2"].with_hints()] == ["Score"]
    reads = [s for s in jobs["curate_1"].steps if s.name.startswith("Read candidates")]
    assert reads and not any(s.hints for s in reads)


def test_the_quickstart_job_asks_for_gpus_where_a_stage_says_so(capsys):
    quickstart = str(ROOT / "configs/quickstart.yaml")
    plain = dataflow_jobs(load_config(quickstart), FAKE)
    assert all(job.images == [IMAGE] and not job.with_hints() for job in plain)
    hinted = load_config(quickstart, [f"augment.resources.accelerator={GPU}"])
    jobs = {job.stage: job for job in dataflow_jobs(hinted, FAKE)}
    assert {s.name.split("/")[0] for s in jobs["augment"].with_hints()} == {
        "Backtranslate", "InstructionPMI"
    }  # fmt: skip
    assert not jobs["curate_1"].with_hints()
    assert main(["dataflow-job", quickstart, "--", *FAKE]) == 0
    out = capsys.readouterr().out
    assert f"augment: 57 steps; image {IMAGE}" in out and "accelerator" not in out


def test_gpu_hints_and_the_worker_accelerator_option_are_not_combined(tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text((ROOT / "configs/dataflow-1tb.yaml").read_text())
    option = "beam.options.dataflow_service_options=[worker_accelerator=type:nvidia-l4;count:1]"
    with pytest.raises(ConfigError, match="worker_accelerator service option"):
        load_config(config, [option])


def test_the_dockerfile_matches_the_beam_and_vllm_that_launch_jobs():
    dockerfile = (ROOT / "Dockerfile").read_text()
    (beam,) = re.findall(r"^ARG BEAM_VERSION=(\S+)$", dockerfile, re.M)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert f"apache-beam=={beam}" in [d.split(";")[0].strip() for d in project["dependencies"]]
    assert beam == apache_beam.__version__
    extras = project["optional-dependencies"]
    (vllm,) = extras["vllm"]
    assert f"pip install {vllm} " in dockerfile
    assert re.search(r"^FROM nvidia/cuda:\S+$", dockerfile, re.M)
    assert "COPY --from=beam /opt/apache/beam /opt/apache/beam" in dockerfile
    assert dockerfile.rstrip().endswith('ENTRYPOINT ["/opt/apache/beam/boot"]')
