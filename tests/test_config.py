import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from humpback.schemas.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "configs" / "quickstart.yaml"


def test_quickstart_config_is_valid_and_expands_the_data_path(monkeypatch):
    monkeypatch.setenv("HUMPBACK_DATA", "/data/here")
    config = load_config(QUICKSTART)
    assert config.seed.path == "/data/here/seed/oasst_first_turn_rank0.jsonl"
    assert config.iterations == 2
    assert config.training.backward.final_lr_factor == 0.9


def test_default_applies_when_variable_is_unset(monkeypatch):
    monkeypatch.delenv("HUMPBACK_DATA", raising=False)
    assert load_config(QUICKSTART).seed.path.startswith("../shared/data/")


def test_typo_in_a_key_is_reported_with_its_yaml_path(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(QUICKSTART.read_text().replace("max_input_tokens", "max_imput_tokens"))
    with pytest.raises(ConfigError, match=r"augment\.max_imput_tokens: Extra inputs"):
        load_config(bad)


def test_bad_values_are_all_reported():
    with pytest.raises(ConfigError) as err:
        load_config(QUICKSTART, ["curate.k=9", "segment.min_chars=5000", "iterations=0"])
    message = str(err.value)
    assert "curate.k" in message and "iterations" in message
    assert "min_chars must not exceed max_chars" in message


def test_set_overrides_nested_values_as_yaml():
    config = load_config(QUICKSTART, ["curate.mode=generate", "training.seed.max_steps=7"])
    assert config.curate.mode == "generate"
    assert config.training.seed.max_steps == 7


def test_set_rejects_an_assignment_without_equals():
    with pytest.raises(ConfigError, match="key.sub=value"):
        load_config(QUICKSTART, ["curate.k"])


def test_cli_validate_exits_non_zero_naming_the_field(tmp_path):
    bad = tmp_path / "typo.yaml"
    bad.write_text(QUICKSTART.read_text().replace("output_field", "output_feild"))
    result = subprocess.run(
        [sys.executable, "-m", "humpback", "validate", str(bad)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 2
    assert "seed.output_feild: Extra inputs are not permitted" in result.stderr


@pytest.mark.parametrize("where", ["file", "under_a_file"])
def test_a_run_dir_that_cannot_be_written_is_a_one_line_error(tmp_path, where):
    blocker = tmp_path / "taken"
    blocker.write_text("a file, not a folder")
    run_dir = blocker if where == "file" else blocker / "run"
    result = subprocess.run(
        [sys.executable, "-m", "humpback", "run", str(QUICKSTART), "--set", f"run_dir={run_dir}"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"error: run_dir: {run_dir} cannot be written (File exists)"
        if where == "file"
        else f"error: run_dir: {run_dir} cannot be written (Not a directory)"
    ]


@pytest.mark.parametrize("path", sorted((ROOT / "configs").glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_run_config_is_valid(path):
    load_config(path)


def test_a_launcher_without_the_spec_placeholder_is_rejected():
    with pytest.raises(ConfigError, match="launcher must contain"):
        load_config(QUICKSTART, ["training.launcher=accelerate launch -m humpback.training.job"])


@pytest.mark.parametrize("name", ["ddp", "fsdp"])
def test_accelerate_configs_load(name):
    from accelerate.commands.config.config_args import load_config_from_file

    config = load_config_from_file(str(ROOT / "configs" / "accelerate" / f"{name}.yaml"))
    assert config.distributed_type.value == {"ddp": "MULTI_GPU", "fsdp": "FSDP"}[name]


def test_another_backends_settings_are_rejected_with_their_yaml_path():
    with pytest.raises(ConfigError) as err:
        load_config(QUICKSTART, ["augment.vllm={engine_args: {tensor_parallel_size: 2}}",
                                 "curate.engine_args={}"])  # fmt: skip
    message = str(err.value)
    assert "augment.vllm: Value error, settings of the vllm backend, but this step's backend " \
           "is transformers" in message  # fmt: skip
    assert "curate.engine_args: Extra inputs are not permitted" in message


def test_each_backend_reads_its_own_section_or_its_defaults():
    config = load_config(QUICKSTART, ["augment.backend=openai", "augment.pmi=false",
                                      "augment.samples=1", "curate.mode=logprobs",
                                      "augment.openai={concurrency: 4}",
                                      "curate.transformers={device: cpu}"])  # fmt: skip
    assert config.augment.settings.concurrency == 4
    assert config.curate.settings.device == "cpu"
    assert load_config(QUICKSTART).augment.settings.length_sort_window == 4


def test_config_lists_every_option_with_its_type_default_and_description():
    result = subprocess.run([sys.executable, "-m", "humpback", "config", "curate"],
                            capture_output=True, text=True, cwd=ROOT)  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line.split(None, 1)[1] for line in result.stdout.splitlines()[1:]}
    assert all(name.startswith("curate") for name in lines)
    assert lines["curate.k"].split()[:2] == ["int", "5"] and "keep candidates" in lines["curate.k"]
    assert lines["curate.mode"].startswith("generate | logprobs | likelihood | combined")
    assert "curate.openai.timeout_s" in lines and "curate.sampling.max_new_tokens" in lines
    wrong = subprocess.run([sys.executable, "-m", "humpback", "config", "curat"],
                           capture_output=True, text=True, cwd=ROOT)  # fmt: skip
    assert wrong.returncode == 2 and "no config section 'curat'" in wrong.stderr


def test_every_config_field_is_listed_with_a_type():
    from humpback.schemas.options import options

    listed = {path: kind for path, kind, _, _ in options()}
    assert listed["corpus.text.surrogates"] == "replace | dead_letter"
    assert listed["segment.dedup.near.bands"] == "int" and listed["dataset.license"] == "str"
    assert all(kind for kind in listed.values())


def test_validate_prints_the_resolved_config():
    command = [sys.executable, "-m", "humpback", "validate", str(QUICKSTART), "--set", "curate.k=4"]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)
    assert resolved["curate"]["k"] == 4 and "${" not in result.stdout
    assert resolved == load_config(QUICKSTART, ["curate.k=4"]).model_dump(mode="json")
    assert result.stdout.strip().splitlines()[-1].startswith(f"# {QUICKSTART}: valid; stages:")


def test_a_key_that_moved_says_where_it_went(tmp_path):
    text = QUICKSTART.read_text().replace("evaluate:", "evaluate:\n  decontamination_ngram: 9", 1)
    (tmp_path / "old.yaml").write_text(text)
    with pytest.raises(ConfigError, match=r"decontamination_ngram: .*\(moved to decontamination"):
        load_config(tmp_path / "old.yaml")


def test_several_instructions_per_segment_need_pmi_and_sampling():
    assert load_config(QUICKSTART, ["augment.samples=3"]).augment.samples == 3
    with pytest.raises(ConfigError, match="chooses an instruction by its PMI"):
        load_config(QUICKSTART, ["augment.samples=3", "augment.pmi=false"])
    with pytest.raises(ConfigError, match="needs sampling.temperature > 0"):
        load_config(QUICKSTART, ["augment.samples=2", "augment.sampling.temperature=0"])
