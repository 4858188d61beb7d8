"""One view of a run, read from its manifests and shards: the tables, notes and examples that
the terminal summary and the HTML report both render (from templates), so they cannot differ."""

import json
import random
from dataclasses import dataclass, field
from functools import cached_property

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from humpback.run.manifest import read_manifest
from humpback.schemas.records import Scored, SFTExample
from humpback.storage.shards import load_rows, shard_pattern


def fmt(value, digits: int = 3) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class Table:
    """A titled table of strings, a header first; `note` says what it shows."""

    title: str
    header: tuple[str, ...]
    rows: list[tuple[str, ...]]
    note: str = ""

    def lines(self, indent: str = "") -> list[str]:
        """The table in left-aligned columns."""
        every = [self.header, *self.rows]
        widths = [max(len(r[i]) for r in every) for i in range(len(self.header))]
        return [indent + "  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip()
                for r in every]  # fmt: skip


@dataclass(frozen=True)
class Pair:
    """A curated or scored pair as shown: instruction, answer, what it was kept on, where from."""

    instruction: str
    answer: str
    figures: str
    url: str = ""


@dataclass(frozen=True)
class PairGroup:
    title: str
    total: int
    pairs: list[Pair] = field(default_factory=list)


def curation_figures(row: dict) -> str:
    """What a pair was kept on: its rubric score and its likelihoods, where recorded."""
    figures = [f"score {row['score']}"] if row.get("score") is not None else []
    figures += [f"{name} {row[name]:.2f}" for name in ("pmi", "ifd") if row.get(name) is not None]
    return ", ".join(figures) or "kept"


def _cut(text: str, chars: int) -> str:
    text = " ".join(text.split())
    return text[:chars] + (" ..." if len(text) > chars else "")


class RunView:
    """What a run shows, stage by stage; each part is None (or empty) until its stage is done."""

    def __init__(self, run_dir: str, stages: list[str]):
        self.run_dir = run_dir.rstrip("/")
        self.stages = stages
        self.manifests = {s: read_manifest(f"{self.run_dir}/{s}") for s in stages}

    def done(self, prefix: str | tuple[str, ...]) -> list[str]:
        return [s for s in self.stages if s.startswith(prefix) and self.manifests[s]]

    def metrics(self, stage: str) -> dict | None:
        manifest = self.manifests.get(stage)
        return manifest and manifest["metrics"]

    @cached_property
    def scored(self) -> dict[str, list[dict]]:
        """The scored candidates of every finished curate stage, read once."""
        return {s: load_rows(shard_pattern(f"{self.run_dir}/{s}", Scored.shard))
                for s in self.done("curate_")}  # fmt: skip

    @cached_property
    def kept(self) -> dict[str, list[dict]]:
        """The SFT rows of every finished curate and rewrite stage, read once."""
        return {s: load_rows(shard_pattern(f"{self.run_dir}/{s}", SFTExample.shard))
                for s in self.done(("curate_", "rewrite_"))}  # fmt: skip

    @cached_property
    def same_models(self) -> str:
        """Which consecutive iterations trained on the same pairs (rewrite_t's where the rewrite
        ran, else curate_t's, as train_t reads them): one model twice, so a difference between
        them is 0 by construction, not a measured tie."""
        trained = {}  # iteration: (stage, its pairs); a rewrite stage comes after its curate
        for stage, rows in self.kept.items():
            trained[int(stage.split("_")[1])] = (stage, {json.dumps(r["messages"]) for r in rows})
        same = [f"M{t} is M{t - 1} ({stage} kept {trained[t - 1][0]}'s {len(pairs)} pairs)"
                for t, (stage, pairs) in sorted(trained.items())
                if t - 1 in trained and pairs == trained[t - 1][1]]  # fmt: skip
        return "; ".join(same) + ": the same training data, one model" if same else ""

    def stage_table(self) -> Table:
        rows = []
        for name, m in self.manifests.items():
            if m is None:
                rows.append((name, "pending", *[""] * 8))
                continue
            c = m["counts"]
            filtered = sum(c["filtered"].values())
            ok = c["in"] == c["out"] + filtered + c["duplicates"] + c["dead_lettered"]
            reasons = ", ".join(f"{k} {v}" for k, v in c["filtered"].items())
            rows.append(
                (
                    name,
                    "done",
                    *map(str, (c["in"], c["out"], filtered, c["duplicates"], c["dead_lettered"])),
                    "yes" if ok else "NO",
                    str(m["wall_s"]),
                    reasons,
                )
            )
        header = ("stage", "state", "in", "out", "filtered", "dup", "dead", "reconciles",
                  "wall s", "filtered by reason")  # fmt: skip
        return Table("Stages", header, rows, "in = out + filtered + duplicates + dead-lettered")

    def outputs(self) -> list[str]:
        """Where the models and curated sets are."""
        return [f"{name} {kind}: {where if isinstance(where, str) else ', '.join(where)}"
                for name, m in self.manifests.items()
                for kind, where in (m or {}).get("outputs", {}).items()
                if kind in {"model", "curated"}]  # fmt: skip

    def measures_note(self) -> str | None:
        m = self.metrics("measure")
        if m is None:
            return None
        form = m["instruction_form"]
        note = (
            f"On {m['heldout_pairs']} held-out seed pairs ({m['demonstrations']} "
            f"demonstrations in the backward prompt; probe pairs {m['probe_pairs']}). "
        )
        augment = self.metrics("augment") or {}
        if "borrow_rate" in augment:
            note += (
                "Augment instructions (every draw) that borrowed a demonstration's topic or a "
                f"phrase of M_yx's training instructions: {fmt(augment['borrow_rate'])} "
                f"({augment.get('borrowed_draws', {})} of {augment.get('draws')}), of which kept "
                f"as candidates' draws: {augment.get('borrowed_kept', 0)} (the rest dropped). "
            )
        for key, check, name, kind in (
            ("seed_borrow", "training-phrase check", "borrowed", "pairs that borrowed a topic"),
            ("answer_screen", "not-an-answer screen", "not_an_answer",
             "segments that answer nothing"),
            ("how_to_check", "how-to check", "description",
             "descriptions asked how to do something"),
        ):  # fmt: skip
            if drops := m.get(key):
                note += (
                    f"The {check} drops {drops[f'{name}_caught']} of the {drops[name]} judged "
                    f"{kind} and {drops['usable_lost']} of the {drops['usable']} usable ones "
                    f"(all drops by label: {drops['dropped']}). "
                )
        return note + (f"Augment instructions well formed: {fmt(form['well_formed'])} of "
                       f"{form['instructions']} ({form['reasons']}).")  # fmt: skip

    def measure_tables(self) -> list[Table]:
        """Backward fidelity, then each curator on the probe pairs and on the judged pairs."""
        m = self.metrics("measure")
        if m is None:
            return []
        fidelity = Table(
            "Backward fidelity",
            ("backward model", "logprob/token", "ROUGE-L", "cosine", "well-formed",
             "ROUGE-L as instruction", "cosine as instruction"),
            [(k, fmt(f["logprob_per_token"]), fmt(f["rouge_l"]), fmt(f.get("cosine")),
              fmt(f["well_formed"]), fmt(f.get("rouge_l_as_instruction")),
              fmt(f.get("cosine_as_instruction"))) for k, f in m["backward_fidelity"].items()],
            "the written instruction against the true one; raw ROUGE-L and cosine credit text that"
            " is no instruction for the topic words it shares (an untrained model comments on the"
            " answer: 'The response should explain ...'), the 'as instruction' columns score it 0",
        )  # fmt: skip
        tables = [fidelity]
        for key, title in (("curators", "Curators on probe pairs (AUC true vs each kind)"),
                           ("curators_judged", f"Curators on judged pairs {m.get('judged_pairs')}"
                                               " (AUC usable vs unusable)"),
                           ("method_judged", "The method on judged pairs: augment's checks, then "
                                             "curate's keep rule")):  # fmt: skip
            if not m.get(key):
                continue
            kinds = [k for k in next(iter(m[key].values())) if k.startswith("auc_")]
            header = ("curator", *(k.replace("_", " ") for k in kinds), "precision", "recall",
                      "kept", "pairs")  # fmt: skip
            rows = [
                (
                    name,
                    *(fmt(c[k]) for k in kinds),
                    fmt(c["precision"]),
                    fmt(c["recall"]),
                    fmt(c.get("kept")),
                    fmt(c["pairs"]),
                )
                for name, c in m[key].items()
            ]
            tables.append(Table(title, header, rows))  # fmt: skip
        return tables

    def curated_sample(self, n: int = 5, seed: int = 0) -> PairGroup | None:
        """`n` random curated pairs of the last curate stage that kept any."""
        for stage, rows in reversed(self.kept.items()):
            if rows:
                picked = random.Random(seed).sample(rows, min(n, len(rows)))
                pairs = [
                    Pair(
                        _cut(r["messages"][-2]["content"], 300),
                        _cut(r["messages"][-1]["content"], 300),
                        curation_figures(r),
                        r["url"] or "",
                    )
                    for r in picked
                ]
                return PairGroup(f"{len(pairs)} of the {len(rows)} pairs {stage} kept",
                                 len(rows), pairs)  # fmt: skip
        return None

    def curation_examples(self, per_group: int = 2) -> tuple[str, list[PairGroup]] | None:
        """Scored candidates of the last curate stage, a few per score (or IFD third)."""
        stages = self.done("curate_")
        if not stages:
            return None
        scored = self.scored[stages[-1]]
        if any(r["score"] is not None for r in scored):
            groups = {f"score {s}": [r for r in scored if r["score"] == s] for s in range(5, 0, -1)}
        else:  # likelihood mode: by IFD, the scorer's figure
            ranked = sorted((r for r in scored if r["ifd"] is not None), key=lambda r: r["ifd"])
            third = max(1, len(ranked) // 3)
            groups = {
                "lowest IFD (instruction helps most)": ranked[:third],
                "middle IFD": ranked[third:-third],
                "highest IFD": ranked[-third:],
            }
        rng = random.Random(0)
        shown = [PairGroup(title, len(rows), [
                    Pair(r["instruction"], _cut(r["text"], 500), curation_figures(r), r["url"])
                    for r in rng.sample(rows, min(per_group, len(rows)))])
                 for title, rows in groups.items() if rows]  # fmt: skip
        return stages[-1], shown

    def win_rate_tables(self) -> list[Table]:
        m = self.metrics("judge")
        if m is None:
            return []
        note = (f"Judge {m['judge']} ({m['form']}, order: {m['order']}); ties count 0.5; "
                "standard error of the mean, as AlpacaEval.")  # fmt: skip
        if m["form"] == "logprobs":
            note += (" The win rate is the mean of the judge's probability that the model's "
                     "answer is better (a judge near 0.5 on every pair reads near 50%); wins / "
                     "draws / losses count the side each pair leans to.")  # fmt: skip
        rates = Table(
            "Win rates against the reference",
            ("model", "win rate %", "SE", "wins / draws / losses", "pairs", "unjudged",
             "flip rate", "P(first)"),
            [(n, fmt(f["win_rate"], 1), fmt(f["standard_error"], 1),
              f"{f['n_wins']} / {f['n_draws']} / {f['n_wins_base']}", fmt(f["n_total"]),
              fmt(f["unjudged"]), fmt(f["flip_rate"]), fmt(f["p_first"]))
             for n, f in m["models"].items()], note,
        )  # fmt: skip
        differences = Table(
            "Differences between iterations",
            ("difference", "win rate points", "95% paired bootstrap", "prompts"),
            [(k, fmt(d["difference"], 1), f"[{fmt(d['low'], 1)}, {fmt(d['high'], 1)}]",
              fmt(d["prompts"])) for k, d in m["differences"].items()],
            self.same_models,
        )  # fmt: skip
        return [rates, differences] if differences.rows else [rates]

    def reference_tables(self) -> list[Table]:
        """Each model's likelihood of the reference answers, and the paired differences."""
        m = self.metrics("reference_likelihood")
        if m is None:
            return []
        note = (
            f"mean log-probability per token of {m['prompts']} reference answers given their "
            "prompts (higher: the model finds them likelier); prompts none of evaluate's"
        )
        means = Table("Reference-answer likelihood", ("model", "logprob/token"),
                      [(n, fmt(v)) for n, v in m["logprob_per_token"].items()], note)  # fmt: skip
        differences = Table(
            "Reference-answer likelihood: differences",
            ("difference", "nats/token", "95% paired bootstrap", "prompts"),
            [(k, fmt(d["difference"]), f"[{fmt(d['low'])}, {fmt(d['high'])}]",
              fmt(d["prompts"])) for k, d in m["differences"].items()],
            self.same_models,
        )  # fmt: skip
        return [means, differences] if differences.rows else [means]

    def scaling_note(self) -> str | None:
        fit = (self.metrics("judge") or {}).get("scaling") or {}
        if fit.get("alpha") is None:
            return None
        return (f"win rate = alpha · ln N + C (natural log) over N = {fit['sizes']}: alpha "
                f"{fmt(fit['alpha'], 2)}, C {fmt(fit['c'], 1)}, 95% bootstrap "
                f"[{fmt(fit['low'], 2)}, {fmt(fit['high'], 2)}] over {fit['prompts']} prompts. "
                "The paper's alpha 6.95 was measured on its own 250 prompts with a 7B model and "
                "thousands of examples: compare in kind only.")  # fmt: skip

    def calibration_table(self) -> Table | None:
        m = self.metrics("judge_calibration")
        if m is None:
            return None
        o = m["overall"]
        note = (
            f"Judge {m['judge']} ({m['form']}, order: {m['order']}) on GPT-4's AlpacaEval 1 "
            f"judgments: agreement {fmt(o.get('agreement'))} over {o.get('pairs')} pairs "
            f"(always preferring the model's answer: {fmt(o.get('always_model_agreement'))});"
            f" flip rate {fmt(o.get('flip_rate'))}; P(first) {fmt(o.get('p_first'))}."
        )
        return Table(
            "Judge calibration",
            ("model", "pairs", "agreement", "always-model agreement", "flip rate", "P(first)",
             "judge's win rate %", "GPT-4 on these pairs %", "GPT-4 on all / published %"),
            [(n, fmt(f.get("pairs", f["n_total"])), fmt(f.get("agreement")),
              fmt(f.get("always_model_agreement")), fmt(f["flip_rate"]), fmt(f["p_first"]),
              fmt(f["win_rate"], 1), fmt(f.get("annotated_win_rate"), 1),
              fmt(f.get("annotated_win_rate_all") or f.get("published_win_rate"), 1))
             for n, f in m["models"].items()], note,
        )  # fmt: skip


_TEMPLATES = Environment(
    loader=PackageLoader("humpback.run"),
    autoescape=select_autoescape(["html.j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
    undefined=StrictUndefined,
)


def render(template: str, **context) -> str:
    """A template of `humpback/run/templates/` rendered with `context`."""
    return _TEMPLATES.get_template(template).render(**context)
