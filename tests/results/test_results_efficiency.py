"""Data-efficiency factor N_scratch(eps) / N_finetune(eps) by log-log interpolation."""

from __future__ import annotations

import pytest

from results_records import power_law_runs, rec
from sciml_tui.results import efficiency_line, sweep_results

LADDER = [2 ** k for k in range(3, 16)]  # 8 .. 32768


def test_factor_100_for_parallel_power_laws():
    # scratch 0.5 N^-1/2 reaches 1e-2 at N = 2500; fine-tuned 0.05 N^-1/2 at N = 25.
    runs = (power_law_runs(0.5, -0.5, "scratch", LADDER)
            + power_law_runs(0.05, -0.5, "finetune", [4] + LADDER))
    eff = sweep_results(runs, "s", target=1e-2)["efficiency"]
    # On a pure power law, straight-line log-log interpolation is exact.
    assert eff["n_scratch"] == pytest.approx(2500, rel=1e-9)
    assert eff["n_finetune"] == pytest.approx(25, rel=1e-9)
    assert eff["factor"] == pytest.approx(100, rel=1e-9)
    assert eff["factor_is_lower_bound"] is False and eff["reason"] is None
    assert eff["scratch_status"] == eff["finetune_status"] == "interpolated"
    assert "100x fewer examples" in efficiency_line(eff)


def test_factor_against_a_hand_interpolation_between_two_points():
    runs = [rec("scratch", 64, 1e-3, 0, 0.04), rec("scratch", 256, 1e-3, 0, 0.005),
            rec("finetune", 8, 1e-3, 0, 0.02), rec("finetune", 32, 1e-3, 0, 0.008)]
    eff = sweep_results(runs, "s", target=0.01)["efficiency"]
    # scratch: log-log line through (64, .04), (256, .005): slope log(1/8)/log(4) = -1.5;
    # 0.01 = 0.04 (N/64)^-1.5 -> N = 64 * 4^(2/3).  fine-tuned: slope log(0.4)/log(4);
    # 0.01 = 0.02 (N/8)^s -> N = 8 * 4^(log(0.5)/log(0.4)).
    import math
    n_s = 64 * 4 ** (2 / 3)
    n_f = 8 * 4 ** (math.log(0.5) / math.log(0.4))
    assert eff["n_scratch"] == pytest.approx(n_s, rel=1e-12)
    assert eff["n_finetune"] == pytest.approx(n_f, rel=1e-12)
    assert eff["factor"] == pytest.approx(n_s / n_f, rel=1e-12)


def test_first_crossing_is_used_on_a_non_monotone_curve():
    runs = [rec("scratch", 8, 1e-3, 0, 0.02), rec("scratch", 16, 1e-3, 0, 0.01),
            rec("scratch", 32, 1e-3, 0, 0.011), rec("scratch", 64, 1e-3, 0, 0.001),
            rec("finetune", 4, 1e-3, 0, 0.02), rec("finetune", 8, 1e-3, 0, 0.01)]
    eff = sweep_results(runs, "s")["efficiency"]
    assert eff["n_scratch"] == pytest.approx(16)
    assert eff["factor"] == pytest.approx(2)


def test_not_reached_gives_null_factor_with_reason():
    runs = (power_law_runs(0.5, -0.5, "scratch", [8, 16, 32, 64])  # best 0.0625 > 1e-2
            + power_law_runs(0.05, -0.5, "finetune", [8, 16, 32, 64]))
    eff = sweep_results(runs, "s")["efficiency"]
    assert eff["factor"] is None
    assert eff["scratch_status"] == "not_reached"
    assert "scratch never reaches 0.01" in eff["reason"]
    assert "not reached" in efficiency_line(eff)
    runs = (power_law_runs(0.5, -0.5, "scratch", LADDER)
            + power_law_runs(5.0, -0.5, "finetune", [8, 16]))
    eff = sweep_results(runs, "s")["efficiency"]
    assert eff["factor"] is None and eff["finetune_status"] == "not_reached"


def test_finetune_below_target_at_smallest_n_is_a_lower_bound():
    runs = (power_law_runs(0.5, -0.5, "scratch", LADDER)
            + power_law_runs(0.01, -0.5, "finetune", [8, 16, 32]))  # 0.0035 at N=8
    eff = sweep_results(runs, "s")["efficiency"]
    assert eff["factor_is_lower_bound"] is True
    assert eff["n_finetune"] == 8
    assert eff["factor"] == pytest.approx(2500 / 8, rel=1e-9)
    assert "lower bound" in eff["reason"]
    assert "at least" in efficiency_line(eff)


def test_both_below_at_smallest_n_gives_no_factor():
    runs = (power_law_runs(0.001, -0.5, "scratch", [8, 16])
            + power_law_runs(0.0001, -0.5, "finetune", [8, 16]))
    eff = sweep_results(runs, "s")["efficiency"]
    assert eff["factor"] is None and "smaller N" in eff["reason"]


def test_scratch_only_below_at_smallest_n_is_an_upper_bound():
    runs = (power_law_runs(0.001, -0.5, "scratch", [64, 128])
            + [rec("finetune", 8, 1e-3, 0, 0.02), rec("finetune", 32, 1e-3, 0, 0.005)])
    eff = sweep_results(runs, "s")["efficiency"]
    assert eff["factor_is_upper_bound"] is True
    assert eff["factor"] == pytest.approx(64 / 16, rel=1e-12)


def test_missing_scratch_curve():
    eff = sweep_results(power_law_runs(0.05, -0.5, "finetune", LADDER), "s")["efficiency"]
    assert eff["factor"] is None and eff["scratch_status"] == "missing"


def test_failed_runs_do_not_move_the_crossing():
    runs = (power_law_runs(0.5, -0.5, "scratch", LADDER)
            + power_law_runs(0.05, -0.5, "finetune", [4] + LADDER))
    runs.append(rec("finetune", 16, 1e-4, 0, 0.0, state="diverged"))
    runs.append(rec("scratch", 4096, 1e-4, 0, 1e-6, state="failed"))
    eff = sweep_results(runs, "s")["efficiency"]
    assert eff["factor"] == pytest.approx(100, rel=1e-9)
