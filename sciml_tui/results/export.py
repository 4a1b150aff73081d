"""Exports of `sweep_results` output: CSV, JSON and a log-log plot (PNG or SVG).

Every file is written atomically (temp file + rename): an interrupted export never leaves a
half-written file over a good one.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

from sciml_tui.atomic import atomic_path, write_text
from sciml_tui.errors import UserError
from sciml_tui.results.caveats import CSV_CAVEAT_COLUMNS, csv_caveat_cells
from sciml_tui.results.text import curves_of, fmt_target, models

CSV_COLUMNS = ("sweep", "model", "init", "source", "n", "error", "error_std", "seeds", "lr",
               "val_error", "failed", "diverged", "errors", *CSV_CAVEAT_COLUMNS)
PLOT_SUFFIXES = (".png", ".svg")


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(v)  # shortest string that reads back to the same float
    return str(v)


def to_csv(res: dict) -> str:
    """One row per point (zero-shot: one row with an empty `n`); `errors` per seed, ';'-joined;
    then the caveat columns (see `caveats.csv_caveat_cells`)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for c in res["curves"]:
        for p in c["points"]:
            w.writerow([_cell(res["sweep"]), _cell(c["model"]), c["init"], _cell(c["source"]),
                        _cell(p["n"]), _cell(p["error"]), _cell(p["error_std"]),
                        _cell(p["seeds"]), _cell(p["lr"]), _cell(p.get("val_error")),
                        _cell(p.get("failed", 0)), _cell(p.get("diverged", 0)),
                        ";".join(repr(float(e)) for e in p.get("errors", [])),
                        *csv_caveat_cells(res, c, p)])
    return buf.getvalue()


def to_json(res: dict) -> str:
    return json.dumps(res, indent=2) + "\n"


def export_csv(res: dict, path: str | Path) -> Path:
    write_text(path, to_csv(res))
    return Path(path)


def export_json(res: dict, path: str | Path) -> Path:
    write_text(path, to_json(res))
    return Path(path)


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise UserError("plotting needs matplotlib: pip install 'sciml-tui[plot]'") from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _draw_model(ax, res: dict, model: str) -> None:
    cs = curves_of(res, model)
    ns = [p["n"] for c in cs if c["init"] != "zeroshot" for p in c["points"]]
    style = {"scratch": ("o", "-"), "finetune": ("s", "-")}
    for c in cs:
        pts = c["points"]
        if not pts:
            continue
        if c["init"] == "zeroshot":
            if ns:
                ax.axhline(pts[0]["error"], ls="--", color="0.35", lw=1.2, label=c["label"])
            continue
        x = [p["n"] for p in pts]
        y = [p["error"] for p in pts]
        # Asymmetric bars so a spread larger than the mean does not cross zero on a log axis.
        lo = [min(p["error_std"], p["error"] * 0.999) for p in pts]
        hi = [p["error_std"] for p in pts]
        marker, ls = style.get(c["init"], ("^", "-"))
        ax.errorbar(x, y, yerr=[lo, hi], marker=marker, ls=ls, capsize=3, label=c["label"])
    ax.axhline(res["target"], ls=":", color="tab:red", lw=1, label=f"target {fmt_target(res['target'])}")
    title = f"{res['sweep']}: {model}"
    effs = [e for e in res.get("efficiency_by_model", []) if e["model"] == model and e["factor"]]
    for e in effs:
        for n in (e["n_scratch"], e["n_finetune"]):
            ax.axvline(n, ls=":", color="0.6", lw=0.8)
    if len(effs) == 1:
        bound = "at least " if effs[0]["factor_is_lower_bound"] else (
            "at most " if effs[0]["factor_is_upper_bound"] else "")
        title += f"\n{bound}{effs[0]['factor']:.3g}x fewer examples at {fmt_target(res['target'])}"
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_formatter(_plain_numbers())
    ax.set_yscale("log")
    _plain_log_labels(ax.yaxis)
    ax.set_xlabel("downstream examples N")
    ax.set_ylabel("test relative L2")
    ax.set_title(title, fontsize="medium")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="small")


def _plain_numbers():
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda v, _pos: f"{v:g}")


def _plain_log_labels(axis) -> None:
    """Label a log axis '0.01', '0.9' instead of '10^-2', '9x10^-1'; minor ticks get labels
    only when the axis spans less than a decade (else they would crowd it)."""
    from matplotlib.ticker import FuncFormatter

    def minor(v: float, _pos) -> str:
        lo, hi = sorted(axis.get_view_interval())
        return f"{v:g}" if lo > 0 and hi / lo < 10 else ""

    axis.set_major_formatter(_plain_numbers())
    axis.set_minor_formatter(FuncFormatter(minor))


def export_plot(res: dict, path: str | Path) -> Path:
    """Log-log error vs N, one panel per model: scratch and fine-tuned with seed spread as
    error bars, zero-shot as a dashed level, the target as a dotted line. Suffix picks the
    format (.png or .svg)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in PLOT_SUFFIXES:
        raise UserError(f"plot file {path} must end in .png or .svg")
    ms = models(res)
    if not any(p for c in res["curves"] for p in c["points"]):
        raise UserError(f"sweep {res['sweep']!r} has no finished points to plot yet")
    plt = _pyplot()
    cols = min(len(ms), 3)
    rows = math.ceil(len(ms) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.5 * cols, 4.2 * rows), squeeze=False)
    try:
        for ax, m in zip(axes.flat, ms):
            _draw_model(ax, res, m)
        for ax in list(axes.flat)[len(ms):]:
            ax.set_visible(False)
        fig.tight_layout()
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=suffix[1:], dpi=120, metadata=_metadata(suffix))
    finally:
        plt.close(fig)
    return path


def _metadata(suffix: str) -> dict:
    # Fixed metadata keeps SVG output byte-stable between runs (no creation date).
    return {"Date": None} if suffix == ".svg" else {}
