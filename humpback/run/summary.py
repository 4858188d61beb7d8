"""What `humpback run` prints at the end: the stages' counts, the method's measures, and
curated pairs."""

import random

from humpback.run.manifest import read_manifest
from humpback.schemas.records import SFTExample
from humpback.storage.shards import load_rows, shard_pattern


def print_status(run_dir: str, stage_names: list[str]) -> None:
    """A table of stages with counts and wall times, then where the outputs are."""
    header = ("stage", "state", "in", "out", "filtered", "dup", "dead", "wall s")
    rows, outputs = [], []
    for name in stage_names:
        manifest = read_manifest(f"{run_dir.rstrip('/')}/{name}")
        if manifest is None:
            rows.append((name, "pending", "", "", "", "", "", ""))
            continue
        c = manifest["counts"]
        filtered = str(sum(c["filtered"].values()))
        rows.append(
            (name, "done", c["in"], c["out"], filtered, c["duplicates"], c["dead_lettered"],
             manifest["wall_s"])
        )  # fmt: skip
        for kind, where in manifest["outputs"].items():
            if kind in {"model", "curated"}:
                outputs.append(
                    f"  {name} {kind}: {where if isinstance(where, str) else ', '.join(where)}"
                )
    print_table([header, *rows])
    if outputs:
        print("\noutputs:")
        print("\n".join(outputs))


def print_table(rows: list[tuple], indent: str = "") -> None:
    """`rows` (a header first) in left-aligned columns."""
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(indent + "  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)))


def fmt(value) -> str:
    return "-" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def print_measures(run_dir: str) -> None:
    """The measure stage's figures as two tables: backward fidelity and curator discrimination."""
    manifest = read_manifest(f"{run_dir.rstrip('/')}/measure")
    if manifest is None:
        return
    m = manifest["metrics"]
    form = m["instruction_form"]
    print(
        f"\nmeasures on {m['heldout_pairs']} held-out seed pairs ({m['demonstrations']} "
        f"demonstrations in the backward prompt; probe pairs {m['probe_pairs']}):"
    )
    augment = read_manifest(f"{run_dir.rstrip('/')}/augment")
    if augment is not None and "borrow_rate" in augment["metrics"]:
        rate = fmt(augment["metrics"]["borrow_rate"])
        print(f"  augment instructions that borrow a demonstration's topic: {rate}")
    print(f"  augment instructions well formed: {fmt(form['well_formed'])} of "
          f"{form['instructions']} ({form['reasons']})")  # fmt: skip
    print("  backward fidelity   logprob/token  ROUGE-L  cosine  well-formed")
    for name, f in m["backward_fidelity"].items():
        print(f"    {name:<17} {fmt(f['logprob_per_token']):>13}  {fmt(f['rouge_l']):>7}  "
              f"{fmt(f.get('cosine')):>6}  {fmt(f['well_formed']):>11}")  # fmt: skip
    for title, curators in curator_tables(m):
        print(f"  {title}")
        print_table(curators, indent="    ")


def curator_tables(m: dict) -> list[tuple[str, list[tuple]]]:
    """The curator tables of the measure stage's metrics `m`: on the probe pairs (AUC of true
    pairs against each kind of false one) and on the judged pairs (usable against the rest),
    each with the keep rule's precision and recall; a header row first."""
    tables = []
    for key, title in (("curators", "curators on probe pairs (AUC true vs each kind)"),
                       ("curators_judged", f"curators on judged pairs {m.get('judged_pairs')} "
                                           "(AUC usable vs unusable)")):  # fmt: skip
        if not m.get(key):
            continue
        kinds = [k for k in next(iter(m[key].values())) if k.startswith("auc_")]
        header = ("curator", *(k.replace("_", " ") for k in kinds), "precision", "recall",
                  "kept", "pairs")  # fmt: skip
        rows = [(name, *(fmt(c[k]) for k in kinds), fmt(c["precision"]), fmt(c["recall"]),
                 c.get("kept", "-"), c["pairs"]) for name, c in m[key].items()]  # fmt: skip
        tables.append((title, [header, *rows]))
    return tables


def print_curated(run_dir: str, curate_stages: list[str], n: int = 5, seed: int = 0) -> None:
    """`n` random curated pairs of the last curate stage that kept any."""
    for stage in reversed(curate_stages):
        rows = load_rows(shard_pattern(f"{run_dir.rstrip('/')}/{stage}", SFTExample.shard))
        if rows:
            break
    else:
        return
    picked = random.Random(seed).sample(rows, min(n, len(rows)))
    print(f"\n{len(picked)} of the {len(rows)} pairs {stage} kept:")
    for row in picked:
        instruction = row["messages"][-2]["content"]
        answer = " ".join(row["messages"][-1]["content"].split())
        print(f"\n  [{curation_figures(row)}] {instruction}")
        print(f"  -> {answer[:300]}{' ...' if len(answer) > 300 else ''}")


def curation_figures(row: dict) -> str:
    """What the pair was kept on: its rubric score and its likelihoods, where recorded."""
    figures = [f"score {row['score']}"] if row["score"] is not None else []
    figures += [f"{name} {row[name]:.2f}" for name in ("pmi", "ifd") if row.get(name) is not None]
    return ", ".join(figures) or "kept"


def print_win_rates(run_dir: str) -> None:
    """The judge's win rates against the reference, and the judge's calibration."""
    manifest = read_manifest(f"{run_dir.rstrip('/')}/judge")
    if manifest is not None:
        m = manifest["metrics"]
        print(f"\nwin rates against the reference (judge {m['judge']}, {m['form']}, "
              f"order {m['order']}; ties 0.5, standard error as AlpacaEval):")  # fmt: skip
        for name, f in m["models"].items():
            print(f"  {name:<8} {fmt(f['win_rate'])} ± {fmt(f['standard_error'])}  "
                  f"({f['n_wins']} won, {f['n_draws']} tied, {f['n_wins_base']} lost; "
                  f"flip rate {fmt(f['flip_rate'])}, P(first) {fmt(f['p_first'])})")  # fmt: skip
        for name, d in m["differences"].items():
            print(f"  {name}: {fmt(d['difference'])} points, 95% paired bootstrap "
                  f"[{fmt(d['low'])}, {fmt(d['high'])}]")  # fmt: skip
        fit = m["scaling"]
        if fit.get("alpha") is not None:
            print(f"  scaling: win rate = {fit['alpha']:.2f} ln N + {fit['c']:.1f} over N = "
                  f"{fit['sizes']}; alpha 95% [{fit['low']:.2f}, {fit['high']:.2f}]")  # fmt: skip
    manifest = read_manifest(f"{run_dir.rstrip('/')}/judge_calibration")
    if manifest is not None:
        o = manifest["metrics"]["overall"]
        print(f"\njudge calibration on GPT-4's judgments: agreement {fmt(o.get('agreement'))} "
              f"over {o.get('pairs')} pairs (always the model's answer: "
              f"{fmt(o.get('always_model_agreement'))}), flip rate {fmt(o.get('flip_rate'))}, "
              f"P(first) {fmt(o.get('p_first'))}")  # fmt: skip
