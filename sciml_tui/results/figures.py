"""Matplotlib figures of sweep results that a scientist can read: labelled log axes, a legend
entry for every line, the seed spread explained, fitted power laws drawn, and markers and line
styles that tell the inits apart without colour (greyscale print, `NO_COLOR`).

Builders return a `Figure` without saving it (tests inspect legends and lines); `save_figure`
writes PNG (200 dpi) or SVG (real text) atomically. matplotlib is imported lazily.
"""

from __future__ import annotations

import contextlib
import math
import os
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

from sciml_tui.atomic import atomic_path
from sciml_tui.errors import UserError
from sciml_tui.results.text import curves_of, fmt_count, fmt_n, fmt_target, models

PLOT_SUFFIXES = (".png", ".svg")
PNG_DPI = 200
PANEL_SIZE = (6.4, 6.2)  # inches per panel; the legend sits under the axes
# Okabe-Ito: tells colours apart under the common colour-vision deficiencies.
COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
GREYS = ("#000000", "#555555", "#888888", "#333333", "#777777", "#aaaaaa")
FINETUNE_STYLES = (("s", "-."), ("D", (0, (5, 1.5))), ("v", (0, (3, 1, 1, 1, 1, 1))), ("P", (0, (1, 1))))
SCRATCH_STYLE = ("o", "-")
ZEROSHOT_LS = (0, (8, 2, 1, 2, 1, 2))
FIT_LS = (0, (4, 2))
TARGET_LS = (0, (1, 2))
CROSSING_LS = (0, (2, 3))
RC = {"svg.fonttype": "none", "svg.hashsalt": "sciml-tui", "font.size": 10,
      "legend.fontsize": "small", "axes.titlesize": "medium"}


def pyplot():
    try:
        import matplotlib
    except ImportError:
        raise UserError("plotting needs matplotlib: pip install 'sciml-tui[plot]'") from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


@contextlib.contextmanager
def figure_style() -> Iterator[Any]:
    """pyplot under the house rc settings (SVG text stays text)."""
    plt = pyplot()
    with plt.rc_context(RC):
        yield plt


def palette() -> tuple[str, ...]:
    """Colours, or greys only when NO_COLOR is set (https://no-color.org)."""
    return GREYS if os.environ.get("NO_COLOR") else COLOURS


def log_ticks(lo: float, hi: float, min_ticks: int = 4) -> list[float]:
    """Tick values for a log axis from lo to hi: decades, then 1-2-5, then 1-2-3-5-7, then every
    digit, the first that gives `min_ticks`; a span too short for that gets evenly spaced round
    numbers. Every returned tick is labelled, so even a sub-decade axis reads."""
    if not (lo > 0 and hi > lo):
        return [lo] if lo > 0 else []
    e0, e1 = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    ticks: list[float] = []
    for subs in ((1,), (1, 2, 5), (1, 2, 3, 5, 7), range(1, 10)):
        ticks = [float(f"{k}e{e}") for e in range(e0, e1 + 1) for k in subs if lo <= k * 10.0 ** e <= hi]
        if len(ticks) >= min_ticks:
            return ticks
    step = _round_step((hi - lo) / min_ticks)
    first = math.ceil(lo / step) * step
    even = [float(f"{first + i * step:.6g}") for i in range(min_ticks + 2)]
    return [t for t in even if lo <= t <= hi and t > 0] or ticks


def _round_step(raw: float) -> float:
    mag = 10.0 ** math.floor(math.log10(raw))
    return next(k * mag for k in (1, 2, 5, 10) if k * mag >= raw)


def pow2_ticks(lo: float, hi: float, max_ticks: int = 8) -> list[float]:
    """Powers of two from lo to hi, thinned to every 2nd/4th... power so at most `max_ticks`."""
    ticks = [2.0 ** k for k in range(math.ceil(math.log2(lo) - 1e-9), math.floor(math.log2(hi) + 1e-9) + 1)]
    stride = max(1, math.ceil(len(ticks) / max_ticks))
    return ticks[::stride]


def _tick_label(v: float) -> str:
    return fmt_count(int(v)) if v >= 1 and v == int(v) else f"{v:g}"


def label_log_axis(axis: Any, lo: float, hi: float, ticks: Sequence[float], minor_ticks: bool = True) -> None:
    """Fixed, labelled major ticks in plain numbers ('0.05', '8K'); unlabelled minor ticks."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullFormatter, NullLocator

    axis.set_major_locator(FixedLocator(list(ticks)))
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: _tick_label(v)))
    minor = minor_ticks and LogLocator(base=10, subs=tuple(range(2, 10)), numticks=100)
    axis.set_minor_locator(minor or NullLocator())
    axis.set_minor_formatter(NullFormatter())
    (axis.axes.set_ylim if axis.axis_name == "y" else axis.axes.set_xlim)(lo, hi)


def label_axes(ax: Any, n_values: Sequence[float]) -> None:
    """Log-log axes with enough labelled ticks: N in powers of two when the ladder is one."""
    ax.set_xscale("log")
    ax.set_yscale("log")
    ylo, yhi = ax.get_ylim()
    label_log_axis(ax.yaxis, ylo, yhi, log_ticks(ylo, yhi))
    xlo, xhi = ax.get_xlim()
    ns = [n for n in n_values if n and n > 0]
    pow2 = ns and all(math.log2(n) == int(math.log2(n)) for n in ns)
    if pow2:  # decimal minor ticks (10, 20, 30) would read as odd marks between powers of two
        label_log_axis(ax.xaxis, xlo, xhi, pow2_ticks(xlo, xhi), minor_ticks=False)
    else:
        label_log_axis(ax.xaxis, xlo, xhi, log_ticks(xlo, xhi))


def seeds_text(counts: Sequence[int]) -> str:
    """'3 seeds', '1-3 seeds' (the range when points differ)."""
    lo, hi = min(counts), max(counts)
    word = "seed" if hi == 1 else "seeds"
    return f"{hi} {word}" if lo == hi else f"{lo}-{hi} {word}"


def spread_caption(res_curves: Sequence[dict], band: bool) -> str:
    counts = [p["seeds"] for c in res_curves if c["init"] != "zeroshot" for p in c["points"]]
    what = "shaded band" if band else "error bars"
    return f"{what}: mean ± sample std over {seeds_text(counts)}" if counts else ""


def curve_styles(curves: Sequence[dict]) -> dict[int, dict]:
    """Colour, marker and line style per curve (by position): scratch round markers and solid
    lines, each fine-tuned source its own marker and dash pattern, zero-shot a dash-dot level."""
    colours, out, k = palette(), {}, 0
    for i, c in enumerate(curves):
        if c["init"] == "scratch":
            marker, ls = SCRATCH_STYLE
        elif c["init"] == "zeroshot":
            marker, ls = None, ZEROSHOT_LS
        else:
            marker, ls = FINETUNE_STYLES[k % len(FINETUNE_STYLES)]
            k += 1
        out[i] = {"color": colours[i % len(colours)], "marker": marker, "ls": ls}
    return out


def fit_label(c: dict) -> str:
    fit = c["fit"]
    return f"{c['label']} fit: {fit['a']:.3g}·N^{fit['b']:.2f}"


def _draw_curve(ax: Any, c: dict, style: dict, band: bool, label: str) -> list[Any]:
    """The curve (with its seed spread) and its fitted power law; returns their legend handles."""
    pts = c["points"]
    x, y = [p["n"] for p in pts], [p["error"] for p in pts]
    # Bars stop short of zero so a spread larger than the mean stays on a log axis.
    lo = [min(p["error_std"], p["error"] * 0.999) for p in pts]
    hi = [p["error_std"] for p in pts]
    common = {"color": style["color"], "marker": style["marker"], "ls": style["ls"], "lw": 1.6, "ms": 6}
    if band:
        handles = ax.plot(x, y, label=label, **common)
        ax.fill_between(x, [v - d for v, d in zip(y, lo)], [v + d for v, d in zip(y, hi)],
                        color=style["color"], alpha=0.18, lw=0)
    else:
        handles = [ax.errorbar(x, y, yerr=[lo, hi], capsize=3, label=label, **common)]
    fit = c.get("fit")
    if fit and len(x) >= 2:
        xs = [min(x) * (max(x) / min(x)) ** (i / 40) for i in range(41)]
        handles += ax.plot(xs, [fit["a"] * v ** fit["b"] for v in xs], color=style["color"], ls=FIT_LS,
                           lw=1.0, alpha=0.85, label=fit_label(c))
    return handles


def _crossings(res: dict, model: str, curves: Sequence[dict]) -> list[tuple[dict, float, str]]:
    """(curve, N, text) where a curve reaches the target, once per curve."""
    out, seen = [], set()
    for e in res.get("efficiency_by_model", []):
        if e["model"] != model:
            continue
        for arm, n_key, status_key in (("scratch", "n_scratch", "scratch_status"),
                                        ("finetune", "n_finetune", "finetune_status")):
            c = next((c for c in curves if c["init"] == arm and (arm == "scratch" or c["source"] == e["source"])), None)
            if c is None or e[n_key] is None or id(c) in seen:
                continue
            seen.add(id(c))
            rel = "≤ " if e[status_key] == "below_at_smallest_n" else "≈ "
            out.append((c, e[n_key], f"{c['label']} reaches {fmt_target(e['target'])} at N {rel}{fmt_n(e[n_key])}"))
    return out


def draw_error_panel(ax: Any, res: dict, model: str, *, band: bool = False, title: Optional[str] = None) -> None:
    """One model's error-vs-N panel: curves with seed spread, fits, zero-shot levels, the target
    and where each curve reaches it; every line in the legend, its title explaining the spread."""
    cs = [c for c in curves_of(res, model) if c["points"]]
    styles = curve_styles(cs)
    ns = [p["n"] for c in cs if c["init"] != "zeroshot" for p in c["points"]]
    handles: list[Any] = []
    for i, c in enumerate(cs):
        if c["init"] != "zeroshot":
            handles += _draw_curve(ax, c, styles[i], band, c["label"])
    for i, c in enumerate(cs):
        if c["init"] == "zeroshot" and ns:
            p = c["points"][0]
            handles.append(ax.axhline(p["error"], color=styles[i]["color"], ls=ZEROSHOT_LS, lw=1.3,
                                      label=f"{c['label']} (no downstream training): {p['error']:.3g}"))
    handles.append(ax.axhline(res["target"], color="black", ls=TARGET_LS, lw=1.2,
                              label=f"target {fmt_target(res['target'])}"))
    for c, n, text in _crossings(res, model, cs):
        handles.append(ax.axvline(n, color=styles[cs.index(c)]["color"], ls=CROSSING_LS, lw=1.0, label=text))
    label_axes(ax, ns)
    ax.set_xlabel("downstream training examples N")
    ax.set_ylabel("test relative L2 error")
    ax.set_title(title or f"{res['sweep']}: {model}")
    ax.grid(True, which="major", alpha=0.35)
    ax.grid(True, which="minor", alpha=0.12)
    legend_below(ax, handles, spread_caption(cs, band))


def legend_below(ax: Any, handles: Sequence[Any], title: str = "") -> None:
    """The given lines (in the order drawn) as one legend under the axes."""
    ax.legend(handles, [h.get_label() for h in handles], loc="upper center", bbox_to_anchor=(0.5, -0.13),
              ncol=1, frameon=False, title=title or None, title_fontsize="small")


def _factor_title(res: dict, model: str) -> str:
    effs = [e for e in res.get("efficiency_by_model", []) if e["model"] == model and e["factor"]]
    if len(effs) != 1:
        return ""
    e = effs[0]
    bound = "at least " if e["factor_is_lower_bound"] else "at most " if e["factor_is_upper_bound"] else ""
    return f"\n{bound}{e['factor']:.3g}x fewer examples at {fmt_target(res['target'])}"


def build_error_figure(res: dict, *, band: bool = False) -> Any:
    """The log-log error-vs-N figure of one sweep, one panel per model (not saved)."""
    ms = [m for m in models(res) if any(c["points"] for c in curves_of(res, m))]
    if not ms:
        raise UserError(f"sweep {res['sweep']!r} has no finished points to plot yet")
    with figure_style() as plt:
        cols = min(len(ms), 3)
        rows = math.ceil(len(ms) / cols)
        fig, axes = plt.subplots(rows, cols, figsize=(PANEL_SIZE[0] * cols, PANEL_SIZE[1] * rows),
                                 squeeze=False, layout="constrained")
        for ax, m in zip(axes.flat, ms):
            draw_error_panel(ax, res, m, band=band, title=f"{res['sweep']}: {m}{_factor_title(res, m)}")
        for ax in list(axes.flat)[len(ms):]:
            ax.set_visible(False)
    return fig


def save_figure(fig: Any, *paths: str | Path) -> Path:
    """Write `fig` atomically to each path, .png (PNG_DPI) or .svg (text kept as text), then
    close it; returns the first path."""
    out = [Path(p) for p in paths]
    for path in out:
        if path.suffix.lower() not in PLOT_SUFFIXES:
            raise UserError(f"plot file {path} must end in .png or .svg")
    plt = pyplot()
    try:
        for path in out:
            suffix = path.suffix.lower()
            with plt.rc_context(RC), atomic_path(path) as tmp:
                # Fixed metadata keeps SVG output byte-stable between runs (no creation date).
                fig.savefig(tmp, format=suffix[1:], dpi=PNG_DPI, bbox_inches="tight",
                            metadata={"Date": None} if suffix == ".svg" else {})
    finally:
        plt.close(fig)
    return out[0]
