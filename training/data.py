"""Training examples per model role, read from Parquet shards (any fsspec URL) with `datasets`.

Every example is a TRL prompt-completion conversation, so the loss falls on the answer only.
"""

from datasets import Dataset, IterableDataset, concatenate_datasets, interleave_datasets
from datasets import load_dataset as hf_load_dataset

from humpback.schemas.config import SourceMix, TagsConfig
from humpback.storage.folders import local_files
from humpback.tasks.backtranslate import backward_prompt
from humpback.tasks.tags import tagged

Examples = Dataset | IterableDataset
SHUFFLE_BUFFER = 10_000  # streaming shuffles within a buffer of this many examples


def load_shards(urls: list[str], streaming: bool) -> Examples:
    """A shard set as a dataset: cached as memory-mapped Arrow (remote shards copied to local
    disk first: `datasets` will not fetch them while HF_HUB_OFFLINE keeps the hub away), or
    streamed from its URLs."""
    files = urls if streaming else local_files(urls)
    return hf_load_dataset("parquet", data_files=files, split="train", streaming=streaming)


def _conversation(prompt: list[dict], answer: str) -> dict:
    return {"prompt": prompt, "completion": [{"role": "assistant", "content": answer}]}


def backward_example(row: dict) -> dict:
    """M_yx learns output -> instruction."""
    return _conversation(backward_prompt(row["output"]), row["instruction"])


def seed_example(row: dict, tags: TagsConfig) -> dict:
    """A seed pair for a forward model, marked with the seed tag."""
    return _conversation(tagged(row["instruction"], tags.seed, tags.style), row["output"])


def curated_example(row: dict) -> dict:
    """A curated shard row (already tagged): every turn but the last is the prompt."""
    return {"prompt": row["messages"][:-1], "completion": row["messages"][-1:]}


def fit_backward_prompt(row: dict, tokenizer, max_length: int) -> dict:
    """Clip a seed output by tokens so that the backward example, instruction and end-of-turn
    included, fits `max_length` (TRL would cut the instruction, the only part that is learned)."""
    example = backward_example(row)
    conversation = example["prompt"] + example["completion"]
    length = len(tokenizer.apply_chat_template(conversation, return_dict=True)["input_ids"])
    overflow = length - max_length
    if overflow <= 0:
        return {**row, "clipped": False}
    ids = tokenizer(row["output"], add_special_tokens=False)["input_ids"]
    keep = max(len(ids) - overflow - 4, 0)  # a few tokens of slack for merges at the cut
    return {**row, "output": tokenizer.decode(ids[:keep]), "clipped": True}


def to_examples(data: Examples, convert, **kwargs) -> Examples:
    """Map rows to prompt-completion examples, dropping every other column."""
    columns = data.column_names or []
    return data.map(convert, fn_kwargs=kwargs, remove_columns=columns)


def mix(sources: list[tuple[Examples, int, SourceMix]], seed: int) -> tuple[Examples, int]:
    """Mix example sets: each is shuffled, capped and weighted, all with a fixed seed.

    A weight w uses each example w times (0.5: a seeded half, 2: twice). Streamed sets cannot be
    repeated, so there the weights become sampling probabilities (proportional to size x weight).
    Several sets in memory are spread (`spread`): a training shorter than an epoch, read in
    order, sees each set in its share, whatever the seed.
    """
    parts, sizes = [], []
    for data, n, source in sources:
        if source.max_examples is not None:
            n = min(n, source.max_examples)
        size = round(n * source.weight)
        if size == 0:
            continue
        if isinstance(data, IterableDataset):
            parts.append(data.shuffle(seed=seed, buffer_size=SHUFFLE_BUFFER).take(n))
        else:
            data = data.shuffle(seed=seed)
            parts.append(data.select([i % n for i in range(size)]))
        sizes.append(size)
    if not parts:
        raise ValueError("the mix is empty: every source has 0 examples after caps and weights")
    if isinstance(parts[0], IterableDataset):
        probabilities = [size / sum(sizes) for size in sizes]
        mixed = interleave_datasets(
            parts, probabilities, seed=seed, stopping_strategy="all_exhausted"
        )
        return mixed, sum(sizes)
    if len(parts) > 1:
        return spread(parts), sum(sizes)
    return concatenate_datasets(parts).shuffle(seed=seed), sum(sizes)


def spread(parts: list[Dataset]) -> Dataset:
    """The parts (each already shuffled) in one order whose every prefix holds each part in its
    share: part j's k-th example goes at (k + 0.5) / len(part j). Two sets of the same sizes get
    their examples at the same places (an ablation's models see the same seed pairs)."""
    starts = [sum(len(p) for p in parts[:j]) for j in range(len(parts))]
    places = sorted(((k + 0.5) / len(p), j, k) for j, p in enumerate(parts) for k in range(len(p)))
    return concatenate_datasets(parts).select([starts[j] + k for _, j, k in places])
