"""Where the seed pairs and the web text come from, and how the web text is cut into segments."""

from typing import Literal

from pydantic import Field, model_validator

from humpback.schemas.config.base import Strict


class TextConfig(Strict):
    """How text is normalised where it enters: control characters (but tab and newline) and
    terminal escapes always go, line breaks become newlines; counted as `normalised:<kind>`."""

    surrogates: Literal["replace", "dead_letter"] = Field(
        "replace", description="a lone surrogate (a broken JSON escape): U+FFFD, or a dead letter"
    )
    remove_bidi_controls: bool = Field(True, description="bidi embeddings, overrides, isolates")
    remove_invisible: bool = Field(
        True, description="zero-width space, soft hyphen, BOM, tag characters (not ZWJ / ZWNJ)"
    )
    nfc: bool = Field(True, description="Unicode normalisation form C")


class SeedConfig(Strict):
    path: str = Field(description="JSONL or Parquet (any fsspec URL), or hf:<dataset id>")
    instruction_field: str = "instruction"
    output_field: str = "response"
    exclude_field: str | None = Field(None, description="rows where this field is true are dropped")
    limit: int | None = Field(None, gt=0)
    holdout: int = Field(
        40, ge=0, description="pairs (a seeded draw) kept out of training to measure the method"
    )
    text: TextConfig = TextConfig()


class CorpusConfig(Strict):
    """Where the web text is and how to read it; every path is an fsspec URL or glob."""

    paths: list[str] = Field(min_length=1, description="fsspec URLs or globs of corpus files")
    format: Literal["auto", "warc", "jsonl", "parquet", "html", "text"] = Field(
        "auto", description="auto: by file suffix (.warc/.arc/.wet, .jsonl, .parquet, .html, .txt)"
    )
    text_field: str = Field("text", description="JSONL / Parquet: the field holding the document")
    id_field: str | None = "id"
    url_field: str | None = "url"
    title_field: str | None = Field(None, description="JSONL / Parquet: a title, the top header")
    markup: Literal["text", "html"] = Field("text", description="what text_field holds")
    max_document_bytes: int = Field(
        5_000_000, gt=0, description="larger documents are filtered (document_too_large)"
    )
    max_compression_ratio: float = Field(
        200,
        gt=1,
        description="a gzip or zstd file that expands more (past 64 MB) is a decompression bomb: "
        "a dead letter at the byte offset reached",
    )
    text: TextConfig = TextConfig()


class NearDedupConfig(Strict):
    """MinHash LSH: segments sharing all `rows` hashes of any of `bands` bands are near-duplicates.

    The defaults (14 x 8, word 5-grams) catch pairs above a Jaccard similarity of about 0.75.
    """

    bands: int = Field(14, gt=0)
    rows: int = Field(8, gt=0)
    ngram: int = Field(5, gt=0, description="shingles are word n-grams")
    seed: int = 1


class SiteBlocksConfig(Strict):
    """A block (paragraph, list, table) found on `min_pages` pages of one host is the site's
    furniture (a newsletter prompt, a "read also" list, a cookie notice), in any language."""

    min_pages: int = Field(3, ge=2, description="distinct URLs of one host that show the block")


class DedupConfig(Strict):
    exact: bool = Field(True, description="drop segments whose normalised text repeats")
    near: NearDedupConfig | None = Field(NearDedupConfig(), description="null: no MinHash LSH")
    site_blocks: SiteBlocksConfig | None = Field(
        SiteBlocksConfig(), description="null: keep blocks that a site repeats on its pages"
    )


class SegmentConfig(Strict):
    min_chars: int = Field(600, gt=0)
    document_budget_s: float = Field(
        10, gt=0, description="a document that takes longer to segment is a dead letter"
    )
    max_chars: int = Field(3000, gt=0)
    render: Literal["markdown", "plain"] = Field(
        "markdown", description="web pages' lists, code and tables as Markdown, or plain lines"
    )
    max_header_caps_ratio: float = Field(0.5, ge=0, le=1)
    navigation_headers: list[str] = [
        "advertisement",
        "forum",
        "quick link",
        "free newsletter",
        "navigation",
        "menu",
        "related posts",
        "comments",
        "share this",
    ]
    max_sentence_jaccard: float = Field(0.6, ge=0, le=1, description="trigram Jaccard limit")
    languages: list[str] | None = Field(
        None, description="ISO 639-1 codes to keep (py3langid); unset: no language filter"
    )
    dedup: DedupConfig = DedupConfig()

    @model_validator(mode="after")
    def _window(self) -> "SegmentConfig":
        if self.min_chars > self.max_chars:
            raise ValueError("min_chars must not exceed max_chars")
        return self


class CorpusSections(Strict):
    """The data sections of a run config: the seed pairs, the corpus and its segmentation."""

    seed: SeedConfig
    corpus: CorpusConfig
    segment: SegmentConfig = SegmentConfig()
