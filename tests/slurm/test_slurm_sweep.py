"""A tiny sweep through a real single-node Slurm (skipped when Slurm is not there)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from sciml_tui.errors import UserError
from sciml_tui.launch import cancel, launch_sweep, plan_sweep, record_plan
from sciml_tui.launch import slurm
from sciml_tui.launch import LAUNCHES
from sciml_tui.launch.slurm import squeue_snapshot
from sciml_tui.rundir import RunDir
from sciml_tui.store import WorkspaceStore, reconcile


def read_launch(run_dir):
    return RunDir(run_dir).launch()

from .conftest import fake_datasets, needs_slurm, wait_for

pytestmark = needs_slurm


def _prepare(spec_file: Path) -> WorkspaceStore:
    ws = WorkspaceStore(spec_file.parents[1])
    plan = plan_sweep(spec_file, ws)
    fake_datasets(plan)
    record_plan(ws, plan)
    return ws


def _submit_json(ws: WorkspaceStore, job: str) -> dict:
    return next(json.loads(p.read_text()) for p in (ws.meta_dir / "slurm").glob("*.submit.json")
                if json.loads(p.read_text())["job"] == job)


def test_sweep_runs_as_two_arrays_points_after_pretraining_and_a_second_run_submits_nothing(spec_file, fake_entry):
    ws = _prepare(spec_file)
    out = launch_sweep(ws, spec_file, detach=True, backend="slurm",
                       slurm=slurm.SlurmOptions(array_limit=2, opts=["time=00:05:00"]))
    runs = {r["id"]: r for r in ws.runs(sweep="s")}
    assert sorted(out["submitted"]) == sorted(runs) and len(runs) == 6
    pre_job, pts_job = out["jobs"]["pretrain"], out["jobs"]["points"]
    points_argv = _submit_json(ws, pts_job)["argv"]
    assert f"--dependency=afterok:{pre_job}" in points_argv and "--array=0-4%2" in points_argv
    manifests = {}
    for r in runs.values():
        launch = read_launch(r["run_dir"])
        assert launch["backend"] == "slurm"
        job, task = re.fullmatch(r"(\d+)_(\d+)", launch["slurm_job_id"]).groups()
        assert job == (pre_job if r["role"] == "pretrain" else pts_job)
        manifests.setdefault(job, {})[int(task)] = r["run_dir"]
    for job, tasks in manifests.items():
        manifest = Path(_submit_json(ws, job)["argv"][-1]).with_suffix(".manifest")
        assert manifest.parent == ws.meta_dir / "slurm"
        assert manifest.read_text().splitlines() == [tasks[i] for i in range(len(tasks))]

    counts = slurm.watch(ws, ["s"], out["submitted"], poll_s=0.3, timeout_s=60)
    assert counts == {"done": 6}
    runs = {r["id"]: r for r in ws.runs(sweep="s")}
    assert all(isinstance(r["test_error"], float) for r in runs.values())
    # the fake trainer fails a fine-tune whose pre-training checkpoint is missing: the order held
    assert ws.sweep("s")["state"] == "done"
    assert all(Path(r["run_dir"], "stdout.log").exists() for r in runs.values())

    plan = plan_sweep(spec_file, ws)
    assert plan.to_run() == {"generate": [], "pretrain": [], "points": []}
    again = launch_sweep(ws, spec_file, detach=True, backend="slurm")
    assert again["submitted"] == [] and again["jobs"] == {"pretrain": None, "points": None}
    assert all(len(Path(r["run_dir"], "starts.log").read_text().splitlines()) == 1 for r in runs.values())


SCRATCH_SPEC = """\
datasets:
  down: {system: poisson, range: [5, 10], n: 16, sizes: {train: 32, val: 8, test: 8}, seed: 2}
sweeps:
  c:
    dataset: down
    n_train: [4, 8]
    lr: [1e-3]
    seeds: [0]
    models: [tiny]
    inits: [scratch]
    recipe: {epochs: 30}
"""


def test_cancel_marks_cancelled_and_a_task_killed_outside_becomes_failed(spec_file, fake_entry):
    fake_entry.setenv("FAKE_EPOCH_S", "1")
    spec_file.write_text(SCRATCH_SPEC)
    ws = _prepare(spec_file)
    out = launch_sweep(ws, spec_file, detach=True, backend="slurm")
    ids = out["submitted"]
    assert len(ids) == 2 and out["jobs"]["pretrain"] is None

    def both_running() -> bool:
        squeue_snapshot(max_age_s=0)
        reconcile(ws, LAUNCHES)
        return all(ws.run(i)["state"] == "running" for i in ids)

    assert wait_for(both_running, timeout=30)
    assert wait_for(lambda: all(Path(ws.run(i)["run_dir"], "checkpoints", "last.pt").exists() for i in ids), timeout=30)
    with pytest.raises(UserError, match="in Slurm"):
        launch_sweep(ws, spec_file, detach=True)  # the local backend must not start them twice
    assert cancel(ws, ids[0]) == [ids[0]]
    other = read_launch(ws.run(ids[1])["run_dir"])["slurm_job_id"]
    subprocess.run(["scancel", other], check=True, timeout=30)
    gone = lambda: not ({read_launch(ws.run(i)["run_dir"])["slurm_job_id"] for i in ids} & set(squeue_snapshot(0)))
    assert wait_for(gone, timeout=30)
    reconcile(ws, LAUNCHES)
    first, second = ws.run(ids[0]), ws.run(ids[1])
    assert first["state"] == "cancelled"
    assert second["state"] == "failed" and "left the queue" in second["message"]
    assert not Path(first["run_dir"], "result.json").exists()
    # resume submits both again, and their tasks continue from the checkpoints
    again = slurm.submit(ws, ["c"])
    assert sorted(again["submitted"]) == sorted(ids)
    assert wait_for(both_running, timeout=30)
    assert wait_for(lambda: all("resume=True" in Path(ws.run(i)["run_dir"], "starts.log").read_text() for i in ids),
                    timeout=30)
    assert sorted(cancel(ws, "c")) == sorted(ids)
    assert {ws.run(i)["state"] for i in ids} == {"cancelled"} and ws.sweep("c")["state"] == "cancelled"
    assert wait_for(gone, timeout=30)


REAL_SPEC = """\
datasets:
  pre: {system: poisson, range: [1, 5], n: 16, sizes: {train: 16, val: 4, test: 4}, seed: 1}
  down: {system: poisson, range: [5, 10], n: 16, sizes: {train: 8, val: 4, test: 4}, seed: 2}
pretrain:
  p: {model: tiny, data: pre, recipe: {epochs: 1, batch_size: 4}}
sweeps:
  r:
    dataset: down
    n_train: [4]
    lr: [1e-3]
    seeds: [0]
    models: [tiny]
    inits: [{finetune: p}]
    recipe: {epochs: 1, batch_size: 4}
"""


def test_real_trainer_through_slurm(spec_file, monkeypatch):
    monkeypatch.delenv("SCIML_TRAIN_ENTRY", raising=False)
    spec_file.write_text(REAL_SPEC)
    ws = WorkspaceStore(spec_file.parents[1])
    out = launch_sweep(ws, spec_file, detach=False, backend="slurm")  # datasets are generated here first
    assert out["counts"] == {"done": 2}, [(r["id"], r.get("message"), r.get("log_tail")) for r in ws.runs()]
    assert all(d["state"] == "ready" for d in ws.datasets())
    for r in ws.runs(sweep="r"):
        assert r["test_error"] > 0 and Path(r["run_dir"], "checkpoints", "best.pt").exists()
        assert read_launch(r["run_dir"])["backend"] == "slurm"
