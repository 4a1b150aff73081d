"""sweep_results: lr selection by validation, seed statistics, fits, zero-shot, exclusions."""

from __future__ import annotations

import json
import math

import pytest

from results_records import power_law_runs, rec
from sciml_tui.results import sweep_results
from sciml_tui.results.stats import crossing_n, mean_std, power_law_fit

NS = [8, 16, 32, 64, 128]


def curve(res, init, model="tiny"):
    return next(c for c in res["curves"] if c["init"] == init and c["model"] == model)


def test_lr_is_chosen_by_validation_not_test():
    runs = [
        # lr 1e-3: better val, worse test; lr 1e-4: worse val, better test.
        rec("scratch", 8, 1e-3, 0, test=0.30, val=0.10),
        rec("scratch", 8, 1e-4, 0, test=0.05, val=0.20),
    ]
    p = curve(sweep_results(runs, "s"), "scratch")["points"][0]
    assert p["lr"] == 1e-3
    assert p["error"] == pytest.approx(0.30)
    assert p["val_error"] == pytest.approx(0.10)
    assert [c["lr"] for c in p["lr_candidates"]] == [1e-4, 1e-3]


def test_lr_chosen_by_mean_val_over_seeds_ties_go_to_lower_lr():
    runs = [
        rec("finetune", 16, 1e-3, 0, test=0.1, val=0.05),
        rec("finetune", 16, 1e-3, 1, test=0.1, val=0.25),  # mean val 0.15
        rec("finetune", 16, 5e-4, 0, test=0.2, val=0.12),
        rec("finetune", 16, 5e-4, 1, test=0.2, val=0.16),  # mean val 0.14: best
        rec("finetune", 32, 1e-3, 0, test=0.3, val=0.1),
        rec("finetune", 32, 1e-4, 0, test=0.4, val=0.1),  # tie: lower lr wins
    ]
    pts = curve(sweep_results(runs, "s"), "finetune")["points"]
    assert [p["n"] for p in pts] == [16, 32]
    assert pts[0]["lr"] == 5e-4 and pts[0]["error"] == pytest.approx(0.2)
    assert pts[1]["lr"] == 1e-4 and pts[1]["error"] == pytest.approx(0.4)


def test_mean_and_sample_std_over_seeds_at_the_chosen_lr():
    runs = [rec("scratch", 8, 1e-3, s, t) for s, t in enumerate([0.1, 0.2, 0.3])]
    runs.append(rec("scratch", 8, 1e-2, 0, test=9.0, val=9.0))  # not chosen, not averaged
    p = curve(sweep_results(runs, "s"), "scratch")["points"][0]
    assert p["seeds"] == 3
    assert p["error"] == pytest.approx(0.2)
    assert p["error_std"] == pytest.approx(0.1)  # ddof=1
    assert p["errors"] == pytest.approx([0.1, 0.2, 0.3])
    assert p["seed_ids"] == [0, 1, 2]
    one = curve(sweep_results(runs[:1], "s"), "scratch")["points"][0]
    assert one["error_std"] == 0.0 and one["seeds"] == 1


def test_failed_diverged_and_unfinished_runs_are_counted_not_averaged():
    runs = [
        rec("scratch", 8, 1e-3, 0, 0.2),
        rec("scratch", 8, 1e-3, 1, 0.0, state="failed"),
        rec("scratch", 8, 1e-3, 2, 0.0, state="diverged"),
        rec("scratch", 8, 1e-3, 3, float("nan")),  # "done" but no usable error
        rec("scratch", 16, 1e-3, 0, 0.0, state="running"),
        rec("scratch", 32, 1e-3, 0, 0.0, state="queued"),
        rec("scratch", 64, 1e-3, 0, 0.0, state="cancelled"),
    ]
    res = sweep_results(runs, "s")
    c = curve(res, "scratch")
    assert [p["n"] for p in c["points"]] == [8]
    p = c["points"][0]
    assert p["seeds"] == 1 and p["error"] == pytest.approx(0.2)
    assert p["failed"] == 1 and p["diverged"] == 1
    assert c["counts"] == {"done": 1, "failed": 1, "diverged": 1, "running": 1, "queued": 1,
                           "cancelled": 1, "pruned": 0, "invalid": 1}
    assert c["pending_n"] == [16, 32]


def test_pretrain_runs_do_not_make_curves():
    runs = power_law_runs(0.5, -0.5, "scratch", NS)
    runs.append(rec("pretrain", None, 1e-3, 0, 0.01, role="pretrain"))
    res = sweep_results(runs, "s")
    assert [c["init"] for c in res["curves"]] == ["scratch"]
    assert len(res["curves"][0]["points"]) == len(NS)
    assert len(res["pretrain"]) == 1


def test_runs_shared_with_another_sweep_count():
    # ws.runs(sweep=...) lists a sweep's run_ids; a shared run keeps its first sweep's name.
    runs = [rec("scratch", 8, 1e-3, 0, 0.2), rec("scratch", 8, 1e-3, 1, 0.4, sweep="other")]
    p = curve(sweep_results(runs, "s"), "scratch")["points"][0]
    assert p["seeds"] == 2 and p["error"] == pytest.approx(0.3)


def test_finetunes_from_different_pretrainings_are_never_averaged():
    pre = [rec("pretrain", None, 1e-3, 0, 0.01, role="pretrain", id="pa", pretrain="mix"),
           rec("pretrain", None, 1e-3, 0, 0.01, role="pretrain", id="pb")]
    runs = pre + [rec("finetune", 8, 1e-3, 0, 0.1, parent="pa"),
                  rec("finetune", 8, 1e-3, 0, 0.3, parent="pb"),
                  rec("finetune", 8, 1e-3, 0, 0.5, parent="pc")]
    res = sweep_results(runs, "s")
    got = {c["source"]: c["points"][0]["error"] for c in res["curves"]}
    assert got == {"mix": 0.1, "pb": 0.3, "pc": 0.5}


def test_rerun_of_the_same_point_keeps_the_latest_result():
    runs = [rec("scratch", 8, 1e-3, 0, 0.5, ended_at="2024-01-01T00:00:00"),
            rec("scratch", 8, 1e-3, 0, 0.3, ended_at="2024-01-02T00:00:00")]
    p = curve(sweep_results(runs, "s"), "scratch")["points"][0]
    assert p["seeds"] == 1 and p["error"] == pytest.approx(0.3)
    runs = [rec("scratch", 8, 1e-3, 0, 0.3, ended_at=1000.5), rec("scratch", 8, 1e-3, 0, 0.5, ended_at=999.0)]
    p = curve(sweep_results(runs, "s"), "scratch")["points"][0]
    assert p["error"] == pytest.approx(0.3)  # numeric times compare as numbers, not strings


def test_zeroshot_is_one_n_less_point_per_model():
    runs = [rec("zeroshot", None, None, s, e) for s, e in enumerate([0.12, 0.14])]
    runs += power_law_runs(0.5, -0.5, "scratch", NS)
    res = sweep_results(runs, "s")
    z = curve(res, "zeroshot")
    assert len(z["points"]) == 1
    p = z["points"][0]
    assert p["n"] is None and p["lr"] is None and p["seeds"] == 2
    assert p["error"] == pytest.approx(0.13)
    assert z["fit"] is None
    assert res["zeroshot"][0]["model"] == "tiny"
    assert res["zeroshot"][0]["error"] == pytest.approx(0.13)


def test_power_law_fit_recovers_exponent_and_prefactor():
    res = sweep_results(power_law_runs(0.5, -0.5, "scratch", NS), "s")
    fit = curve(res, "scratch")["fit"]
    assert fit["b"] == pytest.approx(-0.5, abs=1e-12)
    assert fit["a"] == pytest.approx(0.5, rel=1e-12)
    assert fit["r2"] == pytest.approx(1.0)
    assert fit["n_points"] == 5
    one = sweep_results(power_law_runs(0.5, -0.5, "scratch", [8]), "s")
    assert curve(one, "scratch")["fit"] is None


def test_several_models_and_pretrain_sources_split_curves_in_size_order():
    runs = (power_law_runs(0.5, -0.5, "scratch", NS, model="fno-1m")
            + power_law_runs(0.5, -0.5, "scratch", NS, model="tiny")
            + [rec("finetune", 8, 1e-3, 0, 0.1, pretrain="mix"),
               rec("finetune", 8, 1e-3, 0, 0.2, pretrain="single")])
    res = sweep_results(runs, "s")
    keys = [(c["model"], c["init"], c["source"]) for c in res["curves"]]
    assert keys == [("tiny", "scratch", None), ("tiny", "finetune", "mix"),
                    ("tiny", "finetune", "single"), ("fno-1m", "scratch", None)]
    assert [(e["model"], e["source"]) for e in res["efficiency_by_model"]] == [
        ("tiny", "mix"), ("tiny", "single")]


def test_result_is_json_with_the_fixed_keys():
    runs = (power_law_runs(0.5, -0.5, "scratch", NS) + power_law_runs(0.05, -0.5, "finetune", NS)
            + [rec("zeroshot", None, None, 0, 0.2)])
    res = sweep_results(runs, "s")
    assert json.loads(json.dumps(res, allow_nan=False)) == res
    assert {"sweep", "curves", "efficiency"} <= set(res)
    assert res["sweep"] == "s"
    assert {c["init"] for c in res["curves"]} == {"scratch", "finetune", "zeroshot"}
    for c in res["curves"]:
        assert {"init", "model", "points"} <= set(c)
        for p in c["points"]:
            assert {"n", "error", "error_std", "seeds", "lr"} <= set(p)
    assert {"target", "factor"} <= set(res["efficiency"])


def test_empty_sweep_and_bad_target():
    res = sweep_results([], "s")
    assert res["curves"] == [] and res["efficiency"]["factor"] is None
    with pytest.raises(ValueError):
        sweep_results([], "s", target=0.0)


def test_stats_helpers_directly():
    assert mean_std([2.0]) == (2.0, 0.0)
    assert power_law_fit([8, 8], [0.1, 0.2]) is None
    c = crossing_n([8, 16], [0.2, 0.1], 0.1)
    assert c == {"status": "interpolated", "n": 16.0}
    c = crossing_n([1, 4], [1.0, 0.25], 0.5)  # error = 1/N in log-log: N = 2 exactly
    assert c["n"] == pytest.approx(2.0, rel=1e-12)
    assert crossing_n([], [], 0.1)["status"] == "missing"
    assert math.isclose(crossing_n([8, 16], [0.05, 0.01], 0.1)["n"], 8)
