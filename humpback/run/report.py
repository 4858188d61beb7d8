"""`humpback report RUN_DIR`: one self-contained HTML page of a run (no network, images
inline): the run's view through the report template, with its figures: loss curves, score
histograms, win rates and the scaling fit."""

import base64
import io
import math

import fsspec
from matplotlib.figure import Figure

from humpback.run.run_view import RunView, render
from humpback.storage.folders import write_text

STYLE = """body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
h1{font-size:1.6em}h2{border-bottom:2px solid #3b6ea5;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ccc;padding:.25em .6em;
text-align:right}th{background:#eef3f9}td:first-child,th:first-child{text-align:left}
.bad{color:#b00020;font-weight:bold}.ok{color:#137333}.note{color:#555;max-width:60em}
.ex{border-left:4px solid #3b6ea5;margin:.6em 0;padding:.3em .8em;background:#f7f9fc}
.ex .q{font-weight:bold}.ex .a{white-space:pre-wrap;color:#333}img{max-width:100%}
.losses img{width:49%}"""
HISTOGRAMS = [("expected_score", "expected rubric score"), ("ifd", "IFD (scorer)"),
              ("pmi", "PMI (M_yx), nats/token")]  # fmt: skip


def png(fig: Figure) -> str:
    """A figure as base64 PNG, for a data URL."""
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=100)
    return base64.b64encode(buffer.getvalue()).decode()


def loss_curves(view: RunView) -> list[tuple[str, str]]:
    """Each training stage's loss plot, as its stage wrote it."""
    found = []
    for stage, m in view.manifests.items():
        if m and "model" in m["outputs"]:
            try:
                with fsspec.open(f"{view.run_dir}/{stage}/loss.png", "rb") as f:
                    found.append((stage, base64.b64encode(f.read()).decode()))
            except FileNotFoundError:
                continue
    return found


def histograms(view: RunView) -> str | None:
    rows = view.scored
    present = [(f, t) for f, t in HISTOGRAMS
               if any(r.get(f) is not None for v in rows.values() for r in v)]  # fmt: skip
    if not present:
        return None
    fig = Figure(figsize=(4 * len(present), 3))
    for ax, (field, title) in zip(fig.subplots(1, len(present), squeeze=False)[0], present,
                                  strict=True):  # fmt: skip
        for stage, scored in rows.items():
            values = [r[field] for r in scored if r.get(field) is not None]
            if values:
                ax.hist(values, bins=20, alpha=0.5, label=stage)
        ax.set(title=title, ylabel="candidates")
        ax.legend()
    return png(fig)


def win_rates(view: RunView) -> str | None:
    models = (view.metrics("judge") or {}).get("models")
    if not models:
        return None
    names = list(models)
    fig = Figure(figsize=(1.2 * len(names) + 2, 3.2))
    ax = fig.subplots()
    ax.bar(names, [models[n]["win_rate"] or 0 for n in names], capsize=4, color="#3b6ea5",
           yerr=[models[n]["standard_error"] or 0 for n in names])  # fmt: skip
    ax.axhline(50, color="gray", linestyle=":")
    ax.set(ylabel="win rate % (± SE)", ylim=(0, 100), title="win rate against the reference")
    return png(fig)


def scaling(view: RunView) -> str | None:
    fit = (view.metrics("judge") or {}).get("scaling") or {}
    if fit.get("alpha") is None:
        return None
    fig = Figure(figsize=(5, 3.2))
    ax = fig.subplots()
    ax.plot(fit["sizes"], fit["win_rates"], "o", label="win rate")
    xs = [min(fit["sizes"]), max(fit["sizes"])]
    ax.plot(xs, [fit["alpha"] * math.log(n) + fit["c"] for n in xs], "-",
            label=f"{fit['alpha']:.2f} ln N + {fit['c']:.1f}")  # fmt: skip
    ax.set_xscale("log")
    ax.set(xlabel="curated examples N", ylabel="win rate %", title="data scaling")
    ax.legend()
    return png(fig)


def report_html(run_dir: str, stages: list[str]) -> str:
    view = RunView(run_dir, stages)
    figures = {"losses": loss_curves(view), "histograms": histograms(view),
               "win_rates": win_rates(view), "scaling": scaling(view)}  # fmt: skip
    return render("report.html.j2", view=view, figures=figures, style=STYLE)


def write_report(run_dir: str, stages: list[str], path: str | None = None) -> str:
    """Write the report (default `RUN_DIR/report.html`) and return where."""
    path = path or f"{run_dir.rstrip('/')}/report.html"
    write_text(path, report_html(run_dir, stages))
    return path
