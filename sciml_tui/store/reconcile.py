"""Bring run records in line with their run dirs and processes.

- a run whose `result.json` exists takes its state and metrics from it;
- a `running` (or launched `queued`) run whose process is gone and that left no result is
  `failed`, with the tail of its log kept in the record;
- a run submitted to Slurm (`launch.json` has `backend: slurm`) is `queued` while its array
  task is pending, `running` once `squeue` says it runs, and `failed` when the task is gone
  from `squeue` without a `result.json` (there is no accounting database to ask why).
"""

from __future__ import annotations

import time
from collections import deque
from pathlib import Path
from typing import Any, Callable, Optional

from sciml_tui.atomic import read_json_object
from sciml_tui.store.procs import launch_alive, read_launch, slurm_task_state
from sciml_tui.store.workspace import WorkspaceStore

LOG_TAIL_LINES = 30
RESULT_STATES = {"done", "diverged", "failed"}
ACTIVE_STATES = {"running", "queued"}
LAUNCH_GRACE_S = 30.0


def read_result_json(run_dir: str | Path) -> Optional[dict[str, Any]]:
    """`result.json` of a run dir, or None while the run has not finished (no torch import)."""
    return read_json_object(Path(run_dir) / "result.json")


def log_tail(run_dir: str | Path, lines: int = LOG_TAIL_LINES) -> str:
    """Last lines of `train.log` (or the captured stdout when the log is missing)."""
    for name in ("train.log", "stdout.log"):
        path = Path(run_dir) / name
        try:
            with open(path, "r", encoding="utf-8", errors="replace") as fh:
                tail = deque(fh, maxlen=lines)
        except OSError:
            continue
        if tail:
            return "".join(tail).rstrip("\n")
    return ""


def fields_from_result(result: dict[str, Any]) -> dict[str, Any]:
    status = result.get("status")
    state = status if status in RESULT_STATES else "failed"
    out: dict[str, Any] = {"state": state}
    for key in ("test_error", "best_val_error", "best_epoch", "epochs_run", "elapsed_s", "params", "message"):
        if key in result:
            out[key] = result[key]
    return out


def finished_fields(run_dir: str | Path, now: Optional[float] = None) -> Optional[dict[str, Any]]:
    """Fields to record for a run that finished (has a result) or died; None if it still runs."""
    now = time.time() if now is None else now
    result = read_result_json(run_dir)
    if result is not None:
        fields = fields_from_result(result)
        if fields["state"] != "done":
            fields["log_tail"] = log_tail(run_dir)
        fields["ended_at"] = result.get("ended_at", now)
        return fields
    if launch_alive(read_launch(run_dir)):
        return None
    return {
        "state": "failed",
        "ended_at": now,
        "message": "the training process ended without writing result.json",
        "log_tail": log_tail(run_dir),
    }


def reconcile(ws: WorkspaceStore, alive: Optional[Callable[[dict[str, Any]], bool]] = None) -> list[str]:
    """Reconcile active runs; return the ids whose record changed.

    `alive(record)` may override the liveness check (a scheduler knows its own children).
    Queued runs are only touched when they have a result or a live launch (adopted later).
    """
    candidates = [r for r in ws.runs() if r.get("state") in ACTIVE_STATES and r.get("run_dir")]
    updates: dict[str, dict[str, Any]] = {}
    for rec in candidates:
        run_dir = Path(rec["run_dir"])
        result = read_result_json(run_dir)
        launch = read_launch(run_dir) if result is None else None
        if launch is not None and launch.get("backend") == "slurm":
            task = slurm_task_state(launch.get("slurm_job_id"))
            if task == "RUNNING" and rec["state"] == "queued":
                updates[rec["id"]] = {"state": "running", "started_at": time.time()}
            if task != "GONE":
                continue  # pending, running, or Slurm cannot be asked from here
        elif rec["state"] == "queued" and result is None:
            continue  # not launched (or launched and alive: the scheduler adopts it)
        if result is None and alive is not None and alive(rec):
            continue
        started = rec.get("started_at")
        if (result is None and not (run_dir / "launch.json").exists() and isinstance(started, (int, float))
                and time.time() - started < LAUNCH_GRACE_S):
            continue  # the scheduler marked it running and is starting its process right now
        fields = finished_fields(run_dir)
        if fields is not None and launch is not None and launch.get("backend") == "slurm" and "log_tail" in fields \
                and read_result_json(run_dir) is None:
            fields["message"] = f"Slurm task {launch.get('slurm_job_id')} left the queue without writing result.json"
        if fields is not None:
            updates[rec["id"]] = fields
    changed: list[str] = []
    if updates:
        seen = {r["id"]: (r.get("state"), r.get("started_at")) for r in candidates}
        with ws.transaction() as tx:
            for run_id, fields in updates.items():
                cur = tx.get("runs", run_id)
                # another process may have finished or restarted it meanwhile: only move the
                # record as it was looked at
                if cur is not None and (cur.get("state"), cur.get("started_at")) == seen[run_id]:
                    tx.update("runs", run_id, **fields)
                    changed.append(run_id)
    return changed
