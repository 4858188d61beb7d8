"""The openai backend against a real OpenAI-compatible server: llama.cpp's, on loopback, serving
the embedded model's GGUF (installed by tools/setup.sh)."""

import json
import threading
import time
from pathlib import Path

import pytest

from humpback.inference.backend import INPUT_TOO_LONG, load_backend
from humpback.schemas.config import AugmentConfig, OpenAISettings, Sampling
from humpback.storage.shards import load_rows
from humpback.tasks.backtranslate import backward_prompt
from humpback.tasks.score import SCORE_LABELS, SCORE_PREFIX, curation_prompt
from tests.servers import LlamaServer
from tests.test_inference_pipeline import _augment, _segments


def _cfg(url: str, **server) -> AugmentConfig:
    """Every answer becomes a candidate (no form check), and no likelihoods (not served)."""
    return AugmentConfig(
        backend="openai", batch_size=4, max_input_tokens=1024, cache=False, check_form=False,
        pmi=False,
        openai=OpenAISettings(base_url=url, model="smollm2", **server),
        sampling=Sampling(temperature=0.7, max_new_tokens=12),
    )  # fmt: skip


def test_generate_and_next_token_scores_from_the_server(server, embedded_model):
    backend = load_backend(embedded_model, _cfg(server.url, concurrency=4))
    prompts = [backward_prompt(f"Water tomato plants {i} times a week.") for i in range(6)]
    out = backend.generate([*prompts, backward_prompt("word " * 2000)], Sampling(max_new_tokens=8))
    assert all(g.error is None and g.text for g in out[:6]) and out[6].error == INPUT_TOO_LONG
    drawn = backend.generate_samples([prompts[0], backward_prompt("word " * 2000)],
                                     Sampling(temperature=1.0, max_new_tokens=8), 2)  # fmt: skip
    assert len(drawn[0].texts) == 2 and drawn[1].error == INPUT_TOO_LONG
    scores = backend.label_distribution(
        [curation_prompt("How do I water tomatoes?", "Twice a week, deeply.")],
        SCORE_PREFIX, SCORE_LABELS,
    )  # fmt: skip
    assert len(scores[0].probs) == 5 and sum(scores[0].probs) == pytest.approx(1.0)


def _kill_once_busy(server: LlamaServer, restart_after: float | None) -> dict:
    """Kill the server after its first answer, then maybe start it again; report what it saw."""
    seen: dict = {}

    def watch():
        while server.served() == 0:
            time.sleep(0.05)
        server.stop()
        seen["served_before_kill"] = server.served()
        if restart_after is not None:
            time.sleep(restart_after)
            server.start()

    threading.Thread(target=watch, daemon=True).start()
    return seen


def _segments_folder(tmp_path, n: int) -> Path:
    folder = tmp_path / "segments"
    _segments(folder, [f"Answer {i}: water the tomatoes {i} times a week." for i in range(n)])
    return folder


def test_a_server_killed_mid_run_and_restarted_loses_no_request(gguf, embedded_model, tmp_path):
    server = LlamaServer(gguf, tmp_path / "log").start()
    try:
        seen = _kill_once_busy(server, restart_after=1.0)
        cfg = _cfg(server.url, concurrency=2, max_retries=6, timeout_s=30)
        counts, candidates = _augment(embedded_model, _segments_folder(tmp_path, 16),
                                      tmp_path / "out", cfg)  # fmt: skip
    finally:
        server.stop()
    assert 0 < seen["served_before_kill"] < 16  # killed mid-run
    assert counts["in"] == counts["out"] == len(candidates) == 16  # every request retried


def test_a_server_that_stays_down_dead_letters_the_rest(gguf, embedded_model, tmp_path):
    server = LlamaServer(gguf, tmp_path / "log").start()
    try:
        seen = _kill_once_busy(server, restart_after=None)
        cfg = _cfg(server.url, concurrency=2, max_retries=1, timeout_s=10)
        counts, candidates = _augment(embedded_model, _segments_folder(tmp_path, 16),
                                      tmp_path / "out", cfg)  # fmt: skip
    finally:
        server.stop()
    dead = load_rows(f"{tmp_path}/out/dead_letter-*.parquet")
    assert 0 < seen["served_before_kill"] < 16
    assert counts["in"] == 16 == len(candidates) + len(dead) and counts["dead_lettered"] == len(
        dead
    )
    assert dead and {d["error"] for d in dead} <= {"APIConnectionError", "APITimeoutError"}


def test_the_judge_plugs_into_an_openai_compatible_server(server, data_dir, tmp_path):
    """Judge calibration with llama.cpp's server as the judge: the same stage, another backend."""
    import yaml

    from tests.test_end_to_end import humpback

    evals = data_dir / "eval/alpaca_eval"
    config = {
        "run_dir": str(tmp_path / "run"),
        "seed": {"path": str(data_dir / "seed/oasst_first_turn_rank0.jsonl")},
        "corpus": {"paths": [str(data_dir / "web/warc/english-pages-0001.warc.gz")]},
        "judge": {
            "reference": str(evals / "text_davinci_003/model_outputs.json"),
            "backend": "openai", "openai": {"base_url": server.url, "model": "smollm2"},
            "batch_size": 4, "answer_chars": 300, "max_input_tokens": 1800,
            "calibration": {"annotations": str(evals / "gpt4_annotations"), "pairs": 2},
        },
    }  # fmt: skip
    path = tmp_path / "judge.yaml"
    path.write_text(yaml.safe_dump(config))

    def asked() -> int:  # the logprobs form reads the next token through /v1/completions
        return server.log.read_text(errors="replace").count("POST /v1/completions")

    before = asked()
    result = humpback("run", str(path), "--only", "judge_calibration")
    assert result.returncode == 0, result.stderr[-3000:]
    manifest = json.loads((tmp_path / "run/judge_calibration/manifest.json").read_text())
    counts, metrics = manifest["counts"], manifest["metrics"]
    assert counts["in"] == 6 * 2 * 2 == counts["out"] + counts["dead_lettered"]
    assert asked() - before >= counts["in"]  # each judgment asked the server
    judgments = load_rows(f"{tmp_path}/run/judge_calibration/judgments-*.parquet")
    assert {j["judge"] for j in judgments} == {"smollm2"}
    assert 0 <= metrics["overall"]["agreement"] <= 1 and metrics["overall"]["pairs"] > 0
