"""Liveness beyond pids: pid start times, heartbeats, stalled runs and stopped sweeps."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from sciml_tui.errors import UserError
from sciml_tui.launch.backend import LocalBackend
from sciml_tui.launch.procs import own_create_time, pid_alive
from sciml_tui.launch.sweeps import scheduler_alive
from sciml_tui.learning.metrics_log import MetricsLog
from sciml_tui.rundir import HEARTBEAT_FILE, RunDir
from sciml_tui.store import WorkspaceStore
from sciml_tui.store.liveness import Staleness, write_scheduler_beat
from sciml_tui.store.status import collect, render_text


def test_a_live_pid_with_the_wrong_start_time_is_not_alive():
    me, born = os.getpid(), own_create_time()
    assert pid_alive(me, born) and pid_alive(me)
    assert not pid_alive(me, born - 3600)  # the pid was reused by this process
    launch = {"backend": "local", "pid": me, "create_time": born - 3600}
    assert LocalBackend().liveness(launch) == "gone"
    assert scheduler_alive({"scheduler_pid": me, "scheduler_create_time": born - 3600}) is False


def _age(path, seconds):
    t = time.time() - seconds
    os.utime(path, (t, t))


def _running_run(ws, tmp_path, pid):
    rdir = RunDir(tmp_path / "runs" / "r1")
    rdir.write_launch({"pid": pid, "pgid": pid, "backend": "local", "create_time": own_create_time()})
    rdir.beat()
    with ws.transaction() as tx:
        tx.upsert("sweeps", {"name": "s", "run_ids": ["r1"], "state": "done"})
        tx.upsert("runs", {"id": "r1", "sweep": "s", "state": "running", "run_dir": str(rdir.path),
                           "started_at": time.time() - 7200})
    return rdir


def test_a_hung_training_shows_stalled_with_how_long_while_its_pid_lives(tmp_path):
    ws = WorkspaceStore(tmp_path)
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        os.kill(proc.pid, signal.SIGSTOP)  # hung: the pid lives, nothing is written
        rdir = _running_run(ws, tmp_path, proc.pid)
        (row,) = collect(ws, sweep="s")["runs"]
        assert row["state"] == "running" and row["stalled_s"] is None  # fresh heartbeat
        for name in (HEARTBEAT_FILE, "launch.json"):
            _age(rdir.file(name), 3600)
        status = collect(ws, sweep="s")
        (row,) = status["runs"]
        assert row["state"] == "stalled" and 3500 < row["stalled_s"] < 3700
        assert status["sweeps"][0]["counts"] == {"stalled": 1}
        text = render_text(status)
        assert "run r1 stalled: no sign of life for 60 min" in text and "sciml cancel r1" in text
        (ws.meta_dir / "settings.json").write_text(json.dumps({"run_stalled_after_s": 7200}))
        assert collect(ws, sweep="s")["runs"][0]["state"] == "running"
        (ws.meta_dir / "settings.json").write_text(json.dumps({"run_stalled_after_s": "soon"}))
        with pytest.raises(UserError, match="run_stalled_after_s"):
            collect(ws)
    finally:
        proc.kill()
        proc.wait()


def test_a_sweep_whose_scheduler_died_shows_stopped_with_the_resume_command(tmp_path):
    ws = WorkspaceStore(tmp_path)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    ws.upsert_sweep({"name": "s", "run_ids": [], "state": "running", "scheduler_pid": dead.pid,
                     "scheduler_create_time": time.time() - 10})
    write_scheduler_beat(ws, ["s"], state="stopped", message="workspace store is corrupt")
    beat = json.loads((ws.meta_dir / "scheduler-s.beat").read_text())
    beat["pid"] = dead.pid
    (ws.meta_dir / "scheduler-s.beat").write_text(json.dumps(beat))
    (sweep,) = collect(ws, scheduler_alive=scheduler_alive)["sweeps"]
    assert sweep["state"] == "stopped"
    assert "is gone (workspace store is corrupt)" in sweep["message"] and "`sciml resume s`" in sweep["message"]
    assert "sweep s stopped: its scheduler" in render_text(collect(ws, scheduler_alive=scheduler_alive))


def test_a_live_scheduler_that_stopped_beating_shows_stalled(tmp_path):
    ws = WorkspaceStore(tmp_path)
    ws.upsert_sweep({"name": "s", "run_ids": [], "state": "running", "scheduler_pid": os.getpid(),
                     "scheduler_create_time": own_create_time()})
    write_scheduler_beat(ws, ["s"])
    assert collect(ws, scheduler_alive=scheduler_alive)["sweeps"][0]["state"] == "running"
    beat = json.loads((ws.meta_dir / "scheduler-s.beat").read_text())
    (ws.meta_dir / "scheduler-s.beat").write_text(json.dumps(dict(beat, at=time.time() - 600)))
    (sweep,) = collect(ws, scheduler_alive=scheduler_alive)["sweeps"]
    assert sweep["state"] == "stalled" and "10 min" in sweep["message"]
    assert Staleness.of(ws) == Staleness(600.0, 120.0)


def test_the_metrics_flush_writes_the_heartbeat(tmp_path):
    log = MetricsLog(tmp_path, flush_s=0.0)
    assert not (tmp_path / HEARTBEAT_FILE).exists()
    log.add_epoch({"epoch": 1, "val_error": 0.5})
    first = json.loads((tmp_path / HEARTBEAT_FILE).read_text())
    assert first["pid"] == os.getpid() and abs(first["at"] - time.time()) < 5
    _age(tmp_path / HEARTBEAT_FILE, 100)
    log.maybe_flush()  # nothing new to write: still a sign of life
    assert time.time() - RunDir(tmp_path).last_sign_of_life() < 5
