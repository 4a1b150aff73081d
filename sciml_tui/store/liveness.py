"""Liveness beyond pids: heartbeats and the `stalled` / `stopped` states views show.

A pid says a process exists, not that it works: a SIGSTOPped trainer keeps its pid for ever.
So trainers and schedulers write heartbeats (`RunDir.beat()`, `write_scheduler_beat`), and a
view compares their age with thresholds: a running run without a sign of life for longer than
`Staleness.run_s` shows `stalled`; a running sweep whose scheduler is gone shows `stopped`
(with the resume command), one whose live scheduler stopped beating shows `stalled`.
Thresholds: `.sciml/settings.json` keys `run_stalled_after_s` (600) and
`scheduler_stalled_after_s` (120). Nothing here writes the store: these are shown states.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

from sciml_tui.atomic import read_json_object
from sciml_tui.errors import UserError
from sciml_tui.rundir import RunDir, write_heartbeat
from sciml_tui.store.records import RunState, SweepState

STALLED = "stalled"
RUN_STALLED_AFTER_S = 600.0
SCHEDULER_STALLED_AFTER_S = 120.0
SETTINGS = "settings.json"


@dataclass(frozen=True)
class Staleness:
    run_s: float = RUN_STALLED_AFTER_S
    scheduler_s: float = SCHEDULER_STALLED_AFTER_S

    @classmethod
    def of(cls, ws: Any) -> "Staleness":
        """The workspace's thresholds (settings.json), else the defaults."""
        path = Path(ws.meta_dir) / SETTINGS
        data = read_json_object(path) or {}
        values = {}
        for key, name in (("run_stalled_after_s", "run_s"), ("scheduler_stalled_after_s", "scheduler_s")):
            value = data.get(key)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise UserError(f"{path}: {key} must be a positive number of seconds, got {value!r}")
            values[name] = float(value)
        return cls(**values)


def fmt_age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _epoch_s(value: Any) -> Optional[float]:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def run_stalled_for(run: Any, staleness: Staleness, now: Optional[float] = None) -> Optional[float]:
    """Seconds since a running run's last sign of life when that is past the threshold, else None."""
    if run.get("state") != RunState.RUNNING or not run.get("run_dir"):
        return None
    last = RunDir(run["run_dir"]).last_sign_of_life() or _epoch_s(run.get("started_at"))
    if last is None:
        return None
    age = (time.time() if now is None else now) - last
    return age if age > staleness.run_s else None


# -- schedulers ---------------------------------------------------------------------------------
def scheduler_beat_path(ws: Any, sweep: str) -> Path:
    return Path(ws.meta_dir) / f"scheduler-{sweep}.beat"


def write_scheduler_beat(ws: Any, sweeps: list[str], **info: Any) -> None:
    """The scheduler's heartbeat, one file per sweep it drives (`state`, `message` when it stops)."""
    for name in sweeps:
        write_heartbeat(scheduler_beat_path(ws, name), **info)


def sweep_view(ws: Any, sweep: Any, alive: Optional[Callable[[Any], bool]], staleness: Staleness,
               now: Optional[float] = None) -> tuple[Any, Optional[str]]:
    """(state shown, message) of a sweep record: `stopped` when its scheduler is gone while the
    store still says running, `stalled` when its live scheduler stopped beating."""
    state, pid, name = sweep.get("state"), sweep.get("scheduler_pid"), sweep.get("name")
    if state != SweepState.RUNNING or not pid or alive is None:
        return state, None
    beat = read_json_object(scheduler_beat_path(ws, str(name)))
    beat = beat if beat and beat.get("pid") == pid else None
    if not alive(sweep):
        why = f"its scheduler (pid {pid}) is gone"
        if beat and beat.get("message"):
            why += f" ({beat['message']})"
        return SweepState.STOPPED, f"{why}; `sciml resume {name}` continues it"
    at = _epoch_s(beat.get("at")) if beat else None
    age = (time.time() if now is None else now) - at if at is not None else None
    if age is not None and age > staleness.scheduler_s:
        return STALLED, (f"its scheduler (pid {pid}) has not written a heartbeat for {fmt_age(age)}; "
                         f"`sciml cancel {name}`, then `sciml resume {name}`")
    return state, None
