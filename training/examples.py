"""Training examples per model role, as TRL prompt-completion conversations (loss on the answer)."""

from datasets import Dataset

from beam_pipelines.prompts import backward_prompt, tagged


def _example(prompt: list[dict], answer: str) -> dict:
    return {"prompt": prompt, "completion": [{"role": "assistant", "content": answer}]}


def backward_examples(seed: list[dict]) -> Dataset:
    """M_yx learns output -> instruction."""
    return Dataset.from_list(
        [_example(backward_prompt(r["output"]), r["instruction"]) for r in seed]
    )


def seed_examples(seed: list[dict], tag: str | None) -> list[dict]:
    """Seed pairs for a forward model, the seed tag appended to each instruction."""
    return [
        _example([{"role": "user", "content": tagged(r["instruction"], tag)}], r["output"])
        for r in seed
    ]


def curated_examples(curated: list[dict]) -> list[dict]:
    """Curated shard rows: every turn but the last is the prompt, the last one the completion."""
    return [
        {"prompt": row["messages"][:-1], "completion": row["messages"][-1:]}
        for row in curated
        if row["messages"] and row["messages"][-1]["role"] == "assistant"
    ]


def forward_examples(seed: list[dict], curated: list[dict], seed_tag: str | None) -> Dataset:
    """M_t learns from seed pairs plus curated data (already tagged when it was curated)."""
    return Dataset.from_list(seed_examples(seed, seed_tag) + curated_examples(curated))
