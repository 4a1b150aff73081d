"""Plain formatting of run records for tables (no Textual imports; used in worker threads).

Numbers (errors, learning rates, example counts) use the formats of `results.text`, so the
dashboard and the CLI print a value the same way.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any, Optional

from sciml_tui.results.text import fmt_count as fmt_n
from sciml_tui.results.text import fmt_lr as fmt_lr_shared
from sciml_tui.results.text import fmt_run_error as fmt_err
from sciml_tui.store.liveness import STALLED
from sciml_tui.store.records import RunState

STATE_LABEL = {
    RunState.DONE: "✓ done",
    RunState.RUNNING: "▶ run",
    RunState.QUEUED: "· queued",
    RunState.FAILED: "✗ fail",
    RunState.DIVERGED: "⚠ diverged",
    RunState.CANCELLED: "■ cancel",
    STALLED: "⏸ stalled",
    RunState.PRUNED: "✂ pruned",
}
# table sort: what needs attention first
STATE_ORDER = {s: i for i, s in enumerate((STALLED, RunState.RUNNING, RunState.FAILED, RunState.DIVERGED, RunState.QUEUED,
                                           RunState.CANCELLED, RunState.DONE, RunState.PRUNED))}


def to_epoch(value: Any) -> Optional[float]:
    """Seconds since the epoch from a float or an ISO-8601 string; None when unknown."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def fmt_elapsed(seconds: Optional[float]) -> str:
    if seconds is None or seconds < 0 or math.isnan(seconds):
        return ""
    s = int(seconds)
    if s < 3600:
        return f"{s // 60}:{s % 60:02d}"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


def fmt_epoch(epoch: Any, total: Any, state: str = "") -> str:
    """'12/20' (epoch of total), '12' when the total is unknown, '' before the first epoch."""
    if epoch is None or state == "queued":
        return ""
    return f"{epoch}/{total}" if isinstance(total, int) and total > 0 else str(epoch)


def fmt_lr(x: Any) -> str:
    return fmt_lr_shared(x, missing="")


def progress_bar(done: int, total: int, width: int = 10) -> str:
    if total <= 0:
        return "░" * width
    full = round(width * done / total)
    return "█" * full + "░" * (width - full)
