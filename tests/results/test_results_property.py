"""Any store contents give a result, never a traceback: property test over odd run records."""

from __future__ import annotations

import io
import json
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

from sciml_tui.results import curve_series, efficiency_line, fit_line, models, sweep_results, table, to_csv
from sciml_tui.results.caveats import caveat_lines, factor_table, interval_lines
from sciml_tui.results.render import render_results

numbers = st.one_of(
    st.none(), st.booleans(), st.text(max_size=3),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=1e-8, max_value=10.0),
    st.integers(min_value=-5, max_value=2 ** 70),
)
ns = st.one_of(st.sampled_from([8, 16, 32, 64, 128]), numbers)
records = st.fixed_dictionaries(
    {
        "init": st.sampled_from(["scratch", "finetune", "zeroshot", "pretrain", "bogus", None]),
        "model": st.sampled_from(["tiny", "fno-1m", "custom", None]),
        "n_train": ns,
        "lr": st.one_of(st.sampled_from([1e-3, 1e-4]), numbers),
        "seed": st.one_of(st.integers(0, 3), st.none(), st.text(max_size=2)),
        "state": st.sampled_from(["done", "done", "done", "failed", "diverged", "running", "queued",
                                  "cancelled", "weird", None]),
        "test_error": st.one_of(st.floats(min_value=1e-6, max_value=2.0), numbers),
        "best_val_error": st.one_of(st.floats(min_value=1e-6, max_value=2.0), numbers),
    },
    optional={
        "parent": st.sampled_from(["p0", "p1", None]),
        "pretrain": st.sampled_from(["mix", "", None]),
        "role": st.sampled_from(["sweep", "pretrain"]),
        "ended_at": st.sampled_from(["2024-01-01", "2024-01-02", None]),
        "id": st.text(max_size=4),
        "best_epoch": st.one_of(st.integers(0, 45), numbers),
        "epochs_run": st.one_of(st.integers(0, 45), numbers),
    },
)


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(records, max_size=30), st.floats(min_value=1e-6, max_value=1.0))
def test_any_records_give_a_consistent_json_result(runs, target):
    res = sweep_results(runs, "s", target=target)
    json.dumps(res, allow_nan=False)  # strict JSON: no NaN or inf leaks into the output
    for c in res["curves"]:
        pts = c["points"]
        if c["init"] == "zeroshot":
            assert len(pts) <= 1 and all(p["n"] is None for p in pts)
        else:
            assert [p["n"] for p in pts] == sorted({p["n"] for p in pts})
            assert all(isinstance(p["n"], int) and p["n"] >= 1 for p in pts)
        for p in pts:
            assert math.isfinite(p["error"]) and p["error"] >= 0 and p["error_std"] >= 0
            assert p["seeds"] == len(p["errors"]) >= 1
            assert p["lr_at_edge"] in ("high", "low", None) and p["late_best_epoch"] in (True, False, None)
    assert all(isinstance(w["text"], str) and w["text"] for w in res["warnings"])
    for e in res["uncertainty"]["efficiency_by_model"] + [r for t in res["factor_table"] for r in t["rows"]]:
        if e["ci"] and None not in e["ci"]:
            assert 0 < e["ci"][0] <= e["ci"][1]
    caveat_lines(res)
    for eff in [res["efficiency"], *res["efficiency_by_model"]]:
        assert eff["factor"] is None or eff["factor"] > 0
        assert (eff["factor"] is None) == (eff["reason"] is not None) or eff["factor_is_lower_bound"] \
            or eff["factor_is_upper_bound"]
        efficiency_line(eff)
    to_csv(res)
    curve_series(res)
    for m in models(res):
        table(res, m)
        fit_line(res, m)
        factor_table(res, m)
        interval_lines(res, m)
    Console(file=io.StringIO(), width=100).print(render_results(res))
