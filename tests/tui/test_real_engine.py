"""The dashboard on a workspace the real engine made: a finished sweep (real data, real
trainings) and a live training that is watched, then cancelled from the dashboard."""

from __future__ import annotations

import time
from pathlib import Path

import psutil
import pytest
from tui_helpers import pilot_test, settle

from sciml_tui.launch import launch_sweep
from sciml_tui.store import WorkspaceStore
from sciml_tui.tui.app import make_app
from sciml_tui.tui.screens.dialogs import ConfirmScreen
from sciml_tui.tui.screens.results import ResultsScreen
from sciml_tui.tui.screens.run_detail import RunDetailScreen
from sciml_tui.tui.widgets.runs_table import RunsTable

SPEC = """\
datasets:
  pre: {system: poisson, range: [1, 5], n: 16, sizes: {train: 64, val: 16, test: 16}, seed: 1}
  down: {system: poisson, range: [5, 10], n: 16, sizes: {train: 32, val: 16, test: 16}, seed: 2}
pretrain:
  p: {model: tiny, data: pre, recipe: {epochs: 4, batch_size: 16, lr: 1.0e-2}}
sweeps:
  done-sweep:
    dataset: down
    n_train: [8, 16, 32]
    lr: [3.0e-3]
    inits: [scratch, {finetune: p}, {zeroshot: p}]
    recipe: {epochs: 3, batch_size: 8}
  live:
    dataset: down
    n_train: [32]
    lr: [1.0e-3]
    inits: [scratch]
    recipe: {epochs: 100000, batch_size: 8, checkpoint_every: 1000}
"""


@pytest.fixture(scope="module")
def real_workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("real") / "ws"
    (root / "experiments").mkdir(parents=True)
    spec = root / "experiments" / "study.yaml"
    spec.write_text(SPEC)
    ws = WorkspaceStore(root)
    launch_sweep(ws, spec, sweeps=["done-sweep"], detach=False)
    launch_sweep(ws, spec, sweeps=["live"], detach=True)
    deadline = time.monotonic() + 120
    live = None
    while time.monotonic() < deadline:
        live = next((r for r in ws.runs(sweep="live") if r.get("state") == "running" and r.get("pid")), None)
        if live and (Path(live["run_dir"]) / "metrics.json").exists():
            break
        time.sleep(0.2)
    assert live is not None, "the live training never started"
    yield root, live["id"], live["pid"]
    pids = [r.get("pid") for r in ws.runs(sweep="live")] + [(ws.sweep("live") or {}).get("scheduler_pid")]
    for pid in filter(None, pids):  # never leave a training or a scheduler behind
        if psutil.pid_exists(pid):
            psutil.Process(pid).kill()


def _table(app) -> RunsTable:
    return app.screen.query_one(RunsTable)


@pilot_test
async def test_finished_and_live_runs_from_the_real_engine(real_workspace):
    root, live_id, live_pid = real_workspace
    app = make_app(root, poll_interval=0.2)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, lambda a: _table(a).row_count > 0)
        states = {r["state"] for r in app.snapshot.records.values()}
        assert "done" in states and "running" in states
        assert _table(app).current_id() == live_id  # live runs sort first

        # the live run's curves grow while we watch
        await pilot.press("enter")
        await settle(pilot, lambda a: isinstance(a.screen, RunDetailScreen))
        await settle(pilot, lambda a: len(a.snapshot.metrics.get(live_id, {}).get("epochs", [])) > 0, tries=1500)
        seen = len(app.snapshot.metrics[live_id]["epochs"])
        await settle(pilot, lambda a: len(a.snapshot.metrics[live_id]["epochs"]) > seen, tries=1500)

        # the finished sweep's error-vs-N table comes from real results
        await pilot.press("escape")
        await settle(pilot, lambda a: not isinstance(a.screen, RunDetailScreen))
        await pilot.press("r")
        await settle(pilot, lambda a: isinstance(a.screen, ResultsScreen))
        if app.screen.sweep != "done-sweep":
            await pilot.press("right_square_bracket")
        assert app.screen.sweep == "done-sweep"
        await settle(pilot, lambda a: a.snapshot.results is not None
                     and a.snapshot.results.get("sweep") == "done-sweep", tries=1500)
        curves = {c["init"]: c for c in app.snapshot.results["curves"]}
        assert [p["n"] for p in curves["scratch"]["points"]] == [8, 16, 32]
        assert [p["n"] for p in curves["finetune"]["points"]] == [8, 16, 32]
        assert curves["zeroshot"]["points"][0]["error"] > 0

        # cancel the live training from the dashboard
        await pilot.press("escape")
        await settle(pilot, lambda a: _table(a).current_id() == live_id)
        await pilot.press("c")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot, lambda a: a.snapshot.records[live_id]["state"] == "cancelled", tries=1500)
    deadline = time.monotonic() + 20
    while psutil.pid_exists(live_pid) and psutil.Process(live_pid).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "the cancelled training is still running"
        time.sleep(0.1)
