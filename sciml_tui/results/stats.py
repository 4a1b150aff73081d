"""Small numerics for error-vs-N curves: seed statistics, power-law fits, log-log crossings.

Pure Python (no numpy) so that `sciml results` starts fast and the dashboard can call it freely.
"""

from __future__ import annotations

import math
from typing import Optional, Sequence


def is_number(x: object) -> bool:
    """True for a finite real number (bools, None, NaN and inf are not numbers here)."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return False
    return math.isfinite(x)


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof=1) of the values; std is 0 for one value."""
    if not values:
        raise ValueError("mean_std of no values")
    n = len(values)
    mean = math.fsum(values) / n
    if n == 1:
        return mean, 0.0
    var = math.fsum((v - mean) ** 2 for v in values) / (n - 1)
    return mean, math.sqrt(var)


def power_law_fit(ns: Sequence[float], errors: Sequence[float]) -> Optional[dict]:
    """Least-squares fit of log(error) = log(a) + b log(N).

    Returns {"a", "b", "log_a", "r2", "n_points"} or None when fewer than 2 usable points
    (positive N and error) or all N are equal. r2 is None when the errors are all equal.
    """
    pts = [(math.log(n), math.log(e)) for n, e in zip(ns, errors)
           if is_number(n) and is_number(e) and n > 0 and e > 0]
    if len(pts) < 2:
        return None
    k = len(pts)
    mx = math.fsum(x for x, _ in pts) / k
    my = math.fsum(y for _, y in pts) / k
    sxx = math.fsum((x - mx) ** 2 for x, _ in pts)
    if sxx == 0.0:
        return None
    sxy = math.fsum((x - mx) * (y - my) for x, y in pts)
    b = sxy / sxx
    log_a = my - b * mx
    syy = math.fsum((y - my) ** 2 for _, y in pts)
    ss_res = math.fsum((y - (log_a + b * x)) ** 2 for x, y in pts)
    r2 = None if syy == 0.0 else 1.0 - ss_res / syy
    a = math.exp(log_a) if abs(log_a) < 700 else None  # degenerate fits would overflow a float
    return {"a": a, "b": b, "log_a": log_a, "r2": r2, "n_points": k}


def crossing_n(ns: Sequence[float], errors: Sequence[float], target: float) -> dict:
    """Where a mean error curve first gets down to `target`, by log-log interpolation.

    `ns` ascending. Returns {"status", "n"}:
    - "interpolated": n on the segment between the last point above target and the first
      point at or below it (straight line in log N, log error);
    - "below_at_smallest_n": the first point is already at or below target; n is that
      smallest N, an upper bound on the true crossing (the curve was not measured lower);
    - "not_reached": no point gets down to target; n is None;
    - "missing": no points; n is None.
    """
    if not ns:
        return {"status": "missing", "n": None}
    for i, (n, e) in enumerate(zip(ns, errors)):
        if e <= target:
            if i == 0:
                return {"status": "below_at_smallest_n", "n": float(n)}
            n0, e0 = ns[i - 1], errors[i - 1]
            if e == target or e == e0 or e <= 0 or e0 <= 0:
                return {"status": "interpolated", "n": float(n)}
            t = (math.log(target) - math.log(e0)) / (math.log(e) - math.log(e0))
            log_n = math.log(n0) + t * (math.log(n) - math.log(n0))
            return {"status": "interpolated", "n": math.exp(log_n)}
    return {"status": "not_reached", "n": None}
