"""Seed bootstrap intervals on the data-efficiency factor and the fitted exponents, and the
factor at several targets."""

from __future__ import annotations

import pytest

from results_records import power_law_runs, rec
from sciml_tui.results import sweep_results
from sciml_tui.results.caveats import factor_table, interval_lines
from sciml_tui.results.uncertainty import RESAMPLES, percentile_interval

NS = [8, 16, 32, 64]


def noisy_runs(seeds=(0, 1, 2)):
    """Scratch 0.8 N^-1/2 and fine-tuned 0.4 N^-1/2, each seed off by up to 10%."""
    runs = []
    for init, a in (("scratch", 0.8), ("finetune", 0.4)):
        for n in NS:
            for s in seeds:
                runs.append(rec(init, n, 1e-3, s, a * n ** -0.5 * (1 + 0.1 * ((s * 7 + n) % 3 - 1))))
    return runs


def test_factor_interval_is_deterministic_and_contains_the_estimate():
    res = sweep_results(noisy_runs(), "s", target=0.12)
    u = res["uncertainty"]
    assert u["resamples"] == RESAMPLES and u["level"] == 0.95
    assert "bootstrap" in u["method"] and "seed" in u["method"]
    eff = u["efficiency"]
    assert eff is u["efficiency_by_model"][0] or eff == u["efficiency_by_model"][0]
    factor = res["efficiency"]["factor"]
    assert eff["factor"] == factor
    lo, hi = eff["ci"]
    assert lo < factor < hi
    assert eff["no_factor"] == 0 and eff["note"] is None
    again = sweep_results(noisy_runs(), "s", target=0.12)["uncertainty"]
    assert again == u


def test_identical_seeds_give_a_zero_width_interval():
    runs = (power_law_runs(0.8, -0.5, "scratch", NS, seeds=(0, 1))
            + power_law_runs(0.4, -0.5, "finetune", NS, seeds=(0, 1)))
    res = sweep_results(runs, "s", target=0.12)
    lo, hi = res["uncertainty"]["efficiency"]["ci"]
    assert lo == pytest.approx(4.0) and hi == pytest.approx(4.0)
    for f in res["uncertainty"]["fits"]:
        assert f["b_ci"] == pytest.approx([-0.5, -0.5])


def test_a_single_seed_gives_no_interval_and_says_so():
    runs = noisy_runs(seeds=(0,))
    res = sweep_results(runs, "s", target=0.12)
    eff = res["uncertainty"]["efficiency"]
    assert res["efficiency"]["factor"] is not None
    assert eff["ci"] is None
    assert "one seed" in eff["note"] and "N=8" in eff["note"]
    assert all(f["b_ci"] is None and "one seed" in f["note"] for f in res["uncertainty"]["fits"])
    [line] = [ln for ln in interval_lines(res, "tiny") if "factor" in ln]
    assert "no interval" in line and "one seed" in line


def test_resamples_that_never_reach_the_target_leave_the_interval_open_and_are_counted():
    # scratch gets to 0.1 only on the mean of N=64's seeds (0.05, 0.12): a resample drawing
    # 0.12 twice never reaches it, so the factor is unbounded above in about 1 of 4 resamples.
    runs = [rec("scratch", n, 1e-3, s, e) for n, es in ((8, (0.4, 0.42)), (16, (0.3, 0.31)),
                                                         (32, (0.2, 0.21)), (64, (0.05, 0.12)))
            for s, e in enumerate(es)]
    runs += [rec("finetune", n, 1e-3, s, e) for n, es in ((8, (0.2, 0.21)), (16, (0.09, 0.1)))
             for s, e in enumerate(es)]
    res = sweep_results(runs, "s", target=0.1)
    eff = res["uncertainty"]["efficiency"]
    assert res["efficiency"]["factor"] is not None
    assert 150 < eff["scratch_not_reached"] < 350
    assert eff["ci"][0] is not None and eff["ci"][1] is None
    [line] = [ln for ln in interval_lines(res, "tiny") if "factor" in ln]
    assert "unbounded" in line and f"{eff['scratch_not_reached']} of {RESAMPLES}" in line


def test_no_factor_gives_no_interval():
    runs = (power_law_runs(0.8, -0.5, "scratch", NS, seeds=(0, 1))
            + power_law_runs(0.4, -0.5, "finetune", NS, seeds=(0, 1)))
    eff = sweep_results(runs, "s", target=0.01)["uncertainty"]["efficiency"]
    assert eff["ci"] is None and eff["factor"] is None and "no factor" in eff["note"]


def test_exponent_interval_contains_the_fitted_exponent():
    res = sweep_results(noisy_runs(), "s")
    fits = res["uncertainty"]["fits"]
    assert [f["init"] for f in fits] == ["scratch", "finetune"]
    for f, c in zip(fits, [c for c in res["curves"] if c["fit"]]):
        assert f["b"] == c["fit"]["b"]
        lo, hi = f["b_ci"]
        assert lo <= f["b"] <= hi and lo < hi


def test_percentile_interval_by_rank_with_infinities():
    vals = list(range(1, 101))
    assert percentile_interval(vals, 0.9) == (5, 96)
    assert percentile_interval([float("inf")] * 10 + vals[:90], 0.9) == (5, float("inf"))


def test_factor_table_at_several_targets_on_parallel_power_laws():
    runs = (power_law_runs(0.5, -0.5, "scratch", [2 ** k for k in range(3, 14)], seeds=(0, 1))
            + power_law_runs(0.05, -0.5, "finetune", [8, 16, 32, 64], seeds=(0, 1)))
    res = sweep_results(runs, "s", target=0.015)
    [tab] = res["factor_table"]
    rows = tab["rows"]
    targets = [r["target"] for r in rows]
    assert targets == sorted(targets, reverse=True) and len(targets) >= 4
    assert 0.015 in targets and [r["requested"] for r in rows].count(True) == 1
    exact = [r for r in rows if r["bound"] is None and r["factor"] is not None]
    assert len(exact) >= 3
    for r in exact:  # error ratio 10 at every N, exponent -1/2: factor 100 at every target
        assert r["factor"] == pytest.approx(100, rel=1e-9)
        assert r["ci"] == pytest.approx([100, 100], rel=1e-9)
    # both curves span 0.00625 (fine-tuned at 64) to 0.0177 (fine-tuned at 8)
    inside = [t for t, r in zip(targets, rows) if not r["requested"]][1:-1]
    assert all(0.00625 <= t <= 0.0177 for t in inside)
    headers, cells = factor_table(res, "tiny")
    assert headers[0] == "target" and len(cells) == len(rows)
    assert any("100x" in " ".join(row) for row in cells)


def test_factor_table_shows_the_cliff_next_to_the_zeroshot_level():
    # fine-tuned starts at 0.211 just under zero-shot 0.232: targets above 0.211 are bounds.
    runs = [rec("scratch", n, 1e-3, s, e) for n, e in ((8, 0.6), (16, 0.45), (32, 0.3),
                                                      (64, 0.2), (128, 0.15)) for s in (0, 1)]
    runs += [rec("finetune", n, 1e-3, s, e) for n, e in ((8, 0.211), (16, 0.19), (32, 0.16),
                                                       (64, 0.13), (128, 0.11)) for s in (0, 1)]
    runs += [rec("zeroshot", None, None, s, 0.232) for s in (0, 1)]
    res = sweep_results(runs, "s", target=0.2)
    rows = res["factor_table"][0]["rows"]
    at = {r["target"]: r for r in rows}
    assert at[0.2]["requested"] and at[0.2]["factor"] == res["efficiency"]["factor"]
    exact = [r["factor"] for r in rows if r["bound"] is None and r["factor"] is not None]
    assert max(exact) / min(exact) > 2  # the factor moves a lot with the target
    # one row past each end of the shared range: a bound above it, "not reached" below it
    assert rows[0]["target"] > 0.211 and rows[0]["bound"] == "lower"
    assert rows[-1]["target"] < 0.15 and rows[-1]["scratch_status"] == "not_reached"
    assert all(0.15 <= r["target"] <= 0.211 for r in rows[1:-1])
