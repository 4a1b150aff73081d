"""Sweep bookkeeping every backend shares: the runs to drive, who drives a sweep, datasets,
and the state a sweep ends in. Written once here; the backends only decide how runs start."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Callable, Optional

from sciml_tui.errors import UserError
from sciml_tui.launch.procs import own_create_time, pid_alive
from sciml_tui.store import WorkspaceStore
from sciml_tui.store.records import ACTIVE, FINISHED, RESULT_KEYS, DatasetState, RunRecord, RunState, SweepState, sweep_outcome

Event = Callable[[str, dict[str, Any]], None]
RESULT_FIELDS = (*RESULT_KEYS, "log_tail", "started_at", "ended_at", "pid", "device", "stopped_at_rung")


def no_event(kind: str, payload: dict[str, Any]) -> None:
    pass


def sweep_queue(ws: WorkspaceStore, sweeps: list[str]) -> list[RunRecord]:
    """The sweeps' runs once each (shared pre-training too): pre-training first, then plan order."""
    seen: dict[str, RunRecord] = {}
    for name in sweeps:
        for r in ws.runs(sweep=name):
            if not r.run_dir:
                raise ws.corrupt(f"run {r.id} of sweep {name} has no run_dir")
            seen.setdefault(r.id, r)
    return sorted(seen.values(), key=lambda r: not r.is_pretrain)


def record_runs(tx: Any, units: list[Any], now: float, rerun: bool = False) -> None:
    """Upsert planned run units (`specs.plan.RunUnit`) in a store transaction: a new run (or
    every run with `rerun`) is queued with no result; a recorded one keeps its state. Each
    unit's `state` is set to what the store now holds."""
    for r in units:
        rec = r.record()
        cur = tx.get("runs", r.id)
        if cur is None or rerun:
            rec.update(state=RunState.QUEUED, created_at=now if cur is None else cur.get("created_at", now),
                       **{k: None for k in RESULT_FIELDS})
        tx.upsert("runs", rec)
        r.state = (tx.get("runs", r.id) or {}).get("state", RunState.QUEUED)


def state_counts(runs: list[RunRecord]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in runs:
        counts[r.state.value] = counts.get(r.state.value, 0) + 1
    return counts


def live_scheduler(rec: Any) -> Optional[int]:
    """The pid of the live scheduler a sweep record names, else None."""
    pid = rec.get("scheduler_pid") if rec else None
    return pid if pid and pid_alive(pid, rec.get("scheduler_create_time")) else None


def scheduler_alive(rec: Any) -> bool:
    return live_scheduler(rec) is not None


def refuse_driven(sweeps: list[Any], me: Optional[int] = None) -> None:
    """UserError when a live scheduler other than `me` drives one of these sweep records."""
    for rec in sweeps:
        pid = live_scheduler(rec)
        if pid and pid != me:
            name = rec.get("name")
            raise UserError(f"sweep {name!r} is already being run by scheduler pid {pid}; "
                            f"`sciml cancel {name}` stops it")


def claim_sweeps(ws: WorkspaceStore, sweeps: list[str]) -> None:
    """Record this process as the sweeps' scheduler; refuse if another live one holds them."""
    me = os.getpid()
    with ws.transaction() as tx:
        recs = [tx.get("sweeps", name) for name in sweeps]
        missing = [n for n, rec in zip(sweeps, recs) if rec is None]
        if missing:
            raise UserError(f"no sweep named {missing[0]!r} in {ws.path}")
        refuse_driven(recs, me)
        for name in sweeps:
            tx.update("sweeps", name, scheduler_pid=me, scheduler_create_time=own_create_time(),
                      state=SweepState.RUNNING)


def settle_sweeps(ws: WorkspaceStore, sweeps: list[str], owns: Callable[[dict[str, Any]], bool],
                  stopped: bool = False, wait_for_active: bool = False) -> None:
    """End the sweeps `owns` says belong to the caller: done, failed, or stopped (runs left).

    `wait_for_active` leaves a sweep running while any of its runs is queued or running.
    """
    states = {r.id: r.state for name in sweeps for r in ws.runs(sweep=name)}
    with ws.transaction() as tx:
        for name in sweeps:
            rec = tx.get("sweeps", name)
            if rec is None or not owns(rec):
                continue
            run_states = [states.get(i) for i in rec.get("run_ids") or []]
            if wait_for_active and any(s in ACTIVE for s in run_states):
                continue
            tx.update("sweeps", name, state=sweep_outcome(run_states, stopped), ended_at=time.time(),
                      scheduler_pid=None, scheduler_create_time=None)


def generate_datasets(ws: WorkspaceStore, runs: list[RunRecord], emit: Event = no_event, stop: Any = None,
                      progress: Optional[Callable[[int, int], None]] = None) -> set[str]:
    """Generate, in this process, the missing datasets of the unfinished `runs`; return the ids
    that could not be made (the sweep goes on without the runs that need them). `stop` (a
    `physics.stop.StopRequest`) ends generation with KeyboardInterrupt, temp files removed."""
    needed = {d for r in runs if r.state not in FINISHED for d in (r.datasets or [])}
    records = {d.id: d for d in ws.datasets()}
    failed: set[str] = set()
    for did in sorted(needed):
        rec = records.get(did)
        if rec is None:
            failed.add(did)
        elif not _ensure_dataset(ws, rec, emit, stop, progress):
            failed.add(did)
    return failed


def _ensure_dataset(ws: WorkspaceStore, rec: Any, emit: Event, stop: Any = None,
                    progress: Optional[Callable[[int, int], None]] = None) -> bool:
    path = Path(rec.path)
    if all((path / f"{k}.h5").exists() for k in ("train", "val", "test")):
        if not rec.ready:
            ws.update_dataset(rec.id, state=DatasetState.READY)
        return True
    emit("dataset", {"id": rec.id, "state": "generating"})
    ws.update_dataset(rec.id, state=DatasetState.GENERATING)
    try:
        from sciml_tui.physics import generate_dataset

        lo, hi = rec.range
        generate_dataset(rec.system, lo, hi, rec.n, sizes=rec.sizes, seed=rec.seed, out_dir=path, overwrite=True,
                         progress=progress, stop=stop)
    except KeyboardInterrupt:
        ws.update_dataset(rec.id, state=DatasetState.PLANNED, message="generation was stopped; nothing was kept")
        emit("dataset", {"id": rec.id, "state": "stopped"})
        raise
    except Exception as exc:  # noqa: BLE001 - recorded and shown; the sweep goes on without it
        why = str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"
        ws.update_dataset(rec.id, state=DatasetState.FAILED, message=why)
        emit("dataset", {"id": rec.id, "state": "failed", "message": str(exc)})
        return False
    ws.update_dataset(rec.id, state=DatasetState.READY)
    emit("dataset", {"id": rec.id, "state": "ready"})
    return True


def missing_dataset(run: RunRecord, bad_data: set[str]) -> Optional[str]:
    """Why `run` cannot start for want of a dataset, else None."""
    missing = [d for d in (run.datasets or []) if d in bad_data]
    return f"dataset {missing[0]} could not be generated" if missing else None


def fail_run(ws: WorkspaceStore, run_id: str, why: str, emit: Event = no_event) -> None:
    ws.update_run(run_id, state=RunState.FAILED, message=why, ended_at=time.time())
    emit("end", {"id": run_id, "state": "failed", "message": why})
