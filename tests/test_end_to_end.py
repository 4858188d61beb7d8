"""`humpback run` on a tiny config: every stage, resuming after a kill, curated shards in TRL."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from humpback.schemas.config import WEB_TAG
from humpback.storage.shards import load_rows
from tests.tiny_run import ALPACA_EVAL, tiny_config

ROOT = Path(__file__).resolve().parents[1]
STAGES = ["seed", "train_backward", "train_seed", "segment", "augment", "curate_1", "train_1",
          "measure", "scale_2", "evaluate", "judge", "ablate_random", "ablate_all",
          "reference_likelihood", "judge_calibration"]  # fmt: skip


def humpback(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "humpback", *args], capture_output=True, text=True, cwd=ROOT
    )


def manifests(run_dir: Path) -> dict[str, dict]:
    return {s: json.loads((run_dir / s / "manifest.json").read_text()) for s in STAGES}


@pytest.fixture(scope="module")
def config(tmp_path_factory, tiny_base_model, data_dir) -> Path:
    """The whole loop on a tiny base model whose tokenizer has no chat template."""
    config = tiny_config(tmp_path_factory.mktemp("runs") / "a", tiny_base_model, data_dir)
    path = tmp_path_factory.mktemp("config") / "tiny.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="module")
def finished_run(config) -> Path:
    result = humpback("run", str(config))
    assert result.returncode == 0, result.stderr[-3000:]
    return Path(yaml.safe_load(config.read_text())["run_dir"])


def test_every_stage_completes_and_its_counts_reconcile(finished_run):
    assert not (finished_run / "segment" / "dedup_scratch").exists()  # removed after the stage
    found = manifests(finished_run)
    for manifest in found.values():
        c = manifest["counts"]
        assert (
            c["in"] == c["out"] + sum(c["filtered"].values()) + c["duplicates"] + c["dead_lettered"]
        )
    seed = found["seed"]["counts"]
    assert seed["out"] == 16 and seed["detail"]["held_out"] == 4
    assert found["augment"]["counts"]["in"] == found["segment"]["counts"]["out"] > 0
    augment = found["augment"]["counts"]
    screened = augment["filtered"].get("not_an_answer", 0)
    asked = augment["in"] - augment["dead_lettered"] - screened
    draws = found["augment"]["metrics"]["draws"]  # every draw: kept, an alternative or dropped
    dropped = sum(v for k, v in augment["detail"].items() if k.startswith("dropped_draw:"))
    assert draws % asked == 0 and augment["out"] + sum(augment["filtered"].values()) - screened \
        + dropped <= draws
    curate = found["curate_1"]["counts"]
    assert curate["in"] == found["augment"]["counts"]["out"]
    assert found["train_1"]["metrics"]["curated_examples"] == curate["out"] > 0
    assert (finished_run / "train_1" / "model" / "model.safetensors").exists()


def test_a_base_model_without_a_template_trains_and_serves_with_the_default_one(finished_run):
    from transformers import AutoTokenizer

    from humpback.inference.chat_template import DEFAULT_CHAT_TEMPLATE

    for stage in ["train_backward", "train_seed", "train_1"]:
        saved = AutoTokenizer.from_pretrained(finished_run / stage / "model")
        assert saved.chat_template == DEFAULT_CHAT_TEMPLATE
    rendered = saved.apply_chat_template([{"role": "user", "content": "Hi"}], tokenize=False)
    assert rendered.endswith(f"<|user|>\nHi{saved.eos_token}\n")


def test_the_measures_cover_every_scorer_on_the_held_out_pairs(finished_run):
    metrics = manifests(finished_run)["measure"]["metrics"]
    assert metrics["heldout_pairs"] == 4
    assert metrics["probe_pairs"] == {"true": 4, "mismatched": 4, "nearest": 4, "boilerplate": 4}
    assert set(metrics["backward_fidelity"]) == {"base", "M_yx"}
    assert metrics["backward_fidelity"]["M_yx"]["logprob_per_token"] < 0
    curators = metrics["curators"]
    # one iteration: M0 scores curate_1; M1, the final model, scores nothing
    assert set(curators) == {"pmi (M_yx)", "similarity (embedding)", "rubric (M0)", "ifd (M0)",
                             "combined (M0)"}
    assert all(0 <= c["auc_mismatched"] <= 1 and c["pairs"] == 16 for c in curators.values())
    assert (
        metrics["instruction_form"]["instructions"]
        == manifests(finished_run)["augment"]["counts"]["out"]
    )


def test_read_backward_puts_human_answers_through_augments_task(finished_run, tmp_path):
    """Every drawn human answer comes back with M_yx's instruction (its PMI beside it) or the
    reason augment would drop it; the draw holds answers of a segment's length only."""
    out = tmp_path / "read.jsonl"
    result = subprocess.run(
        [sys.executable, "-m", "tools.read_backward", str(finished_run), "--pairs", "6",
         "--out", str(out)],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 6
    assert all(600 <= len(r["answer"]) <= 3000 for r in rows)
    for row in rows:
        assert ("written" in row and row["written"] and "pmi" in row) or row["dropped"]
    assert f"{sum('written' in r for r in rows)} of 6 human answers" in result.stdout


def test_curated_shards_train_unchanged_in_the_stand_alone_trl_script(
    finished_run, tiny_model, tmp_path
):
    from datasets import load_dataset

    files = sorted(str(p) for p in (finished_run / "curate_1").glob("curated-*.parquet"))
    data = load_dataset("parquet", data_files=files, split="train")
    assert {"messages", "source", "score", "iteration", "segment_id", "url"} <= set(
        data.column_names
    )
    user, assistant = data[0]["messages"]
    assert user["role"] == "user" and user["content"].endswith(WEB_TAG)
    assert assistant["role"] == "assistant" and len(assistant["content"]) >= 600
    result = subprocess.run(
        [sys.executable, "tools/sft_example.py", "--model", tiny_model, "--data", *files,
         "--output_dir", str(tmp_path), "--max_steps", "2", "--batch_size", "2",
         "--max_length", "128"],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"{len(data)} conversations" in result.stdout
    assert (tmp_path / "model.safetensors").exists()


def test_each_model_has_a_loss_curve_and_no_leftover_checkpoints(finished_run):
    for stage in ["train_backward", "train_seed", "train_1"]:
        assert (finished_run / stage / "loss.png").read_bytes()[:4] == b"\x89PNG"
        assert not (finished_run / stage / "checkpoints").exists()
        metrics = json.loads((finished_run / stage / "manifest.json").read_text())["metrics"]
        assert metrics["last_learning_rate"] == pytest.approx(0.9 * metrics["first_learning_rate"])


def test_a_launcher_template_runs_training_on_two_processes(finished_run, config):
    """torchrun is what `accelerate launch` runs underneath; on CPUs, DDP runs over gloo."""
    run_dir = finished_run.parent / "launched"
    launcher = (  # without a GPU, accelerate only goes distributed when told to use the CPU
        "ACCELERATE_USE_CPU=true {python} -m torch.distributed.run --nproc_per_node 2 "
        "-m humpback.training.job {spec}"
    )
    result = humpback("run", str(config), "--until", "train_backward", "--set",
                      f"run_dir={run_dir}", "--set", f"training.launcher='{launcher}'")  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "torch.distributed.run --nproc_per_node 2" in result.stdout
    metrics = json.loads((run_dir / "train_backward" / "manifest.json").read_text())["metrics"]
    assert metrics["processes"] == 2 and metrics["steps"] == 2
    assert (run_dir / "train_backward" / "model" / "model.safetensors").exists()


def test_a_second_run_skips_every_complete_stage(finished_run, config):
    before = {s: m["run_id"] for s, m in manifests(finished_run).items()}
    result = humpback("run", str(config))
    assert result.returncode == 0
    assert all(f"[humpback] {s}: complete, skipped" in result.stdout for s in STAGES)
    assert {s: m["run_id"] for s, m in manifests(finished_run).items()} == before


def test_status_prints_a_row_per_stage(finished_run):
    result = humpback("status", str(finished_run))
    assert result.returncode == 0
    table = result.stdout.split("outputs:")[0]
    rows = {line.split()[0]: line.split() for line in table.splitlines() if line.strip()}
    assert all(rows[s][1] == "done" for s in STAGES)


def start_and_signal_at_augment(config: Path, overrides: list[str], sig: int) -> tuple[int, str]:
    """Start a run, send `sig` as soon as augment starts; return its exit code and output."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "humpback", "run", str(config), *overrides],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT,
        start_new_session=True,
        # A shell starts background jobs with SIGINT ignored, and children inherit that:
        # give the run the default Ctrl-C handling a terminal would.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if line.startswith("[humpback] augment: running"):
            os.killpg(proc.pid, sig)
            break
    seen.extend(proc.stdout)
    return proc.wait(), "".join(seen)


def test_interrupted_during_augment_then_resumed_matches_an_uninterrupted_run(finished_run, config):
    run_dir = finished_run.parent / "interrupted"
    overrides = ["--set", f"run_dir={run_dir}"]
    code, out = start_and_signal_at_augment(config, overrides, signal.SIGINT)  # Ctrl-C
    assert code == 130 and "augment: interrupted; run the same command again" in out
    code, out = start_and_signal_at_augment(config, overrides, signal.SIGKILL)  # no clean-up
    assert code == -signal.SIGKILL
    assert not (run_dir / "augment" / "manifest.json").exists()  # really stopped mid-stage
    done_before = {s: json.loads((run_dir / s / "manifest.json").read_text())["run_id"]
                   for s in STAGES[:4]}  # fmt: skip

    result = humpback("run", str(config), *overrides)
    assert result.returncode == 0, result.stderr[-3000:]
    assert all(f"[humpback] {s}: complete, skipped" in result.stdout for s in STAGES[:4])
    assert "[humpback] augment: running" in result.stdout
    resumed = manifests(run_dir)
    assert {s: resumed[s]["run_id"] for s in STAGES[:4]} == done_before
    uninterrupted = manifests(finished_run)
    assert {s: m["counts"] for s, m in resumed.items()} == {
        s: m["counts"] for s, m in uninterrupted.items()
    }


def test_curate_in_generate_mode_dead_letters_unparsable_ratings(finished_run, config):
    run_dir = finished_run.parent / "generate"
    overrides = [f"run_dir={run_dir}", "curate.mode=generate", "curate.sampling.max_new_tokens=6"]
    result = humpback("run", str(config), "--until", "curate_1", *(f"--set={o}" for o in overrides))
    assert result.returncode == 0, result.stderr[-3000:]
    counts = json.loads((run_dir / "curate_1" / "manifest.json").read_text())["counts"]
    # a random tiny model writes no "Score: N": every rating is dead-lettered, none guessed
    assert counts["dead_lettered"] == counts["in"] > 0 and counts["out"] == 0
    import pyarrow.parquet as pq

    dead = pq.read_table(next((run_dir / "curate_1").glob("dead_letter-*.parquet"))).to_pylist()
    assert {d["error"] for d in dead} == {"unparsable_score"}


def test_every_model_answers_the_prompts_in_alpaca_evals_format(finished_run, data_dir):
    prompts = json.loads(
        (data_dir / ALPACA_EVAL / "text_davinci_003/model_outputs.json").read_text()
    )
    instructions = {p["instruction"] for p in prompts}
    for part in ["M0", "M1", "N_2"]:
        outputs = json.loads((finished_run / "evaluate" / part / "model_outputs.json").read_text())
        assert len(outputs) == 4
        assert all(set(o) == {"dataset", "instruction", "output", "generator"} for o in outputs)
        assert all(o["instruction"] in instructions for o in outputs)  # byte-identical
    counts = manifests(finished_run)["evaluate"]["counts"]
    assert counts["in"] == 3 * 4 and counts["out"] + counts["dead_lettered"] == 12


def test_the_judge_gives_win_rates_differences_and_a_scaling_fit(finished_run):
    judge = manifests(finished_run)["judge"]
    metrics = judge["metrics"]
    assert set(metrics["models"]) == {"M0", "M1", "N=2"}
    for figures in metrics["models"].values():
        assert figures["n_total"] + figures["unjudged"] == 4
        assert 0 <= figures["win_rate"] <= 100 and figures["pairs_both_orders"] == 4
        assert 0 <= figures["flip_rate"] <= 1
    assert judge["counts"]["in"] == 3 * 4 * 2  # every pair in both orders
    assert set(metrics["differences"]) == {"M0 -> M1"}
    assert metrics["differences"]["M0 -> M1"]["prompts"] == 4
    curated = manifests(finished_run)["curate_1"]["counts"]["out"]
    assert metrics["scaling"]["sizes"] == [2, curated] and metrics["scaling"]["alpha"] is not None
    assert (finished_run / "judge" / "win_rates.json").exists()


def test_judge_calibration_reports_agreement_with_gpt4_and_published_outputs(finished_run):
    metrics = manifests(finished_run)["judge_calibration"]["metrics"]
    annotated = {"alpaca-7b", "falcon-7b-instruct", "gpt4", "guanaco-65b", "text_davinci_001",
                 "vicuna-13b"}  # fmt: skip
    assert set(metrics["models"]) == annotated | {"humpback-llama-65b"}
    for name in annotated:
        figures = metrics["models"][name]
        assert figures["pairs"] + figures["unjudged"] == 2
        assert 0 <= figures["agreement"] <= 1 and figures["annotated_win_rate_all"] > 0
    assert metrics["models"]["humpback-llama-65b"]["published_win_rate"] == 83.71
    assert metrics["overall"]["pairs"] <= 12


def test_seed_pairs_overlapping_evaluation_prompts_are_dropped_and_counted(config, tmp_path):
    run_dir = tmp_path / "decontaminated"
    result = humpback("run", str(config), "--until", "seed", "--set", f"run_dir={run_dir}",
                      "--set", "seed.exclude_field=null", "--set", "seed.limit=null")  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    counts = json.loads((run_dir / "seed" / "manifest.json").read_text())["counts"]
    # the 6 OASST prompts that AlpacaEval took, and one that shares a prompt template with one
    assert counts["filtered"] == {"eval_overlap": 7} and counts["in"] == 94


def test_the_ablation_trains_alike_and_reference_likelihood_compares_every_model(finished_run):
    found = manifests(finished_run)
    kept, candidates = found["curate_1"]["counts"]["out"], found["augment"]["counts"]["out"]
    random_n = found["ablate_random"]["metrics"]["curated_examples"]
    written = load_rows(f"{finished_run}/ablate_random/curated-*.parquet")
    assert random_n == min(kept, candidates) == len(written)
    assert found["ablate_all"]["metrics"]["curated_examples"] <= candidates
    assert found["ablate_all"]["metrics"]["steps"] == found["train_1"]["metrics"]["steps"]
    reference = found["reference_likelihood"]
    assert reference["counts"]["in"] == reference["counts"]["out"] == 4 * 4  # 4 models, 4 prompts
    figures = reference["metrics"]
    assert set(figures["logprob_per_token"]) == {"M0", "M1", "random", "all"}
    assert all(v < 0 for v in figures["logprob_per_token"].values())
    assert set(figures["differences"]) == {"M1 - M0", "M1 - random", "M1 - all"}
    for d in figures["differences"].values():
        assert d["prompts"] == 4 and d["low"] <= d["difference"] <= d["high"]
    scored = {r["id"] for r in load_rows(f"{finished_run}/reference_likelihood/reference_scores-*")}
    evaluated = {r["id"] for r in load_rows(f"{finished_run}/evaluate/answers-*.parquet")}
    assert len(scored) == 4 and not scored & evaluated  # prompts none of evaluate's


def test_the_report_is_one_page_that_chromium_renders(finished_run, tmp_path):
    from PIL import Image, ImageStat

    result = humpback("report", str(finished_run))
    assert result.returncode == 0, result.stderr[-3000:]
    page = finished_run / "report.html"
    text = page.read_text()
    headings = ["Stages", "Training loss", "Scores per iteration", "Method measures",
                "Curation examples", "Win rates", "Judge calibration", "Data scaling"]  # fmt: skip
    for heading in headings:
        assert f"<h2>{heading}" in text
    assert "<script" not in text and "<link" not in text and 'src="http' not in text
    assert text.count("data:image/png;base64,") >= 5  # loss curves, histograms, win rates, fit
    shot = tmp_path / "report.png"
    subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1200,3000",
         f"--screenshot={shot}", page.as_uri()],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    image = Image.open(shot).convert("L")
    assert image.size == (1200, 3000)
    stddev = ImageStat.Stat(image).stddev[0]
    dark = sum(image.histogram()[:128]) / (image.size[0] * image.size[1])
    assert stddev > 20 and dark > 0.005  # text, tables and charts, not a blank page


def test_a_written_verdict_the_judge_cannot_give_is_counted_not_guessed(finished_run, config):
    import shutil

    run_dir = finished_run.parent / "ranking"
    shutil.copytree(finished_run, run_dir)
    overrides = [f"run_dir={run_dir}", "judge.form=ranking", "judge.sampling.max_new_tokens=4"]
    result = humpback("run", str(config), "--only", "judge", *(f"--set={o}" for o in overrides))
    assert result.returncode == 0, result.stderr[-3000:]
    manifest = json.loads((run_dir / "judge" / "manifest.json").read_text())
    # a random tiny model writes no "Better: A|B": every judgment is dead-lettered, none guessed
    assert manifest["counts"]["dead_lettered"] == manifest["counts"]["in"] == 24
    models = manifest["metrics"]["models"]
    assert set(models) == {"M0", "M1", "N=2"}
    assert all(m["n_total"] == 0 and m["unjudged"] == 4 for m in models.values())
    dead = load_rows(str(run_dir / "judge" / "dead_letter-*.parquet"))
    assert {d["error"] for d in dead} == {"unparsable_verdict"}


def test_augment_killed_half_way_on_worker_processes_reruns_without_loss_or_duplicates(
    finished_run, config
):
    """SIGKILL to the whole process group (the machine lost) once the multi-process runner has
    finished some batches; the rerun's candidates equal the uninterrupted run's, id for id."""
    import time

    run_dir = finished_run.parent / "killed-half-way"
    args = [sys.executable, "-m", "humpback", "run", str(config), "--set", f"run_dir={run_dir}",
            "--until", "augment", "--",
            "--direct_num_workers=2", "--direct_running_mode=multi_processing"]  # fmt: skip
    proc = subprocess.Popen(args, cwd=ROOT, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    cache = run_dir / "inference_cache"
    while proc.poll() is None and not (
        (run_dir / "augment").is_dir() and cache.is_dir() and any(cache.rglob("*.json"))
    ):
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    assert not (run_dir / "augment" / "manifest.json").exists()  # stopped half-way
    assert all(json.loads(f.read_text()) for f in cache.rglob("*.json"))  # none torn

    result = subprocess.run(args, capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    rerun = json.loads((run_dir / "augment" / "manifest.json").read_text())
    whole = json.loads((finished_run / "augment" / "manifest.json").read_text())
    assert rerun["counts"]["detail"].pop("cache_hits") > 0  # what the killed run had done
    whole["counts"]["detail"].pop("cache_hits", None)
    assert rerun["counts"] == whole["counts"]
    ids = [r["id"] for r in load_rows(str(run_dir / "augment" / "candidates-*.parquet"))]
    expected = [r["id"] for r in load_rows(str(finished_run / "augment" / "candidates-*.parquet"))]
    assert len(ids) == len(set(ids)) == len(expected) and set(ids) == set(expected)
    assert not list((run_dir / "augment").glob("beam-temp-*"))


def test_killed_at_a_random_point_of_curate_then_rerun_gives_the_same_curated_set(
    finished_run, config
):
    """One kill point of `tools.crash_resume` (which tries every stage) in CI: the scorer's
    stage, at a seeded random moment of its uninterrupted time."""
    import random

    from tools.crash_resume import command, copy_stages, kill_in, outcome

    run_dir = finished_run.parent / "killed-in-curate"
    killed = finished_run.parent / "killed.yaml"
    killed.write_text(yaml.safe_dump({**yaml.safe_load(config.read_text()),
                                      "run_dir": str(run_dir)}))  # fmt: skip
    copy_stages(finished_run, run_dir, STAGES[: STAGES.index("curate_1")])
    wall = json.loads((finished_run / "curate_1/manifest.json").read_text())["wall_s"]
    delay = random.Random(3).uniform(0, 0.7 * wall)  # inside the stage on a slower machine too
    assert kill_in(killed, "curate_1", delay, "--until", "curate_1") == "curate_1"
    assert not (run_dir / "curate_1/manifest.json").exists()
    rerun = subprocess.run(command(killed, "--until", "curate_1"), cwd=ROOT, capture_output=True,
                           text=True)  # fmt: skip
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert outcome(run_dir, ["curate_1"]) == outcome(finished_run, ["curate_1"])


def test_export_writes_a_dataset_folder_that_datasets_and_the_hub_card_read(finished_run, tmp_path):
    from datasets import load_dataset
    from huggingface_hub import DatasetCard

    out = tmp_path / "dataset"
    result = humpback("export", str(finished_run), str(out), "--with-seed")
    assert result.returncode == 0, result.stderr[-3000:]
    curated = manifests(finished_run)["curate_1"]["counts"]["out"]
    seed = manifests(finished_run)["seed"]["counts"]["out"] - 4  # less the held-out pairs
    loaded = load_dataset(str(out))  # the folder alone: its card names the files and split
    assert list(loaded) == ["train"] and loaded["train"].num_rows == curated + seed
    assert loaded["train"].features["messages"].feature["role"].dtype == "string"
    sources = loaded["train"]["source"]
    assert sources.count("seed") == seed and len(sources) - seed == curated
    card = DatasetCard.load(out / "README.md")
    meta = card.data.to_dict()
    assert meta["license"] == "other" and meta["task_categories"] == ["text-generation"]
    assert meta["configs"][0]["data_files"][0] == {"split": "train", "path": "data/train-*"}
    assert meta["dataset_info"]["splits"][0]["num_examples"] == curated + seed
    assert {f["name"] for f in meta["dataset_info"]["features"]} >= {"messages", "source", "url"}
    assert f"curate_1 kept {curated} of" in card.text and "| augment |" in card.text
    assert (out / "config.yaml").read_text() == (finished_run / "config.yaml").read_text()
    missing = humpback("export", str(finished_run), str(tmp_path / "x"), "--iteration", "3")
    assert missing.returncode == 2 and "curate_3 has not finished" in missing.stderr


def test_the_rewrite_stage_rewrites_curated_rows_and_keeps_those_it_drops(finished_run, config):
    import shutil

    run_dir = finished_run.parent / "rewritten"
    shutil.copytree(finished_run, run_dir)
    overrides = [f"run_dir={run_dir}", "rewrite.enabled=true", "rewrite.batch_size=4",
                 "rewrite.sampling.max_new_tokens=24", "rewrite.min_length_ratio=0.05"]
    result = humpback("run", str(config), "--only", "rewrite_1",
                      *(f"--set={o}" for o in overrides))  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    counts = json.loads((run_dir / "rewrite_1" / "manifest.json").read_text())["counts"]
    curated = {r["segment_id"]: r for r in load_rows(f"{finished_run}/curate_1/curated-*.parquet")}
    rows = load_rows(f"{run_dir}/rewrite_1/curated-*.parquet")
    dropped = load_rows(f"{run_dir}/rewrite_1/filtered-*.parquet")
    kept = counts["detail"].get("kept_input", 0)
    assert counts["in"] == len(curated) == counts["out"] + len(dropped) + counts["dead_lettered"]
    assert len(rows) == counts["out"] + kept and kept == len(dropped)  # no row lost
    assert {d["error"] for d in dropped} <= {"rewrite_too_short", "rewrite_refused"}
    assert {d["input_id"] for d in dropped} == {r["segment_id"] for r in rows if not r["original"]}
    for row in rows:
        before = curated[row["segment_id"]]
        assert row["messages"][0] == before["messages"][0]
        if row["original"] is None:
            assert row["messages"] == before["messages"]
        else:
            assert row["original"] == before["messages"][-1]["content"]
    exported = humpback("export", str(run_dir), str(run_dir / "dataset"))
    assert exported.returncode == 0, exported.stderr[-3000:]
    (shard,) = (run_dir / "dataset" / "data").glob("train-*.parquet")
    table = pq.read_table(shard)
    assert "original" in table.column_names and table.num_rows == len(rows)
