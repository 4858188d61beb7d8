import gzip
import json

import pytest

from humpback.run.seed_pairs import read_raw_rows, select_seed_pairs
from humpback.schemas.config import SeedConfig


def test_real_seed_file_loads_with_the_evaluation_prompts_excluded(data_dir):
    path = str(data_dir / "seed/oasst_first_turn_rank0.jsonl")
    rows = read_raw_rows(path)
    pairs, dead, filtered, _ = select_seed_pairs(
        rows, SeedConfig(path=path, exclude_field="in_alpaca_eval")
    )
    assert len(rows) == 94 and filtered == {"excluded": 6} and not dead
    assert len(pairs) == 88 == len({p["id"] for p in pairs})


def test_bad_rows_are_dead_lettered_with_the_reason(tmp_path):
    path = tmp_path / "seed.jsonl.gz"
    lines = [
        json.dumps({"instruction": "Q1", "response": "A1"}),
        json.dumps({"instruction": "", "response": "A2"}),
        json.dumps({"instruction": "Q3"}),
        "{not json",
        json.dumps({"instruction": "Q5", "response": "A5"}),
        json.dumps({"instruction": "Q6", "response": "A6"}),
    ]
    path.write_bytes(gzip.compress("\n".join(lines).encode()))
    rows = read_raw_rows(str(path))
    pairs, dead, filtered, _ = select_seed_pairs(rows, SeedConfig(path=str(path), limit=2))
    assert [p["instruction"] for p in pairs] == ["Q1", "Q5"]
    assert filtered == {"over_limit": 1}
    assert [d["message"] for d in dead][:2] == [
        "field 'instruction' must be a non-empty string",
        "field 'response' must be a non-empty string",
    ]
    assert dead[2]["message"].startswith("line 4:") and dead[2]["raw"] == "{not json"
    assert len(rows) == len(pairs) + len(dead) + sum(filtered.values())


def test_parquet_seed_files_load(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "seed.parquet"
    pq.write_table(pa.Table.from_pylist([{"prompt": "Q", "answer": "A"}]), path)
    cfg = SeedConfig(path=str(path), instruction_field="prompt", output_field="answer")
    pairs, dead, *_ = select_seed_pairs(read_raw_rows(str(path)), cfg)
    assert pairs[0]["instruction"] == "Q" and pairs[0]["output"] == "A" and not dead


def test_missing_seed_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_raw_rows(str(tmp_path / "nope.jsonl"))
