"""The lr search through a real single-node Slurm, with the lr-search tests' fake trainer: a
watching submit drives it to the end, a detached one advances it one step per resume, and both
decide what the local scheduler decides on the same inputs (skipped without Slurm)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sciml_tui.cli.app import app
from sciml_tui.launch import LAUNCHES, launch_sweep, resume, run_scheduler
from sciml_tui.launch import slurm
from sciml_tui.launch.backend import Slot
from sciml_tui.launch.slurm import squeue_tasks
from sciml_tui.rundir import RunDir
from sciml_tui.store import WorkspaceStore, reconcile

from sweep.conftest import prepare

from .conftest import needs_slurm, wait_for

pytestmark = needs_slurm

FAKE_LR = Path(__file__).parents[1] / "lrsearch" / "fake_lr_entry.py"
DATA = "datasets:\n  down: {system: poisson, range: [5, 10], n: 16, sizes: {train: 32, val: 8, test: 8}, seed: 2}\n"
ADAPTIVE = DATA + """\
sweeps:
  a:
    dataset: down
    n_train: [4]
    lr: {grid: [3.0e-3, 1.0e-2], adaptive: true, bounds: [1.0e-4, 0.5]}
    seeds: [0]
    models: [tiny]
    recipe: {epochs: 4}
"""
HALVING = DATA + """\
sweeps:
  h:
    dataset: down
    n_train: [4]
    lr: [1.0e-3, 3.0e-3, 1.0e-2, 3.0e-2]
    seeds: [0]
    models: [tiny]
    lr_search: {halving: {rungs: [0.25, 0.5], keep: 0.5}}
    recipe: {epochs: 8}
"""


@pytest.fixture
def fake_lr(monkeypatch):
    """The fake trainer of tests/lrsearch (honours `stop_after_epoch`); best lr 0.05."""
    monkeypatch.setenv("SCIML_TRAIN_ENTRY", json.dumps([sys.executable, str(FAKE_LR)]))
    monkeypatch.setenv("FAKE_BEST_LR", "0.05")
    return monkeypatch


def _workspace(tmp_path: Path, text: str, name: str) -> tuple[WorkspaceStore, Path]:
    spec = tmp_path / name / "experiments" / "lr.yaml"
    spec.parent.mkdir(parents=True)
    spec.write_text(text)
    return prepare(spec), spec


def _local(tmp_path: Path, text: str, sweep: str) -> WorkspaceStore:
    """The same spec under the local scheduler."""
    ws, _ = _workspace(tmp_path, text, "local")
    run_scheduler(ws, [sweep], slots=[Slot("cpu0", threads=1), Slot("cpu1", threads=1)])
    return ws


def _outcome(ws: WorkspaceStore, sweep: str) -> list[tuple]:
    return sorted((r.n_train, r.lr, r.seed, r.state.value, r.stopped_at_rung) for r in ws.runs(sweep=sweep))


def _epochs_trained(ws: WorkspaceStore, sweep: str) -> int:
    logs = [Path(r.run_dir, "epochs.log") for r in ws.runs(sweep=sweep)]
    return sum(len(p.read_text().split()) for p in logs if p.exists())


def _quiet(ws: WorkspaceStore, sweep: str) -> bool:
    """None of the sweep's array tasks is in squeue any more."""
    launches = [RunDir(r.run_dir).launch() for r in ws.runs(sweep=sweep)]
    jobs = {launch["slurm_job_id"] for launch in launches if launch}
    return bool(jobs) and not jobs & set(squeue_tasks() or {})


@pytest.fixture(autouse=True)
def no_task_left(tmp_path):
    yield
    for path in tmp_path.glob("*/.sciml/slurm/*.submit.json"):
        subprocess.run(["scancel", json.loads(path.read_text())["job"]], timeout=30)


@pytest.mark.parametrize("text, sweep, arrays", [(ADAPTIVE, "a", 3), (HALVING, "h", 3)], ids=["adaptive", "halving"])
def test_a_watching_submit_searches_the_lr_as_the_local_scheduler_does(tmp_path, fake_lr, text, sweep, arrays):
    local = _local(tmp_path, text, sweep)
    ws, spec = _workspace(tmp_path, text, "slurm")
    events = []
    out = launch_sweep(ws, spec, detach=False, backend="slurm", on_event=lambda k, p: events.append((k, p)))
    assert out["lr_search"] is True
    assert _outcome(ws, sweep) == _outcome(local, sweep)
    assert ws.sweep(sweep).lr_rungs == local.sweep(sweep).lr_rungs
    assert _epochs_trained(ws, sweep) == _epochs_trained(local, sweep)
    assert len(ws.sweep(sweep).slurm_jobs) == arrays and ws.sweep(sweep).state == "done"
    kinds = [k for k, _ in events]
    if sweep == "a":  # 3e-3, 1e-2 -> 3.33e-2 -> 0.111: 3.33e-2 is interior
        assert sorted(r.lr for r in ws.runs(sweep="a")) == [3e-3, 1e-2, 3.33e-2, 0.111]
        assert kinds.count("add") == 2 and out["counts"] == {"done": 4}
    else:  # rung 1 (epoch 2) keeps 1e-2 and 3e-2, rung 2 (epoch 4) keeps 3e-2
        assert [d["kept"] for d in ws.sweep("h").lr_rungs["scratch|tiny||4"]] == [[1e-2, 3e-2], [3e-2]]
        assert kinds.count("rung") == 2 and kinds.count("pause") == 6 and out["counts"] == {"done": 1, "pruned": 3}
        assert _epochs_trained(ws, "h") == 4 * 2 + 2 * 2 + 4


def test_a_detached_halving_search_advances_one_step_per_resume(tmp_path, fake_lr):
    local = _local(tmp_path, HALVING, "h")
    ws, spec = _workspace(tmp_path, HALVING, "slurm")
    first = launch_sweep(ws, spec, detach=True, backend="slurm")
    assert first["lr_search"] is True and len(first["submitted"]) == 4
    assert wait_for(lambda: _quiet(ws, "h"), timeout=60)
    # paused at the first rung: queued, waiting for the lr search, never failed
    slurm.squeue_snapshot(max_age_s=0)
    reconcile(ws, LAUNCHES)
    assert {r.state.value for r in ws.runs(sweep="h")} == {"queued"}
    assert all("paused after epoch 2" in r.message for r in ws.runs(sweep="h"))
    # re-running the spec decides rung 1 and submits the two it kept
    again = launch_sweep(ws, spec, detach=True, backend="slurm")
    assert len(again["submitted"]) == 2 and len(ws.sweep("h").lr_rungs["scratch|tiny||4"]) == 1
    assert wait_for(lambda: _quiet(ws, "h"), timeout=60)
    assert len(resume(ws, "h", backend="slurm")["submitted"]) == 1  # rung 2: one left, to the end
    assert wait_for(lambda: _quiet(ws, "h"), timeout=60)
    assert resume(ws, "h", backend="slurm")["submitted"] == []
    assert _outcome(ws, "h") == _outcome(local, "h")
    assert ws.sweep("h").lr_rungs == local.sweep("h").lr_rungs


def test_a_detached_adaptive_search_says_so_and_grows_on_each_resume(tmp_path, fake_lr):
    local = _local(tmp_path, ADAPTIVE, "a")
    ws, spec = _workspace(tmp_path, ADAPTIVE, "slurm")
    runner = CliRunner()
    where = ["--workspace", str(ws.root)]
    res = runner.invoke(app, ["run", "sweep", str(spec), *where, "--backend", "slurm", "--detach"])
    assert res.exit_code == 0, res.output
    assert "submitted 2 run(s) to Slurm" in res.output
    assert ("lr search: it advances one step on each `sciml resume a --backend slurm` "
            "(a submit without --detach follows it to the end)") in res.output
    grown = []
    for _ in range(3):
        assert wait_for(lambda: _quiet(ws, "a"), timeout=60)
        res = runner.invoke(app, ["resume", "a", *where, "--backend", "slurm", "--detach", "--json"])
        assert res.exit_code == 0, res.output
        grown.append(len(json.loads(res.output)["submitted"]))
    assert grown == [1, 1, 0]
    assert _outcome(ws, "a") == _outcome(local, "a")
