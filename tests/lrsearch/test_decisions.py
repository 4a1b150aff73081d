"""The pure lr-search decisions: choice, adaptive growth, rungs and what a rung keeps."""

from __future__ import annotations

import math

import pytest

from sciml_tui.specs.lr_search import (at_bound, best_lr, edge_side, growth, next_lr, rung_epochs, rung_keep,
                                       step_beyond)


def test_best_lr_lowest_mean_ties_to_lower_lr_and_ignores_missing():
    assert best_lr({1e-3: 0.2, 3e-3: 0.1, 1e-2: 0.3}) == 3e-3
    assert best_lr({1e-3: 0.1, 3e-3: 0.1}) == 1e-3
    assert best_lr({1e-3: None, 3e-3: math.nan, 1e-2: 0.5}) == 1e-2
    assert best_lr({1e-3: None}) is None


def test_edge_side():
    assert edge_side([3e-3, 1e-2], 1e-2) == "high"
    assert edge_side([3e-3, 1e-2], 3e-3) == "low"
    assert edge_side([1e-3, 3e-3, 1e-2], 3e-3) is None
    assert edge_side([1e-2], 1e-2) is None
    assert edge_side([3e-3, 1e-2], None) is None


def test_step_keeps_the_log_spacing_of_the_end_it_extends():
    assert step_beyond([3e-3, 1e-2], "high") == pytest.approx(3.33e-2)
    assert step_beyond([3e-3, 1e-2], "low") == pytest.approx(9e-4)
    # uneven grid: each end keeps its own spacing
    assert step_beyond([1e-4, 1e-3, 2e-3], "high") == pytest.approx(4e-3)
    assert step_beyond([1e-4, 1e-3, 2e-3], "low") == pytest.approx(1e-5)
    with pytest.raises(ValueError):
        step_beyond([1e-3], "high")


def test_next_lr_grows_at_an_edge_until_the_bound():
    bounds = (1e-4, 5e-2)
    assert next_lr([3e-3, 1e-2], 1e-2, bounds) == pytest.approx(3.33e-2)
    assert next_lr([3e-3, 1e-2, 3.33e-2], 3.33e-2, bounds) is None  # 0.111 > 0.05
    assert at_bound([3e-3, 1e-2, 3.33e-2], 3.33e-2, bounds)
    assert not at_bound([3e-3, 1e-2], 1e-2, bounds)
    assert not at_bound([3e-3, 1e-2, 3.33e-2], 1e-2, bounds)  # interior: not at an edge at all
    assert next_lr([3e-3, 1e-2, 3.33e-2], 1e-2, bounds) is None
    assert next_lr([3e-3, 1e-2], 3e-3, bounds) == pytest.approx(9e-4)
    # a bound equal to the next value (up to rounding) is reachable
    assert next_lr([1e-3, 1e-2], 1e-2, (1e-5, 0.1)) == pytest.approx(0.1)


def test_growth_lists_what_the_dry_run_says_may_be_added():
    assert growth([3e-3, 1e-2], (1e-5, 1e-1), "high") == pytest.approx([3.33e-2, 0.111][:1])
    assert growth([1e-3, 1e-2], (1e-5, 1.0), "high") == pytest.approx([0.1, 1.0])
    assert growth([1e-3, 1e-2], (1e-5, 1.0), "low") == pytest.approx([1e-4, 1e-5])
    assert growth([1e-3, 1e-2], (1e-3, 1e-2), "low") == []


def test_rung_epochs_are_fractions_of_the_budget_before_its_end():
    assert rung_epochs(40, [0.25, 0.5]) == [10, 20]
    assert rung_epochs(3, [0.1, 0.2, 0.5]) == [1, 2]
    assert rung_epochs(2, [0.9]) == []  # round(1.8) = 2 is the last epoch: nothing to stop early
    assert rung_epochs(40, [0.5, 0.25, 0.5]) == [10, 20]


def test_rung_keep_the_best_fraction_diverged_last():
    scores = {1e-3: 0.3, 3e-3: 0.1, 1e-2: 0.2, 3e-2: None}
    assert rung_keep(scores, 0.5) == [3e-3, 1e-2]
    assert rung_keep(scores, 0.1) == [3e-3]
    assert rung_keep({1e-3: 0.2, 1e-2: math.inf}, 0.5) == [1e-3]
    assert rung_keep({1e-3: 0.2, 1e-2: 0.2}, 0.5) == [1e-3]  # ties to the lower lr
    assert rung_keep({1e-3: 0.2, 1e-2: 0.1, 3e-2: 0.3}, 0.5) == [1e-3, 1e-2]  # ceil(1.5) = 2


def test_adaptive_addition_waits_for_every_run_then_grows_past_the_edge():
    from sciml_tui.specs.lr_search import adaptive_addition

    bounds = (1e-5, 1e-1)
    rows = [(3e-3, "done", 0.3), (3e-3, "done", 0.32), (1e-2, "done", 0.2), (1e-2, "running", None)]
    assert adaptive_addition(rows, bounds) is None
    rows[-1] = (1e-2, "done", 0.22)
    assert adaptive_addition(rows, bounds) == pytest.approx(3.33e-2)
    # the added lr diverged: 1e-2 is now interior, the grid stops growing
    rows += [(3.33e-2, "diverged", None), (3.33e-2, "diverged", None)]
    assert adaptive_addition(rows, bounds) is None
    assert adaptive_addition([(3e-3, "done", 0.1), (1e-2, "done", 0.2)], bounds) == pytest.approx(9e-4)
    assert adaptive_addition([(3e-3, "failed", None), (1e-2, "done", 0.2)], bounds) is None
