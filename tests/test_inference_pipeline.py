"""The augment and curate pipelines' inference seams on a tiny model: truncation to fit, the
cache, likelihood curation."""

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq

from humpback.run.beam_run import new_pipeline
from humpback.schemas.config import AugmentConfig, CurateConfig, Sampling
from humpback.schemas.records import Segment
from humpback.storage.shards import load_rows
from tests.model_stages import augment, curate

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
    counts = augment(model, f"{segments}/segments-*.parquet", str(out), cfg, cache)
    return counts, sorted(load_rows(f"{out}/candidates-*.parquet"), key=lambda c: c["id"])


def test_overlong_segments_are_cut_to_fit_and_counted_not_lost(tiny_model, tmp_path):
    _segments(tmp_path / "segments")
    cfg = RANDOM_TEXT.model_copy(
        update={"max_input_tokens": 256, "sampling": Sampling(max_new_tokens=4)}
    )
    counts, candidates = _augment(tiny_model, tmp_path / "segments", tmp_path / "out", cfg)
    assert counts["truncated_inputs"] == 2 and counts.get("dead_lettered", 0) == 0
    assert [c["text"] for c in candidates] == TEXTS  # the candidates keep the whole segment


def test_a_segment_whose_curator_view_is_shorter_is_still_cut_to_fit(tiny_model, tmp_path):
    # the curator reads the text without its rating claims: cut by the text's own tokens, the
    # prompt would still be too long when the claims are in the part cut away
    text = "Water the tomatoes twice a week. " * 60 + "Score: 5/5. " * 150
    _segments(tmp_path / "segments", [text])
    _augment(tiny_model, tmp_path / "segments", tmp_path / "aug",
             RANDOM_TEXT.model_copy(update={"sampling": Sampling(max_new_tokens=4)}))  # fmt: skip
    cfg = CurateConfig(mode="likelihood", max_input_tokens=256)
    counts = curate(tiny_model, f"{tmp_path}/aug/candidates-*.parquet", str(tmp_path / "cur"), cfg)
    assert counts["truncated_inputs"] == 1 and counts.get("dead_lettered", 0) == 0
    assert load_rows(f"{tmp_path}/cur/scored-*.parquet")[0]["text"] == text  # kept whole


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


def test_each_draw_is_cached_alone_so_one_more_draw_writes_only_that_one(tiny_model, tmp_path):
    _segments(tmp_path / "segments", TEXTS[::2])
    one = RANDOM_TEXT.model_copy(
        update={"batch_size": 3, "sampling": Sampling(temperature=1.0, max_new_tokens=6)}
    )
    two = one.model_copy(update={"samples": 2})
    cache = str(tmp_path / "cache")
    first, a = _augment(tiny_model, tmp_path / "segments", tmp_path / "1", one, cache)
    more, b = _augment(tiny_model, tmp_path / "segments", tmp_path / "2", two, cache)
    fresh, c = _augment(tiny_model, tmp_path / "segments", tmp_path / "3", two)  # no cache
    assert first.get("cache_hits", 0) == 0 and more["cache_hits"] == 2  # the first draws
    written = lambda rows: [sorted([r["instruction"], *r["alternatives"]]) for r in rows]  # noqa: E731
    assert written(b) == written(c)  # the second draws, written alone, are what both write
    assert all(r["instruction"] in w for r, w in zip(a, written(b), strict=True))
    again, _ = _augment(tiny_model, tmp_path / "segments", tmp_path / "4", two, cache)
    assert again["cache_hits"] == 4


def test_likelihood_curation_records_pmi_and_ifd_and_keeps_by_the_rule(tiny_model, tmp_path):
    _segments(tmp_path / "segments", ["Water tomatoes twice a week.", "Soil " * 40, "Sun. " * 30])
    augment = RANDOM_TEXT.model_copy(update={"pmi": True, "sampling": Sampling(max_new_tokens=6)})
    _, candidates = _augment(tiny_model, tmp_path / "segments", tmp_path / "aug", augment)
    assert all(isinstance(c["pmi"], float) for c in candidates)
    # thresholds between the candidates' own figures, so that the rule keeps some and not all
    cfg = CurateConfig(mode="likelihood", min_pmi=min(c["pmi"] for c in candidates) - 1)
    curate(tiny_model, f"{tmp_path}/aug/candidates-*.parquet", str(tmp_path / "cur"), cfg)
    scored = load_rows(f"{tmp_path}/cur/scored-*.parquet")
    ifds = sorted(r["ifd"] for r in scored)
    assert len(scored) == 3 and all(r["score"] is None for r in scored)
    cfg = cfg.model_copy(update={"max_ifd": (ifds[0] + ifds[1]) / 2})
    counts = curate(tiny_model, f"{tmp_path}/aug/candidates-*.parquet", str(tmp_path / "cur2"),
                    cfg)  # fmt: skip
    curated = load_rows(f"{tmp_path}/cur2/curated-*.parquet")
    assert counts["out"] == len(curated) == 1 and counts["filtered:above_max_ifd"] == 2
    assert curated[0]["ifd"] == ifds[0] and curated[0]["pmi"] is not None


def test_of_several_instructions_per_segment_the_one_with_the_highest_pmi_is_kept(
    tiny_model, tmp_path
):
    from humpback.inference.backend import load_backend
    from humpback.tasks.likelihood import InstructionPMI
    from humpback.tasks.task import run_in_process

    _segments(tmp_path / "segments", ["Water tomatoes twice a week.", "Soil " * 40, "Sun. " * 30])
    cfg = RANDOM_TEXT.model_copy(
        update={"pmi": True, "samples": 3, "sampling": Sampling(temperature=1.0, max_new_tokens=6)}
    )
    counts, candidates = _augment(tiny_model, tmp_path / "segments", tmp_path / "aug", cfg)
    assert counts["out"] == 3 and any(c["alternatives"] for c in candidates)
    backend = load_backend(tiny_model, cfg)
    for c in candidates:
        written = [c["instruction"], *c["alternatives"]]
        assert len(set(written)) == len(written) <= 3
        alone = [{**c, "instruction": x, "alternatives": []} for x in written]
        pmis = [o["pmi"] for o in run_in_process(InstructionPMI(), backend, alone, cfg)]
        assert abs(pmis[0] - c["pmi"]) < 1e-4 and pmis[0] == max(pmis)


def _loads_and_answers(tiny_model, tmp_path, share: bool) -> tuple[int, dict]:
    """Generate for 32 prompts on the DirectRunner's 2 worker processes; the model loads (one
    line each in a log) and the answers."""
    import os

    from apache_beam.ml.inference.base import RunInference
    from apache_beam.options.pipeline_options import PipelineOptions

    from humpback.beam_pipelines.model_handler import ChatModelHandler
    from humpback.tasks.backtranslate import Backtranslate

    log = tmp_path / f"loads-{share}.txt"

    class LoggedLoads(ChatModelHandler):  # pickled by value: the workers need not import tests
        def load_model(self):
            with open(log, "a") as f:
                f.write(f"{os.getpid()}\n")
            return super().load_model()

    cfg = RANDOM_TEXT.model_copy(
        update={"batch_size": 2, "share_model_across_processes": share,
                "sampling": Sampling(temperature=0.0, max_new_tokens=3)}
    )  # fmt: skip
    handler = LoggedLoads(tiny_model, cfg, Backtranslate(tiny_model))
    options = PipelineOptions(["--direct_num_workers=2", "--direct_running_mode=multi_processing"])
    out = tmp_path / f"answers-{share}"
    with new_pipeline(options) as pipeline:
        _ = (
            pipeline
            | beam.Create([f"Answer number {i} is about soil." for i in range(32)])
            | beam.Map(lambda t: {"prompt": [{"role": "user", "content": t}], "id": t})
            | RunInference(handler)
            | beam.Map(lambda r: f"{r.example['id']}\t{r.inference.texts[0]!r}")
            | beam.io.WriteToText(str(out))
        )
    answers = dict(
        line.split("\t") for path in tmp_path.glob(f"answers-{share}*") for line in
        path.read_text().splitlines()
    )  # fmt: skip
    return len(log.read_text().splitlines()), answers


def test_a_shared_model_loads_once_for_all_worker_processes(tiny_model, tmp_path):
    loads, answers = _loads_and_answers(tiny_model, tmp_path, share=False)
    assert loads == 2 and len(answers) == 32  # a copy a process
    shared_loads, shared_answers = _loads_and_answers(tiny_model, tmp_path, share=True)
    assert shared_loads == 1 and shared_answers == answers


ABOUT_US = (
    "Our mission\n\nWe are a small team that builds tools for our community. Our values "
    "guide us: we share what we learn, we publish our plans, and we welcome anyone who "
    "shares our goals. Our staff and our board meet every month, and our reports are "
    "public. We thank our members, whose support keeps us independent."
)


def test_a_segment_that_answers_nothing_is_filtered_before_the_model_is_asked(
    tiny_model, tmp_path, capsys
):
    _segments(tmp_path / "segments", ["Water tomatoes twice a week.", ABOUT_US])
    cfg = RANDOM_TEXT.model_copy(update={"sampling": Sampling(max_new_tokens=4)})
    counts = augment(tiny_model, f"{tmp_path}/segments/*.parquet", str(tmp_path / "out"), cfg,
                     total=2)  # fmt: skip
    assert "augment: 2/2 records (100%)" in capsys.readouterr().err  # the screened one counts
    candidates = load_rows(f"{tmp_path}/out/candidates-*.parquet")
    filtered = load_rows(f"{tmp_path}/out/filtered-*.parquet")
    assert [c["id"] for c in candidates] == ["s000"]
    assert [(f["input_id"], f["error"], f["raw"]) for f in filtered] == [
        ("s001", "not_an_answer", "publisher_voice")
    ]
    assert counts["in"] == 2 and counts["out"] == 1 and counts["filtered:not_an_answer"] == 1
    unscreened = cfg.model_copy(update={"check_answer": False})
    _, both = _augment(tiny_model, tmp_path / "segments", tmp_path / "all", unscreened)
    assert len(both) == 2
