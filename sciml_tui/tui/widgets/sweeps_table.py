"""Sweeps with progress: a bar and done / running / queued / failed counts."""

from __future__ import annotations

from typing import Optional

from rich.text import Text
from textual.widgets import DataTable

from sciml_tui.store.liveness import STALLED
from sciml_tui.store.records import RunState
from sciml_tui.tui.format import glyphs_of
from sciml_tui.tui.poller import SweepRow

ALL = "(all)"


class SweepsTable(DataTable):
    def __init__(self, **kw) -> None:
        super().__init__(cursor_type="row", **kw)
        self._rows: list[SweepRow] = []
        self._overall: Optional[SweepRow] = None

    def on_mount(self) -> None:
        for name, key in (("sweep", "name"), ("progress", "bar"), ("done", "done"), ("run", "run"),
                          ("queue", "queue"), ("fail", "fail")):
            self.add_column(name, key=key)

    def show(self, rows: list[SweepRow], overall: Optional[SweepRow] = None) -> None:
        """One row per sweep plus `overall` (every run once: a shared pre-training run is counted
        in each sweep that lists it, as `sciml status` does, but once in the total)."""
        overall = overall or SweepRow(ALL, 0, ())
        if (rows, overall) == (self._rows, self._overall) and self.row_count:
            return
        current = self.current_sweep() if self.row_count else None
        self._rows, self._overall = list(rows), overall
        self.clear()
        g = glyphs_of(self)
        for name, r in [(ALL, overall)] + [(r.name, r) for r in rows]:
            self.add_row(g.text(name), Text(g.bar(r.finished, r.total), style="green"), f"{r.finished}/{r.total}",
                         str(r.count(RunState.RUNNING) + r.count(STALLED) or ""), str(r.count(RunState.QUEUED) or ""),
                         self._bad(r.count(RunState.FAILED)), key=name)
        names = [ALL] + [r.name for r in rows]
        if current in names:
            self.move_cursor(row=names.index(current), animate=False)

    def _bad(self, n: int) -> Text:
        return Text(f"{n} {glyphs_of(self).warn}", style="bold red") if n else Text("")

    def current_sweep(self) -> Optional[str]:
        names = [ALL] + [r.name for r in self._rows]
        if not self.row_count or not (0 <= self.cursor_row < len(names)):
            return None
        return names[self.cursor_row]

    def selected(self) -> Optional[str]:
        """The selected sweep name, or None for all sweeps."""
        s = self.current_sweep()
        return None if s in (None, ALL) else s
