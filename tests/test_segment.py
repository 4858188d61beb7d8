import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.portability.prism_runner import PrismRunner

from humpback.beam_pipelines.io.corpus import expand_paths, named_files, read_documents
from humpback.beam_pipelines.io.documents import Document
from humpback.beam_pipelines.segment.charsets import decode
from humpback.beam_pipelines.segment.filters import drop_reason, segment_filters
from humpback.beam_pipelines.segment.html_segmenter import _named, html_sections
from humpback.beam_pipelines.segment.sections import Section
from humpback.run.beam_run import new_pipeline
from humpback.schemas.config import CorpusConfig, SegmentConfig
from tests.segment_run import CORPUS, run_segment

PAGE = """<html><head><style>h1 {color: red}</style><script>var x = "<h2>no</h2>";</script></head>
<body><nav><h2>Menu</h2><a href="/">Home</a></nav>
<h1>Growing tomatoes</h1><p>Intro text.</p>
<h2>Soil</h2><p>Use <b>rich</b> soil.</p><h3>pH</h3><p>Slightly acidic.</p>
<h2>Water</h2><p>Water daily.</p>
<footer><h2>Subscribe</h2>Newsletter</footer></body></html>"""


def test_a_section_holds_its_lower_level_subtrees_and_no_boilerplate():
    found = {s.header: s for s in html_sections(PAGE)}
    assert list(found) == ["Growing tomatoes", "Soil", "pH", "Water"]
    assert found["Soil"].text == "Soil\n\nUse rich soil.\n\npH\n\nSlightly acidic."
    assert found["pH"].header_path == ("Growing tomatoes", "Soil", "pH")
    assert "Water daily." in found["Growing tomatoes"].text
    assert not any(w in found["Growing tomatoes"].text for w in ("Menu", "Newsletter", "color"))


def test_decoding_honours_the_meta_charset_and_falls_back():
    body = '<meta charset="euc-jp"><h1>日本語</h1>'.encode("euc-jp")
    assert "日本語" in decode(body, None)
    assert "日本語" in decode(body, "EUC-JP")
    assert decode(b"caf\xe9 cr\xe8me br\xfbl\xe9e", "iso-8859-1") == "café crème brûlée"


@pytest.mark.parametrize(
    ("header", "text", "reason"),
    [
        ("Good header", "x" * 100, "too_short"),
        ("Good header", "x " * 2000, "too_long"),
        ("", "word " * 200, "empty_header"),
        ("ALL CAPS", "word " * 200, "all_caps_header"),
        ("ADVERTISEMENT here", "word " * 200, "capitalised_header"),
        ("Quick links", "word " * 200, "navigation_header"),
        ("Good header", "The same sentence is here again. " * 30, "repetitive"),
        ("Good header", " ".join(f"Sentence number {i} says thing {i}." for i in range(60)), None),
    ],
)
def test_filters_drop_with_a_reason(header, text, reason):
    section = Section(header, (header,), text)
    assert drop_reason(section, segment_filters(SegmentConfig())) == reason


def test_segment_pipeline_on_real_warc_files(data_dir, tmp_path):
    files = expand_paths([str(data_dir / "web/warc/english-pages-*.warc.gz")])
    counts, segments, dead = run_segment(files, tmp_path)
    assert len(segments) == counts["out"] > 50
    assert counts["filtered"]["too_short"] > 0 and not dead
    assert len({s["id"] for s in segments}) == len(segments)
    for s in segments:
        assert 600 <= s["char_len"] == len(s["text"]) <= 3000
        assert s["url"].startswith("http") and s["header_path"][-1] == s["header"]
        assert s["source_file"] in files


def test_exact_duplicates_are_counted_not_lost(data_dir, tmp_path):
    file = str(data_dir / "web/warc/english-pages-0001.warc.gz")
    single, segments, _ = run_segment([file], tmp_path / "one")
    copy = tmp_path / "copy.warc.gz"
    copy.write_bytes((data_dir / "web/warc/english-pages-0001.warc.gz").read_bytes())
    double, again, _ = run_segment([file, str(copy)], tmp_path / "two")
    assert double["out"] == single["out"] == len(again) == len(segments)
    assert double["duplicates"] == single["out"] + single["duplicates"] * 2


def test_workers_read_a_file_that_two_globs_match_once(data_dir, tmp_path):
    file = str(data_dir / "web/warc/english-pages-0001.warc.gz")
    single, segments, _ = run_segment([file], tmp_path / "one")
    both, again, _ = run_segment([file, file.replace("0001", "000[1]")], tmp_path / "two")
    assert both == single and sorted(s["id"] for s in again) == sorted(s["id"] for s in segments)


def test_a_corpus_gives_the_same_segment_ids_wherever_it_lies(data_dir, tmp_path):
    data = (data_dir / "web/warc/english-pages-0001.warc.gz").read_bytes()
    runs = []
    for folder in ("here", "there/and/deeper"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "crawl.warc.gz").write_bytes(data)
        _, segments, _ = run_segment([str(tmp_path / folder / "crawl.warc.gz")],
                                     tmp_path / "out" / folder)  # fmt: skip
        runs.append(sorted(s["id"] for s in segments))
    assert runs[0] and runs[0] == runs[1]


def test_files_are_named_under_their_patterns_fixed_folder(tmp_path):
    for name in ("a/1.jsonl", "a/sub/2.jsonl", "b/1.jsonl"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("{}\n")
    patterns = [f"{tmp_path}/a/*.jsonl", f"{tmp_path}/a/*/2.jsonl", f"{tmp_path}/b/1.jsonl"]
    named = named_files(patterns)
    # a name two files would share stays their paths
    assert named == {f"{tmp_path}/a/1.jsonl": f"{tmp_path}/a/1.jsonl",
                     f"{tmp_path}/a/sub/2.jsonl": "sub/2.jsonl",
                     f"{tmp_path}/b/1.jsonl": f"{tmp_path}/b/1.jsonl"}  # fmt: skip


def test_every_edge_case_file_is_read_or_dead_lettered(data_dir, tmp_path):
    files = expand_paths([str(data_dir / "web/edge-cases/*")])
    counts, segments, dead = run_segment(files, tmp_path)  # raises unless counts reconcile
    assert counts["dead_lettered"] == len(dead) == 5
    assert all(d["stage"] == "segment" and "@" in d["input_id"] and d["error"] for d in dead)
    dead_files = {d["input_id"].rsplit("/", 1)[-1].split("@")[0] for d in dead}
    assert dead_files == {
        "clipped.warc.gz",
        "example-space-in-url.arc",
        "example-wrong-chunks.warc.gz",
        "wrong-content-length.warc.wet",
    }
    assert counts["detail"]["documents"] > 10 and counts["filtered"]["unsupported_content_type"]


def test_reader_reports_a_truncated_archive_instead_of_raising(data_dir):
    items = list(read_documents(str(data_dir / "web/edge-cases/clipped.warc.gz"), CORPUS))
    assert items and not isinstance(items[-1], Document)


def test_a_pattern_matching_nothing_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="matches no file"):
        expand_paths([str(tmp_path / "*.warc.gz")])


def test_plain_html_pages_are_segmented(data_dir, tmp_path):
    files = expand_paths([str(data_dir / "web/html/readability/*/source.html")])
    counts, segments, dead = run_segment(files, tmp_path)
    assert counts["detail"]["documents"] == len(files) > 50 and not dead
    assert len(segments) > 20
    assert {s["source_file"] for s in segments} <= set(files)


FURNITURE = """<html><body><div class="page-with-sidebar-layout">
<article><header><h1>Main title</h1></header><p>Body text of the article.</p>
<h2>Details</h2><p>More body text, with <a href="/x">one link</a> inside a sentence.</p>
<ul><li><a href="/1">Related one</a></li><li><a href="/2">Related two</a></li></ul></article>
<div class="comments-area"><h2>Comments</h2><p>First!</p></div>
<div role="complementary"><h2>Popular</h2><p>Elsewhere.</p></div>
<div class="share-buttons">Share on everything</div>
<h2>Archives [ edit ]</h2><p>Old posts.</p>
</div></body></html>"""


def test_furniture_and_link_lists_go_and_the_content_stays():
    found = {s.header: s for s in html_sections(FURNITURE)}
    assert list(found) == ["Main title", "Details", "Archives"]  # header anchors cleaned
    text = found["Main title"].text
    assert "with one link inside a sentence" in text  # a link inside prose stays
    assert not any(w in text for w in ("Related one", "First!", "Elsewhere", "Share on"))


@pytest.mark.parametrize(
    "element_class, furniture",
    [("ad", True), ("ads", True), ("col ad", True), ("ad wide", True), ("x.ad", True),
     ("x-ad", False), ("ad-x", False), ("ad_x", False), ("load", False), ("adsense", False),
     ("bad", False), ("headline", False)],
)  # fmt: skip
def test_an_ad_is_named_by_a_whole_word(element_class, furniture):
    assert (_named(element_class, None) is not None) is furniture


def test_text_sections_cut_at_headings_and_fit_long_runs_into_the_window():
    from humpback.beam_pipelines.segment.text_segmenter import text_sections

    text = "\n".join(
        ["# Guide", "Intro paragraph.", "## Setup", *[f"Step {i} does a thing." for i in range(40)],
         "", "Troubleshooting", "It failed? Try again.", "lower case line that is not a heading"]
    )  # fmt: skip
    found = text_sections(text, max_chars=200, title="Site")
    headers = [s.header for s in found]
    assert headers[0] == "Guide" and headers[-1] == "Troubleshooting"
    setup = [s for s in found if s.header == "Setup"]
    assert len(setup) > 1 and all(len(s.text) <= 200 and s.text.startswith("Setup") for s in setup)
    assert setup[0].header_path == ("Site", "Guide", "Setup")
    assert "".join(s.text for s in setup).count("Step 39 does") == 1  # every block once
    assert found[-1].header_path == ("Site", "Troubleshooting")
    assert found[-1].text.endswith("lower case line that is not a heading")


def test_text_corpora_are_segmented_with_the_text_fallback(tmp_path):
    import json

    def steps(doc: int) -> str:
        return " ".join(f"Sentence {i} explains step {i} of method {doc}." for i in range(20))

    serving = " ".join(f"Serve portion {i} warm, with a spoon of sauce." for i in range(20))
    rows = [{"id": f"d{i}", "url": f"https://e.org/{i}", "title": f"Doc {i}",
             "text": f"How to cook rice {i}\n{steps(i)}\nServing the dish\n{serving}"}
            for i in range(3)]  # fmt: skip
    (tmp_path / "c.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    corpus = CorpusConfig(paths=["-"], title_field="title")
    exact_only = SegmentConfig(dedup={"exact": True, "near": None, "site_blocks": None})
    counts, segments, _ = run_segment(
        [str(tmp_path / "c.jsonl")], tmp_path / "out", corpus=corpus, cfg=exact_only
    )
    assert counts["detail"]["documents"] == 3 and counts["out"] == len(segments) == 4
    assert counts["duplicates"] == 2  # the three "Serving the dish" sections are one text
    paths = [tuple(s["header_path"]) for s in segments]
    assert ("Doc 1", "How to cook rice 1") in paths
    assert [p[1] for p in paths].count("Serving the dish") == 1  # whichever id is smallest
    # by default a text on three pages of one site is its furniture: the kept copy goes too
    counts, segments, _ = run_segment(
        [str(tmp_path / "c.jsonl")], tmp_path / "out2", corpus=corpus
    )
    assert counts["out"] == len(segments) == 3 and counts["duplicates"] == 2
    assert counts["filtered"]["site_boilerplate"] == 1
    assert {p[1] for p in (s["header_path"] for s in segments)} == {
        f"How to cook rice {i}" for i in range(3)
    }


def test_the_language_filter_keeps_the_configured_languages(data_dir, tmp_path):
    files = [str(data_dir / f"web/warc/{n}.warc.gz") for n in ("cc-main-2020-34-excerpt",
                                                            "english-pages-0000")]  # fmt: skip
    counts, segments, _ = run_segment(files, tmp_path, cfg=SegmentConfig(languages=["en"]))
    assert counts["filtered"]["language"] > 0 and segments
    assert {s["lang"] for s in segments} == {"en"}


def test_multi_processing_workers_give_the_same_segments(data_dir, tmp_path):
    files = expand_paths([str(data_dir / "web/warc/*.warc.gz")])
    one, segments, _ = run_segment(files, tmp_path / "one")
    two, again, _ = run_segment(
        files, tmp_path / "two", direct_num_workers=2, direct_running_mode="multi_processing"
    )
    assert one == two and one["out"] > 50
    assert sorted(s["id"] for s in segments) == sorted(s["id"] for s in again)


def test_a_run_that_names_no_runner_never_tries_prism(data_dir, tmp_path, monkeypatch):
    """Beam's DirectRunner first tries Prism, downloading it from GitHub (and falls back when
    that fails); a stage with no runner named runs on the FnApiRunner, offline; a runner the
    options name is Beam's to start."""
    tried = []

    def prism(runner, pipeline, options):
        tried.append(pipeline)
        raise ConnectionError("no network")

    monkeypatch.setattr(PrismRunner, "run_pipeline", prism)
    files = expand_paths([str(data_dir / "web/warc/english-pages-*.warc.gz")])
    counts, segments, _ = run_segment(files, tmp_path / "local")
    assert not tried and counts["out"] == len(segments) > 0
    named = new_pipeline(PipelineOptions(["--runner=DirectRunner"]))
    named | beam.Create([1]) | beam.Map(lambda x: x)  # noqa: B018 - a transform, applied
    named.run().wait_until_finish()
    assert len(tried) == 1  # the DirectRunner did try it (and fell back)


def test_boilerplate_precision_on_the_readability_pages(data_dir, tmp_path):
    from tools.bench.boilerplate import by_page, precision_recall, readability_references

    references = readability_references(data_dir / "web/html/readability")
    _, segments, _ = run_segment(sorted(references), tmp_path)
    precision, recall = precision_recall(by_page(segments), references)
    assert precision > 0.94 and recall > 0.3


STRUCTURED = """<html><body><h1>Watering tomatoes</h1><p>Water deeply twice a week.</p>
<ul><li>Morning is best.</li><li>At the base:<ul><li>not the leaves</li></ul></li></ul>
<ol><li>Fill the can.</li><li>Pour slowly.</li></ol>
<pre>for day in week:
    water(plant)</pre>
<table><tr><th>Month</th><th>Litres</th></tr><tr><td>June</td><td>10</td></tr></table>
</body></html>"""


def test_the_segmenter_checks_its_deadline_between_its_steps():
    """The time budget is checked after each step (what the segment bench's split by step reads),
    in the order the steps run."""
    from tools.bench.segment_bench import PartClock

    parts: dict[str, float] = {}
    html_sections(STRUCTURED, PartClock(parts))
    assert list(parts) == ["markup checked", "parsed", "removed by tag", "furniture removed"]
    assert all(seconds >= 0 for seconds in parts.values())


def test_lists_code_and_tables_keep_their_structure():
    (markdown,) = html_sections(STRUCTURED)
    assert markdown.text == (
        "Watering tomatoes\n\nWater deeply twice a week.\n\n"
        "- Morning is best.\n- At the base:\n  - not the leaves\n1. Fill the can.\n2. Pour slowly."
        "\n\n```\nfor day in week:\n    water(plant)\n```\n\n| Month | Litres |\n|---|---|\n"
        "| June | 10 |"
    )
    (plain,) = html_sections(STRUCTURED, markdown=False)
    assert "Morning is best.\nAt the base:" in plain.text and "```" not in plain.text
    assert "for day in week:\n    water(plant)" in plain.text and "Month\tLitres" in plain.text
    # code and table rows repeat their shapes: the repetition filter reads only the prose
    rows = "\n".join(f"| DL | Player {i} | {60 - i} | 85% | 1 tackle. 1 sack, 2 QH. |"
                     for i in range(9))  # fmt: skip
    prose = "The line played most snaps. Two starters face suspension. The depth is thin."
    table = Section("Stats", ("Stats",), f"Stats\n\n{prose}\n\n{rows}")
    assert drop_reason(table, segment_filters(SegmentConfig(min_chars=10))) is None


def test_teasers_datelines_captions_pagers_and_empty_headers_are_not_segment_text():
    body = "Tomatoes need deep watering twice a week rather than a little every day. " * 12
    html = f"""<html><body><h1>Watering</h1><p>Posted 6:55 AM | Nov 19, 2019</p><p>{body}</p>
    <figure><img src=a.jpg><figcaption>A tomato plant in June, photo by a reader</figcaption>
    </figure><h2><a href="/self">Watering in pots</a></h2><p>{body}</p>
    <h2>Lesen Sie auch</h2><ul><li><a href="/a">Tomaten schneiden</a></li></ul>
    <h3><a href="/b">Peppers need less water than you think</a></h3><p>A short blurb.</p>
    <div>1 2 3 … 12</div><p>© 2019 Garden Media Ltd.</p></body></html>"""
    text = "\n".join(s.text for s in html_sections(html))
    for furniture in ("6:55", "photo by a reader", "Lesen Sie auch", "Peppers", "blurb", "©", "…"):
        assert furniture not in text
    assert "Watering in pots" in text and text.count(body.strip()) >= 2  # a linked heading stays


def test_labels_of_links_and_teasers_go_with_them_and_a_long_blurb_is_still_a_teaser():
    body = "Tomatoes need deep watering twice a week rather than a little every day. " * 12
    blurb = "Peppers are thirsty in July, and this card says so at length before a link. " * 7
    html = f"""<html><body><h1>Watering</h1><p>{body}</p>
    <h2 class="sr-only">Seite teilen</h2><a href="/share"><svg></svg></a><p>{body}</p>
    <p>Water at dawn.</p><div><a href="/c">Mulch</a> and <a href="/d">straw</a></div>
    <div>Das könnte Sie auch interessieren</div><div><a href="/a">Tomaten schneiden</a></div>
    <div>Trending now</div><h3><a href="/b">Peppers need less water</a></h3><p>{blurb}</p>
    </body></html>"""
    text = html_sections(html)[0].text
    for furniture in ("interessieren", "Trending", "Peppers", "teilen"):  # sr-only: unseen
        assert furniture not in text
    assert len(blurb) > 500 and "Water at dawn." in text  # a sentence is not a label
    assert text.count(body.strip()) == 2


def test_a_grid_of_linked_titles_and_short_blurbs_goes_in_any_language():
    body = "Tomaten brauchen zweimal in der Woche viel Wasser statt jeden Tag ein wenig. " * 12
    card = '<div class="c"><a href="/{0}"><img src="x.jpg"></a><div><a href="/{0}">Diät {0}</a>'
    card += "</div><div>Bis zu {0} kg in zwei Wochen, mit einem einfachen Plan.</div></div>"
    deals = "".join(f"<p>{i}) Gießkanne Modell {i} aus Zink, zehn Liter, mit Brause</p><p><a href='https://amzn.to/{i}'>"
                    f"https://amzn.to/{i}</a></p>" for i in range(1, 5))  # fmt: skip

    def text(grid: str) -> str:
        html = f"<html><body><h1>Gießen</h1><p>{body}</p>{grid}<p>{body}</p></body></html>"
        return html_sections(html)[0].text

    assert "kg in zwei Wochen" not in text("".join(card.format(i) for i in range(3)))
    # two cards are not yet a grid, and a list whose links are their URLs lists sources
    assert text("".join(card.format(i) for i in range(2))).count("kg in zwei Wochen") == 2
    assert text(deals).count("Gießkanne Modell") == 4


def test_boilerplate_precision_on_the_scrapinghub_pages_is_above_trafilaturas(data_dir, tmp_path):
    """Human-made article bodies; humpback keeps segments on about half the pages (headers and
    the paper's length limits), so both are compared on those pages."""
    import trafilatura

    from tools.bench.boilerplate import (
        by_page,
        page_html,
        precision_recall,
        scrapinghub_references,
    )

    references = scrapinghub_references(data_dir / "web/html/scrapinghub")
    _, segments, _ = run_segment(sorted(references), tmp_path)
    text = by_page(segments)
    kept = {page: references[page] for page in text}
    baseline = {page: trafilatura.extract(decode(page_html(page), None, html=True)) or ""
                for page in kept}  # fmt: skip
    precision, _ = precision_recall(text, kept)
    theirs, _ = precision_recall(baseline, kept)
    print(f"{len(kept)} pages: precision {precision:.4f}, trafilatura's {theirs:.4f}")
    assert len(kept) > 80 and precision > theirs
