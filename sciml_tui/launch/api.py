"""Plain functions the CLI and the dashboard call: plan, record, launch, resume, cancel."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Optional

from sciml_tui.errors import UserError
from sciml_tui.launch.backend import LocalBackend, Slot, make_slots
from sciml_tui.launch.scheduler import Event, Scheduler, install_stop_handlers
from sciml_tui.launch.slurm import SlurmOptions
from sciml_tui.learning.calibrate import device_for_slots
from sciml_tui.specs.cost import estimate_in_workspace
from sciml_tui.specs.plan import Plan, plan_from_file
from sciml_tui.store import WorkspaceStore, reconcile
from sciml_tui.store.procs import launch_alive, pid_alive, read_launch

RESULT_FIELDS = ("test_error", "best_val_error", "best_epoch", "epochs_run", "elapsed_s", "params",
                 "message", "log_tail", "started_at", "ended_at", "pid", "device")


def _ws(ws: WorkspaceStore | str | os.PathLike[str]) -> WorkspaceStore:
    return ws if isinstance(ws, WorkspaceStore) else WorkspaceStore(ws)


def plan_sweep(spec_path: str | Path, ws: WorkspaceStore | str, sweeps: Optional[list[str]] = None) -> Plan:
    """Validate the spec and expand it; each unit's `state` says what the store already has.

    `plan.summary_lines()` is the printable dry run, `plan.to_dict()` its JSON.
    """
    ws = _ws(ws)
    plan = plan_from_file(spec_path, ws.root, sweeps, ws.runs())
    plan.cost = estimate_in_workspace(plan, ws.root, device_for_slots(make_slots()))
    return plan


def record_plan(ws: WorkspaceStore, plan: Plan, rerun: bool = False) -> None:
    """Record the plan's experiment, datasets, sweeps and runs in one store write.

    Existing runs keep their state (content addressing: done stays done) unless `rerun`, which
    requeues every run of the plan and clears its run dir.
    """
    now = time.time()
    if rerun:
        live = [r.id for r in plan.runs if launch_alive(read_launch(r.run_dir))]
        if live:
            raise UserError(f"{len(live)} run(s) of this plan are running (e.g. {live[0]}); cancel them before --rerun")
        for r in plan.runs:
            if r.run_dir.exists():
                shutil.rmtree(r.run_dir)
    with ws.transaction() as tx:
        tx.upsert("experiments", {"name": plan.experiment, "spec_path": str(plan.spec_path.absolute()),
                                  "spec_hash": plan.spec_hash, "loaded_at": now})
        for d in plan.datasets:
            rec = d.record()
            cur = tx.get("datasets", d.id)
            if cur is not None and cur.get("state") == "ready" and not d.exists:
                rec["state"] = "missing"
            tx.upsert("datasets", rec)
        for name, ids in plan.sweeps.items():
            cur = tx.get("sweeps", name) or {}
            tx.upsert("sweeps", {"name": name, "experiment": plan.experiment, "spec_path": str(plan.spec_path.absolute()),
                                 "created_at": cur.get("created_at", now), "run_ids": ids,
                                 "target": plan.targets.get(name, 1e-2),
                                 "state": cur.get("state") or "planned"})
        for r in plan.runs:
            rec = r.record()
            cur = tx.get("runs", r.id)
            if cur is None or rerun:
                rec.update(state="queued", created_at=now if cur is None else cur.get("created_at", now),
                           **{k: None for k in RESULT_FIELDS})
            tx.upsert("runs", rec)
            r.state = (tx.get("runs", r.id) or {}).get("state", "queued")


def scheduler_log(ws: WorkspaceStore, sweeps: list[str]) -> Path:
    return ws.meta_dir / f"scheduler-{sweeps[0]}.log"


def _spawn_detached(ws: WorkspaceStore, sweeps: list[str], max_parallel: Optional[int], gpus: Optional[list[str]],
                    per_gpu: int) -> int:
    args = [sys.executable, "-m", "sciml_tui.launch.daemon", str(ws.root), *sweeps, "--per-gpu", str(per_gpu)]
    if max_parallel:
        args += ["--max-parallel", str(max_parallel)]
    if gpus is not None:
        args += ["--gpus", ",".join(gpus)]
    ws.meta_dir.mkdir(parents=True, exist_ok=True)
    with open(scheduler_log(ws, sweeps), "ab") as out:
        proc = subprocess.Popen(args, cwd=str(ws.root), stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True, close_fds=True)
    return proc.pid


def run_scheduler(ws: WorkspaceStore, sweeps: list[str], *, max_parallel: Optional[int] = None,
                  gpus: Optional[list[str]] = None, per_gpu: int = 1, slots: Optional[list[Slot]] = None,
                  on_event: Optional[Event] = None, poll_s: float = 0.1) -> dict[str, int]:
    """Run the scheduler in this process until the sweeps finish; returns counts of states."""
    reconcile(ws)
    sched = Scheduler(ws, sweeps, LocalBackend(), slots or make_slots(gpus, per_gpu, max_parallel),
                      poll_s=poll_s, on_event=on_event)
    install_stop_handlers(sched)
    return sched.run()


def launch_sweep(ws: WorkspaceStore | str, spec_path: str | Path, *, sweeps: Optional[list[str]] = None,
                 detach: bool = True, rerun: bool = False, max_parallel: Optional[int] = None,
                 gpus: Optional[list[str]] = None, per_gpu: int = 1, on_event: Optional[Event] = None,
                 backend: str = "local", slurm: Optional[SlurmOptions] = None) -> dict[str, Any]:
    """Plan, record, and run the spec's sweeps (all of them unless `sweeps` names some).

    detach=True starts the scheduler as its own detached process and returns
    `{"sweeps", "scheduler_pid", "log"}` at once; otherwise runs it here and returns
    `{"sweeps", "counts"}` when done. backend="slurm" submits job arrays instead
    (`sciml_tui.launch.slurm.submit`, returning its dict); without detach it then follows
    them until they end and adds `counts`.
    """
    ws = _ws(ws)
    plan = plan_sweep(spec_path, ws, sweeps)
    names = list(plan.sweeps)
    if not names:
        raise UserError(f"{spec_path} defines no sweeps")
    _check_backend(backend, slurm)
    if backend == "slurm":
        from sciml_tui.launch.slurm import require_tools

        require_tools()  # before anything is recorded
    record_plan(ws, plan, rerun=rerun)
    return _go(ws, names, detach, max_parallel, gpus, per_gpu, on_event, backend, slurm)


def resume(ws: WorkspaceStore | str, sweep: str, *, detach: bool = True, max_parallel: Optional[int] = None,
           gpus: Optional[list[str]] = None, per_gpu: int = 1, on_event: Optional[Event] = None,
           backend: str = "local", slurm: Optional[SlurmOptions] = None) -> dict[str, Any]:
    """Run what is missing, failed or cancelled in a recorded sweep, adopting live runs."""
    ws = _ws(ws)
    _check_backend(backend, slurm)
    if ws.sweep(sweep) is None:
        raise UserError(f"no sweep named {sweep!r} in {ws.path}")
    return _go(ws, [sweep], detach, max_parallel, gpus, per_gpu, on_event, backend, slurm)


def _check_backend(backend: str, slurm: Optional[SlurmOptions]) -> None:
    if backend not in ("local", "slurm"):
        raise UserError(f"unknown backend {backend!r}: use local or slurm")
    if backend == "local" and slurm is not None and (slurm.partition or slurm.array_limit or slurm.opts):
        raise UserError("--partition, --array-limit and --slurm-opt need --backend slurm")


def _go(ws: WorkspaceStore, names: list[str], detach: bool, max_parallel: Optional[int],
        gpus: Optional[list[str]], per_gpu: int, on_event: Optional[Event], backend: str = "local",
        slurm: Optional[SlurmOptions] = None) -> dict[str, Any]:
    from sciml_tui.launch import slurm as slurm_backend

    for name in names:
        rec = ws.sweep(name) or {}
        pid = rec.get("scheduler_pid")
        if pid and pid_alive(pid, rec.get("scheduler_create_time")):
            raise UserError(f"sweep {name!r} is already being run by scheduler pid {pid}; `sciml cancel {name}` stops it")
    if backend == "slurm":
        out = slurm_backend.submit(ws, names, slurm, on_event=on_event)
        if not detach:
            out["counts"] = slurm_backend.watch(ws, names, out["submitted"], on_event=on_event)
        return out
    in_slurm = slurm_backend.live_slurm_runs([r for n in names for r in ws.runs(sweep=n)])
    if in_slurm:
        raise UserError(f"{len(in_slurm)} run(s) of {', '.join(names)} are in Slurm (e.g. {in_slurm[0]}); "
                        f"cancel them or use --backend slurm")
    if detach:
        pid = _spawn_detached(ws, names, max_parallel, gpus, per_gpu)
        return {"sweeps": names, "scheduler_pid": pid, "log": str(scheduler_log(ws, names))}
    counts = run_scheduler(ws, names, max_parallel=max_parallel, gpus=gpus, per_gpu=per_gpu, on_event=on_event)
    return {"sweeps": names, "counts": counts}


def _kill_pid(pid: int, create_time: Any, grace_s: float) -> None:
    import signal

    if not pid_alive(pid, create_time):
        return
    for sig, wait in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 2.0)):
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        deadline = time.time() + wait
        while time.time() < deadline:
            if not pid_alive(pid, create_time):
                return
            time.sleep(0.05)


def cancel(ws: WorkspaceStore | str, target: str, grace_s: float = 5.0) -> list[str]:
    """Cancel a run (by id) or a whole sweep (its scheduler first, then its runs).

    Running trainings get SIGTERM then SIGKILL (their process group); queued runs are marked
    cancelled. Returns the ids of the runs cancelled.
    """
    ws = _ws(ws)
    sweep = ws.sweep(target)
    if sweep is not None:
        _kill_pid(sweep.get("scheduler_pid") or 0, sweep.get("scheduler_create_time"), grace_s)
        runs = ws.runs(sweep=target)
    else:
        run = ws.run(target)
        if run is None:
            raise UserError(f"no run or sweep named {target!r} in {ws.path}")
        runs = [run]
    active = []
    with ws.transaction() as tx:  # states re-read under the lock: a run may have ended meanwhile
        for r in runs:
            cur = tx.get("runs", r["id"])
            if cur is not None and cur.get("state") in ("running", "queued"):
                tx.update("runs", r["id"], state="cancelled", ended_at=time.time(), message="cancelled")
                active.append(cur)
    ids = [r["id"] for r in active]
    backend = LocalBackend(argv=["-"])
    slurm_tasks = []
    for r in active:
        launch = read_launch(r["run_dir"]) if r.get("run_dir") else None
        if launch and launch.get("backend") == "slurm":
            slurm_tasks.append(launch.get("slurm_job_id"))
            continue
        handle = backend.adopt(r, launch) if launch else None
        if handle is not None:
            backend.cancel(handle, grace_s)
    if slurm_tasks:
        from sciml_tui.launch.slurm import scancel

        scancel([t for t in slurm_tasks if t])
    if sweep is not None:
        ws.update_sweep(target, state="cancelled", scheduler_pid=None, scheduler_create_time=None)
    return ids
