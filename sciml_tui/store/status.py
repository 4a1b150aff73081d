"""What `sciml status` shows, read from the store and run dirs only (no torch, no pydantic).

`collect(ws, sweep)` returns `{"sweeps": [...], "runs": [...]}` (the `--json` shape); each run
row has id, sweep, init, model, n_train, lr, seed, state, device, epoch, epochs, elapsed_s,
val_error (the best validation error so far), test_error. Without `sweep`, runs lists only
running and failed runs.

The helpers below are the one definition of these numbers; the dashboard uses them too, so the
two views agree on every count and every validation error.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any, Callable, Optional

from sciml_tui.rundir import RunDir
from sciml_tui.store.liveness import STALLED, Staleness, fmt_age, run_stalled_for, sweep_view
from sciml_tui.store.reconcile import LaunchWatch, reconcile
from sciml_tui.store.records import ACTIVE, FINISHED, WORSE_MARK, RunState, worse_than_zero
from sciml_tui.store.workspace import StoreWriteFailed, WorkspaceStore

# Whether the scheduler a sweep record names is alive (the launch room answers: pids are its job).
SchedulerAlive = Callable[[Any], bool]


def progress_of(epochs: list[dict[str, Any]]) -> tuple[Optional[int], Optional[float]]:
    """(last epoch, best validation error so far) of a run's `epochs` rows; None when unknown."""
    rows = [r for r in epochs if isinstance(r, dict)]
    if not rows:
        return None, None
    last = max(rows, key=lambda r: r.get("epoch") or 0).get("epoch")
    vals = [float(r["val_error"]) for r in rows if isinstance(r.get("val_error"), (int, float))]
    finite = [v for v in vals if v == v]
    return last, (min(finite) if finite else (vals[-1] if vals else None))


def run_progress(run: Any, epoch_rows: Callable[[], list[dict[str, Any]]]) -> tuple[Any, Any]:
    """(epoch, best validation error so far) of a run: from its metrics while it runs, else
    from the record (`result.json`'s values), the metrics filling in what the record lacks."""
    epoch, val = run.get("epochs_run"), run.get("best_val_error")
    live = run.get("state") == RunState.RUNNING
    if live or val is None or epoch is None:
        last, best = progress_of(epoch_rows())
        if last is not None:
            epoch = last if live or epoch is None else epoch
            val = best if live or val is None else val
    return epoch, val


def _epoch_rows(run: Any) -> list[dict[str, Any]]:
    return RunDir(run["run_dir"]).metrics()["epochs"] if run.get("run_dir") else []


def _seconds(value: Any) -> Optional[float]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


def rerun_since(sweep: Any, alive: Optional[SchedulerAlive]) -> Optional[float]:
    """When the sweep's live scheduler started (epoch s), else None (also when no `alive` check
    is given). That scheduler runs again every run of the sweep that is not done or diverged."""
    if not sweep or not sweep.get("scheduler_pid") or alive is None:
        return None
    born = _seconds(sweep.get("scheduler_create_time"))
    return born if born is not None and alive(sweep) else None


def shown_state(run: Any, since: Optional[float], staleness: Optional[Staleness] = None,
                now: Optional[float] = None) -> str:
    """The state a view shows: a failed or cancelled run that ended before its sweep's live
    scheduler started (`since`, from `rerun_since`) is waiting to run again, so it is queued;
    with `staleness`, a running run without a sign of life for longer is `stalled`."""
    state = str(run.get("state") or "missing")
    if staleness is not None and state == RunState.RUNNING:
        return STALLED if run_stalled_for(run, staleness, now) is not None else state
    if since is None or state not in (RunState.FAILED, RunState.CANCELLED):
        return state
    ended = _seconds(run.get("ended_at"))
    return RunState.QUEUED.value if ended is None or ended < since else state


def rerun_times(sweeps: list[Any], alive: Optional[SchedulerAlive]) -> dict[str, float]:
    """run id -> the latest live-scheduler start among the sweeps listing it (see `shown_state`)."""
    out: dict[str, float] = {}
    for s in sweeps:
        since = rerun_since(s, alive)
        if since is not None:
            for i in s.get("run_ids") or []:
                out[i] = max(since, out.get(i, since))
    return out


def sweep_counts(sweep: Any, runs: dict[str, Any], since: Optional[float] = None,
                 staleness: Optional[Staleness] = None, now: Optional[float] = None) -> dict[str, int]:
    """{state: count} over the sweep's `run_ids` (shared pre-training runs count in every sweep
    that lists them), states as `shown_state` gives them."""
    counts: dict[str, int] = {}
    for i in sweep.get("run_ids") or []:
        run = runs.get(i)
        st = shown_state(run, since, staleness, now) if run is not None else "missing"
        counts[st] = counts.get(st, 0) + 1
    return counts


def finished(counts: dict[str, int]) -> int:
    """Runs that will not run again: done or diverged (the progress numerator)."""
    return sum(counts.get(s.value, 0) for s in FINISHED)


def _row(r: Any, now: float, since: Optional[float], staleness: Staleness) -> dict[str, Any]:
    stalled = run_stalled_for(r, staleness, now)
    state = STALLED if stalled is not None else shown_state(r, since)
    started, ended = r.get("started_at"), r.get("ended_at")
    elapsed = None
    if isinstance(started, (int, float)):
        elapsed = (ended if isinstance(ended, (int, float)) and state not in ACTIVE else now) - started
    epoch, val = run_progress(r, lambda: _epoch_rows(r))
    return {"id": r.get("id"), "sweep": r.get("sweep"), "init": r.get("init"), "model": r.get("model"),
            "n_train": r.get("n_train"), "lr": r.get("lr"), "seed": r.get("seed"), "state": state,
            "device": r.get("device"), "epoch": epoch, "epochs": r.get("epochs"), "elapsed_s": elapsed,
            "val_error": val, "test_error": r.get("test_error"), "message": r.get("message"),
            "stalled_s": stalled}


def collect(ws: WorkspaceStore, sweep: Optional[str] = None, watch: Optional[LaunchWatch] = None,
            scheduler_alive: Optional[SchedulerAlive] = None, now: Optional[float] = None) -> dict[str, Any]:
    """The status tables (as of `now`, default the clock); with `watch` (the launch room's) runs are reconciled first; with
    `scheduler_alive`, runs waiting for a live scheduler to run them again count as queued and
    a running sweep whose scheduler is gone shows `stopped`. Running runs without a sign of life
    past the workspace's threshold show `stalled` (`stalled_s`: for how long)."""
    if watch is not None and ws.exists():
        try:
            reconcile(ws, watch)
        except StoreWriteFailed:
            pass  # a read-only or full workspace can still be looked at
    tables = ws.tables()
    runs = tables.run_index()
    now = time.time() if now is None else now
    staleness = Staleness.of(ws)
    waiting_since = rerun_times(tables.sweeps, scheduler_alive)
    sweeps = []
    for s in tables.sweeps:
        counts = sweep_counts(s, runs, rerun_since(s, scheduler_alive), staleness, now)
        state, message = sweep_view(ws, s, scheduler_alive, staleness, now)
        sweeps.append({"name": s.name, "state": state, "total": len(s.run_ids or []),
                       "done": finished(counts), "counts": counts, "message": message,
                       "scheduler_pid": s.scheduler_pid, "spec_path": s.spec_path})
    if sweep is not None:
        chosen = tables.sweep_runs(sweep)
    else:
        chosen = [r for r in runs.values()
                  if shown_state(r, waiting_since.get(r.id)) in (RunState.RUNNING, RunState.FAILED)]
    return {"sweeps": sweeps, "runs": [_row(r, now, waiting_since.get(r.id), staleness) for r in chosen]}


def _fmt(v: Any, kind: str = "") -> str:
    if v is None:
        return "-"
    if kind == "err":
        flag = WORSE_MARK if worse_than_zero(v) else ""
        return f"{v:.4g}{flag}" if isinstance(v, (int, float)) else str(v)
    if kind == "time":
        m, s = divmod(int(v), 60)
        return f"{m}:{s:02d}" if m < 60 else f"{m // 60}h{m % 60:02d}"
    if kind == "lr":
        return f"{v:g}"
    return str(v)


def render_text(status: dict[str, Any], width: int = 120) -> str:
    """The status as text no wider than `width` (the terminal's): columns that do not fit are left
    out by priority, and a run id that would run past the edge goes on its own line."""
    lines = []
    if not status["sweeps"]:
        return "no sweeps recorded in this workspace yet (sciml run sweep SPEC)"
    lines.append(f"{'sweep':<24} {'state':<10} {'progress':<10} running queued failed")
    for s in status["sweeps"]:
        c = s["counts"]
        lines.append(f"{s['name']:<24} {str(s['state']):<10} {s['done']:>4}/{s['total']:<5} "
                     f"{c.get(RunState.RUNNING, 0) + c.get(STALLED, 0):>7} {c.get(RunState.QUEUED, 0):>6} "
                     f"{c.get(RunState.FAILED, 0):>6}")
    if status["runs"]:
        lines.append("")
        lines += _run_lines(status["runs"], width)
        if any(worse_than_zero(r[k]) for r in status["runs"] for k in ("val_error", "test_error")):
            lines.append(f"{WORSE_MARK} relative L2 error above 1: worse than predicting zero")
    lines.extend(_notes(status))
    return "\n".join(lines)


# (header, width, align, cell) by priority: what a narrow terminal keeps first
_RUN_COLUMNS: list[tuple[str, int, str, Any]] = [
    ("state", 9, "<", lambda r: _fmt(r["state"])),
    ("N", 6, ">", lambda r: _fmt(r["n_train"])),
    ("best_val", 9, ">", lambda r: _fmt(r["val_error"], "err")),
    ("epoch", 9, ">", lambda r: f"{_fmt(r['epoch'])}/{_fmt(r['epochs'])}" if r["epoch"] is not None else "-"),
    ("init", 9, "<", lambda r: _fmt(r["init"])),
    ("test_err", 9, ">", lambda r: _fmt(r["test_error"], "err")),
    ("lr", 7, ">", lambda r: _fmt(r["lr"], "lr")),
    ("seed", 4, ">", lambda r: _fmt(r["seed"])),
    ("model", 8, "<", lambda r: _fmt(r["model"])),
    ("elapsed", 7, ">", lambda r: _fmt(r["elapsed_s"], "time")),
    ("device", 7, "<", lambda r: _fmt(r["device"])),
]
_ORDER = ("state", "init", "model", "N", "lr", "seed", "device", "epoch", "elapsed", "best_val", "test_err")


def _run_lines(runs: list[dict[str, Any]], width: int) -> list[str]:
    id_room = min(24, max(len(str(r["id"])) for r in runs))  # keep room for most of an id on the row
    chosen, used = [], 0
    for col in _RUN_COLUMNS:
        if used + col[1] + 1 + id_room <= width or not chosen:
            chosen.append(col)
            used += col[1] + 1
    chosen.sort(key=lambda c: _ORDER.index(c[0]))

    def row(cells: list[str], rid: str) -> list[str]:
        text = " ".join(f"{c:{a}{w}}" for c, (_, w, a, _f) in zip(cells, chosen))
        return [f"{text}  {rid}"] if len(text) + 2 + len(rid) <= width else [text, f"  {rid}"]

    out = row([c[0] for c in chosen], "id")
    for r in runs:
        out += row([c[3](r)[:c[1]] if c[0] != "best_val" else c[3](r) for c in chosen], str(r["id"]))
    return out


def _notes(status: dict[str, Any]) -> list[str]:
    """One line per stopped or stalled sweep and per stalled run: what happened, what to do."""
    notes = [f"sweep {s['name']} {s['state']}: {s['message']}" for s in status["sweeps"] if s.get("message")]
    for r in status["runs"]:
        if r.get("stalled_s") is not None:
            notes.append(f"run {r['id']} stalled: no sign of life for {fmt_age(r['stalled_s'])} (a hung process? "
                         f"`sciml cancel {r['id']}`, then `sciml resume {r['sweep']}`)")
    return [""] + notes if notes else []
