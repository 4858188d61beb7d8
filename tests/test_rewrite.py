"""The rewrite stage (instruction back-and-forth translation): a curated web answer is rewritten
as an assistant's answer, the web answer kept as provenance; a rewrite that drops the segment's
content is filtered with its reason and the row kept as it was; train_t reads the rewritten set."""

from humpback.run.stages import build_stages
from humpback.schemas.config import load_config
from humpback.schemas.records import SFTExample
from humpback.tasks.rewrite import Rewrite, Rewritten
from humpback.tasks.task import Filtered
from tests.test_config import QUICKSTART

WEB = ("Water tomatoes deeply twice a week, at the base, in the morning. Mulch keeps the soil "
       "moist between waterings. Share this post! Related: 10 best tomato cages.")  # fmt: skip
ROW = SFTExample(
    messages=[{"role": "user", "content": "How often should I water tomatoes?"},
              {"role": "assistant", "content": WEB}],
    source="augmented", score=None, iteration=1, segment_id="s1", url="https://x.org/t", pmi=0.4,
    ifd=0.8,
).model_dump()  # fmt: skip


def test_a_rewrite_replaces_the_answer_and_keeps_the_web_answer_as_provenance():
    rewrite = "Water tomatoes deeply twice a week at the base, in the morning; mulch the soil."
    row = Rewrite("m").parse(ROW, f"  {rewrite}\n")
    assert row["messages"][0] == ROW["messages"][0]
    assert row["messages"][1] == {"role": "assistant", "content": rewrite}
    assert row["original"] == WEB and row["segment_id"] == "s1" and row["pmi"] == 0.4
    assert Rewritten.model_validate(row)


def test_a_rewrite_that_drops_the_content_is_filtered_and_the_row_kept_as_it_was():
    for answer, reason in [("Water them.", "rewrite_too_short"),
                           ("I'm sorry, but I can't help with that request about tomatoes, as "
                            "it is outside what I can answer here in detail.", "rewrite_refused"),
                           ("", "rewrite_too_short")]:  # fmt: skip
        outcome = Rewrite("m").parse(ROW, answer)
        assert isinstance(outcome, Filtered) and outcome.reason == reason
        assert outcome.record == {**ROW, "original": None}


def test_train_reads_the_rewritten_set_when_the_rewrite_is_on():
    config = load_config(QUICKSTART, ["rewrite.enabled=true", "evaluate.scaling=[6, 12]"])
    stages = {s.name: s for s in build_stages(config)}
    for t in (1, 2):
        assert stages[f"rewrite_{t}"].inputs["curated"].stage == f"curate_{t}"
        assert stages[f"train_{t}"].inputs["curated"].stage == f"rewrite_{t}"
    after_last = ("scale_", "ablate_")  # the rungs and ablations train on M_T's curated set
    last = {s.inputs["curated"].stage for n, s in stages.items() if n.startswith(after_last)}
    assert last == {"rewrite_2"} and {"scale_6", "scale_12", "ablate_random"} <= set(stages)
    plain = {s.name for s in build_stages(load_config(QUICKSTART))}
    assert not any(name.startswith("rewrite_") for name in plain)  # off by default


def test_the_rewrite_section_in_the_paper_config_is_valid_once_uncommented(tmp_path):
    paper = QUICKSTART.parent / "paper.yaml"
    lines, inside = [], False
    for line in paper.read_text().splitlines():
        inside = line.startswith("# rewrite:") or (inside and line.startswith("#   "))
        lines.append(line[2:] if inside else line)
    (tmp_path / "paper.yaml").write_text("\n".join(lines))
    config = load_config(tmp_path / "paper.yaml")
    assert config.rewrite.enabled and config.rewrite.backend == "vllm"
    assert "rewrite_2" in [s.name for s in build_stages(config)]
