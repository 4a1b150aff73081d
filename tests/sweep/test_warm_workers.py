"""Warm workers with the fake trainer: reuse, adoption, crashes, leaks, per-run cancel, liveness."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil

from sciml_tui.launch import LAUNCHES, cancel, run_scheduler
from sciml_tui.launch.backend import Slot
from sciml_tui.rundir import RunDir
from sciml_tui.store.records import Liveness
from sciml_tui.workerdir import WorkerDir

from .test_scheduler import _prepare, _starts, _wait

TWO = [Slot("cpu0", threads=1), Slot("cpu1", threads=1)]


def _pids(ws) -> dict[str, set[str]]:
    return {r["id"]: {line.split()[0] for line in _starts(r["run_dir"])} for r in ws.runs(sweep="s")}


def test_a_slot_keeps_one_process_for_run_after_run(spec_file, fake_worker):
    ws = _prepare(spec_file)
    assert run_scheduler(ws, ["s"], slots=TWO, workers="warm") == {"done": 6}
    pids = _pids(ws)
    assert all(len(p) == 1 for p in pids.values())  # each run started once
    assert len(set().union(*pids.values())) <= 2  # by at most one worker per slot
    for r in ws.runs(sweep="s"):
        launch = RunDir(r["run_dir"]).launch()
        assert launch["token"] and launch["worker"] and launch["pid"] == r["pid"]
        assert (Path(r["run_dir"]) / "train.log").read_text().endswith("done\n")
        # done: the worker lets go of it once it has cleaned up after the run
        assert _wait(lambda: LAUNCHES.liveness(launch) == Liveness.GONE, 10)
    # the scheduler told its idle workers to go
    assert _wait(lambda: all(not psutil.pid_exists(int(p.split("=")[1])) or
                             psutil.Process(int(p.split("=")[1])).status() == psutil.STATUS_ZOMBIE
                             for p in set().union(*pids.values())), 10)


def test_fresh_mode_starts_a_process_per_run(spec_file, fake_worker):
    ws = _prepare(spec_file)
    assert run_scheduler(ws, ["s"], slots=TWO, workers="fresh") == {"done": 6}
    assert len(set().union(*_pids(ws).values())) == 6
    assert all("token" not in RunDir(r["run_dir"]).launch() for r in ws.runs(sweep="s"))


def test_a_crash_fails_only_the_run_it_was_on(spec_file, fake_worker, monkeypatch):
    ws = _prepare(spec_file)
    victim = next(r for r in ws.runs(sweep="s") if r["init"] == "scratch")
    monkeypatch.setenv("FAKE_CRASH", victim["id"])
    counts = run_scheduler(ws, ["s"], slots=[Slot("cpu0", threads=1)], workers="warm")
    assert counts == {"done": 5, "failed": 1}
    assert ws.run(victim["id"])["state"] == "failed"
    assert "without writing result.json" in ws.run(victim["id"])["message"]
    assert len(set().union(*_pids(ws).values())) == 2  # the slot got a fresh worker after the crash


def test_a_worker_over_its_memory_cap_is_replaced_after_its_run(spec_file, fake_worker, monkeypatch):
    monkeypatch.setenv("SCIML_WORKER_MAX_RSS_MB", "1")  # every run leaves more than 1 MB resident
    ws = _prepare(spec_file)
    assert run_scheduler(ws, ["s"], slots=[Slot("cpu0", threads=1)], workers="warm") == {"done": 6}
    assert len(set().union(*_pids(ws).values())) == 6


def test_killed_scheduler_leaves_worker_runs_going_and_a_new_one_adopts_them(spec_file, fake_worker, monkeypatch):
    monkeypatch.setenv("FAKE_EPOCH_S", "0.5")
    ws = _prepare(spec_file)
    sched = subprocess.Popen([sys.executable, "-m", "sciml_tui.launch.daemon", str(ws.root), "s", "--max-parallel",
                              "2", "--workers", "warm"], start_new_session=True, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    assert _wait(lambda: any(r.get("state") == "running" and r.get("pid") and r.get("init") != "pretrain"
                             for r in ws.runs()))
    os.kill(sched.pid, signal.SIGKILL)
    sched.wait()
    live = [r for r in ws.runs() if r.get("state") == "running" and r.get("pid")]
    assert live and all(LAUNCHES.liveness(RunDir(r["run_dir"]).launch()) == Liveness.RUNNING for r in live)
    assert run_scheduler(ws, ["s"], workers="warm") == {"done": 6}
    for r in ws.runs(sweep="s"):
        assert len(_starts(r["run_dir"])) == 1, r["id"]  # adopted, never started twice
    # the killed scheduler's workers finish their runs and, idle without it, exit
    pids = {RunDir(r["run_dir"]).launch()["pid"] for r in ws.runs(sweep="s")}
    assert _wait(lambda: all(not psutil.pid_exists(p) or psutil.Process(p).status() == psutil.STATUS_ZOMBIE
                             for p in pids), 20)


def test_cancel_of_one_run_stops_that_run_and_the_others_go_on(spec_file, fake_worker, monkeypatch):
    monkeypatch.setenv("FAKE_EPOCH_S", "0.3")
    spec_file.write_text(spec_file.read_text().replace("    recipe: {epochs: 2}\n", "    recipe: {epochs: 6}\n"))
    ws = _prepare(spec_file)
    sched = subprocess.Popen([sys.executable, "-m", "sciml_tui.launch.daemon", str(ws.root), "s", "--max-parallel",
                              "1", "--workers", "warm"], start_new_session=True, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        assert _wait(lambda: any(r.get("state") == "running" and r.get("init") == "scratch" for r in ws.runs()))
        target = next(r for r in ws.runs() if r.get("state") == "running" and r.get("init") == "scratch")
        assert cancel(ws, target["id"], grace_s=2) == [target["id"]]
        assert sched.wait(120) == 0
    finally:
        if sched.poll() is None:
            sched.kill()
    states = {r["id"]: r["state"] for r in ws.runs(sweep="s")}
    assert states.pop(target["id"]) == "cancelled"
    assert set(states.values()) == {"done"}


def test_liveness_follows_the_workers_token(tmp_path):
    wd = WorkerDir(tmp_path / "w")
    launch = {"backend": "local", "pid": os.getpid(), "create_time": psutil.Process().create_time(),
              "worker": str(wd.path), "token": "abc"}
    wd.put({"run_dir": "r", "token": "abc"})
    assert LAUNCHES.liveness(launch) == Liveness.RUNNING  # waiting in the inbox
    assert wd.take()["token"] == "abc"
    assert LAUNCHES.liveness(launch) == Liveness.RUNNING  # being trained
    wd.set_current({"run_dir": "r2", "token": "def"})
    assert LAUNCHES.liveness(launch) == Liveness.GONE  # the worker moved on
    assert LAUNCHES.liveness({**launch, "token": "def", "pid": 2**22 + 7}) == Liveness.GONE  # the worker died
