"""The lr search end to end with a fake trainer: an adaptive grid grows until it brackets the
choice (or meets its bound); successive halving pauses the candidates at the rungs, records its
decisions, prunes the losers and decides the same way when resumed."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

from sciml_tui.launch import plan_sweep, record_plan, run_scheduler
from sciml_tui.launch.backend import LocalBackend, Slot
from sciml_tui.launch.lr_search import LrSearchHook
from sciml_tui.launch.scheduler import Scheduler
from sciml_tui.results.curves import sweep_results
from sciml_tui.store import WorkspaceStore

from tests.sweep.conftest import fake_datasets

HERE = Path(__file__).parent
DATA = "datasets:\n  down: {system: poisson, range: [5, 10], n: 16, sizes: {train: 32, val: 8, test: 8}, seed: 2}\n"
ADAPTIVE = DATA + """\
sweeps:
  a:
    dataset: down
    n_train: [4, 8]
    lr: {grid: [3.0e-3, 1.0e-2], adaptive: true, bounds: [%s, %s]}
    seeds: [0, 1]
    recipe: {epochs: 4}
"""
HALVING = DATA + """\
sweeps:
  h:
    dataset: down
    n_train: [4, 8]
    lr: [1.0e-3, 3.0e-3, 1.0e-2, 3.0e-2]
    seeds: [0, 1]
    lr_search: {halving: {rungs: [0.25, 0.5], keep: 0.5}}
    recipe: {epochs: 8}
"""
SLOTS = [Slot("cpu0", threads=1), Slot("cpu1", threads=1)]


@pytest.fixture
def fake_lr(monkeypatch):
    monkeypatch.setenv("SCIML_TRAIN_ENTRY", json.dumps([sys.executable, str(HERE / "fake_lr_entry.py")]))
    return monkeypatch


def _workspace(tmp_path: Path, text: str, name: str = "ws") -> tuple[WorkspaceStore, Path]:
    spec = tmp_path / name / "experiments" / "lr.yaml"
    spec.parent.mkdir(parents=True)
    spec.write_text(text)
    ws = WorkspaceStore(spec.parents[1])
    plan = plan_sweep(spec, ws)
    fake_datasets(plan)
    record_plan(ws, plan)
    return ws, spec


def _lrs_by_n(ws: WorkspaceStore, sweep: str) -> dict[int, list[float]]:
    out: dict[int, set] = {}
    for r in ws.runs(sweep=sweep):
        out.setdefault(r.n_train, set()).add(r.lr)
    return {n: sorted(v) for n, v in out.items()}


def _epochs_trained(ws: WorkspaceStore, sweep: str) -> int:
    return sum(len((Path(r.run_dir) / "epochs.log").read_text().split()) for r in ws.runs(sweep=sweep)
               if (Path(r.run_dir) / "epochs.log").exists())


def test_adaptive_grid_grows_until_the_choice_is_interior(tmp_path, fake_lr):
    fake_lr.setenv("FAKE_BEST_LR", "0.05")
    ws, spec = _workspace(tmp_path, ADAPTIVE % ("1.0e-4", "0.5"))
    events = []
    counts = run_scheduler(ws, ["a"], slots=SLOTS, on_event=lambda k, p: events.append((k, p)))
    # 3e-3, 1e-2 -> 1e-2 at the top: add 3.33e-2 -> at the top again: add 0.111 -> 3.33e-2 is interior
    assert _lrs_by_n(ws, "a") == {4: [3e-3, 1e-2, 3.33e-2, 0.111], 8: [3e-3, 1e-2, 3.33e-2, 0.111]}
    assert counts == {"done": 16}
    assert sum(k == "add" for k, _ in events) == 8
    res = sweep_results([dict(r) for r in ws.runs(sweep="a")], "a")
    points = res["curves"][0]["points"]
    assert [p["lr"] for p in points] == [3.33e-2, 3.33e-2]
    assert all(p["lr_at_edge"] is None for p in points)
    assert not [w for w in res["warnings"] if w["kind"] == "lr_edge"]
    # the same spec planned again: the added runs are part of the plan, all finished
    plan = plan_sweep(spec, ws)
    assert sorted(plan.sweeps["a"]) == sorted(ws.sweep("a").run_ids)
    assert plan.to_run()["points"] == []
    assert any("lr=0.111" in line for line in plan.summary_lines())


def test_adaptive_grid_stops_at_its_bound_and_results_say_so(tmp_path, fake_lr):
    fake_lr.setenv("FAKE_BEST_LR", "0.05")
    ws, spec = _workspace(tmp_path, ADAPTIVE % ("1.0e-4", "4.0e-2"))
    run_scheduler(ws, ["a"], slots=SLOTS)
    assert _lrs_by_n(ws, "a") == {4: [3e-3, 1e-2, 3.33e-2], 8: [3e-3, 1e-2, 3.33e-2]}
    res = sweep_results([dict(r) for r in ws.runs(sweep="a")], "a")
    points = res["curves"][0]["points"]
    assert [(p["lr_at_edge"], p["lr_at_bound"]) for p in points] == [("high", True), ("high", True)]
    edge = [w["text"] for w in res["warnings"] if w["kind"] == "lr_edge"]
    assert len(edge) == 1 and "bound 4e-2" in edge[0] and "the spec sets" in edge[0]


def test_halving_prunes_at_the_rungs_and_records_its_decisions(tmp_path, fake_lr):
    fake_lr.setenv("FAKE_BEST_LR", "1e-2")
    ws, spec = _workspace(tmp_path, HALVING)
    counts = run_scheduler(ws, ["h"], slots=SLOTS)
    assert counts == {"done": 4, "pruned": 12}
    runs = ws.runs(sweep="h")
    pruned = {(r.n_train, r.lr, r.stopped_at_rung) for r in runs if r.state == "pruned"}
    # rung 1 (epoch 2): 1e-2 and 3e-2 are closest to the best lr; rung 2 (epoch 4): 1e-2
    assert pruned == {(n, lr, rung) for n in (4, 8) for lr, rung in ((1e-3, 2), (3e-3, 2), (3e-2, 4))}
    rungs = ws.sweep("h").lr_rungs
    assert sorted(rungs) == ["scratch|tiny||4", "scratch|tiny||8"]
    assert [(d["epoch"], d["kept"]) for d in rungs["scratch|tiny||4"]] == [(2, [1e-2, 3e-2]), (4, [1e-2])]
    # compute: 16 runs x 2 epochs, 4 x 2 more, 4 x 4 more = 56 of the full grid's 128 epochs
    assert _epochs_trained(ws, "h") == 16 * 2 + 8 * 2 + 4 * 4
    res = sweep_results([dict(r) for r in runs], "h")
    curve = res["curves"][0]
    assert [p["lr"] for p in curve["points"]] == [1e-2, 1e-2]
    assert curve["counts"]["pruned"] == 12 and all(p["seeds"] == 2 for p in curve["points"])
    grid = [[(c["lr"], c.get("pruned_at")) for c in p["lr_candidates"]] for p in curve["points"]]
    assert grid[0] == [(1e-3, 2), (3e-3, 2), (1e-2, None), (3e-2, 4)]


def test_a_resumed_halving_sweep_decides_the_same_way(tmp_path, fake_lr):
    fake_lr.setenv("FAKE_BEST_LR", "1e-2")
    ws, _ = _workspace(tmp_path, HALVING, "whole")
    run_scheduler(ws, ["h"], slots=SLOTS)
    ws2, _ = _workspace(tmp_path, HALVING, "stopped")
    sched = Scheduler(ws2, ["h"], LocalBackend(), SLOTS, poll_s=0.05)

    def stop_after_first_rung(kind, payload):
        if kind == "rung":
            sched.stop = True

    sched.emit = stop_after_first_rung
    sched.run()
    assert ws2.sweep("h").state == "stopped" and len(ws2.sweep("h").lr_rungs) >= 1
    waiting = [r for r in ws2.runs(sweep="h") if r.state == "queued"]
    assert any("paused after epoch" in (r.message or "") for r in waiting)
    run_scheduler(ws2, ["h"], slots=SLOTS)
    assert ws2.sweep("h").lr_rungs == ws.sweep("h").lr_rungs
    states = lambda w: sorted((r.n_train, r.lr, r.seed, r.state.value) for r in w.runs(sweep="h"))  # noqa: E731
    assert states(ws2) == states(ws)


def test_a_run_that_paused_unseen_is_held_as_queued_not_waited_on(tmp_path, fake_lr):
    """Its process paused at the rung while no scheduler watched: the record still says running
    (a resumed scheduler that does not adopt it must not wait on it for the rung)."""
    ws, _ = _workspace(tmp_path, HALVING)
    rec = next(r for r in ws.runs(sweep="h") if r.n_train == 4)
    rdir = Path(rec.run_dir)
    rdir.mkdir(parents=True, exist_ok=True)
    (rdir / "metrics.json").write_text(json.dumps({"epochs": {"1": {"epoch": 2, "val_error": 0.5}}, "steps": {}}))
    ws.update_run(rec.id, state="running", started_at=1.0)
    hook = LrSearchHook(ws, ["h"])
    assert hook.admit([ws.run(rec.id)]) == [] and hook.held == {rec.id}
    now = ws.run(rec.id)
    assert now.state == "queued" and "paused after epoch 2" in now.message
    # a candidate that has not reached the rung starts, told to pause there
    other = next(r for r in ws.runs(sweep="h") if r.n_train == 4 and r.id != rec.id)
    (started,) = hook.admit([other])
    assert started.config["stop_after_epoch"] == 2 and ws.run(other.id).config.get("stop_after_epoch") is None


def test_adaptive_grid_adds_runs_with_the_launch_engine_flags(tmp_path, fake_lr):
    """A sweep launched with --precision bf16 grows its grid with bf16 runs, not fp32 ones."""
    fake_lr.setenv("FAKE_BEST_LR", "0.05")
    spec = tmp_path / "ws" / "experiments" / "lr.yaml"
    spec.parent.mkdir(parents=True)
    spec.write_text(ADAPTIVE % ("1.0e-4", "4.0e-2"))
    ws = WorkspaceStore(spec.parents[1])
    engine = {"precision": "bf16", "compile": False, "gpu_data": "host"}
    plan = plan_sweep(spec, ws, engine=engine)
    fake_datasets(plan)
    record_plan(ws, plan)
    run_scheduler(ws, ["a"], slots=SLOTS)
    added = [r for r in ws.runs(sweep="a") if r.lr == 3.33e-2]
    assert len(added) == 4
    for r in added:
        config = yaml.safe_load((Path(r.run_dir) / "config.yaml").read_text())
        assert (config["precision"], config["gpu_data"]) == ("bf16", "host"), r.id
    assert set(ws.sweep("a").run_ids) == {u.id for u in plan_sweep(spec, ws, engine=engine).runs}


def test_foreground_progress_counts_the_runs_the_grid_adds(tmp_path, fake_lr):
    """`[k/total]` never overshoots: runs an adaptive grid adds raise the total."""
    from typer.testing import CliRunner

    from sciml_tui.cli import app

    fake_lr.setenv("FAKE_BEST_LR", "0.05")
    spec = tmp_path / "lr.yaml"
    spec.write_text(ADAPTIVE % ("1.0e-4", "4.0e-2"))
    res = CliRunner().invoke(app, ["run", "sweep", str(spec), "-w", str(tmp_path / "ws"), "-y", "--max-parallel", "2"])
    assert res.exit_code == 0, res.output
    counters = [line.split("]")[0].lstrip("[") for line in res.output.splitlines() if line.startswith("[")]
    pairs = [tuple(int(x) for x in c.split("/")) for c in counters]
    assert len(pairs) == 12 and all(k <= total for k, total in pairs), counters
    assert pairs[-1] == (12, 12)
    assert "added" in res.output and "lr=0.0333" in res.output


def test_foreground_output_names_each_rung_decision(tmp_path, fake_lr):
    from typer.testing import CliRunner

    from sciml_tui.cli import app

    fake_lr.setenv("FAKE_BEST_LR", "1e-2")
    spec = tmp_path / "h.yaml"
    spec.write_text(HALVING.replace("n_train: [4, 8]", "n_train: [4]").replace("seeds: [0, 1]", "seeds: [0]"))
    res = CliRunner().invoke(app, ["run", "sweep", str(spec), "-w", str(tmp_path / "ws"), "-y", "--max-parallel", "2"])
    assert res.exit_code == 0, res.output
    assert "rung h scratch tiny N=4 at epoch 2: keeps lr 0.01, 0.03" in res.output
    assert "rung h scratch tiny N=4 at epoch 4: keeps lr 0.01" in res.output
    assert "[4/4]" in res.output and "[5/" not in res.output
