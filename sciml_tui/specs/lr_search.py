"""The lr-search decisions, pure: which lr a point chooses, which lr an adaptive grid adds
next, which epochs are halving rungs and which lrs a rung keeps.

The planner (what a dry run shows may be added), the scheduler (what it adds and stops) and
the results (which lr a point reports, whether it is still at an edge) all decide through
these functions, so they cannot disagree. No torch, no store, no files.
"""

from __future__ import annotations

import math
from typing import Mapping, Optional, Sequence

LR_DIGITS = 3  # an added lr is rounded to 3 significant digits: readable run ids, same value on every machine


def best_lr(mean_val: Mapping[float, Optional[float]]) -> Optional[float]:
    """The lr with the lowest mean validation error (ties: the lower lr); None when no lr has one."""
    scored = [(v, lr) for lr, v in mean_val.items() if v is not None and math.isfinite(v)]
    return min(scored)[1] if scored else None


def edge_side(tried: Sequence[float], chosen: Optional[float]) -> Optional[str]:
    """"high" / "low" when `chosen` is the largest / smallest of two or more lrs tried, else None."""
    grid = sorted(set(tried))
    if len(grid) < 2 or chosen is None:
        return None
    return "high" if chosen == grid[-1] else "low" if chosen == grid[0] else None


def step_beyond(tried: Sequence[float], side: str) -> float:
    """The next lr past the `side` end of `tried`, at the log spacing of the two values at that end."""
    grid = sorted(set(tried))
    if len(grid) < 2:
        raise ValueError("an lr grid needs two values to have a spacing")
    if side == "high":
        value = grid[-1] * (grid[-1] / grid[-2])
    else:
        value = grid[0] * (grid[0] / grid[1])
    return float(f"{value:.{LR_DIGITS}g}")


def within(lr: float, bounds: Sequence[float]) -> bool:
    lo, hi = bounds
    return lo * (1 - 1e-9) <= lr <= hi * (1 + 1e-9)


def next_lr(tried: Sequence[float], chosen: Optional[float], bounds: Sequence[float]) -> Optional[float]:
    """The lr an adaptive grid adds for a point whose choice is `chosen`: the next value past
    the edge it sits on, or None when the choice is interior or that value is past `bounds`."""
    side = edge_side(tried, chosen)
    if side is None:
        return None
    value = step_beyond(tried, side)
    return value if within(value, bounds) else None


def at_bound(tried: Sequence[float], chosen: Optional[float], bounds: Sequence[float]) -> bool:
    """Whether `chosen` is at an edge that may not grow: the next value would leave `bounds`."""
    return edge_side(tried, chosen) is not None and next_lr(tried, chosen, bounds) is None


def growth(grid: Sequence[float], bounds: Sequence[float], side: str) -> list[float]:
    """Every lr an adaptive grid could add on `side`, in order, before it reaches the bound."""
    tried, out = list(grid), []
    while len(out) < 64:
        value = step_beyond(tried, side)
        if not within(value, bounds) or value in tried:
            break
        out.append(value)
        tried.append(value)
    return out


def rung_epochs(epochs: int, fractions: Sequence[float]) -> list[int]:
    """The epochs at which halving compares the candidates: each fraction of the budget,
    rounded, at least 1, before the last epoch (ascending, no repeats)."""
    return sorted({e for f in fractions if (e := max(1, round(f * epochs))) < epochs})


def rung_keep(scores: Mapping[float, Optional[float]], keep: float) -> list[float]:
    """The lrs a rung keeps: the ceil(keep x count) best by score (at least one), lower score
    first, ties to the lower lr; a missing or non-finite score (diverged) ranks last."""
    count = max(1, math.ceil(keep * len(scores) - 1e-9))
    order = sorted(scores, key=lambda lr: (_rank_score(scores[lr]), lr))
    return sorted(order[:count])


def _rank_score(score: Optional[float]) -> float:
    return score if score is not None and math.isfinite(score) else math.inf


def mean_val_by_lr(rows: Sequence[tuple[float, str, Optional[float]]]) -> dict[float, Optional[float]]:
    """Mean `best_val_error` per lr over the rows (lr, state, best_val_error) that are done with a
    finite one; an lr with none (diverged, not finished) maps to None."""
    vals: dict[float, list[float]] = {}
    for lr, state, val in rows:
        vals.setdefault(lr, [])
        if state == "done" and val is not None and math.isfinite(val):
            vals[lr].append(val)
    return {lr: (sum(v) / len(v) if v else None) for lr, v in vals.items()}


def adaptive_addition(rows: Sequence[tuple[float, str, Optional[float]]], bounds: Sequence[float]) -> Optional[float]:
    """The lr to add to a point whose runs are `rows` (lr, state, best_val_error): None until
    every run is finished (done or diverged), and when the choice is interior or at the bound."""
    if not rows or any(state not in ("done", "diverged") for _, state, _ in rows):
        return None
    means = mean_val_by_lr(rows)
    return next_lr(list(means), best_lr(means), bounds)
