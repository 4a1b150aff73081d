"""What `sciml status` shows, read from the store and run dirs only (no torch, no pydantic).

`collect(ws, sweep)` returns `{"sweeps": [...], "runs": [...]}` (the `--json` shape); each run
row has id, sweep, init, model, n_train, lr, seed, state, device, epoch, epochs, elapsed_s,
val_error (last), test_error. Without `sweep`, runs lists only running and failed runs.
"""

from __future__ import annotations

import time
from typing import Any, Optional

from sciml_tui.rundir import RunDir
from sciml_tui.store.reconcile import LaunchWatch, reconcile
from sciml_tui.store.records import ACTIVE, FINISHED, RunState
from sciml_tui.store.workspace import WorkspaceStore



def _row(r: dict[str, Any], now: float) -> dict[str, Any]:
    state = r.get("state")
    started, ended = r.get("started_at"), r.get("ended_at")
    elapsed = None
    if isinstance(started, (int, float)):
        elapsed = (ended if isinstance(ended, (int, float)) and state not in ACTIVE else now) - started
    epoch, val = r.get("epochs_run"), r.get("best_val_error")
    if state == RunState.RUNNING and r.get("run_dir"):
        last = RunDir(r["run_dir"]).last_epoch()
        if last:
            epoch, val = last.get("epoch"), last.get("val_error")
    return {"id": r.get("id"), "sweep": r.get("sweep"), "init": r.get("init"), "model": r.get("model"),
            "n_train": r.get("n_train"), "lr": r.get("lr"), "seed": r.get("seed"), "state": state,
            "device": r.get("device"), "epoch": epoch, "epochs": r.get("epochs"), "elapsed_s": elapsed,
            "val_error": val, "test_error": r.get("test_error"), "message": r.get("message")}


def collect(ws: WorkspaceStore, sweep: Optional[str] = None, watch: Optional[LaunchWatch] = None) -> dict[str, Any]:
    """The status tables; with `watch` (the launch room's) runs are reconciled first."""
    if watch is not None and ws.exists():
        reconcile(ws, watch)
    tables = ws.tables()
    runs = tables.run_index()
    now = time.time()
    sweeps = []
    for s in tables.sweeps:
        ids = s.run_ids or []
        counts: dict[str, int] = {}
        for i in ids:
            st = runs[i].state.value if i in runs else "missing"
            counts[st] = counts.get(st, 0) + 1
        sweeps.append({"name": s.name, "state": s.state, "total": len(ids),
                       "done": sum(counts.get(f, 0) for f in FINISHED), "counts": counts,
                       "scheduler_pid": s.scheduler_pid, "spec_path": s.spec_path})
    if sweep is not None:
        chosen = tables.sweep_runs(sweep)
    else:
        chosen = [r for r in runs.values() if r.state in (RunState.RUNNING, RunState.FAILED)]
    return {"sweeps": sweeps, "runs": [_row(r, now) for r in chosen]}


def _fmt(v: Any, kind: str = "") -> str:
    if v is None:
        return "-"
    if kind == "err":
        return f"{v:.4g}" if isinstance(v, (int, float)) else str(v)
    if kind == "time":
        m, s = divmod(int(v), 60)
        return f"{m}:{s:02d}" if m < 60 else f"{m // 60}h{m % 60:02d}"
    if kind == "lr":
        return f"{v:g}"
    return str(v)


def render_text(status: dict[str, Any], width: int = 12) -> str:
    lines = []
    if not status["sweeps"]:
        return "no sweeps recorded in this workspace yet (sciml run sweep SPEC)"
    lines.append(f"{'sweep':<24} {'state':<10} {'progress':<10} running queued failed")
    for s in status["sweeps"]:
        c = s["counts"]
        lines.append(f"{s['name']:<24} {str(s['state']):<10} {s['done']:>4}/{s['total']:<5} "
                     f"{c.get(RunState.RUNNING, 0):>7} {c.get(RunState.QUEUED, 0):>6} {c.get(RunState.FAILED, 0):>6}")
    if status["runs"]:
        lines.append("")
        lines.append(f"{'state':<9} {'init':<9} {'model':<8} {'N':>6} {'lr':>7} {'seed':>4} {'device':<7} "
                     f"{'epoch':>9} {'elapsed':>7} {'val_err':>9} {'test_err':>9}  id")
        for r in status["runs"]:
            ep = f"{_fmt(r['epoch'])}/{_fmt(r['epochs'])}" if r["epoch"] is not None else "-"
            lines.append(f"{_fmt(r['state']):<9} {_fmt(r['init']):<9} {_fmt(r['model']):<8} {_fmt(r['n_train']):>6} "
                         f"{_fmt(r['lr'], 'lr'):>7} {_fmt(r['seed']):>4} {_fmt(r['device']):<7} {ep:>9} "
                         f"{_fmt(r['elapsed_s'], 'time'):>7} {_fmt(r['val_error'], 'err'):>9} "
                         f"{_fmt(r['test_error'], 'err'):>9}  {r['id']}")
    return "\n".join(lines)
