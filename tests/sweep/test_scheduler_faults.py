"""The scheduler on a bad day: a store that turns corrupt or unwritable, SIGTERM while it
generates data, trainings killed by a signal or preempted."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sciml_tui.errors import UserError
from sciml_tui.launch import run_scheduler
from sciml_tui.launch.sweeps import scheduler_alive
from sciml_tui.store import WorkspaceStore
from sciml_tui.store.status import collect

from .conftest import prepare, wait_until


_prepare, _wait = prepare, wait_until


def _daemon(ws, *args):
    return subprocess.Popen([sys.executable, "-m", "sciml_tui.launch.daemon", str(ws.root), "s", *args],
                            start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_a_store_truncated_mid_sweep_stops_the_scheduler_visibly_not_finished(spec_file, fake_entry, monkeypatch):
    monkeypatch.setenv("FAKE_EPOCH_S", "0.5")
    ws = _prepare(spec_file)
    sched = _daemon(ws)
    assert _wait(lambda: any(r.state == "running" and r.pid for r in ws.runs()))
    assert _wait(lambda: ws.bak_path.exists())
    ws.path.write_text("")  # truncated under the scheduler's feet
    out, _ = sched.communicate(timeout=60)
    assert sched.returncode == 2
    assert "finished" not in out and "error: workspace store" in out and str(ws.bak_path) in out
    assert ws.path.read_text() == ""  # never rewritten from nothing
    beat = json.loads((ws.meta_dir / "scheduler-s.beat").read_text())
    assert beat["state"] == "stopped" and "corrupt" in beat["message"]
    os.replace(ws.bak_path, ws.path)  # the restore the message names
    (sweep,) = collect(ws, scheduler_alive=scheduler_alive)["sweeps"]
    assert sweep["state"] == "stopped" and "corrupt" in sweep["message"] and "sciml resume s" in sweep["message"]
    monkeypatch.setenv("FAKE_EPOCH_S", "0")
    assert run_scheduler(ws, ["s"]) == {"done": 6}
    assert ws.sweep("s").state == "done"


def test_a_store_write_refused_mid_sweep_stops_the_scheduler_and_keeps_the_store(spec_file, fake_entry, monkeypatch):
    ws = _prepare(spec_file)
    before = ws.path.read_text()
    import sciml_tui.store.workspace as workspace

    real, calls = workspace.write_text, []

    def write(path, text):
        calls.append(path)
        if len(calls) > 4 and Path(path) == ws.path:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real(path, text)
    monkeypatch.setattr(workspace, "write_text", write)
    with pytest.raises(UserError, match="Read-only file system"):
        run_scheduler(ws, ["s"])
    monkeypatch.setattr(workspace, "write_text", real)
    assert json.loads(ws.path.read_text())  # a whole store, never a torn one
    assert ws.path.read_text() != before
    beat = json.loads((ws.meta_dir / "scheduler-s.beat").read_text())
    assert beat["state"] == "stopped" and "Read-only" in beat["message"]


def test_trainings_killed_by_a_signal_say_which(spec_file, fake_entry, monkeypatch):
    monkeypatch.setenv("FAKE_SIGNAL", str(int(signal.SIGKILL)))
    ws = _prepare(spec_file)
    run_scheduler(ws, ["s"])
    pre = next(r for r in ws.runs() if r.role == "pretrain")
    assert pre.state == "failed" and "killed by SIGKILL" in pre.message


def test_a_preempted_training_is_failed_with_how_to_continue_it(spec_file, fake_entry, monkeypatch):
    monkeypatch.setenv("FAKE_PREEMPT", "1")
    ws = _prepare(spec_file)
    run_scheduler(ws, ["s"])
    pre = next(r for r in ws.runs() if r.role == "pretrain")
    assert pre.state == "failed"
    assert pre.message == ("preempted: stopped by SIGTERM in epoch 2 (step 7); `sciml resume s` continues it "
                           "from its checkpoint")


def test_sigterm_while_generating_stops_generation_and_leaves_no_temp_file(spec_file, fake_entry):
    spec_file.write_text(spec_file.read_text().replace("n: 16, sizes: {train: 32", "n: 64, sizes: {train: 20000"))
    ws = _prepare(spec_file, fake_data=False)
    sched = _daemon(ws)
    temps = lambda: list(ws.data_dir.rglob("*.tmp"))  # noqa: E731
    assert _wait(temps, 120), sched.communicate(timeout=5)[0] if sched.poll() is not None else "no temp file"
    t0 = time.time()
    sched.send_signal(signal.SIGTERM)
    out, _ = sched.communicate(timeout=60)
    assert time.time() - t0 < 30 and sched.returncode == 0, out
    assert temps() == []
    states = {d.id: d.state for d in ws.datasets()}
    assert "generating" not in states.values(), states
    assert ws.sweep("s").state == "stopped" and ws.sweep("s").scheduler_pid is None


def test_a_second_detached_launch_of_a_running_sweep_is_refused_through_the_api(spec_file, fake_entry, monkeypatch):
    from sciml_tui.launch import launch_sweep, resume

    monkeypatch.setenv("FAKE_EPOCH_S", "1")
    spec_file.write_text(spec_file.read_text().replace("recipe: {epochs: 2}}", "recipe: {epochs: 30}}"))
    _prepare(spec_file)
    first = launch_sweep(spec_file.parents[1], spec_file, detach=True)
    ws = WorkspaceStore(spec_file.parents[1])
    try:
        assert ws.sweep("s").scheduler_pid == first["scheduler_pid"]  # held when the call returns
        with pytest.raises(UserError, match="already being run by scheduler pid"):
            launch_sweep(ws, spec_file, detach=True)
        with pytest.raises(UserError, match="already being run by scheduler pid"):
            resume(ws, "s", detach=True)
        from sciml_tui.launch.scheduler import spawn_scheduler
        # two launches racing past the early check: the second scheduler's refusal reaches its caller
        with pytest.raises(UserError, match="already being run by scheduler pid"):
            spawn_scheduler(ws, ["s"], None, [], 1)
    finally:
        from sciml_tui.launch import cancel
        cancel(ws, "s", grace_s=2)
