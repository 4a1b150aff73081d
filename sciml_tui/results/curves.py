"""Aggregate finished sweep runs into error-vs-N curves and the data-efficiency factor.

Input: the sweep's run records (dicts, as `WorkspaceStore.runs(sweep=...)` returns them; taken
as given, not filtered by their `sweep` field, since a content-addressed run can be shared by
several sweeps) with at least `id, init, model, n_train, lr, seed, state, test_error,
best_val_error`; fine-tune and zero-shot records also carry `parent` (the pre-training run id)
and may carry `pretrain` (the pre-training's name in the spec; else it is taken from the parent
record when that is in the list). Curves are split by that name, or by parent id when unnamed
runs come from several parents, so different pre-trainings are never averaged. Output: a JSON-able dict, the fixed shape of `sciml results --json`
(documented in docs/architecture.md, "Results API").

Conventions:
- only `state == "done"` runs with a finite `test_error` make points; failed / diverged /
  cancelled runs are counted, never averaged;
- per (init, model, source, N) the lr is the one with the lowest mean `best_val_error` over
  its seeds (ties: lower lr), as the seed study did; the test error is then averaged over the
  seeds at that lr (`error_std` is the sample std, ddof=1, 0 for one seed);
- zero-shot has no N: its curve has one point with `n: null` (a reference level).
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any, Iterable, Optional

from sciml_tui.learning.presets import PRESETS
from sciml_tui.results.stats import crossing_n, is_number, mean_std, power_law_fit
from sciml_tui.specs.lr_search import best_lr
from sciml_tui.store.records import ACTIVE, RunState

INITS = ("scratch", "finetune", "zeroshot")
STATES = tuple(s.value for s in RunState)
LABELS = {"scratch": "scratch", "finetune": "fine-tuned", "zeroshot": "zero-shot"}
# Tables and plots list small models first (PRESETS is in order of size).
PRESET_ORDER = tuple(PRESETS)


def model_sort_key(model: str) -> tuple[int, str]:
    try:
        return (PRESET_ORDER.index(model), "")
    except ValueError:
        return (len(PRESET_ORDER), str(model))


def curve_label(init: str, source: Optional[str]) -> str:
    label = LABELS.get(init, init)
    return f"{label} ({source})" if source and init != "scratch" else label


def _source(rec: dict, parent_names: Optional[dict] = None) -> Optional[str]:
    """The pre-training a fine-tune / zero-shot run starts from: its `pretrain` name, else
    the name recorded on its parent run, else None (scratch: always None)."""
    if rec.get("init") == "scratch":
        return None
    src = rec.get("pretrain") or (parent_names or {}).get(_key(rec.get("parent")))
    return str(src) if src else None


def _n(rec: dict) -> Optional[int]:
    n = rec.get("n_train")
    if n is None or isinstance(n, bool):
        return None
    try:
        n = int(n)
    except (TypeError, ValueError, OverflowError):
        return None
    return n if n >= 1 else None


def _lr(rec: dict) -> Optional[float]:
    lr = rec.get("lr")
    try:
        lr = float(lr) if lr is not None else None
    except (TypeError, ValueError, OverflowError):
        return None
    return lr if lr is None or math.isfinite(lr) else None


def _has_error(rec: dict) -> bool:
    """A usable test error: a finite, non-negative number."""
    e = rec.get("test_error")
    return is_number(e) and e >= 0


def _empty_counts() -> dict[str, int]:
    return {**{s: 0 for s in STATES}, "invalid": 0}


def _count(counts: dict[str, int], rec: dict) -> None:
    state = rec.get("state")
    if state == "done" and not _has_error(rec):
        counts["invalid"] += 1
    elif state in counts:
        counts[state] += 1


def _dedupe(runs: Iterable[dict]) -> list[dict]:
    """Keep one done run per (N, lr, seed) of a curve: the one that ended last."""
    best: dict[tuple, dict] = {}
    for rec in runs:
        key = (_n(rec), _lr(rec), _key(rec.get("seed")))
        old = best.get(key)
        if old is None or _ended(rec) >= _ended(old):
            best[key] = rec
    return list(best.values())


def _ended(rec: dict) -> tuple:
    """Sort key of `ended_at`, a Unix time or an ISO string (missing sorts first)."""
    v = rec.get("ended_at")
    return (1, float(v), "") if is_number(v) else (0, 0.0, str(v or ""))


def _key(v: Any) -> Any:
    """A hashable, comparable stand-in for an id-like field of unknown type."""
    return v if v is None or isinstance(v, (str, int, float)) else repr(v)


def _seed_key(rec: dict) -> tuple:
    seed = rec.get("seed")
    return (0, seed, "") if is_number(seed) else (1, 0, str(seed))


def _choose_lr(by_lr: dict[Optional[float], list[dict]]) -> tuple[Optional[float], list[dict], Optional[str]]:
    """Pick the lr with the lowest mean validation error over seeds (ties: lower lr).

    Returns (lr, candidates, note); lr is None (and note says why) when several lrs exist
    but none has a validation error to choose by.
    """
    candidates = []
    for lr, recs in by_lr.items():
        vals = [r["best_val_error"] for r in recs if is_number(r.get("best_val_error"))]
        mean_val = mean_std(vals)[0] if vals else None
        candidates.append({"lr": lr, "val_error": mean_val, "seeds": len(recs)})
    candidates.sort(key=lambda c: (c["lr"] is None, c["lr"] or 0.0))
    if any(c["val_error"] is not None for c in candidates):
        if None in by_lr:  # runs without an lr (hand-made records) rank after every lr
            return _choose_lr_unnamed(candidates), candidates, None
        return best_lr({c["lr"]: c["val_error"] for c in candidates}), candidates, None
    if len(candidates) == 1:
        return candidates[0]["lr"], candidates, None
    return None, candidates, "no validation error to choose the lr by"


def _choose_lr_unnamed(candidates: list[dict]) -> Optional[float]:
    with_val = [c for c in candidates if c["val_error"] is not None]
    return min(with_val, key=lambda c: (c["val_error"], c["lr"] is None, c["lr"] or 0.0))["lr"]


def _pruned_candidates(recs: list[dict]) -> list[dict]:
    """The lrs halving stopped at a point: {"lr", "val_error": None, "seeds", "pruned_at" (epoch)}."""
    by_lr: dict[Optional[float], list[dict]] = defaultdict(list)
    for r in recs:
        by_lr[_lr(r)].append(r)
    return [{"lr": lr, "val_error": None, "seeds": len(rs),
             "pruned_at": min((r["stopped_at_rung"] for r in rs if is_number(r.get("stopped_at_rung"))), default=None)}
            for lr, rs in by_lr.items()]


def _point(n: Optional[int], recs: list[dict], lr: Optional[float], extra: dict) -> dict:
    recs = sorted(recs, key=_seed_key)
    errors = [float(r["test_error"]) for r in recs]
    vals = [float(r["best_val_error"]) for r in recs if is_number(r.get("best_val_error"))]
    err, err_std = mean_std(errors)
    return {
        "n": n,
        "error": err,
        "error_std": err_std,
        "seeds": len(errors),
        "lr": lr,
        "val_error": mean_std(vals)[0] if vals else None,
        "errors": errors,
        "seed_ids": [r.get("seed") for r in recs],
        "run_ids": [r.get("id") for r in recs],
        "best_epochs": [r.get("best_epoch") if is_number(r.get("best_epoch")) else None for r in recs],
        "epochs_run": [r.get("epochs_run") if is_number(r.get("epochs_run")) else None for r in recs],
        "late_gains": [r.get("late_gain") if is_number(r.get("late_gain")) else None for r in recs],
        **extra,
    }


def _build_curve(init: str, model: str, source: Optional[str], recs: list[dict]) -> dict:
    counts = _empty_counts()
    per_n_counts: dict[Optional[int], dict[str, int]] = defaultdict(_empty_counts)
    done: dict[Optional[int], dict[Optional[float], list[dict]]] = defaultdict(lambda: defaultdict(list))
    pruned: dict[Optional[int], list[dict]] = defaultdict(list)
    pending: set[Optional[int]] = set()
    running: set[Optional[int]] = set()
    for rec in recs:
        n = None if init == "zeroshot" else _n(rec)
        _count(counts, rec)
        _count(per_n_counts[n], rec)
        if rec.get("state") in ACTIVE:
            pending.add(n)
        if rec.get("state") == RunState.RUNNING:
            running.add(n)
        if rec.get("state") == RunState.PRUNED:
            pruned[n].append(rec)
        if rec.get("state") == "done" and _has_error(rec):
            if init != "zeroshot" and n is None:
                counts["done"] -= 1
                counts["invalid"] += 1
                continue
            done[n][None if init == "zeroshot" else _lr(rec)].append(rec)

    points, notes = [], []
    for n in sorted(done, key=lambda v: (v is None, v or 0)):
        c = per_n_counts[n]
        extra = {"failed": c["failed"], "diverged": c["diverged"],
                 "pending": c["running"] + c["queued"]}
        if init == "zeroshot":
            all_recs = [r for rs in done[n].values() for r in rs]
            points.append(_point(None, all_recs, None, extra))
            continue
        lr, candidates, note = _choose_lr(done[n])
        if note:
            notes.append(f"N={n}: {note}")
            continue
        candidates = sorted(candidates + _pruned_candidates(pruned[n]), key=lambda c: (c["lr"] is None, c["lr"] or 0.0))
        bounds = next((r["lr_bounds"] for r in done[n][lr] if isinstance(r.get("lr_bounds"), list)), None)
        points.append(_point(n, done[n][lr], lr, {**extra, "lr_candidates": candidates, "lr_bounds": bounds}))

    fit = None
    if init != "zeroshot":
        fit = power_law_fit([p["n"] for p in points], [p["error"] for p in points])
    parents = sorted({str(r["parent"]) for r in recs if r.get("parent")})
    return {
        "init": init,
        "model": model,
        "source": source,
        "label": curve_label(init, source),
        "points": points,
        "fit": fit,
        "counts": counts,
        "pending_n": sorted((n for n in pending if n is not None)) if init != "zeroshot" else [],
        "running_n": sorted((n for n in running if n is not None)) if init != "zeroshot" else [],
        "pending": bool(pending),
        "running": bool(running),
        "parents": parents,
        "notes": notes,
    }


def _split_unnamed_by_parent(groups: dict[tuple, list[dict]]) -> None:
    """Fine-tune/zero-shot runs with no pre-training name but several parents are split by
    parent run id, so runs from different pre-trainings are never averaged together."""
    for key in [k for k in groups if k[0] != "scratch" and k[2] is None]:
        parents = {_key(r.get("parent")) for r in groups[key]}
        if len(parents) > 1:
            for rec in groups.pop(key):
                p = _key(rec.get("parent"))
                groups[(key[0], key[1], str(p) if p else None)].append(rec)


def _curve_best(curve: dict) -> str:
    p = min(curve["points"], key=lambda p: p["error"])
    return f"best {p['error']:.3g} at N={p['n']}"


def efficiency(scratch: Optional[dict], finetune: Optional[dict], target: float,
               model: Optional[str] = None, source: Optional[str] = None) -> dict:
    """Data-efficiency factor N_scratch(target) / N_finetune(target) between two curves.

    Each N is read off the curve's mean errors by log-log interpolation at the first point at
    or below `target`. `factor` is null (with `reason`) where a curve is missing or never gets
    there. If the fine-tuned curve is already below target at its smallest N, the true
    N_finetune is at most that N, so `factor` is a lower bound (`factor_is_lower_bound`);
    symmetrically an upper bound when only scratch starts below target.
    """
    out: dict[str, Any] = {
        "target": target, "model": model, "source": source, "factor": None,
        "factor_is_lower_bound": False, "factor_is_upper_bound": False,
        "n_scratch": None, "n_finetune": None,
        "scratch_status": "missing", "finetune_status": "missing", "reason": None,
    }
    cross = {}
    for key, curve in (("scratch", scratch), ("finetune", finetune)):
        pts = curve["points"] if curve else []
        c = crossing_n([p["n"] for p in pts], [p["error"] for p in pts], target)
        cross[key] = c
        out[f"n_{key}"] = c["n"]
        out[f"{key}_status"] = c["status"]
    name = {"scratch": "scratch", "finetune": "fine-tuned"}
    for key, curve in (("scratch", scratch), ("finetune", finetune)):
        status = cross[key]["status"]
        if status == "missing":
            out["reason"] = f"no finished {name[key]} points"
            return out
        if status == "not_reached":
            out["reason"] = f"{name[key]} never reaches {target:g} ({_curve_best(curve)})"
            return out
    s, f = cross["scratch"], cross["finetune"]
    if s["status"] == "below_at_smallest_n" and f["status"] == "below_at_smallest_n":
        out["reason"] = (f"both curves are already below {target:g} at their smallest N; "
                         "measure smaller N to get a factor")
        return out
    out["factor"] = s["n"] / f["n"]
    if f["status"] == "below_at_smallest_n":
        out["factor_is_lower_bound"] = True
        out["reason"] = (f"fine-tuned is already below {target:g} at its smallest N={f['n']:g}, "
                         "so the factor is a lower bound")
    elif s["status"] == "below_at_smallest_n":
        out["factor_is_upper_bound"] = True
        out["reason"] = (f"scratch is already below {target:g} at its smallest N={s['n']:g}, "
                         "so the factor is an upper bound")
    return out


def sweep_results(runs: list[dict], sweep: str, target: float = 1e-2) -> dict:
    """Curves, zero-shot levels, fits and data-efficiency factors of one sweep (JSON-able)."""
    if not (is_number(target) and target > 0):
        raise ValueError(f"target must be a positive number, got {target!r}")
    groups: dict[tuple, list[dict]] = defaultdict(list)
    pretrain, counts = [], _empty_counts()
    for rec in runs:
        if rec.get("init") == "pretrain" or rec.get("role") == "pretrain":
            pretrain.append({
                **{k: rec.get(k) for k in ("id", "model", "pretrain", "state")},
                **{k: rec[k] if is_number(rec.get(k)) else None
                   for k in ("test_error", "best_val_error")}})
    parent_names = {_key(p["id"]): p["pretrain"] for p in pretrain if p.get("pretrain")}
    for rec in runs:
        init = rec.get("init")
        if init not in INITS or rec.get("role") == "pretrain":
            continue
        _count(counts, rec)
        groups[(init, str(rec.get("model")), _source(rec, parent_names))].append(rec)
    _split_unnamed_by_parent(groups)

    curves = []
    for init, model, source in sorted(groups, key=lambda k: (
            model_sort_key(k[1]), INITS.index(k[0]), k[2] or "")):
        recs = groups[(init, model, source)]
        dedup = _dedupe(r for r in recs if r.get("state") == "done")
        others = [r for r in recs if r.get("state") != "done"]
        curves.append(_build_curve(init, model, source, dedup + others))

    zeroshot = [{"model": c["model"], "source": c["source"], **{
        k: c["points"][0][k] for k in ("error", "error_std", "seeds", "errors")}}
        for c in curves if c["init"] == "zeroshot" and c["points"]]

    by_model = []
    for c in curves:
        if c["init"] != "finetune":
            continue
        scratch = next((s for s in curves if s["init"] == "scratch" and s["model"] == c["model"]), None)
        by_model.append(efficiency(scratch, c, target, c["model"], c["source"]))
    top = by_model[0] if by_model else {
        **efficiency(None, None, target),
        "reason": "no fine-tuned curve to compare with scratch"}

    res = {
        "sweep": sweep,
        "target": target,
        "curves": curves,
        "zeroshot": zeroshot,
        "efficiency": top,
        "efficiency_by_model": by_model,
        "pretrain": pretrain,
        "counts": counts,
    }
    from sciml_tui.results.caveats import annotate  # late: caveats builds on this module

    return annotate(res)
