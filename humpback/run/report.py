"""`humpback report RUN_DIR`: one self-contained HTML page of a run (no network, images
inline): stages and counts, loss curves, score histograms, the method's measures, curation
examples, win rates, judge calibration and the scaling fit."""

import base64
import html
import io
import random
from collections.abc import Iterable
from functools import cached_property

from matplotlib.figure import Figure

from humpback.run.manifest import read_manifest
from humpback.run.summary import curator_tables
from humpback.schemas.records import Scored
from humpback.storage.shards import load_rows, shard_pattern

STYLE = """body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
h1{font-size:1.6em}h2{border-bottom:2px solid #3b6ea5;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ccc;padding:.25em .6em;
text-align:right}th{background:#eef3f9}td:first-child,th:first-child{text-align:left}
.bad{color:#b00020;font-weight:bold}.ok{color:#137333}.note{color:#555;max-width:60em}
.ex{border-left:4px solid #3b6ea5;margin:.6em 0;padding:.3em .8em;background:#f7f9fc}
.ex .q{font-weight:bold}.ex .a{white-space:pre-wrap;color:#333}img{max-width:100%}
.losses img{width:49%}"""


def esc(value) -> str:
    return html.escape(str(value))


def fmt(value, digits: int = 3) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def table(header: Iterable[str], rows: Iterable[Iterable]) -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(f"<td>{c if str(c).startswith('<') else esc(c)}</td>" for c in row)
        + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def image(png: bytes, alt: str) -> str:
    return f'<img alt="{esc(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def figure_png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


class Report:
    def __init__(self, run_dir: str, stages: list[str]):
        self.run_dir = run_dir.rstrip("/")
        self.stages = stages
        self.manifests = {s: read_manifest(f"{self.run_dir}/{s}") for s in stages}

    @cached_property
    def scored(self) -> dict[str, list[dict]]:
        """The scored candidates of every finished curate stage, read once."""
        return {
            s: load_rows(shard_pattern(f"{self.run_dir}/{s}", Scored.shard))
            for s in self.done("curate_")
        }

    def done(self, prefix: str) -> list[str]:
        return [s for s in self.stages if s.startswith(prefix) and self.manifests[s]]

    def html(self) -> str:
        sections = [
            self.stage_table(),
            self.loss_curves(),
            self.histograms(),
            self.measures(),
            self.examples(),
            self.win_rates(),
            self.calibration(),
            self.scaling(),
        ]
        body = "".join(s for s in sections if s)
        return (
            f"<!doctype html><html><head><meta charset='utf-8'><title>humpback run "
            f"{esc(self.run_dir)}</title><style>{STYLE}</style></head><body>"
            f"<h1>humpback run <code>{esc(self.run_dir)}</code></h1>{body}</body></html>"
        )

    def stage_table(self) -> str:
        rows = []
        for name, m in self.manifests.items():
            if m is None:
                rows.append((name, "pending", "", "", "", "", "", "", ""))
                continue
            c = m["counts"]
            filtered = sum(c["filtered"].values())
            ok = c["in"] == c["out"] + filtered + c["duplicates"] + c["dead_lettered"]
            reasons = ", ".join(f"{k} {v}" for k, v in c["filtered"].items())
            rows.append(
                (
                    name,
                    "done",
                    c["in"],
                    c["out"],
                    f"{filtered} {reasons}".strip(),
                    c["duplicates"],
                    c["dead_lettered"],
                    '<span class="ok">yes</span>' if ok else '<span class="bad">NO</span>',
                    m["wall_s"],
                )
            )
        header = (
            "stage",
            "state",
            "in",
            "out",
            "filtered",
            "duplicates",
            "dead-lettered",
            "in = out + filtered + dup + dead",
            "wall s",
        )
        return "<h2>Stages</h2>" + table(header, rows)

    def loss_curves(self) -> str:
        images = []
        for stage in self.stages:
            m = self.manifests[stage]
            if m and "model" in m["outputs"]:
                png = _read_bytes(f"{self.run_dir}/{stage}/loss.png")
                if png:
                    images.append(image(png, f"loss curve of {stage}"))
        if not images:
            return ""
        return f"<h2>Training loss</h2><div class='losses'>{''.join(images)}</div>"

    def histograms(self) -> str:
        stages = self.done("curate_")
        if not stages:
            return ""
        fields = [
            ("expected_score", "expected rubric score"),
            ("ifd", "IFD (scorer)"),
            ("pmi", "PMI (M_yx), nats/token"),
        ]
        rows = self.scored
        present = [
            (f, t) for f, t in fields if any(r.get(f) is not None for v in rows.values() for r in v)
        ]
        if not present:
            return ""
        fig = Figure(figsize=(4 * len(present), 3))
        for ax, (field, title) in zip(
            fig.subplots(1, len(present), squeeze=False)[0], present, strict=True
        ):
            for stage, scored in rows.items():
                values = [r[field] for r in scored if r.get(field) is not None]
                if values:
                    ax.hist(values, bins=20, alpha=0.5, label=stage)
            ax.set(title=title, ylabel="candidates")
            ax.legend()
        return "<h2>Scores per iteration</h2>" + image(figure_png(fig), "score histograms")

    def measures(self) -> str:
        m = self.manifests.get("measure")
        if not m:
            return ""
        x = m["metrics"]
        form = x["instruction_form"]
        fidelity = table(
            ("backward model", "logprob/token", "ROUGE-L", "cosine", "well-formed"),
            [
                (
                    k,
                    fmt(f["logprob_per_token"]),
                    fmt(f["rouge_l"]),
                    fmt(f.get("cosine")),
                    fmt(f["well_formed"]),
                )
                for k, f in x["backward_fidelity"].items()
            ],
        )
        curators = "".join(
            f"<h3>{esc(title)}</h3>{table(header, rows)}"
            for title, (header, *rows) in curator_tables(x)
        )
        return (
            f"<h2>Method measures</h2><p class='note'>On {x['heldout_pairs']} held-out seed pairs; "
            f"probe pairs {esc(x['probe_pairs'])}. Augment instructions well formed: "
            f"{fmt(form['well_formed'])} of {form['instructions']} ({esc(form['reasons'])}).</p>"
            f"<h3>Backward fidelity</h3>{fidelity}{curators}"
        )

    def examples(self, per_group: int = 2) -> str:
        stages = self.done("curate_")
        if not stages:
            return ""
        stage = stages[-1]
        scored = self.scored[stage]
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
        parts = [f"<h2>Curation examples ({esc(stage)})</h2>"]
        for title, rows in groups.items():
            if not rows:
                continue
            parts.append(f"<h3>{esc(title)} ({len(rows)})</h3>")
            for r in rng.sample(rows, min(per_group, len(rows))):
                figures = ", ".join(
                    f"{k} {fmt(r[k], 2)}" for k in ("score", "pmi", "ifd") if r.get(k) is not None
                )
                text = r["text"][:500] + (" ..." if len(r["text"]) > 500 else "")
                parts.append(
                    f"<div class='ex'><div class='q'>{esc(r['instruction'])}</div>"
                    f"<div class='a'>{esc(text)}</div><div>{esc(figures)} &middot; "
                    f"<a href='{esc(r['url'])}'>{esc(r['url'])}</a></div></div>"
                )
        return "".join(parts)

    def win_rates(self) -> str:
        m = self.manifests.get("judge")
        if not m:
            return ""
        x = m["metrics"]
        models = x["models"]
        names = list(models)
        fig = Figure(figsize=(1.2 * len(names) + 2, 3.2))
        ax = fig.subplots()
        rates = [models[n]["win_rate"] or 0 for n in names]
        errors = [models[n]["standard_error"] or 0 for n in names]
        ax.bar(names, rates, yerr=errors, capsize=4, color="#3b6ea5")
        ax.axhline(50, color="gray", linestyle=":")
        ax.set(ylabel="win rate % (± SE)", ylim=(0, 100), title="win rate against the reference")
        rows = [
            (
                n,
                fmt(f["win_rate"], 1),
                fmt(f["standard_error"], 1),
                f"{f['n_wins']} / {f['n_draws']} / {f['n_wins_base']}",
                f["n_total"],
                f["unjudged"],
                fmt(f["flip_rate"]),
                fmt(f["p_first"]),
            )
            for n, f in models.items()
        ]
        diffs = table(
            ("difference", "win rate points", "95% paired bootstrap", "prompts"),
            [
                (
                    k,
                    fmt(d["difference"], 1),
                    f"[{fmt(d['low'], 1)}, {fmt(d['high'], 1)}]",
                    d["prompts"],
                )
                for k, d in x["differences"].items()
            ],
        )
        return (
            f"<h2>Win rates</h2><p class='note'>Judge {esc(x['judge'])} ({esc(x['form'])}, "
            f"order: {esc(x['order'])}); ties count 0.5; standard error of the mean, as "
            f"AlpacaEval.</p>{image(figure_png(fig), 'win rates')}"
            + table(
                (
                    "model",
                    "win rate %",
                    "SE",
                    "wins / draws / losses",
                    "pairs",
                    "unjudged",
                    "flip rate",
                    "P(first)",
                ),
                rows,
            )
            + diffs
        )

    def calibration(self) -> str:
        m = self.manifests.get("judge_calibration")
        if not m:
            return ""
        x = m["metrics"]
        rows = [
            (
                n,
                f.get("pairs", f["n_total"]),
                fmt(f.get("agreement")),
                fmt(f.get("always_model_agreement")),
                fmt(f["flip_rate"]),
                fmt(f["p_first"]),
                fmt(f["win_rate"], 1),
                fmt(f.get("annotated_win_rate"), 1),
                fmt(f.get("annotated_win_rate_all") or f.get("published_win_rate"), 1),
            )
            for n, f in x["models"].items()
        ]
        o = x["overall"]
        return (
            f"<h2>Judge calibration</h2><p class='note'>Judge {esc(x['judge'])} "
            f"({esc(x['form'])}, order: {esc(x['order'])}) on GPT-4's AlpacaEval 1 judgments: "
            f"agreement {fmt(o.get('agreement'))} over {o.get('pairs')} pairs (always "
            f"preferring the model's answer: {fmt(o.get('always_model_agreement'))}); flip rate "
            f"{fmt(o.get('flip_rate'))}; P(first) {fmt(o.get('p_first'))}.</p>"
            + table(
                (
                    "model",
                    "pairs",
                    "agreement",
                    "always-model agreement",
                    "flip rate",
                    "P(first)",
                    "judge's win rate %",
                    "GPT-4 on these pairs %",
                    "GPT-4 on all / published %",
                ),
                rows,
            )
        )

    def scaling(self) -> str:
        m = self.manifests.get("judge")
        fit = m and m["metrics"]["scaling"]
        if not fit or fit.get("alpha") is None:
            return ""
        import math

        fig = Figure(figsize=(5, 3.2))
        ax = fig.subplots()
        ax.plot(fit["sizes"], fit["win_rates"], "o", label="win rate")
        xs = [min(fit["sizes"]), max(fit["sizes"])]
        ax.plot(
            xs,
            [fit["alpha"] * math.log(n) + fit["c"] for n in xs],
            "-",
            label=f"{fit['alpha']:.2f} ln N + {fit['c']:.1f}",
        )
        ax.set_xscale("log")
        ax.set(xlabel="curated examples N", ylabel="win rate %", title="data scaling")
        ax.legend()
        return (
            f"<h2>Data scaling</h2>{image(figure_png(fig), 'scaling fit')}<p class='note'>"
            f"win rate = alpha &middot; ln N + C (natural log): alpha {fmt(fit['alpha'], 2)}, "
            f"95% bootstrap [{fmt(fit['low'], 2)}, {fmt(fit['high'], 2)}] over {fit['prompts']} "
            "prompts. The paper's alpha 6.95 was measured on its own 250 prompts with a 7B "
            "model and thousands of examples: compare in kind only.</p>"
        )


def _read_bytes(url: str) -> bytes | None:
    import fsspec

    try:
        with fsspec.open(url, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None


def write_report(run_dir: str, stages: list[str], path: str | None = None) -> str:
    """Write the report (default `RUN_DIR/report.html`) and return where."""
    from humpback.storage.folders import write_text

    path = path or f"{run_dir.rstrip('/')}/report.html"
    write_text(path, Report(run_dir, stages).html())
    return path
