"""Read seed (instruction, output) pairs from JSONL or Parquet (any fsspec URL) or a HF dataset."""

import hashlib
import json
import random

import fsspec

from humpback.schemas.config import SeedConfig
from humpback.schemas.errors import InputNotFound
from humpback.schemas.records import DeadLetter, SeedPair
from humpback.schemas.text import InvalidText, clean_text
from humpback.storage.shards import read_parquet_rows

HF_PREFIX = "hf:"


def read_raw_rows(path: str) -> list[dict]:
    """Rows of a JSONL(.gz/.zst) or Parquet file, or of a Hugging Face dataset's train split."""
    if path.startswith(HF_PREFIX):
        from datasets import load_dataset

        return load_dataset(path.removeprefix(HF_PREFIX), split="train").to_list()
    fs, local = fsspec.core.url_to_fs(path)
    if not fs.isfile(local):
        raise InputNotFound(f"seed.path: no file {path}")
    if path.endswith(".parquet"):
        return read_parquet_rows(path)
    rows = []
    with fsspec.open(path, "rb", compression="infer") as f:
        for n, line in enumerate(f):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except ValueError as err:  # not JSON, or not UTF-8
                    raw = line.decode("utf-8", "replace").rstrip()
                    rows.append({"__error__": f"line {n + 1}: {err}", "__raw__": raw})
    return rows


def select_seed_pairs(
    rows: list[dict], cfg: SeedConfig
) -> tuple[list[dict], list[dict], dict, dict]:
    """Valid pairs (their text normalised), dead letters for invalid rows, counts of rows
    filtered by reason, and counts of pairs normalised by the kind of change."""
    pairs, dead, filtered, normalised = [], [], {}, {}
    for n, row in enumerate(rows):
        instruction, output = row.get(cfg.instruction_field), row.get(cfg.output_field)
        try:
            (instruction, changes), (output, more) = (
                clean_text(v, cfg.text) if isinstance(v, str) else (v, set())
                for v in (instruction, output)
            )
        except InvalidText as err:
            dead.append(DeadLetter.row("seed", f"{cfg.path}#{n}", "InvalidText", str(err)))
            continue
        problem = row.get("__error__") or next(
            (
                f"field {name!r} must be a non-empty string"
                for name, value in (
                    (cfg.instruction_field, instruction),
                    (cfg.output_field, output),
                )
                if not isinstance(value, str) or not value.strip()
            ),
            None,
        )
        if problem:
            raw = str(row.get("__raw__", row))
            dead.append(DeadLetter.row("seed", f"{cfg.path}#{n}", "invalid_seed_row", problem, raw))
        elif cfg.exclude_field and row.get(cfg.exclude_field):
            filtered["excluded"] = filtered.get("excluded", 0) + 1
        elif cfg.limit is not None and len(pairs) >= cfg.limit:
            filtered["over_limit"] = filtered.get("over_limit", 0) + 1
        else:
            for kind in changes | more:
                normalised[kind] = normalised.get(kind, 0) + 1
            key = hashlib.sha1(f"{instruction}\x00{output}".encode()).hexdigest()[:16]
            pairs.append(
                SeedPair(
                    id=key, instruction=instruction, output=output, source=cfg.path
                ).model_dump()
            )
    return pairs, dead, filtered, normalised


def split_holdout(pairs: list[dict], n: int) -> tuple[list[dict], list[dict]]:
    """The training pairs and `n` held-out pairs (a seeded draw; at most half of the pairs)."""
    n = min(n, len(pairs) // 2)
    held = set(random.Random(0).sample(sorted(p["id"] for p in pairs), n))
    return [p for p in pairs if p["id"] not in held], [p for p in pairs if p["id"] in held]
