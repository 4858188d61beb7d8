"""`humpback export RUN_DIR OUT`: a run's curated pairs as a Hugging Face dataset folder that
`datasets.load_dataset(OUT)` opens as it is: `data/train-*.parquet`, a dataset card
(`README.md`) made from the run's manifests, and the run's `config.yaml`."""

import hashlib
import random

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from humpback.run.manifest import read_manifest
from humpback.run.run_view import curation_figures, fmt
from humpback.run.stages import build_stages, curated
from humpback.schemas.config import RunConfig
from humpback.schemas.errors import UserError
from humpback.schemas.records import SeedPair, SFTExample
from humpback.storage.folders import read_text, write_text
from humpback.storage.shards import load_rows, shard_pattern
from humpback.training.data import seed_example

SHARD = "data/train-00000-of-00001.parquet"
COUNT_HEADER = "| stage | in | out | filtered | duplicates | dead-lettered |\n" + "|---" * 6 + "|"


def export_dataset(run_dir: str, out: str, iteration: int | None = None,
                   with_seed: bool = False) -> dict:  # fmt: skip
    """Write the dataset folder of iteration `iteration` (default: the last curated one);
    returns {"rows": ..., "iteration": ..., "files": [...]}."""
    run_dir = run_dir.rstrip("/")
    text = read_text(f"{run_dir}/config.yaml")
    if text is None:
        raise UserError(f"{run_dir}: no config.yaml; is it a run folder (humpback run wrote it)?")
    config = RunConfig.model_validate(yaml.safe_load(text))
    stages = ["seed", "segment", "augment",
              *(f"curate_{i}" for i in range(1, config.iterations + 1)), "measure"]  # fmt: skip
    manifests = {s: m for s in stages if (m := read_manifest(f"{run_dir}/{s}")) is not None}
    sets = {t: curated(config, t).stage for t in range(1, config.iterations + 1)}
    done = [t for t, stage in sets.items()
            if f"curate_{t}" in manifests and read_manifest(f"{run_dir}/{stage}")]  # fmt: skip
    if not done:
        raise UserError(f"{run_dir}: no curate stage has finished; run it first")
    t = done[-1] if iteration is None else iteration
    if t not in done:
        stage = curated(config, t).stage
        raise UserError(f"--iteration {t}: {stage} has not finished (done: {done})")
    rows = load_rows(shard_pattern(f"{run_dir}/{sets[t]}", SFTExample.shard))
    seed = _seed_examples(run_dir, config) if with_seed else []
    table = pa.Table.from_pylist(seed + rows, schema=sft_record(config, sets[t]).arrow_schema())
    out = out.rstrip("/")
    with fsspec.open(f"{out}/{SHARD}", "wb", auto_mkdir=True) as f:
        pq.write_table(table, f)
    write_text(f"{out}/config.yaml", text)
    card = dataset_card(run_dir, config, manifests, t, table, len(seed), text)
    write_text(f"{out}/README.md", card)
    return {"rows": table.num_rows, "iteration": t,
            "files": [f"{out}/README.md", f"{out}/config.yaml", f"{out}/{SHARD}"]}  # fmt: skip


def sft_record(config: RunConfig, stage: str) -> type[SFTExample]:
    """The SFT record a stage writes (a rewrite's keeps its `original` answer)."""
    (found,) = [s for s in build_stages(config) if s.name == stage]
    return next(o for o in found.outputs if getattr(o, "shard", None) == SFTExample.shard)


def _seed_examples(run_dir: str, config: RunConfig) -> list[dict]:
    """The training seed pairs as the SFT job sees them: tagged as the assistant's style."""
    examples = (seed_example(p, config.tags)
                for p in load_rows(shard_pattern(f"{run_dir}/seed", SeedPair.shard)))  # fmt: skip
    return [
        SFTExample(messages=e["prompt"] + e["completion"], source="seed", score=None,
                   iteration=None, segment_id=None, url=None).model_dump()  # fmt: skip
        for e in examples
    ]


def dataset_card(run_dir: str, config: RunConfig, manifests: dict[str, dict], t: int,
                 table: pa.Table, n_seed: int, config_text: str) -> str:  # fmt: skip
    """The card: YAML metadata (configs, dataset_info, licence, task) and how the data was made,
    from the manifests of the run's stages (by name)."""
    from datasets import DatasetInfo, Features, SplitDict, SplitInfo
    from datasets.info import DatasetInfosDict
    from datasets.utils.metadata import MetadataConfigs
    from huggingface_hub import DatasetCardData

    name = config.dataset.name or run_dir.rsplit("/", 1)[-1]
    n = table.num_rows
    data = DatasetCardData(
        pretty_name=name,
        license=config.dataset.license,
        language=config.dataset.language or config.segment.languages or None,
        task_categories=["text-generation"],
        tags=["instruction-backtranslation", "humpback", "synthetic", "sft"],
        size_categories=[_size_category(n)],
    )
    MetadataConfigs({"default": {"data_files": [{"split": "train", "path": "data/train-*"}]}}
                    ).to_dataset_card_data(data)  # fmt: skip
    splits = SplitDict({"train": SplitInfo("train", num_bytes=table.nbytes, num_examples=n)})
    info = DatasetInfo(features=Features.from_arrow_schema(table.schema), splits=splits,
                       dataset_size=table.nbytes)  # fmt: skip
    DatasetInfosDict({"default": info}).to_dataset_card_data(data)
    body = "\n\n".join([
        f"# {name}",
        f"{n - n_seed} instruction-answer pairs made by instruction backtranslation (Li et al. "
        "2023, [arXiv:2308.06259](https://arxiv.org/abs/2308.06259)) with humpback"
        + (f", and the {n_seed} seed pairs the run trained on" if n_seed else "") + ". "
        "Each answer is a segment of a web page; a backward model wrote the instruction it "
        f"answers, and M{t - 1} kept the pair (iteration {t}). The `messages` column is what "
        "TRL's `SFTTrainer` reads; the others are provenance.",
        "## How it was made\n\n" + _stage_table(manifests, config, t),
        "## Curation\n\n" + _curation(manifests[f"curate_{t}"], config, t),
        "## The method's measures\n\n" + _measures(manifests.get("measure")),
        "## Models and config\n\n" + _models(run_dir, config, manifests[f"curate_{t}"], t,
                                              config_text),
        "## Sample rows\n\n" + _samples(table.to_pylist(), n_seed),
        "## Use\n\n```python\nfrom datasets import load_dataset\n\nds = load_dataset(\"PATH\")  "
        "# this folder; or the Hub repository it is uploaded to\n```\n\n"
        "Upload: `huggingface-cli upload --repo-type dataset USER/NAME PATH` or "
        "`HfApi().upload_folder(folder_path=PATH, repo_id=\"USER/NAME\", repo_type=\"dataset\")`.",
        "## Limits\n\nThe answers are web text: they keep their authors' rights, whatever licence "
        "this card names (`dataset.license` in the config). The curator is a language model; "
        "a small one keeps pairs a careful reader would not: read the sample rows.",
    ])  # fmt: skip
    return f"---\n{data.to_yaml()}\n---\n\n{body}\n"


def _size_category(n: int) -> str:
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                         (1_000_000, "100K<n<1M")):  # fmt: skip
        if n < limit:
            return label
    return "n>1M"


def _stage_table(manifests: dict[str, dict], config: RunConfig, t: int) -> str:
    stages = ["seed", "segment", "augment", *(f"curate_{i}" for i in range(1, t + 1))]
    rows = []
    for stage in (s for s in stages if s in manifests):
        c = manifests[stage]["counts"]
        filtered = ", ".join(f"{k} {v}" for k, v in c["filtered"].items()) or "0"
        rows.append(f"| {stage} | {c['in']} | {c['out']} | {filtered} | {c['duplicates']} "
                    f"| {c['dead_lettered']} |")  # fmt: skip
    corpus = ", ".join(f"`{p}`" for p in config.corpus.paths)
    return f"Seed: `{config.seed.path}`. Corpus: {corpus}.\n\n" + "\n".join([COUNT_HEADER, *rows])


def _curation(curate: dict, config: RunConfig, t: int) -> str:
    cur = config.curate
    rule = {"generate": f"the rubric's score (the scorer writes `Score: N`) >= {cur.k}",
            "logprobs": f"the rubric's score (read from log-probabilities) >= {cur.k}",
            "likelihood": f"PMI >= {cur.min_pmi} and IFD <= {cur.max_ifd}",
            "combined": f"the rubric's score >= {cur.k}, PMI >= {cur.min_pmi} and IFD <= "
                        f"{cur.max_ifd}"}[cur.mode]  # fmt: skip
    if cur.uses_likelihood and cur.min_similarity is not None:
        rule += f", and the instruction's cosine with the segment's opening >= {cur.min_similarity}"
    c = curate["counts"]
    share = f" ({c['out'] / c['in']:.0%})" if c["in"] else ""
    return (f"Mode `{cur.mode}`: kept where {rule}. curate_{t} kept {c['out']} of {c['in']} "
            f"candidates{share}.")  # fmt: skip


def _measures(manifest: dict | None) -> str:
    if manifest is None:
        return "The run took no measures (no `measure` stage)."
    m = manifest["metrics"]
    lines = [f"On {m['heldout_pairs']} held-out seed pairs, which no model of the run trained on.",
             "", "| backward model | logprob/token | ROUGE-L | cosine | well formed | ROUGE-L as "
             "instruction | cosine as instruction |", "|---|---|---|---|---|---|---|"]  # fmt: skip
    for name, f in m["backward_fidelity"].items():
        lines.append(f"| {name} | {fmt(f['logprob_per_token'])} | {fmt(f['rouge_l'])} | "
                     f"{fmt(f.get('cosine'))} | {fmt(f['well_formed'])} | "
                     f"{fmt(f.get('rouge_l_as_instruction'))} | "
                     f"{fmt(f.get('cosine_as_instruction'))} |")  # fmt: skip
    columns = sorted({k for c in m["curators"].values() for k in c if k != "pairs"})
    lines += ["", f"| curator | {' | '.join(columns)} | pairs |",
              "|---" * (len(columns) + 2) + "|"]  # fmt: skip
    for name, c in m["curators"].items():
        lines.append(f"| {name} | " + " | ".join(fmt(c.get(k)) for k in columns)
                     + f" | {c.get('pairs', '-')} |")  # fmt: skip
    return "\n".join(lines)


def _models(run_dir: str, config: RunConfig, curate: dict, t: int, config_text: str) -> str:
    scorer = "train_seed" if t == 1 else f"train_{t - 1}"
    digest = hashlib.sha256(config_text.encode()).hexdigest()[:16]
    return "\n".join([
        f"- Base model: `{config.base_model}`",
        "- Backward model M_yx: the base model fine-tuned on the seed pairs reversed "
        f"(`{run_dir}/train_backward/model`)",
        f"- Scorer M{t - 1}: `{run_dir}/{scorer}/model`",
        f"- Config: `config.yaml` beside this card (sha256 {digest}); curate_{t} fingerprint "
        f"`{curate['fingerprint']}`, humpback {curate['versions'].get('humpback', '?')}",
    ])  # fmt: skip


def _samples(rows: list[dict], n_seed: int, n: int = 3) -> str:
    picked = random.Random(0).sample(rows[n_seed:], min(n, len(rows) - n_seed))
    out = []
    for row in picked:
        instruction, answer = row["messages"][-2]["content"], row["messages"][-1]["content"]
        answer = " ".join(answer.split())
        out.append(f"**Instruction** ({curation_figures(row)}): {' '.join(instruction.split())}\n\n"
                   f"**Answer**: {answer[:500]}{' ...' if len(answer) > 500 else ''}")  # fmt: skip
    return "\n\n---\n\n".join(out) or "(no curated pairs)"
