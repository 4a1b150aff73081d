"""A preempted array task is requeued through a real single-node Slurm (skipped without Slurm).

The fake trainer honours SIGTERM here (FAKE_HONOUR_TERM): it stops at once with `last.pt` at
its last finished epoch, writes `preempted.json` and exits 75, and `epochs.log` lists every
epoch it finished, so a run that continues exactly lists each epoch once.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from sciml_tui.launch import LAUNCHES, cancel, launch_sweep
from sciml_tui.launch import slurm
from sciml_tui.launch.slurm import SlurmOptions, squeue_tasks
from sciml_tui.rundir import RunDir
from sciml_tui.store import WorkspaceStore, reconcile
from sciml_tui.store.reconcile import REQUEUED

from sweep.conftest import prepare

from .conftest import needs_slurm, wait_for

pytestmark = needs_slurm

SPEC = """\
datasets:
  down: {system: poisson, range: [5, 10], n: 16, sizes: {train: 32, val: 8, test: 8}, seed: 2}
sweeps:
  q:
    dataset: down
    n_train: %s
    lr: [1e-3]
    seeds: [0]
    models: [tiny]
    inits: [scratch]
    recipe: {epochs: %d}
"""


@pytest.fixture(autouse=True)
def no_task_left(spec_file):
    """Whatever a test leaves in Slurm (it failed halfway) is cancelled."""
    yield
    ws = WorkspaceStore(spec_file.parents[1])
    left = [j for j in (ws.sweep("q") or {}).get("slurm_jobs") or []] if ws.exists() else []
    if left:
        subprocess.run(["scancel", *left], timeout=30)


def _submit(spec_file: Path, n_train: str, epochs: int, **options) -> tuple[WorkspaceStore, dict[str, str]]:
    """Submit the sweep detached; {run id: its array task}."""
    spec_file.write_text(SPEC % (n_train, epochs))
    ws = prepare(spec_file)
    out = launch_sweep(ws, spec_file, detach=True, backend="slurm", slurm=SlurmOptions(**options))
    return ws, {rid: _job(ws, rid) for rid in out["submitted"]}


def _job(ws: WorkspaceStore, rid: str) -> str:
    return RunDir(ws.run(rid).run_dir).launch()["slurm_job_id"]


def _file(ws: WorkspaceStore, rid: str, name: str) -> list[str]:
    path = Path(ws.run(rid).run_dir, name)
    return path.read_text().splitlines() if path.exists() else []


def _sciml_lines(ws: WorkspaceStore, rid: str) -> list[str]:
    return [ln for ln in _file(ws, rid, "stdout.log") if ln.startswith("sciml: ") and " on " not in ln]


def _state(ws: WorkspaceStore, rid: str) -> str:
    slurm.squeue_snapshot(max_age_s=0)
    reconcile(ws, LAUNCHES)
    return ws.run(rid).state.value


def _task(job: str) -> str:
    out = subprocess.run(["squeue", "--noheader", "--jobs", job, "--format", "%T %r"], capture_output=True,
                         text=True, timeout=30)
    return out.stdout.strip()


def _release(job: str) -> None:
    """Start a requeued task now: Slurm holds one for its credential lifetime (120 s by default),
    from when the requeue completes (reason BeginTime), so the hold is lifted only after that."""
    assert wait_for(lambda: _task(job) == "PENDING BeginTime", timeout=30)

    def started() -> bool:
        if _task(job) == "PENDING BeginTime":
            subprocess.run(["scontrol", "update", f"JobId={job}", "StartTime=now"], check=True, timeout=30)
        return not _task(job).startswith("PENDING")

    assert wait_for(started, timeout=30, poll=0.5)


def test_a_signalled_task_is_requeued_resumes_exactly_and_the_others_are_untouched(spec_file, fake_entry):
    fake_entry.setenv("FAKE_EPOCH_S", "1")
    fake_entry.setenv("FAKE_HONOUR_TERM", "1")
    ws, jobs = _submit(spec_file, "[4, 8]", 4)
    hit, other = sorted(jobs, key=jobs.get)
    assert wait_for(lambda: all(_file(ws, r, "epochs.log") for r in jobs), timeout=30)
    t0 = time.time()
    # `--signal=B:TERM@...` and `scancel --batch` signal the batch shell only: it forwards
    subprocess.run(["scancel", "--signal=TERM", "--batch", jobs[hit]], check=True, timeout=30)
    assert wait_for(lambda: _state(ws, hit) == "queued", timeout=30)
    t_pending = time.time()
    assert ws.run(hit).message == REQUEUED and jobs[hit] in squeue_tasks()
    _release(jobs[hit])
    seen = set()
    assert wait_for(lambda: seen.add(_state(ws, hit)) or len(_file(ws, hit, "starts.log")) == 2, timeout=30)
    t_resumed = time.time()
    assert slurm.watch(ws, ["q"], list(jobs), poll_s=0.2, timeout_s=60) == {"done": 2}
    assert seen <= {"queued", "running"}  # never failed or lost while requeued
    resume, start = _file(ws, hit, "starts.log")[1].split()[1:]
    assert resume == "resume=True" and int(start.removeprefix("from=")) >= 1
    assert _file(ws, hit, "epochs.log") == ["1", "2", "3", "4"]  # each epoch once: it continued exactly
    requeued = [ln for ln in _sciml_lines(ws, hit) if "requeued" in ln]
    assert requeued == [f"sciml: preempted: requeued Slurm task {jobs[hit]} (requeue 1 of at most 10); "
                        "it resumes from its checkpoint"]
    assert _job(ws, hit) == jobs[hit] and _job(ws, other) == jobs[other]
    assert len(_file(ws, other, "starts.log")) == 1 and _sciml_lines(ws, other) == []
    assert _file(ws, other, "epochs.log") == ["1", "2", "3", "4"]
    print(f"\nsignal -> back in PENDING {t_pending - t0:.2f} s; release -> resumed {t_resumed - t_pending:.2f} s")


def test_sciml_cancel_is_not_undone_and_a_plain_scancel_is_not_either(spec_file, fake_entry):
    fake_entry.setenv("FAKE_EPOCH_S", "1")
    fake_entry.setenv("FAKE_HONOUR_TERM", "1")
    ws, jobs = _submit(spec_file, "[4, 8]", 30)
    mine, outside = sorted(jobs, key=jobs.get)
    assert wait_for(lambda: all(_state(ws, r) == "running" and _file(ws, r, "epochs.log") for r in jobs), timeout=30)
    assert cancel(ws, mine) == [mine]
    subprocess.run(["scancel", jobs[outside]], check=True, timeout=30)
    assert wait_for(lambda: not set(jobs.values()) & set(squeue_tasks() or {}), timeout=30)
    time.sleep(1.0)
    assert not set(jobs.values()) & set(squeue_tasks() or {})  # neither came back
    assert _sciml_lines(ws, mine) == [f"sciml: stopped by sciml cancel: task {jobs[mine]} is not requeued"]
    assert _sciml_lines(ws, outside) == [f"sciml: Slurm task {jobs[outside]} is COMPLETING (scancel or the time "
                                         "limit): it is not requeued"]
    assert _state(ws, mine) == "cancelled"
    run = ws.run(outside)
    assert run.state == "failed" and "preempted: stopped by SIGTERM" in run.message and "sciml resume q" in run.message
    assert all(len(_file(ws, r, "starts.log")) == 1 for r in jobs)


def test_a_task_preempted_over_and_over_stops_at_the_cap(spec_file, fake_entry):
    fake_entry.setenv("FAKE_PREEMPT", "1")  # every attempt ends preempted at once
    ws, jobs = _submit(spec_file, "[4]", 2, max_requeues=1)
    (rid,) = jobs
    _release(jobs[rid])
    assert wait_for(lambda: _state(ws, rid) == "failed", timeout=30)
    assert len(_file(ws, rid, "starts.log")) == 2
    assert _sciml_lines(ws, rid) == [
        f"sciml: preempted: requeued Slurm task {jobs[rid]} (requeue 1 of at most 1); it resumes from its checkpoint",
        f"sciml: preempted again after 1 requeue(s) (limit 1): task {jobs[rid]} is not requeued; "
        "sciml resume continues it"]
    assert "`sciml resume q` continues it" in ws.run(rid).message
