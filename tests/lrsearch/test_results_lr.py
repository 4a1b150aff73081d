"""Results of an lr search: pruned runs counted and listed, never averaged; the lr-edge warning
says whether an adaptive grid could still grow or stopped at its bound."""

from __future__ import annotations

import pytest

from sciml_tui.results.curves import sweep_results


def _run(i, lr, seed, val, state="done", **extra):
    return {"id": f"r{i}", "init": "scratch", "model": "tiny", "n_train": 8, "lr": lr, "seed": seed,
            "state": state, "test_error": val if state == "done" else None,
            "best_val_error": val if state == "done" else None, "role": "sweep", **extra}


def _edge_texts(res):
    return [w["text"] for w in res["warnings"] if w["kind"] == "lr_edge"]


def test_an_adaptive_point_at_an_edge_that_may_still_grow_says_so():
    bounds = {"lr_bounds": [1e-4, 1.0]}
    runs = [_run(1, 3e-3, 0, 0.3, **bounds), _run(2, 1e-2, 0, 0.2, **bounds),
            _run(3, 3.33e-2, 0, None, state="queued", **bounds)]
    res = sweep_results(runs, "s")
    (p,) = res["curves"][0]["points"]
    assert (p["lr"], p["lr_at_edge"], p["lr_at_bound"], p["lr_bounds"]) == (1e-2, "high", False, [1e-4, 1.0])
    (text,) = _edge_texts(res)
    assert "has not finished growing" in text and "resume the sweep" in text


def test_a_fixed_grid_keeps_its_sentence_and_has_no_bound_mark():
    res = sweep_results([_run(1, 3e-3, 0, 0.3), _run(2, 1e-2, 0, 0.2)], "s")
    (p,) = res["curves"][0]["points"]
    assert (p["lr_at_edge"], p["lr_at_bound"], p["lr_bounds"]) == ("high", None, None)
    (text,) = _edge_texts(res)
    assert "the best lr may lie outside the grid" in text


def test_pruned_lrs_count_and_widen_the_grid_tried_but_are_never_averaged():
    runs = [_run(1, 1e-3, 0, None, state="pruned", stopped_at_rung=10),
            _run(2, 1e-3, 1, None, state="pruned", stopped_at_rung=10),
            _run(3, 1e-2, 0, 0.2), _run(4, 1e-2, 1, 0.4)]
    res = sweep_results(runs, "s")
    curve = res["curves"][0]
    (p,) = curve["points"]
    assert p["lr"] == 1e-2 and p["error"] == pytest.approx(0.3) and p["seeds"] == 2
    assert curve["counts"]["pruned"] == 2 and res["counts"]["pruned"] == 2
    assert [(c["lr"], c["val_error"], c["seeds"], c.get("pruned_at")) for c in p["lr_candidates"]] == [
        (1e-3, None, 2, 10), (1e-2, pytest.approx(0.3), 2, None)]
    assert p["lr_at_edge"] == "high"  # 1e-3 was tried (and lost at a rung): 1e-2 is the top
