"""What a reader must know before quoting a sweep's numbers: per-point marks (lr at the edge of
the grid tried, best epoch late in training), warning sentences, the metric/± legend, and the
text of the uncertainty intervals. Pure: works on the `sweep_results` dict.

`annotate(res)` adds the keys "warnings", "legend", "uncertainty" and "factor_table" (and the
point marks); `caveat_lines(res)` is the one text every view shows (legend, then warnings).
"""

from __future__ import annotations

from typing import Optional

from sciml_tui.learning.cadence import LATE_FRACTION, LATE_GAIN
from sciml_tui.results.stats import is_number
from sciml_tui.results.text import fmt_lr, fmt_n, fmt_target, models
from sciml_tui.results.uncertainty import LEVEL, METHOD, RESAMPLES, seed_uncertainty
from sciml_tui.specs.lr_search import at_bound, edge_side
from sciml_tui.store.records import worse_than_zero

MIN_SEEDS = 3
MIN_FIT_POINTS = 3
KIND_ORDER = ("factor_bound", "target_above_zeroshot", "target_outside_range", "first_interval", "lr_edge",
              "late_best_epoch", "thin_fit", "few_seeds")


def _tried(point: dict) -> list[float]:
    return [c["lr"] for c in point.get("lr_candidates", []) if c["lr"] is not None]


def _lr_at_edge(point: dict) -> Optional[str]:
    """"high" / "low" when the chosen lr is the largest / smallest of two or more tried at that N
    (halving's pruned lrs count as tried)."""
    return edge_side(_tried(point), point["lr"])


def _lr_at_bound(point: dict) -> Optional[bool]:
    """For an adaptive grid at an edge: True when the next lr would leave the spec's bounds,
    False when the grid could still grow there; None otherwise."""
    bounds = point.get("lr_bounds")
    if not bounds or _lr_at_edge(point) is None:
        return None
    return at_bound(_tried(point), point["lr"], bounds)


def _late_flags(point: dict) -> list[bool]:
    """Per seed with known epochs: was it still improving when training stopped? Its best
    validation epoch lies in the last 10% of the epochs it ran AND those epochs lowered the
    best error by more than `LATE_GAIN` (`learning.cadence.late_gain`; runs recorded before
    the gain was measured count on the epoch alone)."""
    n = len(point.get("best_epochs", []))
    gains = point.get("late_gains") or [None] * n
    return [b > LATE_FRACTION * e and (g is None or g > LATE_GAIN)
            for b, e, g in zip(point.get("best_epochs", []), point.get("epochs_run", []), gains)
            if is_number(b) and is_number(e) and e > 0]


def _late_best_epoch(point: dict) -> Optional[bool]:
    """True when most seeds with known epochs were still improving when training stopped;
    None when no seed's epochs are known."""
    flags = _late_flags(point)
    return 2 * sum(flags) > len(flags) if flags else None


def mark_points(res: dict) -> None:
    for c in res["curves"]:
        for p in c["points"]:
            p["lr_at_edge"] = _lr_at_edge(p) if c["init"] != "zeroshot" else None
            p["lr_at_bound"] = _lr_at_bound(p) if c["init"] != "zeroshot" else None
            p["late_best_epoch"] = _late_best_epoch(p) if c["init"] != "zeroshot" else None
            p["worse_than_zero"] = worse_than_zero(p["error"])


def _who(model: str, source: Optional[str], label: Optional[str] = None) -> str:
    if label:
        return f"{model} {label}"
    return f"{model} (fine-tuned from {source})" if source else str(model)


def _warn(kind: str, model: str, source: Optional[str], text: str) -> dict:
    return {"kind": kind, "model": model, "source": source, "text": text}


def _ns(ns: list) -> str:
    return "N=" + ", ".join(str(n) for n in ns)


def _curve_warnings(c: dict) -> list[dict]:
    who = _who(c["model"], c["source"], c["label"])
    out = [_warn("lr_edge", c["model"], c["source"], text) for text in _edge_sentences(who, c["points"])]
    late = [p["n"] for p in c["points"] if p.get("late_best_epoch")]
    if late:
        runs = [f for p in c["points"] for f in _late_flags(p)]
        out.append(_warn("late_best_epoch", c["model"], c["source"], (
            f"{who}: at {_ns(late)} the best validation epoch is in the last 10% of the epochs run and "
            f"those epochs lowered the validation error by more than {LATE_GAIN:.0%} for most seeds "
            f"({sum(runs)} of {len(runs)} runs of this curve), so the model was still improving when "
            "training stopped; the epoch budget may be too short.")))
    fit = c.get("fit")
    if fit and fit["n_points"] < MIN_FIT_POINTS:
        out.append(_warn("thin_fit", c["model"], c["source"], (
            f"{who}: the power-law fit passes through only {fit['n_points']} points; an exponent "
            f"from fewer than {MIN_FIT_POINTS} points cannot be checked.")))
    return out


def _edge_sentences(who: str, points: list[dict]) -> list[str]:
    """One sentence per (side, kind of grid): a fixed grid, an adaptive grid stopped at the
    bound the spec sets, or an adaptive grid that could still grow there."""
    out = []
    for side, word, way in (("high", "largest", "above"), ("low", "smallest", "below")):
        for bound in (None, True, False):
            pts = [p for p in points if p.get("lr_at_edge") == side and p.get("lr_at_bound") is bound]
            if not pts:
                continue
            chosen = ", ".join(sorted({fmt_lr(p["lr"]) for p in pts}))
            grids = {tuple(sorted(_tried(p))) for p in pts}
            grid = "{" + ", ".join(fmt_lr(x) for x in grids.pop()) + "}" if len(grids) == 1 else "the grid tried there"
            head = f"{who}: at {_ns([p['n'] for p in pts])} the lr chosen by validation ({chosen}) is the {word} of"
            if bound is None:
                out.append(f"{head} the grid tried ({grid}); the best lr may lie outside the grid.")
            elif bound:
                limit = fmt_lr(pts[0]["lr_bounds"][1 if side == "high" else 0])
                out.append(f"{head} the adaptive grid tried ({grid}) and the next lr {way} it would pass the "
                           f"bound {limit} the spec sets; the best lr may lie beyond that bound.")
            else:
                out.append(f"{head} the adaptive grid tried so far ({grid}); the grid has not finished "
                           f"growing there (runs pending or stopped): resume the sweep to extend it.")
    return out


def _span(curve: Optional[dict]) -> Optional[tuple[float, float]]:
    errs = [p["error"] for p in curve["points"]] if curve else []
    return (min(errs), max(errs)) if errs else None


def _target_warnings(res: dict, eff: dict) -> list[dict]:
    model, source, t = eff["model"], eff["source"], eff["target"]
    who, out = _who(model, source), []
    if eff["factor_is_lower_bound"] or eff["factor_is_upper_bound"]:
        lower = eff["factor_is_lower_bound"]
        arm, n = ("fine-tuned", eff["n_finetune"]) if lower else ("scratch", eff["n_scratch"])
        out.append(_warn("factor_bound", model, source, (
            f"{who}: the data-efficiency factor at target {t:g} is only {'a lower' if lower else 'an upper'} "
            f"bound: {arm} is already below {t:g} at its smallest N={fmt_n(n)}; measure smaller N "
            "for an exact factor.")))
    zs = next((z for z in res["zeroshot"] if z["model"] == model and z["source"] == source), None)
    if zs and t >= zs["error"]:
        out.append(_warn("target_above_zeroshot", model, source, (
            f"{who}: the target {t:g} is at or above the zero-shot error {zs['error']:.3g}: the "
            "pre-trained model meets it with no downstream examples, so the factor does not "
            f"measure fine-tuning; choose a target below {zs['error']:.3g}.")))
    arms = (_curve(res, "scratch", model, None), _curve(res, "finetune", model, source))
    out += [_first_interval_warning(who, c, t) for c in arms if _first_interval(c, t)]
    spans = [_span(c) for c in arms]
    if None in spans or out and out[0]["kind"] == "factor_bound":
        return out
    lo, hi = max(s[0] for s in spans), min(s[1] for s in spans)
    if lo > hi:
        out.append(_warn("target_outside_range", model, source, (
            f"{who}: the two curves share no error range (scratch {spans[0][0]:.3g} to {spans[0][1]:.3g}, "
            f"fine-tuned {spans[1][0]:.3g} to {spans[1][1]:.3g}), so no target gives an exact factor.")))
    elif not lo <= t <= hi:
        out.append(_warn("target_outside_range", model, source, (
            f"{who}: the target {t:g} lies outside the error range both curves span ({lo:.3g} to "
            f"{hi:.3g}), so one curve has no N at it; choose a target inside that range.")))
    return out


def _first_interval(curve: Optional[dict], target: float) -> bool:
    """The curve starts above the target and is at or below it by its second N."""
    pts = curve["points"] if curve else []
    return len(pts) >= 2 and pts[0]["error"] > target >= pts[1]["error"]


def _first_interval_warning(who: str, curve: dict, target: float) -> dict:
    p0, p1 = curve["points"][:2]
    return _warn("first_interval", curve["model"], curve["source"], (
        f"{who}: {curve['label']} reaches {target:g} between its two smallest N (N={p0['n']} and "
        f"{p1['n']}), so its N at the target rests on one interpolated step; a target above "
        f"{p0['error']:.3g} gives only a bound (see the factor at other targets)."))


def _curve(res: dict, init: str, model: str, source: Optional[str]) -> Optional[dict]:
    return next((c for c in res["curves"] if c["init"] == init and c["model"] == model
                 and (init == "scratch" or c["source"] == source)), None)


def _seed_warning(res: dict, model: str) -> list[dict]:
    # zero-shot evaluates one fixed checkpoint: its repeats are not seeds of a training
    pts = [p for c in res["curves"] if c["model"] == model and c["init"] != "zeroshot" for p in c["points"]]
    few = [p["seeds"] for p in pts if p["seeds"] < MIN_SEEDS]
    if not few:
        return []
    return [_warn("few_seeds", model, None, (
        f"{model}: {len(few)} of {len(pts)} points rest on fewer than {MIN_SEEDS} seeds (as few as "
        f"{min(few)}); their ± and intervals are rough."))]


def sweep_warnings(res: dict) -> list[dict]:
    """Every warning of the sweep, per model in size order, then by KIND_ORDER."""
    out: list[dict] = []
    for model in models(res):
        ws = [w for c in res["curves"] if c["model"] == model for w in _curve_warnings(c)]
        ws += [w for e in res["efficiency_by_model"] if e["model"] == model for w in _target_warnings(res, e)]
        ws += _seed_warning(res, model)
        out += sorted(ws, key=lambda w: KIND_ORDER.index(w["kind"]))
    return out


def legend_line(res: dict) -> str:
    return ("error = test relative L2 (lower is better), shown as mean ± sample std (ddof=1) over "
            f"seeds at the lr chosen by validation error; CI = {LEVEL:.0%} {METHOD}.")


def caveat_lines(res: dict) -> list[str]:
    """The legend, then one 'warning: ...' line per warning: the same text in every view
    (nothing for a result without them, e.g. one that failed to compute)."""
    if "legend" not in res:
        return []
    return [res["legend"]] + ["warning: " + w["text"] for w in res["warnings"]]


def factor_text(factor: Optional[float], bound: Optional[str] = None) -> str:
    if factor is None:
        return "-"
    return {"lower": ">= ", "upper": "<= "}.get(bound or "", "") + f"{factor:.3g}x"


def _ci_text(entry: dict) -> str:
    """'95% CI 41x to 210x', 'at least 41x (...)', or 'no interval (why)'."""
    ci = entry["ci"]
    if ci is None:
        return f"no interval ({entry['note']})"
    lo, hi = ci
    level = f"{LEVEL:.0%} CI"
    if lo is None and hi is None:
        text = f"{level} unbounded both ways"
    elif hi is None:
        text = f"{level} at least {lo:.3g}x, unbounded above"
    elif lo is None:
        text = f"{level} at most {hi:.3g}x, unbounded below"
    else:
        text = f"{level} {lo:.3g}x to {hi:.3g}x"
    why = [f"{arm} never reached the target in {entry[key]} of {RESAMPLES} resamples"
           for arm, key in (("scratch", "scratch_not_reached"), ("fine-tuned", "finetune_not_reached"))
           if entry[key]] + ([entry["note"]] if entry["note"] else [])
    return text + (f" ({'; '.join(why)})" if why else "")


def factor_interval_line(res: dict, model: str, source: Optional[str]) -> str:
    """'factor at 0.2: 95% CI 4.39x to 12.8x' for one fine-tuned curve ('' when no factor)."""
    u = res.get("uncertainty") or {}
    e = next((e for e in u.get("efficiency_by_model", []) if e["model"] == model and e["source"] == source), None)
    if e is None or e["factor"] is None:  # the factor's own line already says why there is none
        return ""
    return (f"factor at {fmt_target(e['target'])}" + (f" (from {e['source']})" if e["source"] else "")
            + f": {_ci_text(e)}")


def factor_interval_lines(res: dict, model: str) -> list[str]:
    lines = [factor_interval_line(res, model, e["source"])
             for e in res["uncertainty"]["efficiency_by_model"] if e["model"] == model]
    return [line for line in lines if line]


def exponent_interval_line(res: dict, model: str) -> str:
    """'exponent b, 95% CI: scratch -0.55 [-0.57, -0.53], ...' ('' when the model has no fit)."""
    fits = [f for f in res["uncertainty"]["fits"] if f["model"] == model]
    return f"exponent b, {LEVEL:.0%} CI: " + ", ".join(
        f"{f['label']} {f['b']:.2f} " + (f"[{f['b_ci'][0]:.2f}, {f['b_ci'][1]:.2f}]" if f["b_ci"]
                                        else "(no interval)") for f in fits) if fits else ""


def interval_lines(res: dict, model: str) -> list[str]:
    """The factor's intervals and the exponents' interval of one model, one line each."""
    return factor_interval_lines(res, model) + [line for line in [exponent_interval_line(res, model)] if line]


def factor_table(res: dict, model: str) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of the factor at several targets for one model (the sweep's target
    marked '(chosen)'; N '<= 8' where a curve is already below the target at its smallest N)."""
    tables = [t for t in res["factor_table"] if t["model"] == model]
    several = len(tables) > 1
    headers = (["from"] if several else []) + ["target", "factor", f"{LEVEL:.0%} CI", "N fine-tuned", "N scratch"]
    rows = []
    for tab in tables:
        for r in tab["rows"]:
            ci = ci_cell(r["ci"])
            rows.append(([str(tab["source"])] if several else []) + [
                fmt_target(r["target"]) + (" (chosen)" if r["requested"] else ""),
                factor_text(r["factor"], r["bound"]), ci,
                _n_text(r["n_finetune"], r["finetune_status"]), _n_text(r["n_scratch"], r["scratch_status"])])
    return headers, rows


def ci_cell(ci: Optional[list]) -> str:
    """'4.4-13x', '>= 5.3x' (unbounded above), '<= 2x' (unbounded below), '-' (none)."""
    if ci is None or ci == [None, None]:
        return "-"
    lo, hi = ci
    if hi is None:
        return f">= {lo:.2g}x"
    return f"<= {hi:.2g}x" if lo is None else f"{lo:.2g}-{hi:.2g}x"


def _n_text(n: Optional[float], status: str) -> str:
    if status == "not_reached":
        return "not reached"
    if n is None:
        return "-"
    return ("<= " if status == "below_at_smallest_n" else "") + fmt_n(n)


CSV_CAVEAT_COLUMNS = ("lr_at_edge", "late_best_epoch", "metric", "warnings")


def csv_caveat_cells(res: dict, curve: dict, point: dict) -> list[str]:
    """A CSV row's caveats: lr_at_edge (high|low|''), late_best_epoch (true|false|''), the
    legend, and every warning of the row's model joined by ' | '."""
    late = point.get("late_best_epoch")
    return [point.get("lr_at_edge") or "", "" if late is None else str(late).lower(), res["legend"],
            " | ".join(w["text"] for w in res["warnings"] if w["model"] == curve["model"])]


def annotate(res: dict) -> dict:
    """Add the point marks, "uncertainty", "factor_table", "warnings" and "legend" to `res`."""
    mark_points(res)
    res["uncertainty"], res["factor_table"] = seed_uncertainty(res)
    res["warnings"] = sweep_warnings(res)
    res["legend"] = legend_line(res)
    return res
