"""Bring run records in line with their run dirs and with what their backend says.

- a run whose `result.json` exists takes its state and metrics from it;
- a launched run that is `GONE` without a result is `failed`, with the tail of its log kept,
  unless it paused at an lr-search rung (`preempted.json` with `paused_after`): that one is
  `queued`, waiting for the lr search;
- a queued run that the backend says is `RUNNING` becomes `running`, a running one it says is
  `PENDING` (requeued after a preemption) `queued`; `UNKNOWN` (the backend cannot be asked
  from here) changes nothing;
- a `running` run with no `launch.json` past a short grace (its scheduler died while starting
  it) is `failed`; a queued run that was never launched stays queued.

The store does not know the backends: callers pass a `LaunchWatch` (the launch room's).
"""

from __future__ import annotations

import time
from typing import Any, Optional, Protocol

from sciml_tui.rundir import RunDir
from sciml_tui.store.records import ACTIVE, RESULT_KEYS, RESULT_STATES, Liveness, RunRecord, RunState
from sciml_tui.store.workspace import WorkspaceStore

LAUNCH_GRACE_S = 30.0
NO_RESULT = "the training process ended without writing result.json"
REQUEUED = "requeued after a preemption: waiting in the queue to resume from its checkpoint"


class LaunchWatch(Protocol):
    """What reconciliation asks of the backends about one launched run (its `launch.json`)."""

    def liveness(self, launch: dict[str, Any]) -> Liveness: ...
    def lost_message(self, launch: dict[str, Any]) -> str: ...


def fields_from_result(result: dict[str, Any]) -> dict[str, Any]:
    status = result.get("status")
    state = RunState(status) if status in RESULT_STATES else RunState.FAILED
    out: dict[str, Any] = {"state": state}
    for key in RESULT_KEYS:
        if key in result:
            out[key] = result[key]
    return out


def preempted_message(preempted: dict[str, Any], sweep: Optional[str]) -> str:
    """What a run that SIGTERM stopped (its `preempted.json`) says, and how to continue it."""
    how = f"`sciml resume {sweep}` continues it" if sweep else "it can continue"
    return (f"preempted: stopped by {preempted.get('signal') or 'a signal'} in epoch {preempted.get('epoch', '?')} "
            f"(step {preempted.get('step', '?')}); {how} from its checkpoint")


def paused_message(epoch: Any) -> str:
    return f"paused after epoch {epoch}: waiting for the other lr candidates"


def paused_epoch(rdir: RunDir) -> Optional[int]:
    """The rung epoch a run paused after (`stop_after_epoch`, the lr search), else None."""
    info = rdir.preempted() if rdir.result() is None else None
    return info.get("paused_after") if info else None


def ended_fields(rdir: RunDir, now: Optional[float] = None, lost: str = NO_RESULT,
                 sweep: Optional[str] = None) -> dict[str, Any]:
    """Fields to record for a run that ended: its result, else `failed` with why: preempted
    (its `preempted.json`, resumable from the checkpoint) or `lost`."""
    now = time.time() if now is None else now
    result = rdir.result()
    if result is None:
        preempted = rdir.preempted()
        message = preempted_message(preempted, sweep) if preempted is not None else lost
        return {"state": RunState.FAILED, "ended_at": now, "message": message, "log_tail": rdir.log_tail()}
    fields = fields_from_result(result)
    if fields["state"] != RunState.DONE:
        fields["log_tail"] = rdir.log_tail()
    fields["ended_at"] = result.get("ended_at", now)
    return fields


def _look(rec: RunRecord, watch: LaunchWatch, now: float) -> Optional[dict[str, Any]]:
    """The fields that bring one active record in line, or None to leave it as it is."""
    rdir = RunDir(rec.run_dir)
    if rdir.result() is not None:
        return ended_fields(rdir, now, sweep=rec.sweep)
    launch = rdir.launch()
    if launch is None:
        starting = isinstance(rec.started_at, (int, float)) and now - rec.started_at < LAUNCH_GRACE_S
        return None if rec.state == RunState.QUEUED or starting else ended_fields(rdir, now, sweep=rec.sweep)
    seen = watch.liveness(launch)
    if seen == Liveness.RUNNING and rec.state == RunState.QUEUED:
        return {"state": RunState.RUNNING, "started_at": now}
    if seen == Liveness.PENDING and rec.state == RunState.RUNNING:
        return {"state": RunState.QUEUED, "pid": None, "message": REQUEUED}
    if seen != Liveness.GONE:
        return None
    paused = paused_epoch(rdir)
    if paused is not None:
        message = paused_message(paused)
        same = rec.state == RunState.QUEUED and rec.message == message
        return None if same else {"state": RunState.QUEUED, "pid": None, "message": message}
    return ended_fields(rdir, now, watch.lost_message(launch), rec.sweep)


def reconcile(ws: WorkspaceStore, watch: LaunchWatch) -> list[str]:
    """Reconcile active runs; return the ids whose record changed."""
    candidates = [r for r in ws.runs() if r.state in ACTIVE and r.run_dir]
    now = time.time()
    updates = {r.id: fields for r in candidates if (fields := _look(r, watch, now)) is not None}
    changed: list[str] = []
    if updates:
        seen = {r.id: (r.state, r.started_at) for r in candidates}
        with ws.transaction() as tx:
            for run_id, fields in updates.items():
                cur = tx.get("runs", run_id)
                # another process may have finished or restarted it meanwhile: only move the
                # record as it was looked at
                if cur is not None and (cur.get("state"), cur.get("started_at")) == seen[run_id]:
                    tx.update("runs", run_id, **fields)
                    changed.append(run_id)
    return changed
