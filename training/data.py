"""Training examples per model role, read from Parquet shards (any fsspec URL) with `datasets`.

Every example is a TRL prompt-completion conversation, so the loss falls on the answer only.
"""

import random
from collections.abc import Iterator

from datasets import Dataset, IterableDataset, concatenate_datasets, interleave_datasets
from datasets import load_dataset as hf_load_dataset
from torch.utils.data import Sampler

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


def mix(
    sources: list[tuple[Examples, int, SourceMix]], seed: int
) -> tuple[Examples, int, list[int] | None]:
    """Mix example sets: each is shuffled, capped and weighted, all with a fixed seed; the mix,
    its size, and the sets' sizes where it is spread.

    A weight w uses each example w times (0.5: a seeded half, 2: twice). Streamed sets cannot be
    repeated, so there the weights become sampling probabilities (proportional to size x weight).
    Several sets in memory are spread (`spread`), to be read in `SpreadSampler`'s order: a
    training shorter than an epoch sees each set in its share, whatever the seed.
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
        return mixed, sum(sizes), None
    if len(parts) > 1:
        return spread(parts), sum(sizes), sizes
    return concatenate_datasets(parts).shuffle(seed=seed), sum(sizes), None


SET_COLUMN = "mix_set"  # which set of a spread mix an example comes from


def spread(parts: list[Dataset]) -> Dataset:
    """The parts (each already shuffled) in one order whose every prefix holds each part in its
    share: part j's k-th example goes at (k + 0.5) / len(part j), marked j in `SET_COLUMN`.
    Two sets of the same sizes get their examples at the same places (an ablation's models see
    the same seed pairs)."""
    starts = [sum(len(p) for p in parts[:j]) for j in range(len(parts))]
    places = sorted(((k + 0.5) / len(p), j, k) for j, p in enumerate(parts) for k in range(len(p)))
    marked = [p.add_column(SET_COLUMN, [j] * len(p)) for j, p in enumerate(parts)]
    return concatenate_datasets(marked).select([starts[j] + k for _, j, k in places])


class SpreadSampler(Sampler[int]):
    """The order a spread mix is read in (`sets`: each example's set, in the mix's order): as
    laid out in the first epoch; in each later one every set's examples are shuffled again (by
    the seed and the epoch) among that set's places, as a random sampler reshuffles every epoch.
    The trainer sets the epoch, so a resumed run reads the order it left."""

    def __init__(self, sets: list[int], seed: int):
        self.sets, self.seed, self.epoch = sets, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.sets)

    def __iter__(self) -> Iterator[int]:
        order = list(range(len(self.sets)))
        if self.epoch:
            rng = random.Random(f"{self.seed}/{self.epoch}")
            for j in sorted(set(self.sets)):
                places = [p for p, s in enumerate(self.sets) if s == j]
                for place, example in zip(places, rng.sample(places, len(places)), strict=True):
                    order[place] = example
        return iter(order)
