"""Model faults: a server that fails, hangs, answers empty, not UTF-8, not JSON or out of the
rubric's range; each request is retried or dead-lettered with its reason, and the stage
reconciles. A failure after inference repeats no paid call when the stage runs again."""

import json

import apache_beam as beam
import pytest

from humpback.beam_pipelines.task_pipeline import count_written
from humpback.schemas.config import AugmentConfig, CurateConfig, OpenAISettings, Sampling
from humpback.storage.shards import load_rows
from tests.model_stages import augment, curate
from tests.servers import FAULTS, FaultProxy
from tests.test_inference_pipeline import _segments

# what each fault becomes in augment (a candidate, or the dead letter's reason)
AUGMENT = {"unavailable_once": "candidate", "always_500": "InternalServerError",
           "hang": "APITimeoutError", "empty": "empty_instruction",
           "not_utf8": "malformed_response", "not_json": "malformed_response",
           "out_of_range": "candidate"}  # fmt: skip
assert set(AUGMENT) == set(FAULTS)


def _settings(proxy: FaultProxy, timeout_s: float, retries: int = 2) -> OpenAISettings:
    return OpenAISettings(base_url=proxy.url, model="smollm2", concurrency=2, timeout_s=timeout_s,
                          max_retries=retries)  # fmt: skip


def _dead(folder) -> dict[str, str]:
    return {d["input_id"]: d["error"] for d in load_rows(f"{folder}/dead_letter-*.parquet")}


def test_every_model_fault_is_retried_or_dead_lettered_and_each_stage_reconciles(
    server, embedded_model, tmp_path
):
    proxy = FaultProxy(server.url, hang_s=7)
    texts = [f"Water the tomatoes {i} times a week, at the base, in the morning." for i in range(6)]
    texts += [f"Water the tomatoes deeply. FAULT_{name}" for name in FAULTS]
    _segments(tmp_path / "segments", texts)
    faulty = {f"s{6 + i:03d}": name for i, name in enumerate(FAULTS)}
    cfg = AugmentConfig(backend="openai", openai=_settings(proxy, 5.0, 1), batch_size=4,
                        cache=False, check_form=False, pmi=False, max_input_tokens=1024,
                        sampling=Sampling(temperature=0.0, max_new_tokens=8))  # fmt: skip
    counts = augment(embedded_model, f"{tmp_path}/segments/segments-*.parquet",
                     str(tmp_path / "augment"), cfg)  # fmt: skip
    candidates = {c["id"] for c in load_rows(f"{tmp_path}/augment/candidates-*.parquet")}
    dead = _dead(tmp_path / "augment")
    assert counts["in"] == len(texts) == counts["out"] + counts["dead_lettered"]
    assert counts["out"] == len(candidates) and counts["dead_lettered"] == len(dead)
    assert {f"s{i:03d}" for i in range(6)} <= candidates, dead  # the healthy requests
    became = {name: "candidate" if id_ in candidates else dead[id_] for id_, name in faulty.items()}
    assert became == AUGMENT

    # the rubric written ("Score: 7" is no score) and read from next-token log-probabilities
    # (none of 1-5 among them): the out-of-range answer is dead-lettered in both modes
    out_of_range = next(i for i, name in faulty.items() if name == "out_of_range")
    reasons = {"generate": "unparsable_score", "logprobs": "no_label_in_top_logprobs"}
    for mode, reason in reasons.items():
        scoring = CurateConfig(backend="openai", openai=_settings(proxy, 60.0), mode=mode, k=1,
                               batch_size=4, cache=False, max_input_tokens=1024,
                               sampling=Sampling(temperature=0.0, max_new_tokens=8))  # fmt: skip
        counts = curate(embedded_model, f"{tmp_path}/augment/candidates-*.parquet",
                        f"{tmp_path}/{mode}", scoring)  # fmt: skip
        scored = {r["id"] for r in load_rows(f"{tmp_path}/{mode}/scored-*.parquet")}
        dead = _dead(tmp_path / mode)
        assert counts["in"] == len(candidates) == len(scored) + len(dead)
        assert counts["dead_lettered"] == len(dead) and dead[out_of_range] == reason
        if mode == "logprobs":  # every other candidate is scored
            assert dead == {out_of_range: reason}


class FailAfterInference(beam.DoFn):
    """Raises at one candidate: a failure downstream of inference (a worker lost, a bad write)."""

    def __init__(self, at: str):
        self.at = at

    def process(self, candidate: dict):
        if candidate["id"] == self.at:
            raise RuntimeError("injected failure after inference")
        yield candidate


def test_a_failure_after_inference_repeats_no_paid_call_when_run_again(
    server, embedded_model, data_dir, tmp_path
):
    """Beam retries a failed bundle whole; the request cache answers what it had paid for."""
    rows = [json.loads(line) for line in (data_dir / "seed/lima_single_turn.jsonl").open()]
    texts = [r["response"][:160] for r in rows[:64]]
    _segments(tmp_path / "segments", texts)
    proxy = FaultProxy(server.url)
    cfg = AugmentConfig(backend="openai", openai=_settings(proxy, 60.0), batch_size=8,
                        check_form=False, pmi=False, max_input_tokens=1024,
                        sampling=Sampling(temperature=0.0, max_new_tokens=2))  # fmt: skip

    def run(out: str, fail_at: str | None) -> dict:
        def tail(candidates):
            count_written(candidates)
            if fail_at:
                candidates | beam.ParDo(FailAfterInference(fail_at))

        return augment(embedded_model, f"{tmp_path}/segments/segments-*.parquet",
                       f"{tmp_path}/{out}", cfg, str(tmp_path / "cache"), tail)  # fmt: skip

    with pytest.raises(Exception, match="injected failure after inference"):  # noqa: B017
        run("failed", fail_at="s056")
    before = len(proxy.paid)
    counts = run("again", fail_at=None)
    paid, repeated = len(proxy.paid), proxy.repeated()
    print(json.dumps({"paid_before_failure": before, "paid": paid,
                      "repeated": repeated, "share": round(repeated / paid, 4)}))  # fmt: skip
    assert counts["in"] == counts["out"] == len(texts)
    assert before >= 48  # the failure came after most inference
    assert repeated / paid < 0.01 and counts["cache_hits"] == before
