"""Scheduler with a fake trainer: ordering, content addressing, kill/adopt, cancel, reconciliation."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from sciml_tui.launch import cancel, plan_sweep, record_plan, run_scheduler
from sciml_tui.launch.backend import Slot, make_slots
from sciml_tui.launch import LAUNCHES
from sciml_tui.store import WorkspaceStore, reconcile

from .conftest import prepare, wait_until


_prepare, _wait = prepare, wait_until


def _starts(run_dir) -> list[str]:
    path = Path(run_dir) / "starts.log"
    return path.read_text().splitlines() if path.exists() else []


def test_sweep_runs_pretraining_first_and_rerunning_runs_nothing(spec_file, fake_entry):
    ws = _prepare(spec_file)
    events = []
    counts = run_scheduler(ws, ["s"], slots=[Slot("cpu0", threads=1), Slot("cpu1", threads=1)],
                           on_event=lambda k, p: events.append((k, p["id"])))
    assert counts == {"done": 6}
    starts = [i for k, i in events if k == "start"]
    assert starts[0].startswith("p-tiny-")  # fine-tunes need its checkpoint: they would fail before it
    runs = {r["id"]: r for r in ws.runs(sweep="s")}
    assert all(r["state"] == "done" and r["test_error"] is not None for r in runs.values())
    ft = next(r for r in runs.values() if r["init"] == "finetune")
    assert ft["parent"] == starts[0]
    assert [x["kind"] for x in ws.lineage(ft["id"])] == ["run", "run", "dataset"]
    # the same spec again: everything is found done, nothing starts
    plan = plan_sweep(spec_file, ws)
    assert plan.to_run() == {"generate": [], "pretrain": [], "points": []}
    record_plan(ws, plan)
    events.clear()
    run_scheduler(ws, ["s"], on_event=lambda k, p: events.append((k, p["id"])))
    assert [e for e in events if e[0] == "start"] == []
    assert all(len(_starts(r["run_dir"])) == 1 for r in runs.values())


def test_rerun_forces_every_run_again(spec_file, fake_entry):
    ws = _prepare(spec_file)
    run_scheduler(ws, ["s"])
    plan = plan_sweep(spec_file, ws)
    record_plan(ws, plan, rerun=True)
    assert {r["state"] for r in ws.runs(sweep="s")} == {"queued"}
    run_scheduler(ws, ["s"])
    assert all(len(_starts(r["run_dir"])) == 1 for r in ws.runs(sweep="s"))  # run dirs were cleared
    assert {r["state"] for r in ws.runs(sweep="s")} == {"done"}


def test_killed_scheduler_leaves_trainings_running_and_a_new_one_adopts_them(spec_file, fake_entry, monkeypatch):
    monkeypatch.setenv("FAKE_EPOCH_S", "0.5")
    ws = _prepare(spec_file)
    sched = subprocess.Popen([sys.executable, "-m", "sciml_tui.launch.daemon", str(ws.root), "s", "--max-parallel", "2"],
                             start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert _wait(lambda: any(r.get("state") == "running" and r.get("pid") and r.get("init") != "pretrain"
                             for r in ws.runs()))
    running = [r for r in ws.runs() if r.get("state") == "running" and r.get("pid")]
    os.kill(sched.pid, signal.SIGKILL)
    sched.wait()
    pids = [r["pid"] for r in running]
    assert all(psutil.pid_exists(p) for p in pids)  # the trainings live on in their own sessions
    counts = run_scheduler(ws, ["s"])
    assert counts == {"done": 6}
    for r in ws.runs(sweep="s"):
        assert len(_starts(r["run_dir"])) == 1, r["id"]  # adopted, never started twice


def test_sigkilled_training_is_failed_by_reconciliation_and_resumes_from_its_checkpoint(spec_file, fake_entry, monkeypatch):
    monkeypatch.setenv("FAKE_EPOCH_S", "0.3")
    spec_file.write_text(spec_file.read_text().replace("p: {model: tiny, data: pre, recipe: {epochs: 2}}",
                                                       "p: {model: tiny, data: pre, recipe: {epochs: 30}}"))
    ws = _prepare(spec_file)
    sched = subprocess.Popen([sys.executable, "-m", "sciml_tui.launch.daemon", str(ws.root), "s"],
                             start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pre = next(r for r in ws.runs() if r["init"] == "pretrain")
    ckpt = Path(pre["run_dir"]) / "checkpoints" / "last.pt"
    assert _wait(lambda: ckpt.exists())
    os.kill(sched.pid, signal.SIGKILL)
    sched.wait()
    pid = ws.run(pre["id"])["pid"]
    os.killpg(pid, signal.SIGKILL)
    assert _wait(lambda: not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
    assert reconcile(ws, LAUNCHES) == [pre["id"]]
    rec = ws.run(pre["id"])
    assert rec["state"] == "failed" and "without writing result.json" in rec["message"]
    assert "epoch" in rec["log_tail"]
    monkeypatch.setenv("FAKE_EPOCH_S", "0")
    assert run_scheduler(ws, ["s"]) == {"done": 6}
    starts = _starts(pre["run_dir"])
    assert len(starts) == 2 and "resume=True" in starts[1] and "from=0" not in starts[1]


def test_cancel_a_sweep_stops_scheduler_and_runs(spec_file, fake_entry, monkeypatch):
    monkeypatch.setenv("FAKE_EPOCH_S", "1")
    spec_file.write_text(spec_file.read_text().replace("recipe: {epochs: 2}}", "recipe: {epochs: 60}}"))
    ws = _prepare(spec_file)
    sched = subprocess.Popen([sys.executable, "-m", "sciml_tui.launch.daemon", str(ws.root), "s"],
                             start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert _wait(lambda: any(r.get("state") == "running" and r.get("pid") for r in ws.runs()))
    pid = next(r for r in ws.runs() if r.get("state") == "running" and r.get("pid"))["pid"]
    ids = cancel(ws, "s", grace_s=2)
    assert len(ids) == 6
    assert sched.wait(10) is not None
    assert _wait(lambda: not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE, 10)
    assert {r["state"] for r in ws.runs(sweep="s")} == {"cancelled"}
    assert ws.sweep("s")["state"] == "cancelled" and ws.sweep("s")["scheduler_pid"] is None


def test_slots(monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert [s.name for s in make_slots(gpus=["0", "1"], per_gpu=2)] == ["gpu0#0", "gpu0#1", "gpu1#0", "gpu1#1"]
    assert [s.device for s in make_slots(gpus=["3"])] == ["cuda:3"]
    cpu = make_slots(gpus=[], cores=8, threads_per_run=2)
    assert len(cpu) == 4 and {s.threads for s in cpu} == {2}
    assert [s.threads for s in make_slots(gpus=[], cores=2)] == [1, 1]
    assert len(make_slots(gpus=[], cores=64)) == 8
    assert [s.threads for s in make_slots(gpus=[], cores=2, max_parallel=1)] == [2]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,5")
    assert [s.gpu for s in make_slots()] == ["2", "5"]


def test_a_launch_that_cannot_start_fails_its_run_and_the_sweep_goes_on(spec_file, monkeypatch):
    ws = _prepare(spec_file)
    monkeypatch.setenv("SCIML_TRAIN_ENTRY", json.dumps([str(spec_file.parent / "no-such-trainer")]))
    counts = run_scheduler(ws, ["s"], slots=[Slot("cpu0", threads=1)])
    runs = ws.runs(sweep="s")
    pre = next(r for r in runs if r.get("role") == "pretrain")
    assert pre["state"] == "failed" and "could not start" in pre["message"]
    assert all(r["state"] == "failed" for r in runs)  # the points wait on it, then fail too
    assert counts == {"failed": len(runs)}
    assert ws.sweep("s")["state"] == "failed" and ws.sweep("s")["scheduler_pid"] is None


def test_cancel_leaves_a_run_that_finished_meanwhile_alone(spec_file, monkeypatch):
    ws = _prepare(spec_file)
    rid = next(r["id"] for r in ws.runs(sweep="s") if r["init"] == "scratch")
    ws.update_run(rid, state="running")
    read = WorkspaceStore.run

    def read_then_finish(self, run_id):  # the run ends between cancel's read and its write
        rec = read(self, run_id)
        self.update_run(run_id, state="done", test_error=0.01)
        return rec

    monkeypatch.setattr(WorkspaceStore, "run", read_then_finish)
    assert cancel(ws, rid, grace_s=0.1) == []
    monkeypatch.undo()
    assert ws.run(rid)["state"] == "done"


def test_a_cancel_landing_while_a_run_starts_stops_its_process(spec_file, fake_entry, monkeypatch):
    from sciml_tui.launch.backend import LocalBackend

    monkeypatch.setenv("FAKE_EPOCH_S", "0.5")
    ws = _prepare(spec_file)
    started = []
    real_start = LocalBackend.start

    def start_then_cancelled(self, run, slot, resume, cwd):  # `sciml cancel` lands in the window
        handle = real_start(self, run, slot, resume=resume, cwd=cwd)
        started.append(handle)
        ws.update_run(run["id"], state="cancelled")
        return handle

    monkeypatch.setattr(LocalBackend, "start", start_then_cancelled)
    run_scheduler(ws, ["s"], slots=[Slot("cpu0", threads=1)])
    assert started
    for handle in started:
        assert not (handle.run_dir / "result.json").exists(), "a cancelled run trained to the end"
        assert ws.run(handle.run_dir.name)["state"] == "cancelled"


def test_a_pretraining_another_scheduler_started_is_waited_for_not_run_twice(spec_file, fake_entry, monkeypatch):
    """Two sweeps sharing a pre-training, each driven by its own scheduler: only one trains it."""
    import threading

    from sciml_tui.launch.backend import LocalBackend
    from sciml_tui.launch.scheduler import Scheduler

    ws = _prepare(spec_file)
    pre = next(r["id"] for r in ws.runs(sweep="s") if r.get("role") == "pretrain")
    started: list[str] = []
    real_start, real_adopt = LocalBackend.start, Scheduler._adopt

    def start(self, run, slot, resume, cwd):
        started.append(run["id"])
        return real_start(self, run, slot, resume=resume, cwd=cwd)

    def other_scheduler_takes_the_pretraining(self, runs):  # right after this one read its queue
        real_adopt(self, runs)
        ws.update_run(pre, state="running", started_at=time.time(), pid=os.getpid())

        def finish():
            time.sleep(1.0)
            ckpt = ws.root / ws.run(pre)["run_dir"] / "checkpoints"
            ckpt.mkdir(parents=True, exist_ok=True)
            (ckpt / "best.pt").write_text("{}")
            ws.update_run(pre, state="done", test_error=0.1, ended_at=time.time())

        threading.Thread(target=finish, daemon=True).start()

    monkeypatch.setattr(LocalBackend, "start", start)
    monkeypatch.setattr(Scheduler, "_adopt", other_scheduler_takes_the_pretraining)
    counts = run_scheduler(ws, ["s"], slots=[Slot("cpu0", threads=1)])
    assert pre not in started
    assert counts.get("done") == len(ws.runs(sweep="s")), counts
