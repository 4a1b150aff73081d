"""Figures that compare sweeps (the paper's figure types beyond error vs N): the data-efficiency
factor against model size and against the physics shift of the downstream dataset, and
mixture against single-system pre-training on each downstream dataset. Inputs are the rows of
`report_data`; builders return a Figure without saving it."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any, Callable, Sequence

from sciml_tui.results.figures import (FINETUNE_STYLES, PANEL_SIZE, SCRATCH_STYLE, draw_error_panel, figure_style,
                                       label_log_axis, legend_below, log_ticks, palette)
from sciml_tui.results.text import fmt_count, fmt_target

BOUND_MARKERS = {None: "o", "lower": "^", "upper": "v"}
BOUND_TEXT = {None: "", "lower": "≥ ", "upper": "≤ "}
CI_CAPTION = "bars: 95% CI, seed bootstrap (an end left open is unbounded)"


def _series(rows: Sequence[dict], key: Callable[[dict], str]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        if r["factor"] is not None:
            out[key(r)].append(r)
    return out


def _draw_factor_series(ax: Any, series: dict[str, list[dict]], x_of: Callable[[dict], float]) -> list[Any]:
    """One line per series: factor with its interval, the marker showing a bound, the value
    written beside each point; returns the legend handles."""
    colours, handles = palette(), []
    for i, (label, rows) in enumerate(series.items()):
        colour = colours[i % len(colours)]
        ls = SCRATCH_STYLE[1] if i == 0 else FINETUNE_STYLES[(i - 1) % len(FINETUNE_STYLES)][1]
        xs, ys = [x_of(r) for r in rows], [r["factor"] for r in rows]
        handles += ax.plot(xs, ys, color=colour, ls=ls, lw=1.4, label=label)
        for x, r in zip(xs, rows):
            ax.plot([x], [r["factor"]], marker=BOUND_MARKERS[r["bound"]], color=colour, ms=7, ls="none")
            lo, hi = r["ci"] or (None, None)
            if lo is not None or hi is not None:
                ax.vlines(x, lo if lo is not None else r["factor"], hi if hi is not None else r["factor"],
                          color=colour, lw=1.2)
            ax.annotate(f"{BOUND_TEXT[r['bound']]}{r['factor']:.3g}x", (x, r["factor"]), xytext=(6, 4),
                        textcoords="offset points", fontsize="small", color=colour)
    return handles


def _bound_handles(ax: Any, rows: Sequence[dict]) -> list[Any]:
    """Legend entries for the markers used: exact factor, lower bound, upper bound."""
    text = {None: "factor at the target", "lower": "lower bound (fine-tuned already below the target at its "
            "smallest N)", "upper": "upper bound (scratch already below the target at its smallest N)"}
    used = [b for b in (None, "lower", "upper") if any(r["bound"] == b for r in rows if r["factor"] is not None)]
    return [ax.plot([], [], marker=BOUND_MARKERS[b], color="0.3", ls="none", label=text[b])[0] for b in used]


def _finish_factor_axes(ax: Any, rows: Sequence[dict], handles: list[Any], xticks: list[float],
                        xlabels: list[str], xlabel: str, title: str) -> None:
    handles.append(ax.axhline(1.0, color="black", ls=(0, (1, 2)), lw=1.0, label="factor 1 (no gain from pre-training)"))
    handles += _bound_handles(ax, rows)
    ax.set_yscale("log")
    lo, hi = ax.get_ylim()
    lo, hi = min(lo, 0.8), max(hi, 1.25)
    label_log_axis(ax.yaxis, lo, hi, log_ticks(lo, hi))
    ax.set_xticks(xticks, xlabels)
    ax.set_xlim(min(xticks) - 0.5, max(xticks) + 0.5)
    ax.set_xlabel(xlabel)
    targets = sorted({fmt_target(r["target"]) for r in rows})
    ax.set_ylabel(f"data-efficiency factor N_scratch / N_fine-tuned at error {', '.join(targets)}")
    ax.set_title(title)
    ax.grid(True, which="major", alpha=0.35)
    legend_below(ax, handles, CI_CAPTION)


def _model_tick(model: str, rows: Sequence[dict]) -> str:
    params = next((r["params"] for r in rows if r["model"] == model and r["params"]), None)
    return f"{model}\n({fmt_count(params)} params)" if params else model


def factor_vs_model_figure(rows: Sequence[dict]) -> Any:
    """Factor against model size (models in size order), one line per downstream dataset and
    pre-training."""
    from sciml_tui.results.curves import model_sort_key

    ms = sorted({r["model"] for r in rows}, key=model_sort_key)
    with figure_style() as plt:
        fig, ax = plt.subplots(figsize=PANEL_SIZE, layout="constrained")
        series = _series(rows, lambda r: f"{r['dataset']['name']} from {r['pretrain']['name']}")
        handles = _draw_factor_series(ax, series, lambda r: ms.index(r["model"]))
        _finish_factor_axes(ax, rows, handles, list(range(len(ms))), [_model_tick(m, rows) for m in ms],
                            "model (in order of size)", "Data efficiency vs model size")
    return fig


def factor_vs_shift_figure(rows: Sequence[dict]) -> Any:
    """Factor against the downstream dataset's parameter range (rows come in range order), one
    line per pre-training and model; the x axis is labelled with the ranges."""
    datasets = list(dict.fromkeys(r["dataset"]["id"] or r["sweep"] for r in rows))
    ticks = {r["dataset"]["id"] or r["sweep"]: f"{r['dataset']['range_label']}\n{r['dataset']['name']}" for r in rows}
    pre = sorted({f"{r['pretrain']['name']} ({r['pretrain']['data']})" for r in rows})
    with figure_style() as plt:
        fig, ax = plt.subplots(figsize=(max(PANEL_SIZE[0], 1.6 * len(datasets)), PANEL_SIZE[1]), layout="constrained")
        series = _series(rows, lambda r: f"{r['model']} from {r['pretrain']['name']} ({r['pretrain']['data']})")
        handles = _draw_factor_series(ax, series, lambda r: datasets.index(r["dataset"]["id"] or r["sweep"]))
        _finish_factor_axes(ax, rows, handles, list(range(len(datasets))), [ticks[d] for d in datasets],
                            "downstream parameter range (further from the pre-training to the right)",
                            "Data efficiency vs physics shift\npre-trained: " + "; ".join(pre))
    return fig


def mixture_figure(groups: Sequence[dict]) -> Any:
    """One error-vs-N panel per downstream dataset: scratch and the curves fine-tuned from each
    pre-training (mixture or single system), with seed bands and fits."""
    with figure_style() as plt:
        cols = min(len(groups), 3)
        rows = math.ceil(len(groups) / cols)
        fig, axes = plt.subplots(rows, cols, figsize=(PANEL_SIZE[0] * cols, (PANEL_SIZE[1] + 0.6) * rows),
                                 squeeze=False, layout="constrained")
        for ax, g in zip(axes.flat, groups):
            res = {"sweep": g["dataset"]["name"], "target": g["target"], "curves": g["curves"],
                   "efficiency_by_model": g["efficiency"]}
            title = f"downstream {g['dataset']['name']} {g['dataset']['range_label']}: {g['model']}"
            draw_error_panel(ax, res, g["model"], band=True, title=title)
        for ax in list(axes.flat)[len(groups):]:
            ax.set_visible(False)
    return fig
