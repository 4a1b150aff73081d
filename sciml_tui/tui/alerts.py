"""When the dashboard rings the terminal bell: a run failed or diverged, or a sweep finished,
between two snapshots (never for what was already so when the dashboard started)."""

from __future__ import annotations

from typing import Any, Optional

from sciml_tui.store.records import RunState

ALERT_STATES = (RunState.FAILED, RunState.DIVERGED)


def _active(row: Any) -> int:
    return row.count(RunState.QUEUED) + row.count(RunState.RUNNING)


def bell_reasons(old: Optional[Any], new: Any) -> list[str]:
    """What changed from snapshot `old` to `new` that deserves the bell, one phrase each."""
    if old is None:
        return []
    out = []
    for rid, rec in new.records.items():
        before = old.records.get(rid)
        state = str(rec.get("state"))
        if before is not None and state in ALERT_STATES and str(before.get("state")) != state:
            out.append(f"run {rid} {state}")
    before_rows = {s.name: s for s in old.sweeps}
    for row in new.sweeps:
        prev = before_rows.get(row.name)
        if prev is not None and _active(prev) > 0 and _active(row) == 0:
            out.append(f"sweep {row.name} finished")
    return out
