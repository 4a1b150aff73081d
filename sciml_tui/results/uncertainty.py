"""Seed-bootstrap intervals for the data-efficiency factor and the power-law exponents, and the
factor read at several targets (so a reader sees how much it moves with the target).

The bootstrap: every resample redraws, at each N of a curve independently, as many seeds as that
N has, with replacement, from the seeds' test errors at the chosen lr (the lr is not re-chosen),
and averages them. The factor (by `efficiency`, the same interpolation as the headline) and the
fit are recomputed on every resample; the interval is the central LEVEL range by rank. A resample
where scratch never reaches the target counts as an unbounded factor and one where fine-tuned
never does as zero, so such resamples open the interval rather than being dropped; resamples with
no factor at all are left out and counted. Each curve has its own fixed-seed generator, so the
same runs always give the same intervals.
"""

from __future__ import annotations

import math
import random
from typing import Optional, Sequence

from sciml_tui.results.curves import efficiency
from sciml_tui.results.stats import power_law_fit

RESAMPLES = 1000
LEVEL = 0.95
SEED = 0
METHOD = (f"percentile seed bootstrap: seeds redrawn with replacement within each N of each curve, "
          f"lr kept as chosen, {RESAMPLES} resamples")
TABLE_TARGETS = 5  # targets spread over the error range both curves span, besides the sweep's own


def percentile_interval(values: Sequence[float], level: float) -> tuple[float, float]:
    """The k-th smallest and k-th largest value, k = ceil((1 - level) / 2 * len) (at least 1)."""
    v = sorted(values)
    k = max(1, math.ceil((1 - level) / 2 * len(v) - 1e-9))
    return v[k - 1], v[len(v) - k]


def _resampled_curves(curve: dict) -> tuple[Optional[list[dict]], Optional[str]]:
    """RESAMPLES pseudo-curves ({"points": [{"n", "error"}]}) of redrawn seed means, or
    (None, why) when some N has a single seed (redrawing one seed shows no spread)."""
    single = [p["n"] for p in curve["points"] if len(p["errors"]) < 2]
    if single:
        ns = ", ".join(str(n) for n in single)
        return None, f"one seed at N={ns} ({curve['label']}); a seed bootstrap needs 2 or more"
    rng = random.Random(f"{SEED}:{curve['model']}:{curve['init']}:{curve['source']}")
    out = []
    for _ in range(RESAMPLES):
        out.append({"points": [{"n": p["n"], "error": math.fsum(rng.choices(p["errors"], k=len(p["errors"])))
                                / len(p["errors"])} for p in curve["points"]]})
    return out, None


def _no_interval(note: str) -> dict:
    return {"ci": None, "scratch_not_reached": 0, "finetune_not_reached": 0, "no_factor": 0, "note": note}


def _factor_interval(samples: dict, scratch: Optional[dict], finetune: dict, target: float,
                     factor: Optional[float]) -> dict:
    if factor is None:
        return _no_interval("no factor at this target, so no interval")
    for curve in (scratch, finetune):
        if samples[id(curve)][0] is None:
            return _no_interval(samples[id(curve)][1])
    values, counts = [], {"scratch_not_reached": 0, "finetune_not_reached": 0, "no_factor": 0}
    for s, f in zip(samples[id(scratch)][0], samples[id(finetune)][0]):
        e = efficiency(s, f, target)
        if e["factor"] is not None:
            values.append(e["factor"])
        elif e["scratch_status"] == "not_reached" and e["finetune_status"] != "not_reached":
            counts["scratch_not_reached"] += 1
            values.append(math.inf)
        elif e["finetune_status"] == "not_reached" and e["scratch_status"] != "not_reached":
            counts["finetune_not_reached"] += 1
            values.append(0.0)
        else:
            counts["no_factor"] += 1
    if not values:
        return {**_no_interval("no resample gave a factor"), **counts}
    lo, hi = percentile_interval(values, LEVEL)
    note = (f"{counts['no_factor']} of {RESAMPLES} resamples gave no factor and are left out"
            if counts["no_factor"] else None)
    return {"ci": [lo if lo > 0 else None, hi if math.isfinite(hi) else None], **counts, "note": note}


def _fit_interval(curve: dict, samples: dict) -> dict:
    out = {k: curve[k] for k in ("model", "init", "source", "label")}
    out.update(b=curve["fit"]["b"], b_ci=None, note=None)
    resampled, why = samples[id(curve)]
    if resampled is None:
        out["note"] = why
        return out
    bs = [fit["b"] for fit in (power_law_fit([p["n"] for p in r["points"]], [p["error"] for p in r["points"]])
                               for r in resampled) if fit]
    if bs:
        out["b_ci"] = list(percentile_interval(bs, LEVEL))
    return out


def _round2(x: float, up: bool) -> float:
    """x to 2 significant digits, rounded up (or down)."""
    exp = math.floor(math.log10(x)) - 1
    k = (math.ceil if up else math.floor)(x / 10 ** exp - (1e-9 if up else -1e-9))
    return float(f"{k}e{exp}")


def table_targets(scratch: Optional[dict], finetune: dict, target: float) -> list[float]:
    """The sweep's target plus TABLE_TARGETS round values spread (evenly in log) over the error
    range both curves span and one just outside each end, largest first; just the ends when
    the curves do not overlap."""
    errs = [[p["error"] for p in c["points"] if p["error"] > 0] for c in (scratch, finetune) if c]
    if len(errs) < 2 or not all(errs):
        return [target]
    lo, hi = max(min(e) for e in errs), min(max(e) for e in errs)
    if lo >= hi:
        picks = [float(f"{lo:.3g}"), float(f"{hi:.3g}")]
    else:
        step = (math.log(hi) - math.log(lo)) / (TABLE_TARGETS - 1)
        picks = [math.exp(math.log(lo) + i * step) for i in range(TABLE_TARGETS)]
        picks = ([_round2(picks[0], up=True)] + [float(f"{t:.2g}") for t in picks[1:-1]]
                 + [_round2(picks[-1], up=False)])
        # one step past each end: where one curve has no N and the factor turns into a bound
        picks += [_round2(lo * 0.999, up=False), _round2(hi * 1.001, up=True)]
    return sorted({target, *picks}, reverse=True)


def _table_row(samples: dict, scratch: Optional[dict], finetune: dict, target: float, requested: float) -> dict:
    e = efficiency(scratch, finetune, target, finetune["model"], finetune["source"])
    bound = "lower" if e["factor_is_lower_bound"] else "upper" if e["factor_is_upper_bound"] else None
    row = {"target": target, "requested": target == requested, "factor": e["factor"], "bound": bound,
           **{k: e[k] for k in ("n_scratch", "n_finetune", "scratch_status", "finetune_status", "reason")}}
    return {**row, **_factor_interval(samples, scratch, finetune, target, e["factor"])}


def seed_uncertainty(res: dict) -> tuple[dict, list[dict]]:
    """(res["uncertainty"], res["factor_table"]) for a `sweep_results` dict."""
    curves = [c for c in res["curves"] if c["init"] != "zeroshot"]
    samples = {id(c): _resampled_curves(c) for c in curves}
    tables, effs = [], []
    for eff in res["efficiency_by_model"]:
        finetune = next(c for c in curves if c["init"] == "finetune" and c["model"] == eff["model"]
                        and c["source"] == eff["source"])
        scratch = next((c for c in curves if c["init"] == "scratch" and c["model"] == eff["model"]), None)
        rows = [_table_row(samples, scratch, finetune, t, res["target"])
                for t in table_targets(scratch, finetune, res["target"])]
        tables.append({"model": eff["model"], "source": eff["source"], "rows": rows})
        row = next(r for r in rows if r["requested"])
        effs.append({"model": eff["model"], "source": eff["source"], "target": res["target"],
                     "factor": row["factor"], **{k: row[k] for k in (
                         "ci", "scratch_not_reached", "finetune_not_reached", "no_factor", "note")}})
    uncertainty = {
        "method": METHOD, "resamples": RESAMPLES, "seed": SEED, "level": LEVEL,
        "efficiency": effs[0] if effs else None, "efficiency_by_model": effs,
        "fits": [_fit_interval(c, samples) for c in curves if c["fit"]],
    }
    return uncertainty, tables
