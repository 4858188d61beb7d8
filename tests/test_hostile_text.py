"""Text that Python can hold but not encode, and characters that do not belong in training
text: normalised where records enter, counted, and never a reason for a stage to stop."""

import json
import unicodedata

import pytest

from humpback.schemas.config import CorpusConfig, TextConfig
from humpback.schemas.text import clean_text
from tests.segment_run import run_segment

WORDS = "tomato water soil leaf root straw morning heat drip pot fruit rain".split()


def body(n: int) -> str:
    """About 700 characters of text, different for each n (no filter or dedup takes it)."""
    return " ".join(
        f"On day {n * 31 + k} the {WORDS[(n + k) % 12]} needs {WORDS[(n * 7 + k * 5) % 12]}."
        for k in range(24)
    )


BODY = body(0)
ALLOWED_CONTROLS = {"\t", "\n"}
BIDI = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def assert_clean(value) -> None:
    """Every string in a record encodes as UTF-8 and holds no control or bidi character."""
    if isinstance(value, dict | list | tuple):
        for v in value.values() if isinstance(value, dict) else value:
            assert_clean(v)
    elif isinstance(value, str):
        value.encode("utf-8")
        bad = {c for c in value if unicodedata.category(c) == "Cc"} - ALLOWED_CONTROLS
        assert not bad and not BIDI & set(value), (bad, value[:200])


def _line(doc_id: str, text: str, url: str = "https://example.org/a") -> bytes:
    return json.dumps({"id": doc_id, "url": url, "text": text}).encode() + b"\n"


@pytest.mark.parametrize(
    ("raw", "expected", "kinds"),
    [
        ("ok \ud800 ok", "ok \ufffd ok", {"surrogates"}),
        ("\ud83d\ude00 pair", "\U0001f600 pair", {"surrogates"}),  # a pair, held apart, joins
        ("a\x1b]0;title\x07b\x1b[2Jc\x1b[1;31md", "abcd", {"terminal_escapes"}),
        ("ab\u202edc\u202c", "abdc", {"bidi_controls"}),
        ("zero\u200bwidth\u00adhy\ufeff", "zerowidthhy", {"invisible_characters"}),
        ("a\r\nb\rc\x0cd", "a\nb\nc\nd", {"line_breaks"}),
        ("nul\x00del\x7fc1\x85x", "nuldelc1\nx", {"control_characters", "line_breaks"}),
        ("cafe\u0301", "caf\u00e9", {"nfc"}),
        ("ZWJ \U0001f469\u200d\U0001f4bb, ZWNJ \u0645\u06cc\u200c\u0634\u0648\u062f", None, set()),
        ("plain text\twith a tab\n", None, set()),
    ],
)
def test_text_is_normalised_and_each_kind_of_change_is_named(raw, expected, kinds):
    text, changes = clean_text(raw, TextConfig())
    assert text == (raw if expected is None else expected) and changes == kinds
    assert_clean(text)


def test_bidi_and_invisible_characters_can_be_kept():
    cfg = TextConfig(remove_bidi_controls=False, remove_invisible=False, nfc=False)
    raw = "ab\u202edc zero\u200bwidth cafe\u0301 \x1b[2J"
    assert clean_text(raw, cfg) == ("ab\u202edc zero\u200bwidth cafe\u0301 ", {"terminal_escapes"})


def test_a_lone_surrogate_beside_good_lines_is_replaced_and_the_stage_finishes(tmp_path):
    good = [_line(f"g{i}", f"# Watering, part {i}\n\n{body(i + 1)}") for i in range(3)]
    bad = b'{"id": "s1", "url": "https://e.org/\\udcff", "text": "# Header\\n\\nA \\ud800 B. '
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(good[0] + bad + BODY.encode() + b'"}\n' + good[1] + good[2])
    counts, segments, dead = run_segment([path], tmp_path / "out")  # reconciled, or it raises
    assert counts["out"] == 4 and not dead
    assert counts["detail"]["normalised:surrogates"] == 1
    (broken,) = [s for s in segments if s["document_id"] == "s1"]
    assert "\n\nA \ufffd B. On day 0" in broken["text"] and broken["url"] == "https://e.org/\ufffd"
    assert_clean(segments)


def test_a_lone_surrogate_is_a_dead_letter_when_asked_for(tmp_path):
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(
        _line("g", f"# Good\n\n{body(1)}") + _line("s", f"# Bad\n\nA \ud800 B. {body(2)}")
    )
    corpus = CorpusConfig(paths=["-"], text=TextConfig(surrogates="dead_letter"))
    counts, segments, dead = run_segment([path], tmp_path / "out", corpus=corpus)
    assert [s["document_id"] for s in segments] == ["g"] and counts["dead_lettered"] == 1
    assert dead[0]["error"] == "InvalidText" and dead[0]["input_id"].endswith("@1")
    assert "U+D800" in dead[0]["message"]


def test_control_characters_in_a_page_never_reach_a_segment(tmp_path):
    page = (
        "<html><body><h1>Water\u202e tomatoes&#x1b;[2J</h1>"
        f"<p>\x1b]0;pwned\x07{BODY[:300]}&#x202E;gro.live&#x202C;\u200b{BODY[300:]}&#x7;</p>"
        "</body></html>"
    )
    path = tmp_path / "page.html"
    path.write_bytes(page.encode())
    counts, (segment,), _ = run_segment([path], tmp_path / "out")
    assert segment["header"] == "Water tomatoes" and "gro.live" in segment["text"]
    assert "pwned" not in segment["text"] and "\u200b" not in segment["text"]
    assert_clean(segment)
    detail = counts["detail"]
    assert detail["normalised:bidi_controls"] == detail["normalised:terminal_escapes"] == 1


def test_a_file_name_that_is_not_utf8_is_a_dead_letter_beside_good_files(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "good.jsonl").write_bytes(_line("g", f"# Good\n\n{body(1)}"))
    with open(bytes(folder) + b"/bad-\xff.jsonl", "wb") as f:  # listed as 'bad-\udcff.jsonl'
        f.write(_line("b", f"# Bad name\n\n{body(2)}"))
    counts, segments, dead = run_segment([folder / "*.jsonl"], tmp_path / "out")
    assert [s["document_id"] for s in segments] == ["g"]
    assert [d["error"] for d in dead] == ["InvalidFileName"] and counts["dead_lettered"] == 1
    assert dead[0]["input_id"].endswith("bad-\ufffd.jsonl@0")
