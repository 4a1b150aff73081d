"""Plain formatting of run records for tables (no Textual imports; used in worker threads)."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any, Optional

from sciml_tui.store.records import RunState

STATE_LABEL = {
    RunState.DONE: "✓ done",
    RunState.RUNNING: "▶ run",
    RunState.QUEUED: "· queued",
    RunState.FAILED: "✗ fail",
    RunState.DIVERGED: "⚠ diverged",
    RunState.CANCELLED: "■ cancel",
}
# table sort: what needs attention first
STATE_ORDER = {s: i for i, s in enumerate((RunState.RUNNING, RunState.FAILED, RunState.DIVERGED, RunState.QUEUED,
                                           RunState.CANCELLED, RunState.DONE))}


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


def fmt_err(x: Any) -> str:
    if x is None:
        return ""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    if math.isnan(v) or math.isinf(v):
        return "nan" if math.isnan(v) else "inf"
    return f"{v:.2e}" if v < 1e-3 or v >= 10 else f"{v:.4f}"


def fmt_lr(x: Any) -> str:
    if x is None:
        return ""
    try:
        return f"{float(x):.0e}".replace("e-0", "e-")
    except (TypeError, ValueError):
        return str(x)


def fmt_n(x: Any) -> str:
    if x is None:
        return "-"
    try:
        n = int(x)
    except (TypeError, ValueError):
        return str(x)
    return f"{n // 1024}K" if n >= 8192 and n % 1024 == 0 else str(n)


def progress_bar(done: int, total: int, width: int = 10) -> str:
    if total <= 0:
        return "░" * width
    full = round(width * done / total)
    return "█" * full + "░" * (width - full)
