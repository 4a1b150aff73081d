"""Plain formatting of run records for tables (no Textual imports; used in worker threads).

Numbers (errors, learning rates, example counts) use the formats of `results.text`, so the
dashboard and the CLI print a value the same way. `Glyphs` holds every symbol the dashboard
draws, in Unicode or in ASCII (chosen once, at app start).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping, Optional

from sciml_tui.results.text import fmt_count as fmt_n
from sciml_tui.results.text import fmt_lr as fmt_lr_shared
from sciml_tui.results.text import fmt_run_error as fmt_err
from sciml_tui.results.text import to_ascii
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
ASCII_STATE_LABEL = {
    RunState.DONE: "+ done",
    RunState.RUNNING: "> run",
    RunState.QUEUED: ". queued",
    RunState.FAILED: "x fail",
    RunState.DIVERGED: "! diverged",
    RunState.CANCELLED: "# cancel",
    STALLED: "= stalled",
    RunState.PRUNED: "% pruned",
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


@dataclass(frozen=True)
class Glyphs:
    """Every symbol the dashboard draws itself, in one form for the whole session: `UNICODE`,
    or `ASCII` when the terminal cannot show more (`sciml_tui.terminal.ascii_only`, asked once
    when the app starts; widgets read `app.glyphs`). Borders are not in this table: the app's
    CSS variables `$frame` / `$frame-thick` turn them ASCII (`SciMLApp.get_css_variables`)."""

    ascii: bool
    states: Mapping[str, str]  # a run state -> its label in the tables and titles
    bar_full: str  # progress bars
    bar_empty: str
    warn: str  # before an error or a warning line
    mark: str  # a marked run
    sort_up: str  # the sort direction in the runs title
    sort_down: str
    ellipsis: str
    branch: str  # the lineage tree
    enter: str  # key names (footer, help)
    key_up: str
    key_down: str
    plot_axis: str  # the plot's y axis, its ticks and its corner
    plot_tick: str
    plot_corner: str
    legend_line: str  # a line series in the plot legend
    legend_marker: str  # a series with markers
    legend_key: str  # after a series' glyph when colour is missing

    def state_label(self, state: Any) -> str:
        return self.states.get(state, str(state))

    def bar(self, done: int, total: int, width: int = 10) -> str:
        full = round(width * done / total) if total > 0 else 0
        return self.bar_full * full + self.bar_empty * (width - full)

    def text(self, text: str) -> str:
        """`text` as this terminal can show it: unchanged, or in ASCII (the dashboard's own
        symbols by their ASCII forms, then the CLI's `to_ascii`: '±' -> '+-', ...)."""
        if not self.ascii:
            return text
        for name in TEXT_SYMBOLS:
            text = text.replace(getattr(UNICODE, name), getattr(self, name))
        return to_ascii(text)


# the symbols `Glyphs.text` translates inside other text (plot glyphs are only drawn, never read)
TEXT_SYMBOLS = ("warn", "mark", "sort_up", "sort_down", "ellipsis", "branch", "enter", "key_up", "key_down")
UNICODE = Glyphs(False, STATE_LABEL, "█", "░", "⚠", "•", "▲", "▼", "…", "└", "⏎", "↑", "↓",
                 "│", "┤", "└", "━━", "●─", "─")
ASCII = Glyphs(True, ASCII_STATE_LABEL, "#", ".", "!", "*", "^", "v", "...", "`-", "enter", "up", "down",
               "|", "+", "+", "--", "o-", "-")


def glyphs_for(ascii_only: bool) -> Glyphs:
    return ASCII if ascii_only else UNICODE


def glyphs_of(node: Any) -> Glyphs:
    """The glyphs of the app a widget belongs to (UNICODE in an app that chose none)."""
    return getattr(getattr(node, "app", None), "glyphs", UNICODE)


def progress_bar(done: int, total: int, width: int = 10) -> str:
    return UNICODE.bar(done, total, width)
