"""The scheduler: generate missing datasets, then pre-train, then fan the points out over slots.

It works only from store records (a sweep's `run_ids` and each run's `config`), so a fresh
scheduler started by `sciml resume` behaves exactly like the first one: it adopts runs whose
process still lives (no duplicates) and runs what is missing, failed or cancelled.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any, Callable, Optional

from sciml_tui.errors import UserError
from sciml_tui.launch.backend import Backend, Handle, LocalBackend, Slot, make_slots
from sciml_tui.store import WorkspaceStore
from sciml_tui.store.procs import launch_alive, pid_alive, read_launch
from sciml_tui.store.reconcile import finished_fields, read_result_json, reconcile

FINISHED = {"done", "diverged"}
Event = Callable[[str, dict[str, Any]], None]


def _noop(kind: str, payload: dict[str, Any]) -> None:
    pass


def _self_create_time() -> Optional[float]:
    try:
        import psutil

        return psutil.Process(os.getpid()).create_time()
    except Exception:
        return None


def claim_sweeps(ws: WorkspaceStore, sweeps: list[str]) -> None:
    """Record this process as the sweeps' scheduler; refuse if another live one holds them."""
    me, born = os.getpid(), _self_create_time()
    with ws.transaction() as tx:
        for name in sweeps:
            rec = tx.get("sweeps", name)
            if rec is None:
                raise UserError(f"no sweep named {name!r} in {ws.path}")
            pid = rec.get("scheduler_pid")
            if pid and pid != me and pid_alive(pid, rec.get("scheduler_create_time")):
                raise UserError(f"sweep {name!r} is already being run by scheduler pid {pid}; "
                                f"`sciml cancel {name}` stops it")
        for name in sweeps:
            tx.update("sweeps", name, scheduler_pid=me, scheduler_create_time=born, state="running")


class Scheduler:
    def __init__(self, ws: WorkspaceStore, sweeps: list[str], backend: Optional[Backend] = None,
                 slots: Optional[list[Slot]] = None, poll_s: float = 0.1, on_event: Optional[Event] = None) -> None:
        self.ws = ws
        self.sweeps = sweeps
        self.backend = backend or LocalBackend()
        self.slots = slots or make_slots()
        self.poll_s = poll_s
        self.emit = on_event or _noop
        self.stop = False
        self.handles: dict[str, Handle] = {}
        self.elsewhere: set[str] = set()  # runs another scheduler started (shared pre-training)

    # -- setup -----------------------------------------------------------------------------
    def _queue(self) -> list[dict[str, Any]]:
        seen: dict[str, dict[str, Any]] = {}
        for name in self.sweeps:
            for r in self.ws.runs(sweep=name):
                seen.setdefault(r["id"], r)
        # pre-training first, then points in plan order
        return sorted(seen.values(), key=lambda r: r.get("role") != "pretrain")

    def _adopt(self, runs: list[dict[str, Any]]) -> None:
        free = list(self.slots)
        for r in runs:
            if r.get("state") in FINISHED:
                continue
            launch = read_launch(r["run_dir"])
            handle = self.backend.adopt(r, launch) if launch else None
            if handle is None:
                continue
            handle.slot = next((s for s in free if s.device == launch.get("device")), free[0] if free else None)
            if handle.slot in free:
                free.remove(handle.slot)
            self.handles[r["id"]] = handle
            self.ws.update_run(r["id"], state="running", pid=handle.pid, device=launch.get("device"))
            self.emit("adopt", {"id": r["id"]})

    def _generate_datasets(self, runs: list[dict[str, Any]]) -> set[str]:
        """Generate missing datasets in-process; return the ids that could not be made."""
        needed = {d for r in runs if r.get("state") not in FINISHED for d in (r.get("datasets") or [])}
        records = {d["id"]: d for d in self.ws.datasets()}
        failed: set[str] = set()
        for did in sorted(needed):
            rec = records.get(did)
            if rec is None:
                failed.add(did)
                continue
            path = Path(rec["path"])
            if all((path / f"{k}.h5").exists() for k in ("train", "val", "test")):
                if rec.get("state") != "ready":
                    self.ws.update_dataset(did, state="ready")
                continue
            self.emit("dataset", {"id": did, "state": "generating"})
            self.ws.update_dataset(did, state="generating")
            try:
                from sciml_tui.physics import generate_dataset

                lo, hi = rec["range"]
                generate_dataset(rec["system"], lo, hi, rec["n"], sizes=rec["sizes"], seed=rec["seed"],
                                 out_dir=path, overwrite=True)
            except Exception as exc:  # noqa: BLE001 - recorded and shown; the sweep goes on without it
                failed.add(did)
                self.ws.update_dataset(did, state="failed", message=f"{type(exc).__name__}: {exc}")
                self.emit("dataset", {"id": did, "state": "failed", "message": str(exc)})
                continue
            self.ws.update_dataset(did, state="ready")
            self.emit("dataset", {"id": did, "state": "ready"})
        return failed

    # -- the loop --------------------------------------------------------------------------
    def run(self) -> dict[str, int]:
        """Drive the sweeps to the end (or until `stop`); return counts of final states."""
        claim_sweeps(self.ws, self.sweeps)
        try:
            return self._run()
        finally:
            self._release()

    def _run(self) -> dict[str, int]:
        runs = self._queue()
        self._adopt(runs)
        bad_data = self._generate_datasets(runs)
        states = {r["id"]: r.get("state") for r in runs}
        pending = [r for r in runs if r.get("state") not in FINISHED and r["id"] not in self.handles]
        ended: dict[str, str] = {}
        by_id = {r["id"]: r for r in runs}
        while (pending or self.handles or self.elsewhere) and not self.stop:
            busy = self._reap(ended) | self._watch_elsewhere(ended)
            free = [s for s in self.slots if all(h.slot is not s for h in self.handles.values())]
            still: list[dict[str, Any]] = []
            for r in pending:
                why = self._blocked(r, by_id, ended, states, bad_data)
                if why == "wait" or (why is None and not free):
                    still.append(r)
                    continue
                if why is not None:
                    self._finish(r["id"], {"state": "failed", "message": why, "ended_at": time.time()}, ended)
                    busy = True
                    continue
                outcome = self._start(r, free.pop(0), ended)
                if outcome == "elsewhere":
                    self.elsewhere.add(r["id"])
                elif outcome == "cancelled":
                    ended[r["id"]] = "cancelled"
                busy = True
            pending = still
            if not busy:
                time.sleep(self.poll_s)
        counts: dict[str, int] = {}
        for r in self.ws.runs():
            if r["id"] in by_id:
                counts[r.get("state", "?")] = counts.get(r.get("state", "?"), 0) + 1
        return counts

    def _blocked(self, r: dict[str, Any], by_id: dict[str, Any], ended: dict[str, str],
                 states: dict[str, Any], bad_data: set[str]) -> Optional[str]:
        """None if `r` can start now, "wait" if it waits on its parent, else why it cannot run."""
        missing = [d for d in (r.get("datasets") or []) if d in bad_data]
        if missing:
            return f"dataset {missing[0]} could not be generated"
        parent = r.get("parent")
        if not parent:
            return None
        if parent in self.handles or parent in self.elsewhere:
            return "wait"
        if parent in ended:
            pstate = ended[parent]
        elif parent in by_id:
            pstate = states.get(parent)
            if pstate not in FINISHED:
                return "wait"  # queued in this scheduler, not started yet
        else:
            pstate = (self.ws.run(parent) or {}).get("state")
        if pstate == "done":
            return None
        return f"pre-training run {parent} ended {pstate or 'missing'}"

    def _start(self, r: dict[str, Any], slot: Slot, ended: dict[str, str]) -> str:
        """Start `r`: "started", "cancelled" (while it waited) or "elsewhere" (another
        scheduler sharing this run, e.g. a pre-training of two sweeps, started it meanwhile)."""
        run_dir = Path(r["run_dir"])
        now = time.time()
        with self.ws.transaction() as tx:
            cur = tx.get("runs", r["id"])
            if cur is None or (cur.get("state") == "cancelled" and r.get("state") != "cancelled"):
                return "cancelled"
            if cur.get("state") == "running" and cur.get("started_at") != r.get("started_at"):
                return "elsewhere"
            tx.update("runs", r["id"], state="running", device=slot.device, started_at=now, ended_at=None,
                      message=None, log_tail=None, test_error=None, best_val_error=None)
        stale = run_dir / "result.json"
        if stale.exists():
            stale.unlink()  # a failed attempt: resume from its last checkpoint
        resume = (run_dir / "checkpoints" / "last.pt").exists()
        try:
            handle = self.backend.start(r, slot, resume=resume, cwd=self.ws.root)
        except Exception as exc:  # noqa: BLE001 - a run that cannot start fails alone, the sweep goes on
            self._finish(r["id"], {"state": "failed", "message": f"could not start: {type(exc).__name__}: {exc}",
                                   "ended_at": time.time()}, ended)
            return "started"
        self.handles[r["id"]] = handle
        with self.ws.transaction() as tx:
            cur = tx.get("runs", r["id"])
            cancelled = cur is not None and cur.get("state") == "cancelled"
            tx.update("runs", r["id"], pid=handle.pid)
        if cancelled:  # `sciml cancel` came while it started, before there was a process to stop
            self.backend.cancel(handle)
        self.emit("start", {"id": r["id"], "device": slot.device, "resume": resume})
        return "started"

    def _watch_elsewhere(self, ended: dict[str, str]) -> bool:
        """Follow runs another scheduler drives, through the store; a dead one is reconciled."""
        changed = False
        for run_id in list(self.elsewhere):
            rec = self.ws.run(run_id) or {}
            if rec.get("state") == "running":
                launch = read_launch(rec["run_dir"])
                if launch is None or launch_alive(launch):
                    continue  # still starting, or alive
                reconcile(self.ws)
                rec = self.ws.run(run_id) or {}
                if rec.get("state") == "running":
                    continue
            self.elsewhere.discard(run_id)
            ended[run_id] = rec.get("state") or "failed"
            changed = True
        return changed

    def _reap(self, ended: dict[str, str]) -> bool:
        changed = False
        for run_id, handle in list(self.handles.items()):
            done = read_result_json(handle.run_dir) is not None
            if not done and self.backend.alive(handle):
                continue
            if handle.proc is not None:
                try:
                    handle.proc.wait(timeout=5)
                except Exception:  # noqa: BLE001 - it wrote its result; let it exit on its own
                    pass
            fields = finished_fields(handle.run_dir) or {"state": "failed", "message": "lost", "ended_at": time.time()}
            del self.handles[run_id]
            self._finish(run_id, fields, ended)
            changed = True
        return changed

    def _finish(self, run_id: str, fields: dict[str, Any], ended: dict[str, str]) -> None:
        with self.ws.transaction() as tx:
            cur = tx.get("runs", run_id)
            if cur is not None and cur.get("state") == "cancelled":
                fields = {k: v for k, v in fields.items() if k not in ("state", "message")}
            tx.update("runs", run_id, **fields)
            state = (cur or {}).get("state") if "state" not in fields else fields["state"]
        ended[run_id] = state or "failed"
        self.emit("end", {"id": run_id, **fields, "state": ended[run_id]})

    def _release(self) -> None:
        me = os.getpid()
        runs = {r["id"]: r.get("state") for name in self.sweeps for r in self.ws.runs(sweep=name)}
        with self.ws.transaction() as tx:
            for name in self.sweeps:
                rec = tx.get("sweeps", name)
                if rec is None or rec.get("scheduler_pid") != me:
                    continue
                ids = rec.get("run_ids") or []
                st = [runs.get(i) for i in ids]
                if self.stop or any(s in ("running", "queued") for s in st):
                    state = "stopped"
                elif any(s in ("failed", "cancelled") for s in st):
                    state = "failed"
                else:
                    state = "done"
                tx.update("sweeps", name, scheduler_pid=None, scheduler_create_time=None, state=state,
                          ended_at=time.time())


def install_stop_handlers(sched: Scheduler) -> None:
    """SIGTERM/SIGHUP stop launching; running trainings are left alone (own sessions)."""

    def handler(signum: int, frame: Any) -> None:
        sched.stop = True

    for sig in (signal.SIGTERM, signal.SIGHUP):
        try:
            signal.signal(sig, handler)
        except (ValueError, OSError):
            pass
