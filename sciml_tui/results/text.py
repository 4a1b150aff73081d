"""Plain-string views of `sweep_results` output, shared by the CLI (Rich) and the dashboard.

Everything here takes the dict `sweep_results` returns and gives strings or tuples of numbers;
no Rich, no Textual.
"""

from __future__ import annotations

import math
from typing import Any, Optional

from sciml_tui.results.curves import model_sort_key
from sciml_tui.store.records import WORSE_MARK, worse_than_zero


ASCII_FOR = {"±": "+-", "≤": "<=", "≥": ">=", "→": "->", "×": "x"}


def to_ascii(text: str) -> str:
    """The same text for a terminal that cannot show these symbols ('0.41±0.03' -> '0.41+-0.03')."""
    for sym, plain in ASCII_FOR.items():
        text = text.replace(sym, plain)
    return text.encode("ascii", "replace").decode("ascii")


def fmt_num(x: Optional[float], digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}g}"


def fmt_lr(lr: Any, missing: str = "-") -> str:
    """1e-3, 5e-4, 2.5e-4, 0.001 -> '1e-3', '5e-4', '2.5e-4', '1e-3' (no zero-padded exponents)."""
    if lr is None:
        return missing
    try:
        value = float(lr)
    except (TypeError, ValueError):
        return str(lr)
    mant, exp = f"{value:.2e}".split("e")
    mant = mant.rstrip("0").rstrip(".")
    return f"{mant}e{int(exp)}"


def fmt_run_error(x: Any, missing: str = "") -> str:
    """One run's relative L2 error: '0.0123', '4.20e-04' below 1e-3 or from 10 up, 'nan', 'inf'."""
    if x is None:
        return missing
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    if math.isnan(v) or math.isinf(v):
        return "nan" if math.isnan(v) else "inf"
    return f"{v:.2e}" if v < 1e-3 or v >= 10 else f"{v:.4f}"


def fmt_count(x: Any) -> str:
    """A training-set size in a narrow column: 100 -> '100', 8192 -> '8K' (whole multiples of
    1024 from 8192 up), None -> '-'."""
    if x is None:
        return "-"
    try:
        n = int(x)
    except (TypeError, ValueError):
        return str(x)
    return f"{n // 1024}K" if n >= 8192 and n % 1024 == 0 else str(n)


def fmt_target(t: float) -> str:
    """1e-2 -> '1e-2', 0.05 -> '5e-2', 0.6 -> '0.6'."""
    return f"{t:g}" if t >= 0.1 else fmt_lr(t)


def fmt_n(n: float) -> str:
    """An (interpolated) example count: '2500', '25', '3.7'."""
    return f"{n:.0f}" if n >= 10 else f"{n:.2g}"


def fmt_error(point: dict) -> str:
    """'0.412±0.031' for several seeds, '0.412' for one (3 significant digits, zeros kept).

    The spread is printed to the mean's last decimal, so a negligible one reads '±0.000'
    rather than '±3.4e-08'.
    """
    mean = f"{point['error']:#.3g}"
    if point["seeds"] <= 1:
        return mean
    std = point["error_std"]
    if "e" in mean or "." not in mean:
        return f"{mean}±{std:.2g}"
    decimals = len(mean.split(".")[1])
    return f"{mean}±{std:.{decimals}f}"


def models(res: dict) -> list[str]:
    return sorted({c["model"] for c in res["curves"]}, key=model_sort_key)


def curves_of(res: dict, model: str) -> list[dict]:
    return [c for c in res["curves"] if c["model"] == model]


def series_label(c: dict, multi_model: bool) -> str:
    """A curve's label in a view of several models: 'fine-tuned (mix) fno-1m'."""
    return f"{c['label']} {c['model']}" if multi_model else c["label"]


def worse_flag(point: dict) -> str:
    """' !' after an error worse than predicting zero (relative L2 above 1), else ''."""
    return f" {WORSE_MARK}" if worse_than_zero(point.get("error")) else ""


def worse_line(res: dict) -> str:
    """The legend of `worse_flag`, when some point of `res` carries it."""
    if any(worse_flag(p) for c in res["curves"] for p in c["points"]):
        return f"{WORSE_MARK} relative L2 error above 1: worse than predicting zero"
    return ""


def n_cell(c: dict, n: int, with_lr: bool = True, pending_mark: str = " +", flag_worse: bool = False) -> str:
    """A curve's cell at N: 'mean±std (lr 1e-3)' (+ `pending_mark` while more seeds of that N
    are pending; `flag_worse`: ' !' after an error above 1), '(running)' / '(queued)' for an N
    with no finished run yet, else ''."""
    p = next((p for p in c["points"] if p["n"] == n), None)
    if p is not None:
        cell = fmt_error(p) + (worse_flag(p) if flag_worse else "")
        if with_lr:
            cell += f" (lr {fmt_lr(p['lr'])})"
        return cell + (pending_mark if n in c["pending_n"] else "")
    if n in c["pending_n"]:
        return "(running)" if n in c.get("running_n", []) else "(queued)"
    return ""


def zeroshot_cell(c: dict, flag_worse: bool = False) -> str:
    """A zero-shot level: 'mean±std', '(running)' / '(queued)' while pending, else ''."""
    if c["points"]:
        return fmt_error(c["points"][0]) + (worse_flag(c["points"][0]) if flag_worse else "")
    if c["pending"]:
        return "(running)" if c.get("running") else "(queued)"
    return ""


def _ns(curves: list[dict]) -> list[int]:
    return sorted({p["n"] for c in curves for p in c["points"]} | {n for c in curves for n in c["pending_n"]})


def table(res: dict, model: str, with_lr: bool = True) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of the error-vs-N table of one model (`sciml results`).

    Columns: N, then one per scratch / fine-tuned curve (cells as `n_cell`), then zero-shot (its
    level shown on the first row only); errors above 1 carry `worse_flag`.
    """
    cs = curves_of(res, model)
    n_curves = [c for c in cs if c["init"] != "zeroshot"]
    zs = [c for c in cs if c["init"] == "zeroshot"]
    headers = ["N"] + [c["label"] for c in n_curves] + [c["label"] for c in zs]
    ns = _ns(n_curves)
    rows = []
    for i, n in enumerate(ns):
        rows.append([str(n)] + [n_cell(c, n, with_lr, flag_worse=True) for c in n_curves]
                    + [zeroshot_cell(c, flag_worse=True) if i == 0 else "" for c in zs])
    if not ns and zs:
        rows.append(["-"] + [zeroshot_cell(c, flag_worse=True) for c in zs])
    return headers, rows


def combined_table(res: dict) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """The dashboard's table: every model's curves side by side, lr left out, '*' on points whose
    seeds are still pending, one row per zero-shot level under the N rows. Rows are
    (key, cells)."""
    curves = [c for c in res["curves"] if c["init"] != "zeroshot"]
    zeros = [c for c in res["curves"] if c["init"] == "zeroshot"]
    multi = len({c["model"] for c in curves}) > 1
    headers = ["N"] + [series_label(c, multi) for c in curves]
    width = max(len(curves), 1)
    headers += [""] * (width + 1 - len(headers))
    rows = [(str(n), [fmt_count(n)] + [n_cell(c, n, with_lr=False, pending_mark="*") for c in curves])
            for n in _ns(curves)]
    rows += [(f"z-{z['model']}-{z['source']}", [series_label(z, multi), zeroshot_cell(z)] + [""] * (width - 1))
             for z in zeros]
    return headers, rows


def efficiency_line(eff: dict) -> str:
    """One sentence on the data-efficiency factor, e.g.
    '1e-2 reached with 64 (fine-tuned) vs 8192 (scratch) -> 128x fewer examples'."""
    t = fmt_target(eff["target"])
    src = f" from {eff['source']}" if eff.get("source") else ""
    if eff["factor"] is None:
        if "not_reached" in (eff.get("scratch_status"), eff.get("finetune_status")):
            return f"{t} not reached: {eff['reason']}"
        if eff.get("scratch_status") == eff.get("finetune_status") == "below_at_smallest_n":
            return f"{t}: no factor: {eff['reason']}"
        return f"{t}: no factor yet: {eff['reason']}"
    ns, nf = eff["n_scratch"], eff["n_finetune"]
    if eff["factor_is_lower_bound"]:
        return (f"{t} reached with <= {fmt_n(nf)} (fine-tuned{src}) vs {fmt_n(ns)} (scratch) "
                f"-> at least {eff['factor']:.3g}x fewer examples")
    if eff["factor_is_upper_bound"]:
        return (f"{t} reached with {fmt_n(nf)} (fine-tuned{src}) vs <= {fmt_n(ns)} (scratch) "
                f"-> at most {eff['factor']:.3g}x fewer examples")
    return (f"{t} reached with {fmt_n(nf)} (fine-tuned{src}) vs {fmt_n(ns)} (scratch) "
            f"-> {eff['factor']:.3g}x fewer examples")


def fit_line(res: dict, model: str) -> str:
    """'fit error ~ a N^b: scratch 0.5 N^-0.50, fine-tuned 0.05 N^-0.50' ('' if no fit)."""
    parts = [f"{c['label']} {_prefactor(c['fit'])} N^{c['fit']['b']:.2f}"
             for c in curves_of(res, model) if c.get("fit")]
    return "fit error ~ a N^b: " + ", ".join(parts) if parts else ""


def _prefactor(fit: dict) -> str:
    return f"{fit['a']:.3g}" if fit.get("a") is not None else f"e^{fit['log_a']:.4g}"


def progress_line(res: dict) -> str:
    """'12/22 sweep runs done, 1 failed, 9 queued, pre-training running' (points counted; an
    unfinished pre-training only mentioned)."""
    c = res["counts"]
    total = sum(c.values())
    parts = [f"{c['done']}/{total} sweep runs done"]
    parts += [f"{c[k]} {k}" for k in ("running", "queued", "failed", "diverged", "cancelled",
                                      "invalid") if c.get(k)]
    pre: dict[str, int] = {}
    for p in res.get("pretrain", []):
        if p.get("state") != "done":
            pre[str(p.get("state"))] = pre.get(str(p.get("state")), 0) + 1
    parts += [f"pre-training {k}" + (f" x{v}" if v > 1 else "") for k, v in pre.items()]
    return ", ".join(parts)


def excluded_line(res: dict, model: str) -> str:
    """'excluded: 2 failed, 1 diverged' over the model's curves ('' if none)."""
    tot: dict[str, int] = {}
    for c in curves_of(res, model):
        for k in ("failed", "diverged", "cancelled", "invalid"):
            tot[k] = tot.get(k, 0) + c["counts"].get(k, 0)
    parts = [f"{v} {k}" for k, v in tot.items() if v]
    return "excluded: " + ", ".join(parts) if parts else ""


def curve_series(res: dict, model: Optional[str] = None) -> list[tuple[str, list[tuple]]]:
    """Series for a terminal plot: [(label, [(n, mean, std), ...]), ...].

    Labels are '<curve label> <model>' when several models are present (or `model` is None and
    there are several). A zero-shot level becomes a flat two-point series spanning the N range
    of that model's other curves, or [(None, mean, std)] when there is no N range.
    """
    ms = [model] if model is not None else models(res)
    several = len(models(res)) > 1 and model is None
    out = []
    for m in ms:
        cs = curves_of(res, m)
        ns = [p["n"] for c in cs if c["init"] != "zeroshot" for p in c["points"]]
        for c in cs:
            label = series_label(c, several)
            if c["init"] == "zeroshot":
                if not c["points"]:
                    continue
                p = c["points"][0]
                span = [min(ns), max(ns)] if ns else [None]
                out.append((label, [(n, p["error"], p["error_std"]) for n in span]))
            else:
                out.append((label, [(p["n"], p["error"], p["error_std"]) for p in c["points"]]))
    return out
