"""The array script's requeue of a preempted task, run with bash and fake Slurm commands on PATH
(no Slurm needed: these always run)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sciml_tui.errors import UserError
from sciml_tui.launch import LAUNCHES
from sciml_tui.launch import slurm as procs
from sciml_tui.launch.slurm_script import MAX_REQUEUES, SlurmOptions, array_script, manifest_text, sbatch_argv
from sciml_tui.rundir import RunDir
from sciml_tui.store import WorkspaceStore, reconcile
from sciml_tui.store.reconcile import REQUEUED

# the entry: exits with $ENTRY_EXIT (75 writes preempted.json first, with paused_after if
# $ENTRY_PAUSED); with $ENTRY_WAIT it waits for SIGTERM (then exits 75), writing `ready` first
ENTRY = r"""
import json, os, signal, sys, time
run_dir = sys.argv[1]
def preempted(paused=None):
    info = {"epoch": 2, "step": 5, "signal": "SIGTERM", "at": 0, "message": "stopped"}
    if paused is not None:
        info.update(signal=None, paused_after=paused)
    with open(os.path.join(run_dir, "preempted.json"), "w") as fh:
        json.dump(info, fh, indent=2, sort_keys=True)
    sys.exit(75)
if os.environ.get("ENTRY_WAIT"):
    got = []
    signal.signal(signal.SIGTERM, lambda s, f: got.append(s))
    open(os.path.join(run_dir, "ready"), "w").close()
    deadline = time.time() + 20
    while not got and time.time() < deadline:
        time.sleep(0.02)
    print("entry got", got, flush=True)
    preempted()
code = int(os.environ.get("ENTRY_EXIT", "0"))
if code == 75:
    preempted(int(os.environ["ENTRY_PAUSED"]) if os.environ.get("ENTRY_PAUSED") else None)
if code < 0:
    os.kill(os.getpid(), -code)
sys.exit(code)
"""

FAKE_TOOL = """#!/bin/bash
echo "$(basename "$0") $*" >> "$SLURM_CALLS"
case "$(basename "$0")" in
  squeue) echo "${FAKE_TASK_STATE:-RUNNING}" ;;
  scontrol) if [ -n "${FAKE_CANCEL_WHILE_REQUEUE:-}" ]; then echo '{}' > "$FAKE_CANCEL_WHILE_REQUEUE"; fi
            exit "${FAKE_SCONTROL_EXIT:-0}" ;;
esac
"""


@pytest.fixture
def task(tmp_path):
    """Array task 1 of array 7 (its own Slurm job id 9) on the second run dir of a manifest."""
    dirs = [tmp_path / "runs" / "r0", tmp_path / "runs" / "r1"]
    for d in dirs:
        d.mkdir(parents=True)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("squeue", "scontrol", "scancel"):
        (bin_dir / tool).write_text(FAKE_TOOL)
        (bin_dir / tool).chmod(0o755)
    manifest = tmp_path / "x.manifest"
    manifest.write_text(manifest_text(dirs))
    entry = tmp_path / "entry.py"
    entry.write_text(ENTRY)
    script = tmp_path / "x.sh"
    script.write_text(array_script(manifest, [sys.executable, str(entry)], max_requeues=3))
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "SLURM_ARRAY_JOB_ID": "7",
           "SLURM_ARRAY_TASK_ID": "1", "SLURM_JOB_ID": "9", "SLURM_CALLS": str(tmp_path / "calls")}
    return {"script": script, "run_dir": dirs[1], "env": env, "calls": tmp_path / "calls"}


def _run(task, **env) -> tuple[int, list[str], list[str]]:
    """Run the task script; (exit status, Slurm calls, the `sciml:` lines of stdout.log)."""
    out = subprocess.run(["bash", str(task["script"])], env={**task["env"], **env}, capture_output=True,
                         text=True, timeout=30)
    calls = task["calls"].read_text().splitlines() if task["calls"].exists() else []
    log = (task["run_dir"] / "stdout.log").read_text().splitlines()
    return out.returncode, calls, [ln for ln in log if ln.startswith("sciml:")]


def test_a_preempted_run_requeues_its_own_array_task_only(task):
    code, calls, log = _run(task, ENTRY_EXIT="75")
    assert code == 75
    assert calls == ["squeue --noheader --jobs 7_1 --format %T", "scontrol requeue 7_1"]
    assert log[0].startswith("sciml: Slurm task 7_1 on ") and log[0].endswith("(restart 0)")
    assert log[1:] == ["sciml: preempted: requeued Slurm task 7_1 (requeue 1 of at most 3); "
                       "it resumes from its checkpoint"]


@pytest.mark.parametrize("code", [0, 1, 3, 2])
def test_other_endings_keep_their_status_and_are_not_requeued(task, code):
    status, calls, log = _run(task, ENTRY_EXIT=str(code))
    assert status == code and calls == [] and len(log) == 1


def test_a_child_killed_by_a_signal_is_not_requeued(task):
    status, calls, _ = _run(task, ENTRY_EXIT=str(-signal.SIGKILL))
    assert status == 128 + signal.SIGKILL and calls == []


@pytest.mark.parametrize("case, env, line", [
    ("paused", {"ENTRY_PAUSED": "2"}, "paused at an lr-search rung"),
    ("cancelled", {}, "stopped by sciml cancel"),
    ("scancel", {"FAKE_TASK_STATE": "COMPLETING"}, "is COMPLETING (scancel or the time limit)"),
    ("cap", {"SLURM_RESTART_COUNT": "3"}, "preempted again after 3 requeue(s) (limit 3)"),
    ("failed requeue", {"FAKE_SCONTROL_EXIT": "1"}, "scontrol requeue 7_1 failed"),
])
def test_a_preempted_run_that_must_not_come_back_is_not_requeued(task, case, env, line):
    if case == "cancelled":
        RunDir(task["run_dir"]).mark_cancelled()
    code, calls, log = _run(task, ENTRY_EXIT="75", **env)
    assert code == 75
    assert [c for c in calls if c.startswith("scontrol")] == (["scontrol requeue 7_1"] if case == "failed requeue" else [])
    assert len(log) == 2 and line in log[1], log


def test_under_the_cap_a_restarted_task_is_requeued_again(task):
    code, calls, log = _run(task, ENTRY_EXIT="75", SLURM_RESTART_COUNT="2")
    assert calls[-1] == "scontrol requeue 7_1" and "(requeue 3 of at most 3)" in log[-1]
    assert log[0].endswith("(restart 2)")


def test_a_cancel_that_lands_during_the_requeue_cancels_the_requeued_task(task):
    marker = RunDir(task["run_dir"]).file("cancelled.json")
    _, calls, _ = _run(task, ENTRY_EXIT="75", FAKE_CANCEL_WHILE_REQUEUE=str(marker))
    assert calls[-2:] == ["scontrol requeue 7_1", "scancel 7_1"]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGUSR1, signal.SIGINT])
def test_signals_to_the_batch_shell_reach_the_trainer_as_sigterm(task, sig):
    """`--signal=B:...` and `scancel --batch` signal only the shell: it forwards them."""
    proc = subprocess.Popen(["bash", str(task["script"])], env={**task["env"], "ENTRY_WAIT": "1"})
    ready = task["run_dir"] / "ready"
    deadline = time.time() + 20
    while not ready.exists() and time.time() < deadline:
        time.sleep(0.02)
    assert ready.exists()
    proc.send_signal(sig)
    assert proc.wait(timeout=20) == 75
    log = (task["run_dir"] / "stdout.log").read_text()
    assert f"entry got [{int(signal.SIGTERM)}]" in log
    assert task["calls"].read_text().splitlines()[-1] == "scontrol requeue 7_1"


def test_the_script_text_names_the_cap_and_the_files():
    text = array_script(Path("/m"), ["python"], max_requeues=4)
    assert "MAX_REQUEUES=4" in text and "cancelled.json" in text and "preempted.json" in text
    assert "exec python" not in text and f"MAX_REQUEUES={MAX_REQUEUES}" in array_script(Path("/m"), ["python"])


def test_arrays_are_submitted_requeueable_and_requeue_options_are_reserved(tmp_path):
    argv = sbatch_argv(tmp_path / "s.sh", 2, name="n", output="o", chdir=tmp_path,
                       options=SlurmOptions(opts=["signal=B:TERM@120"]))
    assert "--requeue" in argv and "--signal=B:TERM@120" in argv
    for opt in ("requeue=1", "no-requeue=1", "no-r=1"):
        with pytest.raises(UserError, match="set by sciml"):
            SlurmOptions(opts=[opt]).extra()
    for bad in (-1, True, "3"):
        with pytest.raises(UserError, match="--max-requeues must be 0 or more"):
            SlurmOptions(max_requeues=bad).threads()
    assert SlurmOptions(max_requeues=0).requeues == 0 and SlurmOptions().requeues == MAX_REQUEUES


def _slurm_run(ws: WorkspaceStore, rid: str, state: str, job: str) -> Path:
    run_dir = ws.runs_dir / rid
    run_dir.mkdir(parents=True)
    RunDir(run_dir).write_launch({"backend": "slurm", "slurm_job_id": job, "pid": None})
    ws.upsert_run({"id": rid, "sweep": "s", "state": state, "run_dir": str(run_dir), "started_at": 1.0})
    return run_dir


def test_reconcile_keeps_a_requeued_task_queued_and_a_paused_run_waiting(tmp_path, monkeypatch):
    """A running task back in PENDING (requeued) shows queued, then running again; COMPLETING on
    the way is still running; a run that paused at a rung and left the queue is queued, not failed."""
    ws = WorkspaceStore(tmp_path)
    _slurm_run(ws, "requeued", "running", "5_0")
    _slurm_run(ws, "ending", "running", "5_1")
    paused_dir = _slurm_run(ws, "paused", "running", "5_2")
    (paused_dir / "preempted.json").write_text(json.dumps({"epoch": 3, "paused_after": 2, "signal": None}))
    preempted_dir = _slurm_run(ws, "preempted", "running", "5_3")
    (preempted_dir / "preempted.json").write_text(json.dumps({"epoch": 3, "step": 9, "signal": "SIGTERM"}))
    squeue = {"5_0": "PENDING", "5_1": "COMPLETING"}
    monkeypatch.setattr(procs, "squeue_tasks", lambda: dict(squeue))
    procs._squeue_cache = (0.0, None)
    assert sorted(reconcile(ws, LAUNCHES)) == ["paused", "preempted", "requeued"]
    states = {r.id: (r.state.value, r.message) for r in ws.runs()}
    assert states["requeued"] == ("queued", REQUEUED) and states["ending"][0] == "running"
    assert states["paused"] == ("queued", "paused after epoch 2: waiting for the other lr candidates")
    assert states["preempted"][0] == "failed" and "preempted: stopped by SIGTERM" in states["preempted"][1]
    procs._squeue_cache = (0.0, None)
    assert reconcile(ws, LAUNCHES) == []  # nothing moves twice (the paused run stays queued)
    squeue["5_0"] = "RUNNING"
    procs._squeue_cache = (0.0, None)
    assert reconcile(ws, LAUNCHES) == ["requeued"] and ws.run("requeued").state == "running"
