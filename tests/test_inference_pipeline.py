"""The augment and curate pipelines' inference seams on a tiny model: truncation to fit, the
cache, likelihood curation."""

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq

from humpback.beam_pipelines import augment_pipeline, curate_pipeline
from humpback.beam_pipelines.counting import run_and_count
from humpback.schemas.config import AugmentConfig, CurateConfig, Sampling, TagsConfig
from humpback.schemas.records import Segment
from humpback.storage.shards import load_rows

# A random model writes no well-formed instruction: the form check is off here.
RANDOM_TEXT = AugmentConfig(check_form=False, pmi=False)
TEXTS = ["A short answer about soil.", "word " * 900, "Water the plants daily.", "x " * 2000]


def _segments(folder, texts: list[str] = TEXTS) -> None:
    rows = [
        Segment(id=f"s{i:03d}", text=t, header="H", header_path=["H"], url="u", document_id="d",
                source_file="f", record_offset=i, lang=None, char_len=len(t)).model_dump()
        for i, t in enumerate(texts)
    ]  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist(rows, Segment.arrow_schema())
    pq.write_table(table, folder / "segments-0.parquet")


def _augment(model, segments, out, cfg, cache=None) -> tuple[dict, list[dict]]:
    pipeline = beam.Pipeline()
    augment_pipeline.build(
        pipeline, f"{segments}/segments-*.parquet", model, cfg, str(out), cache_dir=cache
    )
    counts = run_and_count(pipeline)
    return counts, sorted(load_rows(f"{out}/candidates-*.parquet"), key=lambda c: c["id"])


def test_overlong_segments_are_cut_to_fit_and_counted_not_lost(tiny_model, tmp_path):
    _segments(tmp_path / "segments")
    cfg = RANDOM_TEXT.model_copy(
        update={"max_input_tokens": 256, "sampling": Sampling(max_new_tokens=4)}
    )
    counts, candidates = _augment(tiny_model, tmp_path / "segments", tmp_path / "out", cfg)
    assert counts["truncated_inputs"] == 2 and counts.get("dead_lettered", 0) == 0
    assert [c["text"] for c in candidates] == TEXTS  # the candidates keep the whole segment


def test_a_rerun_reads_the_cache_and_a_new_sampling_does_not(tiny_model, tmp_path):
    _segments(tmp_path / "segments")
    cfg = RANDOM_TEXT.model_copy(
        update={"batch_size": 3, "sampling": Sampling(temperature=1.0, max_new_tokens=6)}
    )
    cache = str(tmp_path / "cache")
    first, a = _augment(tiny_model, tmp_path / "segments", tmp_path / "1", cfg, cache)
    again, b = _augment(tiny_model, tmp_path / "segments", tmp_path / "2", cfg, cache)
    assert first.get("cache_hits", 0) == 0 and again["cache_hits"] == len(TEXTS)
    assert [c["instruction"] for c in a] == [c["instruction"] for c in b]
    other = cfg.model_copy(update={"sampling": Sampling(temperature=1.0, max_new_tokens=6, seed=9)})
    third, _ = _augment(tiny_model, tmp_path / "segments", tmp_path / "3", other, cache)
    assert third.get("cache_hits", 0) == 0
    off = cfg.model_copy(update={"cache": False})
    fourth, _ = _augment(tiny_model, tmp_path / "segments", tmp_path / "4", off, cache)
    assert fourth.get("cache_hits", 0) == 0


def test_likelihood_curation_records_pmi_and_ifd_and_keeps_by_the_rule(tiny_model, tmp_path):
    _segments(tmp_path / "segments", ["Water tomatoes twice a week.", "Soil " * 40, "Sun. " * 30])
    augment = RANDOM_TEXT.model_copy(update={"pmi": True, "sampling": Sampling(max_new_tokens=6)})
    _, candidates = _augment(tiny_model, tmp_path / "segments", tmp_path / "aug", augment)
    assert all(isinstance(c["pmi"], float) for c in candidates)
    # thresholds between the candidates' own figures, so that the rule keeps some and not all
    cfg = CurateConfig(mode="likelihood", min_pmi=min(c["pmi"] for c in candidates) - 1)
    pipeline = beam.Pipeline()
    curate_pipeline.build(pipeline, f"{tmp_path}/aug/candidates-*.parquet", tiny_model, cfg, 1,
                          TagsConfig(), str(tmp_path / "cur"))  # fmt: skip
    run_and_count(pipeline)
    scored = load_rows(f"{tmp_path}/cur/scored-*.parquet")
    ifds = sorted(r["ifd"] for r in scored)
    assert len(scored) == 3 and all(r["score"] is None for r in scored)
    cfg = cfg.model_copy(update={"max_ifd": (ifds[0] + ifds[1]) / 2})
    pipeline = beam.Pipeline()
    curate_pipeline.build(pipeline, f"{tmp_path}/aug/candidates-*.parquet", tiny_model, cfg, 1,
                          TagsConfig(), str(tmp_path / "cur2"))  # fmt: skip
    counts = run_and_count(pipeline)
    curated = load_rows(f"{tmp_path}/cur2/curated-*.parquet")
    assert counts["out"] == len(curated) == 1 and counts["filtered:above_max_ifd"] == 2
    assert curated[0]["ifd"] == ifds[0] and curated[0]["pmi"] is not None
