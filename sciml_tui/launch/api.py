"""Plain functions the CLI and the dashboard call: plan, record, launch, resume, cancel."""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from itertools import groupby
from pathlib import Path
from typing import Any, Optional

from sciml_tui.errors import UserError
from sciml_tui.launch.backend import LAUNCHES, Backend, backend_named, backend_of, make_slots
from sciml_tui.launch.procs import pid_alive, terminate
from sciml_tui.launch.scheduler import Event, run_scheduler
from sciml_tui.launch.slurm import SlurmOptions
from sciml_tui.learning.calibrate import device_for_slots
from sciml_tui.specs.cost import estimate_in_workspace
from sciml_tui.launch.sweeps import no_event, record_runs, refuse_driven
from sciml_tui.rundir import RunDir
from sciml_tui.specs.plan import Plan, plan_from_file
from sciml_tui.store import WorkspaceStore
from sciml_tui.store.records import ACTIVE, DatasetState, Liveness, RunState, SweepState

__all__ = ["plan_sweep", "record_plan", "launch_sweep", "resume", "cancel", "run_scheduler"]

def _ws(ws: WorkspaceStore | str | os.PathLike[str]) -> WorkspaceStore:
    return ws if isinstance(ws, WorkspaceStore) else WorkspaceStore(ws)


def plan_sweep(spec_path: str | Path, ws: WorkspaceStore | str, sweeps: Optional[list[str]] = None,
               engine: Optional[dict[str, Any]] = None) -> Plan:
    """Validate the spec and expand it; each unit's `state` says what the store already has.

    `engine` sets RunConfig's engine flags (precision, compile, gpu_data) on every run.
    `plan.summary_lines()` is the printable dry run, `plan.to_dict()` its JSON.
    """
    ws = _ws(ws)
    plan = plan_from_file(spec_path, ws.root, sweeps, ws.runs(), engine)
    plan.cost = estimate_in_workspace(plan, ws.root, device_for_slots(make_slots()))
    return plan


def record_plan(ws: WorkspaceStore, plan: Plan, rerun: bool = False) -> None:
    """Record the plan's experiment, datasets, sweeps and runs in one store write.

    Existing runs keep their state (content addressing: done stays done) unless `rerun`, which
    requeues every run of the plan and clears its run dir. The run dirs are removed only after
    that write succeeded, and the write refuses (UserError, nothing changed) while a run of the
    plan or a scheduler of its sweeps is alive.
    """
    now = time.time()
    with ws.transaction() as tx:
        if rerun:
            _refuse_rerun(plan, [tx.get("sweeps", name) for name in plan.sweeps])
        tx.upsert("experiments", {"name": plan.experiment, "spec_path": str(plan.spec_path.absolute()),
                                  "spec_hash": plan.spec_hash, "loaded_at": now})
        for d in plan.datasets:
            rec = d.record()
            cur = tx.get("datasets", d.id)
            if cur is not None and cur.get("state") == DatasetState.READY and not d.exists:
                rec["state"] = DatasetState.MISSING
            tx.upsert("datasets", rec)
        for name, ids in plan.sweeps.items():
            cur = tx.get("sweeps", name) or {}
            tx.upsert("sweeps", {"name": name, "experiment": plan.experiment, "spec_path": str(plan.spec_path.absolute()),
                                 "created_at": cur.get("created_at", now), "run_ids": ids,
                                 "target": plan.targets.get(name, 1e-2), "notify": plan.notify.get(name),
                                 "lr_search": plan.lr_search.get(name) or {}, "engine": plan.engine,
                                 **({"lr_rungs": {}} if rerun else {}),
                                 "state": cur.get("state") or SweepState.PLANNED})
        record_runs(tx, plan.runs, now, rerun)
    if rerun:
        for r in plan.runs:
            if r.run_dir.exists():
                shutil.rmtree(r.run_dir)


def _refuse_rerun(plan: Plan, sweeps: list[Any]) -> None:
    """UserError while a scheduler drives one of the plan's sweeps or one of its runs lives."""
    refuse_driven([rec for rec in sweeps if rec is not None])
    live = [r.id for r in plan.runs if _held(RunDir(r.run_dir).launch())]
    if live:
        raise UserError(f"{len(live)} run(s) of this plan are running (e.g. {live[0]}); cancel them before --rerun")


def require_disk(ws: WorkspaceStore, plan: Plan) -> None:
    """UserError when the datasets to generate and the checkpoints to write do not fit on the
    workspace's filesystem (the plan's cost estimate gives both sizes)."""
    from sciml_tui.physics.limits import fmt_bytes, free_disk

    cost = plan.cost
    if cost is None:
        return
    need = cost.dataset_bytes_new + cost.checkpoint_bytes
    free = free_disk(ws.root)
    if free is not None and need > free:
        raise UserError(f"the plan needs about {fmt_bytes(need)} (datasets {fmt_bytes(cost.dataset_bytes_new)}, "
                        f"checkpoints {fmt_bytes(cost.checkpoint_bytes)}) on the filesystem of {ws.root}, which has "
                        f"{fmt_bytes(free)} free: free some space or run fewer points (--sweep, a smaller spec)")


def _held(launch: Optional[dict[str, Any]]) -> bool:
    """Whether the backend that launched a run may still be running it."""
    return launch is not None and LAUNCHES.liveness(launch) != Liveness.GONE


def launch_sweep(ws: WorkspaceStore | str, spec_path: str | Path, *, sweeps: Optional[list[str]] = None,
                 detach: bool = True, rerun: bool = False, max_parallel: Optional[int] = None,
                 gpus: Optional[list[str]] = None, per_gpu: int = 1, on_event: Optional[Event] = None,
                 backend: str = "local", slurm: Optional[SlurmOptions] = None,
                 workers: Optional[str] = None, engine: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """Plan, record, and run the spec's sweeps (all of them unless `sweeps` names some).

    detach=True starts the scheduler as its own detached process and returns
    `{"sweeps", "scheduler_pid", "log"}` at once; otherwise runs it here and returns
    `{"sweeps", "counts"}` when done. backend="slurm" submits job arrays instead
    (`sciml_tui.launch.slurm.submit`, returning its dict); without detach it then follows
    them until they end and adds `counts`.
    """
    ws = _ws(ws)
    plan = plan_sweep(spec_path, ws, sweeps, engine)
    names = list(plan.sweeps)
    if not names:
        raise UserError(f"{spec_path} defines no sweeps")
    chosen = _backend(backend, slurm, detach, max_parallel, gpus, per_gpu, workers)
    chosen.require()  # every check before anything is recorded or removed
    require_disk(ws, plan)
    refuse_driven([ws.sweep(name) for name in names])
    record_plan(ws, plan, rerun=rerun)
    return _submit(ws, names, chosen, on_event)


def resume(ws: WorkspaceStore | str, sweep: str, *, detach: bool = True, max_parallel: Optional[int] = None,
           gpus: Optional[list[str]] = None, per_gpu: int = 1, on_event: Optional[Event] = None,
           backend: str = "local", slurm: Optional[SlurmOptions] = None,
           workers: Optional[str] = None) -> dict[str, Any]:
    """Run what is missing, failed or cancelled in a recorded sweep, adopting live runs."""
    ws = _ws(ws)
    chosen = _backend(backend, slurm, detach, max_parallel, gpus, per_gpu, workers)
    if ws.sweep(sweep) is None:
        raise UserError(f"no sweep named {sweep!r} in {ws.path}")
    return _submit(ws, [sweep], chosen, on_event)


def _backend(name: str, slurm: Optional[SlurmOptions], detach: bool, max_parallel: Optional[int],
             gpus: Optional[list[str]], per_gpu: int, workers: Optional[str] = None) -> Backend:
    """The backend the user asked for, with the options that belong to it."""
    if name == "local" and slurm is not None and (slurm.partition or slurm.array_limit or slurm.opts
                                                  or slurm.max_requeues is not None):
        raise UserError("--partition, --array-limit, --slurm-opt and --max-requeues need --backend slurm")
    if name != "local" and workers is not None:
        raise UserError("--workers applies to --backend local (a Slurm array task is one process per run)")
    options: dict[str, Any] = {"detach": detach}
    if name == "local":
        options.update(max_parallel=max_parallel, gpus=gpus, per_gpu=per_gpu)
        if workers is not None:
            options["workers"] = workers
    elif name == "slurm":
        options["options"] = slurm
    return backend_named(name, **options)


def _submit(ws: WorkspaceStore, names: list[str], backend: Backend, on_event: Optional[Event]) -> dict[str, Any]:
    refuse_driven([ws.sweep(name) for name in names])
    return backend.submit(ws, names, on_event or no_event)


def cancel(ws: WorkspaceStore | str, target: str, grace_s: float = 5.0) -> list[str]:
    """Cancel a run (by id) or a whole sweep (its scheduler first, then its runs).

    Runs still in their backend are stopped by it (local: SIGTERM then SIGKILL of the process
    group; Slurm: scancel), each after its run dir got the cancel marker (`RunDir.mark_cancelled`:
    the Slurm task script does not requeue a run it marks); queued runs are marked cancelled.
    Returns the ids of the runs cancelled.
    """
    ws = _ws(ws)
    sweep = ws.sweep(target)
    if sweep is not None:
        pid, born = sweep.scheduler_pid or 0, sweep.scheduler_create_time
        terminate(lambda sig: os.kill(pid, sig), lambda: pid_alive(pid, born), grace_s)
        runs = ws.runs(sweep=target)
    else:
        run = ws.run(target)
        if run is None:
            raise UserError(f"no run or sweep named {target!r} in {ws.path}")
        runs = [run]
    active = []
    with ws.transaction() as tx:  # states re-read under the lock: a run may have ended meanwhile
        for r in runs:
            cur = tx.get("runs", r.id)
            if cur is not None and cur.get("state") in ACTIVE:
                tx.update("runs", r.id, state=RunState.CANCELLED, ended_at=time.time(), message="cancelled")
                active.append(r)
    launches = []
    for rdir in (RunDir(r.run_dir) for r in active if r.run_dir):
        launch = rdir.launch()
        if launch:
            with contextlib.suppress(OSError):  # an unwritable run dir must not keep the run alive
                rdir.mark_cancelled()  # before the backend stops it: a Slurm task must not requeue it
            launches.append(launch)
    by_backend = lambda launch: launch.get("backend", "local")  # noqa: E731
    for name, group in groupby(sorted(launches, key=by_backend), key=by_backend):
        backend = backend_of({"backend": name})
        if backend is not None:
            backend.cancel(list(group), grace_s)
    if sweep is not None:
        ws.update_sweep(target, state=SweepState.CANCELLED, scheduler_pid=None, scheduler_create_time=None)
    return [r.id for r in active]
