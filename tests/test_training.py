import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from datasets import Dataset, IterableDataset
from torch.utils.data import RandomSampler
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import SFTTrainer

from humpback.schemas.config import (
    SEED_TAG,
    WEB_TAG,
    LoraSettings,
    MixConfig,
    SourceMix,
    TagsConfig,
    TrainingConfig,
)
from humpback.schemas.records import SeedPair, SFTExample
from humpback.storage.shards import write_rows
from humpback.training import data
from humpback.training.job import TrainingJob, build_examples, run_job
from humpback.training.sft import SpreadTrainer, load_base, paper_batch_and_steps, sft_config

ROOT = Path(__file__).resolve().parents[1]
SEED = [
    {"id": f"s{i}", "source": "seed.jsonl", "instruction": f"Question {i}: how do plants grow?",
     "output": f"Plants grow with light. ({i})"}
    for i in range(6)
]  # fmt: skip
CURATED = [
    {
        "messages": [
            {"role": "user", "content": f"Web question {i}?\n\n{WEB_TAG}"},
            {"role": "assistant", "content": f"Web text {i}."},
        ],
        "source": "augmented", "score": 5, "iteration": 1, "segment_id": f"c{i}", "url": "u",
    }
    for i in range(4)
]  # fmt: skip


@pytest.fixture
def shards(tmp_path) -> tuple[list[str], list[str]]:
    seed = write_rows(SEED, str(tmp_path / "seed"), SeedPair)
    curated = write_rows(CURATED, str(tmp_path / "curate_1"), SFTExample)
    return [seed], [curated]


def job_for(role, tiny_model, stage_dir, shards, **hp) -> TrainingJob:
    hp = {"max_steps": 2, "batch_size": 2, "max_length": 128, **hp}
    return TrainingJob(role=role, base_model=tiny_model, stage_dir=str(stage_dir),
                       seed_shards=shards[0], curated_shards=shards[1],
                       hp=TrainingConfig(**hp))  # fmt: skip


@pytest.mark.parametrize(
    ("n", "batch", "steps"),
    [(50, 8, 30), (100, 8, 30), (1_000, 8, 300), (3_200, 32, 500), (60_000, 32, 1_600)],
)
def test_paper_schedule_by_data_size(n, batch, steps):
    assert paper_batch_and_steps(n) == (batch, steps)


def test_seed_tag_is_a_sentence_or_a_system_turn():
    sentence = data.seed_example(SEED[0], TagsConfig())
    assert sentence["prompt"] == [
        {"role": "user", "content": f"{SEED[0]['instruction']}\n\n{SEED_TAG}"}
    ]
    system = data.seed_example(SEED[0], TagsConfig(style="system"))["prompt"]
    assert system[0] == {"role": "system", "content": SEED_TAG}
    assert system[1] == {"role": "user", "content": SEED[0]["instruction"]}
    assert (
        data.seed_example(SEED[0], TagsConfig(seed=None))["prompt"][0]["content"]
        == (SEED[0]["instruction"])
    )
    assert data.curated_example(CURATED[0])["completion"] == [
        {"role": "assistant", "content": "Web text 0."}
    ]


def test_iteration_mix_applies_caps_and_weights_with_a_fixed_seed(shards, tiny_model, tmp_path):
    mix = MixConfig(seed=SourceMix(max_examples=3), augmented=SourceMix(weight=2))
    job = job_for("iteration", tiny_model, tmp_path, shards).model_copy(update={"mix": mix})
    examples, n, metrics = build_examples(job)
    assert isinstance(examples, Dataset) and n == len(examples) == 3 + 2 * 4
    assert metrics == {"seed_examples": 6, "curated_examples": 4, "spread": [3, 8]}
    answers = [e["completion"][0]["content"] for e in examples]
    assert sorted(a for a in answers if a.startswith("Web")) == sorted(
        [f"Web text {i}." for i in range(4)] * 2
    )
    assert len({a for a in answers if a.startswith("Plants")}) == 3
    assert answers == [e["completion"][0]["content"] for e in build_examples(job)[0]]
    other_seed = job.model_copy(update={"hp": job.hp.model_copy(update={"seed": 7})})
    reordered = build_examples(other_seed)[0]
    assert answers != [e["completion"][0]["content"] for e in reordered]


def test_several_sets_are_spread_so_a_training_shorter_than_an_epoch_sees_each_in_its_share():
    seed = Dataset.from_dict({"x": [f"s{i}" for i in range(75)]})
    curated = Dataset.from_dict({"x": [f"c{i}" for i in range(10)]})
    order = data.spread([seed, curated])["x"]
    assert sorted(order) == sorted([*seed["x"], *curated["x"]])
    for prefix in (8, 32, 50):  # the quickstart's 2 steps of 4 see 8: one curated pair
        assert abs(sum(x[0] == "c" for x in order[:prefix]) - prefix * 10 / 85) < 1
    random = Dataset.from_dict({"x": [f"r{i}" for i in range(10)]})
    other = data.spread([seed, random])["x"]  # an ablation: the same seed pairs at the same places
    assert [x for x in other if x[0] == "s"] == [x for x in order if x[0] == "s"]
    assert [x[0] for x in other] == [{"c": "r"}.get(x[0], x[0]) for x in order]
    assert data.spread([seed, curated])[data.SET_COLUMN] == [int(x[0] == "c") for x in order]


SEED_EXAMPLES = [data.seed_example(r, TagsConfig()) for r in SEED]


def test_a_spread_mix_is_read_as_laid_out_then_each_set_reshuffled_in_its_places_every_epoch(
    tiny_model,
):
    """`SpreadTrainer` reads a spread mix through accelerate's data loader in `SpreadSampler`'s
    order: the first epoch as `spread` laid it out (the quickstart's short trainings), each later
    one every set shuffled again in its places, the same order for the same seed and epoch (a
    resumed run); the rows are the trainer's own (TRL drops a fully masked example first); data
    of one set in TRL's random order."""
    seed = SEED_EXAMPLES * 12  # 72
    web = [data.curated_example(r) for r in CURATED] * 3  # 12
    masked = data.backward_example({"instruction": "Q?", "output": "long " * 400})  # no completion
    mix = data.spread([Dataset.from_list(seed), Dataset.from_list([masked, *web])])
    hp = TrainingConfig(max_steps=30, batch_size=4, max_length=256)
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    trainer = SpreadTrainer(model=load_base(tiny_model, hp.dropout), args=sft_config(hp, 85, "out"),
                            train_dataset=mix, processing_class=tokenizer)  # fmt: skip
    sets = trainer.train_dataset[data.SET_COLUMN]
    assert len(sets) == 84 and sets.count(1) == 12  # the masked example is gone
    loader = trainer.get_train_dataloader()
    orders = []
    for epoch in (0, 1, 2, 1):
        loader.set_epoch(epoch)
        orders.append([i for batch in loader.batch_sampler for i in batch])
    assert orders[0] == list(range(84))
    assert orders[1] != orders[0] and orders[2] not in orders[:2] and orders[3] == orders[1]
    for order in orders:
        assert sorted(order) == list(range(84))
        assert [sets[i] for i in order] == sets  # each set keeps its places
    one_set = SpreadTrainer(model=trainer.model, args=sft_config(hp, 72, "out"),
                            train_dataset=Dataset.from_list(SEED_EXAMPLES),
                            processing_class=tokenizer)  # fmt: skip
    assert isinstance(one_set._get_train_sampler(), RandomSampler)


def test_streaming_reads_and_trains_on_the_same_examples(tiny_model, tmp_path, monkeypatch):
    import datasets

    # datasets sleeps 5 s each time a threaded Parquet stream closes (apache/arrow#45214);
    # a real job pays that a few times, this test dozens of times
    monkeypatch.setattr(datasets.config, "SLEEP_TIME_ON_THREADS_SHUTDOWN", 0)
    shards = (  # streaming reads any fsspec URL, even with the hub offline
        [write_rows(SEED, "memory://humpback-streaming/seed", SeedPair)],
        [write_rows(CURATED, "memory://humpback-streaming/curate_1", SFTExample)],
    )
    job = job_for("iteration", tiny_model, tmp_path, shards, streaming=True)
    examples, n, _ = build_examples(job)
    assert isinstance(examples, IterableDataset) and n == 10  # counted from the Parquet footers
    seen = {e["completion"][0]["content"] for e in examples}
    assert seen == {r["output"] for r in SEED} | {f"Web text {i}." for i in range(4)}
    metrics = run_job(job)
    assert metrics["steps"] == 2 and (tmp_path / "model" / "model.safetensors").exists()


def test_shards_are_cached_from_any_fsspec_url(tiny_model, tmp_path, monkeypatch):
    import datasets

    # datasets refuses to cache non-local URLs in offline mode; memory:// is in-process
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", False)
    seed = write_rows(SEED, "memory://humpback-cached/seed", SeedPair)
    job = job_for("seed", tiny_model, tmp_path, ([seed], []))
    examples, n, _ = build_examples(job)
    assert n == 6
    assert sorted(e["completion"][0]["content"] for e in examples) == sorted(
        r["output"] for r in SEED
    )


def test_backward_prompts_are_clipped_so_the_instruction_is_learned(tiny_model):
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    long = {"id": "x", "instruction": "Summarise the story.", "output": "word " * 2000}
    fitted = data.fit_backward_prompt(long, tokenizer, max_length=256)
    example = data.backward_example(fitted)
    conversation = example["prompt"] + example["completion"]
    length = len(tokenizer.apply_chat_template(conversation, return_dict=True)["input_ids"])
    assert fitted["clipped"] and 200 < length <= 256
    assert not data.fit_backward_prompt(SEED[0], tokenizer, max_length=256)["clipped"]


def test_prompt_tokens_carry_no_loss_and_the_end_of_turn_token_does(tiny_model, tmp_path):
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    hp = TrainingConfig(max_steps=1, batch_size=2, max_length=256)
    examples = Dataset.from_list([data.backward_example(r) for r in SEED])
    trainer = SFTTrainer(
        model=load_base(tiny_model, hp.dropout),
        args=sft_config(hp, len(SEED), str(tmp_path)),
        train_dataset=examples,
        processing_class=tokenizer,
    )
    row = trainer.train_dataset[0]
    ids, labels = row["input_ids"], row["labels"]
    trained = tokenizer.decode([t for t, label in zip(ids, labels, strict=True) if label != -100])
    masked = tokenizer.decode([t for t, label in zip(ids, labels, strict=True) if label == -100])
    assert trained.startswith(SEED[0]["instruction"]) and SEED[0]["output"] not in trained
    assert SEED[0]["output"] in masked and "<|im_start|>assistant" in masked
    assert "<|im_end|>" in trained  # the end-of-turn token is learned: the model learns to stop
    batch = trainer.data_collator([row])
    assert batch["labels"][0].tolist() == labels


def test_job_decays_lr_to_the_final_factor_and_plots_the_loss(shards, tiny_model, tmp_path):
    job = job_for("backward", tiny_model, tmp_path, shards, max_steps=4, learning_rate=1e-4,
                  save_steps=2)  # fmt: skip
    metrics = run_job(job)
    assert metrics["steps"] == 4 and metrics["clipped_prompts"] == 0
    assert metrics["first_learning_rate"] == pytest.approx(1e-4)
    assert metrics["last_learning_rate"] == pytest.approx(0.9e-4)
    assert (tmp_path / "model" / "model.safetensors").exists()
    assert (tmp_path / "loss.png").read_bytes()[:4] == b"\x89PNG"
    assert json.loads((tmp_path / "metrics.json").read_text()) == metrics
    assert not (tmp_path / "checkpoints").exists()  # removed once the model is saved


def test_lora_is_merged_into_a_plain_model(shards, tiny_model, tmp_path):
    job = job_for("seed", tiny_model, tmp_path, shards, learning_rate=1e-2,
                  lora=LoraSettings(r=4, alpha=8), gradient_checkpointing=True)  # fmt: skip
    run_job(job)
    merged = AutoModelForCausalLM.from_pretrained(tmp_path / "model")  # no peft needed to load
    base = AutoModelForCausalLM.from_pretrained(tiny_model)
    assert not any("lora" in name for name in merged.state_dict())
    before = base.state_dict()
    changed = [name for name, w in merged.state_dict().items() if not torch.equal(w, before[name])]
    assert any("q_proj" in name for name in changed)
    assert (tmp_path / "adapter" / "adapter_config.json").exists()


def _job_process(spec: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "humpback.training.job", str(spec)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip


def test_a_killed_job_resumes_from_its_last_complete_checkpoint(shards, tiny_model, tmp_path):
    """SIGKILL mid-training (possibly mid-save), rerun: same steps and weights as uninterrupted."""
    steps = 60
    killed = job_for("iteration", tiny_model, tmp_path / "killed", shards, max_steps=steps,
                     save_steps=5, dropout=0.1)  # fmt: skip
    Path(killed.stage_dir).mkdir()
    spec = Path(killed.stage_dir, "job.json")
    spec.write_text(killed.model_dump_json())
    process = _job_process(spec)
    checkpoints = Path(killed.stage_dir, "checkpoints")
    deadline = time.monotonic() + 120
    while not any(checkpoints.glob("checkpoint-1[05]")) and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert not Path(killed.stage_dir, "model").exists(), "killed too late: the job had finished"
    resumed = run_job(killed)
    assert resumed["resumed_from"] and resumed["steps"] == steps
    whole = run_job(killed.model_copy(update={"stage_dir": str(tmp_path / "whole")}))
    assert whole["resumed_from"] is None
    a = AutoModelForCausalLM.from_pretrained(tmp_path / "killed" / "model").state_dict()
    b = AutoModelForCausalLM.from_pretrained(tmp_path / "whole" / "model").state_dict()
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)


def test_a_remote_stage_folder_resumes_from_its_checkpoints_and_gets_the_model(
    shards, tiny_model, tmp_path
):
    import fsspec

    from humpback.storage.folders import local_copy, upload
    from humpback.training.sft import train

    first = job_for("seed", tiny_model, tmp_path, shards, max_steps=3, save_steps=2)
    examples, n, _ = build_examples(first)
    train(examples, n, tiny_model, first.hp, str(tmp_path))  # leaves checkpoints/checkpoint-2
    assert [p.name for p in (tmp_path / "checkpoints").glob("checkpoint-*")] == ["checkpoint-2"]
    url = "memory://humpback-remote/train_seed"
    upload(str(tmp_path / "checkpoints"), f"{url}/checkpoints")  # what a crashed run left there

    metrics = run_job(job_for("seed", tiny_model, url, shards, max_steps=4, save_steps=2))
    assert metrics["resumed_from"].endswith("checkpoint-2") and metrics["steps"] == 4
    fs = fsspec.filesystem("memory")
    assert fs.cat_file("/humpback-remote/train_seed/loss.png")[:4] == b"\x89PNG"
    assert json.loads(fs.cat_file("/humpback-remote/train_seed/metrics.json")) == metrics
    assert not fs.exists("/humpback-remote/train_seed/checkpoints")
    AutoModelForCausalLM.from_pretrained(local_copy(f"{url}/model"))
