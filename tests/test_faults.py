"""The fault suite: broken and hostile corpus files are read, filtered or dead-lettered with
file, offset and reason; counts reconcile; memory and time stay bounded."""

import time

import pytest

from humpback.beam_pipelines.io.documents import ReadError, read_jsonl
from humpback.beam_pipelines.segment.deadline import Deadline, OverBudget
from humpback.beam_pipelines.segment.html_segmenter import html_sections
from humpback.beam_pipelines.segment.markup_check import MarkupTooComplex
from humpback.schemas.config import CorpusConfig
from tools.faults import BUDGET_S, MEMORY_CAP_MB, make_fault_corpus, segment_in_process

DEAD = {  # file: the errors of its dead letters
    "truncated.jsonl.gz": {"EOFError"},
    "truncated.jsonl.zst": {"TruncatedStream"},
    "corrupt.jsonl.gz": {"BadGzipFile", "IsalError"},
    "corrupt.jsonl.zst": {"ZstdError"},
    "invalid-json.jsonl": {"JSONDecodeError", "TypeError", "KeyError"},
    "invalid-utf8.jsonl": {"UnicodeDecodeError"},
    "huge-record.jsonl": {"RecordTooLarge"},
    "empty-records.jsonl": {"KeyError"},
    "deep.html": {"MarkupTooComplex"},
    "many-attributes.html": {"MarkupTooComplex"},
    "nul-bytes.jsonl": {"UnicodeDecodeError"},
    "bomb.jsonl.gz": {"DecompressionBomb"},
    "bomb.jsonl.zst": {"DecompressionBomb"},
}


@pytest.fixture(scope="module")
def faults(tmp_path_factory):
    folder = tmp_path_factory.mktemp("faults")
    return folder, make_fault_corpus(folder)


def test_every_fault_is_read_filtered_or_dead_lettered_with_file_offset_and_reason(faults):
    folder, names = faults
    start = time.monotonic()
    result = segment_in_process(sorted(str(folder / n) for n in names), str(folder) + ".out")
    wall = time.monotonic() - start
    counts = result["counts"]  # segment_in_process fails unless they reconcile
    assert counts["in"] == (counts["out"] + sum(counts["filtered"].values())
                            + counts["duplicates"] + counts["dead_lettered"])  # fmt: skip
    errors: dict[str, set] = {}
    for dead in result["dead"]:
        path, _, offset = dead["input_id"].rpartition("@")
        assert offset.isdigit() and dead["error"] and dead["message"] is not None
        errors.setdefault(path.rsplit("/", 1)[-1], set()).add(dead["error"])
    assert errors.keys() == DEAD.keys()
    for name, expected in DEAD.items():
        assert errors[name] & expected, (name, errors[name])
    assert counts["dead_lettered"] == len(result["dead"])
    normalised = {k for k in counts["detail"] if k.startswith("normalised:")}
    kinds = ["surrogates", "terminal_escapes", "bidi_controls", "invisible_characters",
             "control_characters"]  # fmt: skip
    assert {f"normalised:{kind}" for kind in kinds} <= normalised
    assert result["segments"] + counts["duplicates"] >= 10  # good rows around bad ones: kept
    assert result["peak_mb"] < MEMORY_CAP_MB  # a 100 MB record and 1 GiB bombs never held
    assert 0 < result["slowest_document_ms"] < 1000 * BUDGET_S  # the deep page is refused
    assert wall < 120


def test_a_truncated_zstd_file_gives_its_complete_records_then_a_dead_letter(faults, tmp_path):
    folder, _ = faults
    found = list(read_jsonl(str(folder / "truncated.jsonl.zst"), CorpusConfig(paths=["-"])))
    assert isinstance(found[-1], ReadError) and found[-1].error == "TruncatedStream"


@pytest.mark.parametrize("name", ["deep.html", "many-attributes.html"])
def test_markup_that_makes_parsing_quadratic_is_refused_within_the_budget(faults, name):
    folder, _ = faults
    html = (folder / name).read_text()
    start = time.monotonic()
    with pytest.raises(MarkupTooComplex):
        html_sections(html)
    assert time.monotonic() - start < 1.0  # parsed, the deep page took 48 s
    assert BUDGET_S >= 1.0


@pytest.mark.parametrize(
    "attributes",
    [
        " ".join(f"a{i}" for i in range(30_000)),  # names without values (no `=` to count)
        "/".join(f"a{i}" for i in range(30_000)),  # `/` separates attributes as a space does
        "".join(f'a{i}="1"' for i in range(30_000)),  # quoted values need no separator
    ],
)
def test_every_form_of_an_attribute_counts_toward_the_limit(attributes):
    html = f"<html><body><h1>A</h1><div {attributes}>x</div></body></html>"
    start = time.monotonic()
    with pytest.raises(MarkupTooComplex, match="attributes"):
        html_sections(html)
    assert time.monotonic() - start < 1.0  # parsed, 30,000 attributes took 1.3 s


DEEP = "<div>" * 20_000  # nested: 0.46 s to parse, and ten times as many took 46 s


@pytest.mark.parametrize(
    "markup",
    [
        "<div/>" * 20_000,  # a self-closing flag closes no div
        f'<div title="<script>">{DEEP}</script>',  # a script tag in a quoted value is text
        f"<!-- <script> -->{DEEP}</script>",  # and in a comment
        f"<!-->{DEEP}-->",  # a comment cut short
        f"<svg><style></svg>{DEEP}</style>",  # a style in SVG is markup
        "<div><!-- </div> -->" * 20_000,  # closing tags the parser never reads: in comments,
        "<div title='x> </div> '>" * 20_000,  # in quoted values,
        "<div></ </div>" * 20_000,  # in bogus comments,
        "<div><script></div></script>" * 20_000,  # in scripts,
        "<svg><p>" + "<div><style></div></style>" * 20_000,  # in styles, in SVG or not
        "<script><!--</script>" + DEEP,  # an escaped script still ends at its end tag
    ],
)
def test_nesting_hidden_from_a_tag_count_is_refused_all_the_same(markup):
    start = time.monotonic()
    with pytest.raises(MarkupTooComplex, match="deep"):
        html_sections(f"<html><body><h1>A</h1>{markup}</body></html>")
    assert time.monotonic() - start < 1.0


def test_a_long_page_is_read_as_the_parser_reads_it():
    script = "<script><!--<script>if (a<b) s = '</div></div>';</script>--></script>"
    units = ["<div>", "<p>x</p><br>", script, "<svg><style>a>b{}</style></svg>", "</div>"]
    page = "".join(units * 3_000)  # 24,000 element starts (with scripts' `<b`), 2 levels deep
    assert html_sections(f"<html><body><h1>A</h1>{page}</body></html>") is not None


def test_a_document_past_its_deadline_is_over_budget():
    page = "<html><body><h1>T</h1>" + "<p>word</p>" * 20_000 + "</body></html>"
    with pytest.raises(OverBudget, match="budget"):
        html_sections(page, Deadline(0.0))
    assert html_sections(page, Deadline(30.0))  # the same page within a budget
