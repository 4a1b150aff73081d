"""Warnings a reader needs next to the numbers: lr at the grid edge, late best epochs, bounds,
targets off the curves, thin fits, few seeds; and the metric/± legend."""

from __future__ import annotations

import json

import pytest

from results_records import power_law_runs, rec
from sciml_tui.results import sweep_results
from sciml_tui.results.caveats import caveat_lines, legend_line

NS = [8, 16, 32, 64]
SEEDS = (0, 1, 2)


def curve(res, init):
    return next(c for c in res["curves"] if c["init"] == init)


def kinds(res):
    return [w["kind"] for w in res["warnings"]]


def texts(res, kind):
    return [w["text"] for w in res["warnings"] if w["kind"] == kind]


def clean_runs():
    """Three seeds, a three-lr grid whose middle lr wins at every N, early best epochs, and
    curves that overlap between errors 0.071 and 0.143."""
    runs = []
    for init, a in (("scratch", 0.8), ("finetune", 0.4)):
        for n in NS + [128]:
            for s in SEEDS:
                err = a * n ** -0.5 * (1 + 0.01 * s)
                runs.append(rec(init, n, 1e-3, s, err, best_epoch=20, epochs_run=40))
                for lr in (1e-4, 1e-2):  # worse validation on both sides of 1e-3
                    runs.append(rec(init, n, lr, s, err, val=2 * err, best_epoch=20, epochs_run=40))
    return runs


def test_a_clean_sweep_has_no_warnings_but_still_a_legend():
    res = sweep_results(clean_runs(), "s", target=0.09)
    assert res["efficiency"]["factor"] is not None and res["efficiency"]["reason"] is None
    assert res["warnings"] == []
    assert all(p["lr_at_edge"] is None for c in res["curves"] for p in c["points"])
    assert "test relative L2" in res["legend"] and "sample std" in res["legend"]
    assert caveat_lines(res) == [legend_line(res)]


def test_lr_at_the_top_or_bottom_of_the_grid_is_marked_and_warned():
    runs = [rec("scratch", 8, 3e-3, 0, 0.5, val=0.6), rec("scratch", 8, 1e-2, 0, 0.4, val=0.5),
            rec("scratch", 16, 3e-3, 0, 0.3, val=0.3), rec("scratch", 16, 1e-2, 0, 0.4, val=0.4),
            rec("scratch", 32, 1e-3, 0, 0.3, val=0.5), rec("scratch", 32, 3e-3, 0, 0.2, val=0.2),
            rec("scratch", 32, 1e-2, 0, 0.4, val=0.4),
            rec("scratch", 64, 1e-3, 0, 0.1)]  # one lr tried: no grid, no edge
    res = sweep_results(runs, "s")
    marks = {p["n"]: p["lr_at_edge"] for p in curve(res, "scratch")["points"]}
    assert marks == {8: "high", 16: "low", 32: None, 64: None}
    lines = texts(res, "lr_edge")
    assert len(lines) == 2
    assert any("N=8" in t and "largest" in t and "1e-2" in t for t in lines)
    assert any("N=16" in t and "smallest" in t and "3e-3" in t for t in lines)
    assert all("outside" in t for t in lines)
    assert all("N=32" not in t and "N=64" not in t for t in lines)


def test_best_epoch_in_the_last_tenth_for_most_seeds_is_warned():
    runs = [rec("scratch", 8, 1e-3, s, 0.5, best_epoch=b, epochs_run=40)
            for s, b in enumerate([40, 38, 12])]  # 2 of 3 seeds late (> 36)
    runs += [rec("scratch", 16, 1e-3, s, 0.4, best_epoch=b, epochs_run=40)
             for s, b in enumerate([40, 36, 12])]  # 36 is not in the last 10%: 1 of 3
    runs += [rec("scratch", 32, 1e-3, s, 0.3) for s in SEEDS]  # epochs unknown: no claim
    res = sweep_results(runs, "s")
    late = {p["n"]: p["late_best_epoch"] for p in curve(res, "scratch")["points"]}
    assert late == {8: True, 16: False, 32: None}
    [line] = texts(res, "late_best_epoch")
    assert "N=8" in line and "N=16" not in line
    assert "last 10%" in line and "still improving" in line
    assert "3 of 6 runs" in line  # the curve's seeds with known epochs, late ones counted


def test_a_late_best_epoch_on_a_flat_curve_is_convergence_not_a_short_budget():
    """Under the cosine schedule the best epoch of a converged run often lands in the last 10%
    while the error no longer moves: only a gain above 1% over those epochs is warned."""
    flat = [rec("scratch", 8, 1e-3, s, 0.5, best_epoch=40, epochs_run=40, late_gain=g)
            for s, g in enumerate([0.0, 0.002, 0.009])]
    falling = [rec("scratch", 16, 1e-3, s, 0.4, best_epoch=40, epochs_run=40, late_gain=g)
               for s, g in enumerate([0.05, 0.02, 0.001])]  # 2 of 3 still falling
    unknown = [rec("scratch", 32, 1e-3, s, 0.3, best_epoch=40, epochs_run=40) for s in SEEDS]  # older results
    res = sweep_results(flat + falling + unknown, "s")
    late = {p["n"]: p["late_best_epoch"] for p in curve(res, "scratch")["points"]}
    assert late == {8: False, 16: True, 32: True}
    [line] = texts(res, "late_best_epoch")
    assert "N=16, 32" in line and "N=8" not in line
    assert "5 of 9 runs" in line and "more than 1%" in line


def test_late_gain_is_the_relative_fall_over_the_last_tenth():
    from sciml_tui.learning.cadence import late_gain

    assert late_gain({10: 0.5, 90: 0.2, 100: 0.19}, 100) == pytest.approx(0.05)  # 0.2 -> 0.19
    assert late_gain({10: 0.5, 90: 0.2, 100: 0.2}, 100) == 0.0  # flat: converged
    assert late_gain({10: 0.5, 50: 0.2, 100: 0.3}, 100) == 0.0  # worse at the end: no gain
    assert late_gain({95: 0.5, 100: 0.4}, 100) is None  # nothing evaluated up to epoch 90
    assert late_gain({}, 100) is None


def test_best_epochs_travel_with_the_point():
    runs = [rec("scratch", 8, 1e-3, s, 0.5, best_epoch=b, epochs_run=40) for s, b in ((1, 7), (0, 9))]
    p = curve(sweep_results(runs, "s"), "scratch")["points"][0]
    assert p["best_epochs"] == [9, 7] and p["epochs_run"] == [40, 40]  # in seed order


def test_factor_that_is_only_a_bound_is_warned():
    runs = (power_law_runs(0.5, -0.5, "scratch", NS, seeds=SEEDS)
            + power_law_runs(0.05, -0.5, "finetune", NS, seeds=SEEDS))  # 0.018 at N=8
    res = sweep_results(runs, "s", target=0.07)
    assert res["efficiency"]["factor_is_lower_bound"]
    [line] = texts(res, "factor_bound")
    assert "lower bound" in line and "0.07" in line and "smaller N" in line


def test_target_above_the_zeroshot_error_is_warned():
    runs = (power_law_runs(0.8, -0.5, "scratch", NS, seeds=SEEDS)
            + power_law_runs(0.3, -0.5, "finetune", NS, seeds=SEEDS)
            + [rec("zeroshot", None, None, s, 0.1) for s in SEEDS])
    res = sweep_results(runs, "s", target=0.12)
    [line] = texts(res, "target_above_zeroshot")
    assert "0.12" in line and "zero-shot error 0.1" in line and "no downstream examples" in line
    assert texts(sweep_results(runs, "s", target=0.09), "target_above_zeroshot") == []


def test_target_outside_the_range_both_curves_span_is_warned():
    runs = (power_law_runs(0.8, -0.5, "scratch", NS, seeds=SEEDS)    # 0.28 .. 0.1
            + power_law_runs(0.3, -0.5, "finetune", NS, seeds=SEEDS))  # 0.106 .. 0.0375
    res = sweep_results(runs, "s", target=0.05)
    assert res["efficiency"]["factor"] is None
    [line] = texts(res, "target_outside_range")
    assert "0.05" in line and "0.1" in line and "0.106" in line
    assert texts(sweep_results(runs, "s", target=0.104), "target_outside_range") == []


def test_target_crossed_in_the_first_interval_of_a_curve_is_warned():
    # fine-tuned starts at 0.211 and reaches the target 0.2 before its second N: the factor
    # then rests on one interpolated step, and a target above 0.211 gives only a bound.
    runs = [rec("scratch", n, 1e-3, s, e) for n, e in ((8, 0.6), (16, 0.45), (32, 0.3),
                                                      (64, 0.2), (128, 0.15)) for s in range(3)]
    runs += [rec("finetune", n, 1e-3, s, e) for n, e in ((8, 0.211), (16, 0.19), (32, 0.16))
             for s in range(3)]
    res = sweep_results(runs, "s", target=0.2)
    [line] = texts(res, "first_interval")
    assert "fine-tuned" in line and "N=8 and 16" in line and "0.211" in line and "bound" in line
    assert texts(sweep_results(runs, "s", target=0.18), "first_interval") == []


def test_fit_through_fewer_than_three_points_is_warned():
    res = sweep_results(power_law_runs(0.8, -0.5, "scratch", [8, 16], seeds=SEEDS), "s")
    [line] = texts(res, "thin_fit")
    assert "2 points" in line and "scratch" in line
    res = sweep_results(power_law_runs(0.8, -0.5, "scratch", [8, 16, 32], seeds=SEEDS), "s")
    assert "thin_fit" not in kinds(res)


def test_fewer_than_three_seeds_is_warned_once_per_model():
    runs = (power_law_runs(0.8, -0.5, "scratch", NS, seeds=(0, 1))
            + power_law_runs(0.3, -0.5, "finetune", NS, seeds=SEEDS)
            + [rec("zeroshot", None, None, 0, 0.3)])  # one evaluation of a fixed checkpoint
    res = sweep_results(runs, "s")
    [line] = texts(res, "few_seeds")
    assert "4 of 8 points" in line and "fewer than 3 seeds" in line and "as few as 2" in line
    many = power_law_runs(0.8, -0.5, "scratch", NS, seeds=SEEDS)
    assert "few_seeds" not in kinds(sweep_results(many, "s"))


def test_warnings_name_model_and_curve_and_are_json():
    runs = power_law_runs(0.8, -0.5, "scratch", [8, 16], seeds=(0,), model="fno-1m")
    res = sweep_results(runs, "s")
    assert json.loads(json.dumps(res, allow_nan=False)) == res
    for w in res["warnings"]:
        assert w["model"] == "fno-1m" and "fno-1m" in w["text"]
        assert set(w) == {"kind", "model", "source", "text"}


def test_caveat_lines_are_the_legend_then_each_warning():
    runs = power_law_runs(0.8, -0.5, "scratch", [8, 16], seeds=(0,))
    res = sweep_results(runs, "s")
    lines = caveat_lines(res)
    assert lines[0] == res["legend"]
    assert lines[1:] == ["warning: " + w["text"] for w in res["warnings"]]
