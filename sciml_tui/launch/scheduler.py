"""The scheduler: generate missing datasets, then pre-train, then fan the points out over slots.

It works only from store records (a sweep's `run_ids` and each run's `config`), so a fresh
scheduler started by `sciml resume` behaves exactly like the first one: it adopts runs whose
process still lives (no duplicates) and runs what is missing, failed or cancelled.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Optional

from sciml_tui.errors import UserError
from sciml_tui.launch.backend import LAUNCHES, Handle, LocalBackend, Slot, make_slots
from sciml_tui.launch.notify import Notifier, with_notifier
from sciml_tui.launch.lr_search import LrSearchHook
from sciml_tui.launch.worker import DEFAULT_WORKERS
from sciml_tui.launch.sweeps import (Event, claim_sweeps, generate_datasets, missing_dataset, no_event,
                                     settle_sweeps, state_counts, sweep_queue)
from sciml_tui.rundir import RunDir
from sciml_tui.physics.stop import StopRequest
from sciml_tui.store import StoreCorrupt, StoreWriteFailed, WorkspaceStore
from sciml_tui.store.liveness import write_scheduler_beat
from sciml_tui.store.records import FINISHED, Liveness, RunRecord, RunState
from sciml_tui.store.reconcile import NO_RESULT, ended_fields, reconcile

BEAT_EVERY_S = 10.0


class Scheduler:
    def __init__(self, ws: WorkspaceStore, sweeps: list[str], backend: Optional[LocalBackend] = None,
                 slots: Optional[list[Slot]] = None, poll_s: float = 0.1, on_event: Optional[Event] = None) -> None:
        self.ws = ws
        self.sweeps = sweeps
        self.backend = backend or LocalBackend()
        self.slots = slots or make_slots()
        if hasattr(self.backend, "use_slots"):
            self.backend.use_slots(self.slots)
        self.poll_s = poll_s
        self.notifier = Notifier(ws, sweeps)  # alerts the sweeps' `notify` hooks ask for
        self.emit = with_notifier(self.notifier, on_event or no_event)
        self.stop = False
        self.handles: dict[str, Handle] = {}
        self.elsewhere: set[str] = set()  # runs another scheduler started (shared pre-training)
        self._beat_at = 0.0

    # -- setup -----------------------------------------------------------------------------
    def _adopt(self, runs: list[RunRecord]) -> None:
        free = list(self.slots)
        for r in runs:
            if r.finished:
                continue
            launch = RunDir(r.run_dir).launch()
            handle = self.backend.adopt(r, launch) if launch else None
            if handle is None:
                continue
            handle.slot = next((s for s in free if s.device == launch.get("device")), free[0] if free else None)
            if handle.slot in free:
                free.remove(handle.slot)
            self.handles[r.id] = handle
            self.ws.update_run(r.id, state=RunState.RUNNING, pid=handle.pid, device=launch.get("device"))
            self.emit("adopt", {"id": r.id})

    # -- the loop --------------------------------------------------------------------------
    def run(self) -> dict[str, int]:
        """Drive the sweeps to the end (or until `stop`); return counts of final states.

        A store that turns corrupt or unwritable meanwhile stops the scheduler: its heartbeat
        says why (the store cannot), the sweep shows `stopped`, and the error is raised."""
        claim_sweeps(self.ws, self.sweeps)
        self.beat(force=True)
        store_failed = False
        try:
            return self._run()
        except (StoreCorrupt, StoreWriteFailed) as exc:
            store_failed = True
            self.beat(force=True, state="stopped", message=str(exc))
            raise
        finally:
            if hasattr(self.backend, "close"):
                self.backend.close()
            if not store_failed:
                me = os.getpid()
                settle_sweeps(self.ws, self.sweeps, lambda rec: rec.get("scheduler_pid") == me, stopped=self.stop)
                self.notifier.settled()
            self.notifier.flush()

    def beat(self, force: bool = False, **info: Any) -> None:
        """The scheduler's heartbeat (at most every BEAT_EVERY_S unless forced)."""
        now = time.time()
        if force or now - self._beat_at >= BEAT_EVERY_S:
            self._beat_at = now
            with contextlib.suppress(OSError):  # a full disk must not end the sweep for a heartbeat
                write_scheduler_beat(self.ws, self.sweeps, **info)

    def _generate(self, runs: list[RunRecord]) -> set[str]:
        """Missing datasets, stopped (temp files removed) by SIGTERM, which then stops the sweep."""
        with StopRequest.installed() as stop:
            try:
                return generate_datasets(self.ws, runs, self.emit, stop=stop, progress=lambda done, total: self.beat())
            except KeyboardInterrupt:
                if stop.signum != signal.SIGTERM:
                    raise
                self.stop = True
                return set()

    def _run(self) -> dict[str, int]:
        runs = sweep_queue(self.ws, self.sweeps)
        self._adopt(runs)
        bad_data = self._generate(runs)
        states = {r.id: r.state for r in runs}
        # the lr search decides what runs next (added lrs, runs paused at a halving rung)
        self.lr_search = LrSearchHook(self.ws, self.sweeps, self.emit)
        pending = self.lr_search.admit([r for r in runs if not r.finished and r.id not in self.handles])
        pending += self.lr_search.advance(True)
        ended: dict[str, str] = {}
        by_id = {r.id: r for r in runs}
        while (pending or self.handles or self.elsewhere) and not self.stop:
            self.beat()
            reaped = self._reap(ended)
            busy = reaped | self._watch_elsewhere(ended)
            free = [s for s in self.slots if all(h.slot is not s for h in self.handles.values())]
            still: list[dict[str, Any]] = []
            for r in pending:
                why = self._blocked(r, by_id, ended, states, bad_data)
                if why == "wait" or (why is None and not free):
                    still.append(r)
                    continue
                if why is not None:
                    self._finish(r.id, {"state": RunState.FAILED, "message": why, "ended_at": time.time()}, ended)
                    busy = True
                    continue
                outcome = self._start(r, free.pop(0), ended)
                if outcome == "elsewhere":
                    self.elsewhere.add(r.id)
                elif outcome == "cancelled":
                    ended[r.id] = RunState.CANCELLED
                busy = True
            pending = still + self.lr_search.advance(reaped)
            by_id.update((r.id, r) for r in pending if r.id not in by_id)
            if not busy:
                time.sleep(self.poll_s)
        return state_counts([r for r in self.ws.runs() if r.id in by_id])

    def _blocked(self, r: RunRecord, by_id: dict[str, Any], ended: dict[str, str],
                 states: dict[str, Any], bad_data: set[str]) -> Optional[str]:
        """None if `r` can start now, "wait" if it waits on its parent, else why it cannot run."""
        missing = missing_dataset(r, bad_data)
        if missing:
            return missing
        parent = r.parent
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
        if pstate == RunState.DONE:
            return None
        return f"pre-training run {parent} ended {pstate or 'missing'}"

    def _start(self, r: RunRecord, slot: Slot, ended: dict[str, str]) -> str:
        """Start `r`: "started", "cancelled" (while it waited) or "elsewhere" (another
        scheduler sharing this run, e.g. a pre-training of two sweeps, started it meanwhile)."""
        with self.ws.transaction() as tx:
            cur = tx.get("runs", r.id)
            if cur is None or (cur.get("state") == RunState.CANCELLED and r.state != RunState.CANCELLED):
                return "cancelled"
            if cur.get("state") == RunState.RUNNING and cur.get("started_at") != r.started_at:
                return "elsewhere"
            tx.update("runs", r.id, state=RunState.RUNNING, device=slot.device, started_at=time.time(),
                      ended_at=None, message=None, log_tail=None, test_error=None, best_val_error=None)
        rdir = RunDir(r.run_dir)
        rdir.clear_result()  # a failed attempt: resume from its last checkpoint
        rdir.clear_cancelled()
        resume = rdir.can_resume()
        try:
            handle = self.backend.start(r, slot, resume=resume, cwd=self.ws.root)
        except Exception as exc:  # noqa: BLE001 - a run that cannot start fails alone, the sweep goes on
            self._finish(r.id, {"state": RunState.FAILED, "message": f"could not start: {type(exc).__name__}: {exc}",
                                "ended_at": time.time()}, ended)
            return "started"
        self.handles[r.id] = handle
        with self.ws.transaction() as tx:
            cur = tx.get("runs", r.id)
            cancelled = cur is not None and cur.get("state") == RunState.CANCELLED
            tx.update("runs", r.id, pid=handle.pid)
        if cancelled:  # `sciml cancel` came while it started, before there was a process to stop
            self.backend.stop(handle)
        self.emit("start", {"id": r.id, "device": slot.device, "resume": resume})
        return "started"

    def _watch_elsewhere(self, ended: dict[str, str]) -> bool:
        """Follow runs another scheduler drives, through the store; a dead one is reconciled."""
        changed = False
        for run_id in list(self.elsewhere):
            rec = self.ws.run(run_id) or {}
            if rec.get("state") == RunState.RUNNING:
                launch = RunDir(rec["run_dir"]).launch()
                if launch is None or LAUNCHES.liveness(launch) != Liveness.GONE:
                    continue  # still starting, or alive
                reconcile(self.ws, LAUNCHES)
                rec = self.ws.run(run_id) or {}
                if rec.get("state") == RunState.RUNNING:
                    continue
            self.elsewhere.discard(run_id)
            ended[run_id] = rec.get("state") or RunState.FAILED
            changed = True
        return changed

    def _reap(self, ended: dict[str, str]) -> bool:
        changed = False
        for run_id, handle in list(self.handles.items()):
            rdir = RunDir(handle.run_dir)
            done = rdir.result() is not None
            if not done and self.backend.alive(handle):
                continue
            lost = NO_RESULT
            if handle.proc is not None:
                try:
                    code = handle.proc.wait(timeout=5)
                except Exception:  # noqa: BLE001 - it wrote its result; let it exit on its own
                    code = None
                if isinstance(code, int) and code < 0:
                    lost = f"the training process was killed by {signal_name(-code)} without writing result.json"
            fields = ended_fields(rdir, lost=lost, sweep=self.sweeps[0])
            del self.handles[run_id]
            changed = True
            if self.lr_search.paused(run_id, rdir):
                continue
            self._finish(run_id, fields, ended)
        return changed

    def _finish(self, run_id: str, fields: dict[str, Any], ended: dict[str, str]) -> None:
        with self.ws.transaction() as tx:
            cur = tx.get("runs", run_id)
            if cur is not None and cur.get("state") == RunState.CANCELLED:
                fields = {k: v for k, v in fields.items() if k not in ("state", "message")}
            tx.update("runs", run_id, **fields)
            state = (cur or {}).get("state") if "state" not in fields else fields["state"]
        ended[run_id] = state or RunState.FAILED
        self.emit("end", {"id": run_id, **fields, "state": ended[run_id]})


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def install_stop_handlers(sched: Scheduler) -> None:
    """SIGTERM/SIGHUP stop launching; running trainings are left alone (own sessions)."""

    def handler(signum: int, frame: Any) -> None:
        sched.stop = True

    for sig in (signal.SIGTERM, signal.SIGHUP):
        try:
            signal.signal(sig, handler)
        except (ValueError, OSError):
            pass


def scheduler_log(ws: WorkspaceStore, sweeps: list[str]) -> Path:
    return ws.meta_dir / f"scheduler-{sweeps[0]}.log"


CLAIM_WAIT_S = 60.0


def spawn_scheduler(ws: WorkspaceStore, sweeps: list[str], max_parallel: Optional[int], gpus: Optional[list[str]],
                    per_gpu: int, workers: str = DEFAULT_WORKERS, wait_s: float = CLAIM_WAIT_S) -> int:
    """Start `python -m sciml_tui.launch.daemon` in its own session and return its pid once it
    holds the sweeps; its refusal (another live scheduler, a damaged store) is raised here."""
    args = [sys.executable, "-m", "sciml_tui.launch.daemon", str(ws.root), *sweeps, "--per-gpu", str(per_gpu),
            "--workers", workers]
    if max_parallel:
        args += ["--max-parallel", str(max_parallel)]
    if gpus is not None:
        args += ["--gpus", ",".join(gpus)]
    ws.meta_dir.mkdir(parents=True, exist_ok=True)
    log = scheduler_log(ws, sweeps)
    start = log.stat().st_size if log.exists() else 0
    with open(log, "ab") as out:
        proc = subprocess.Popen(args, cwd=str(ws.root), stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True, close_fds=True)
    _wait_for_claim(ws, sweeps, proc, log, start, wait_s)
    return proc.pid


def _wait_for_claim(ws: WorkspaceStore, sweeps: list[str], proc: subprocess.Popen, log: Path, start: int,
                    wait_s: float) -> None:
    """Return when the new scheduler is recorded on every sweep, or it runs on past `wait_s`
    (slow start: it will claim or log why not); UserError with its error line if it exits first."""
    deadline = time.time() + wait_s
    while time.time() < deadline:
        if all((ws.sweep(name) or {}).get("scheduler_pid") == proc.pid for name in sweeps):
            return
        if proc.poll() is not None:
            if proc.returncode == 0:
                return  # it already drove the sweeps to their end
            with open(log, "rb") as fh:
                fh.seek(start)
                lines = fh.read().decode("utf-8", errors="replace").splitlines()
            errors = [ln[len("error: "):] for ln in lines if ln.startswith("error: ")]
            raise UserError(errors[-1] if errors else f"the scheduler exited with status {proc.returncode}; see {log}")
        time.sleep(0.1)


def run_scheduler(ws: WorkspaceStore, sweeps: list[str], *, max_parallel: Optional[int] = None,
                  gpus: Optional[list[str]] = None, per_gpu: int = 1, slots: Optional[list[Slot]] = None,
                  on_event: Optional[Event] = None, poll_s: float = 0.1,
                  workers: str = DEFAULT_WORKERS) -> dict[str, int]:
    """Run the scheduler in this process until the sweeps finish; returns counts of states."""
    reconcile(ws, LAUNCHES)
    sched = Scheduler(ws, sweeps, LocalBackend(workers=workers), slots or make_slots(gpus, per_gpu, max_parallel),
                      poll_s=poll_s, on_event=on_event)
    install_stop_handlers(sched)
    return sched.run()
