"""Sweeps with progress: a bar and done / running / queued / failed counts."""

from __future__ import annotations

from typing import Optional

from rich.text import Text
from textual.widgets import DataTable

from sciml_tui.store.records import RunState
from sciml_tui.tui.format import progress_bar
from sciml_tui.tui.poller import SweepRow

ALL = "(all)"


class SweepsTable(DataTable):
    def __init__(self, **kw) -> None:
        super().__init__(cursor_type="row", **kw)
        self._rows: list[SweepRow] = []

    def on_mount(self) -> None:
        for name, key in (("sweep", "name"), ("progress", "bar"), ("done", "done"), ("run", "run"),
                          ("queue", "queue"), ("fail", "fail")):
            self.add_column(name, key=key)

    def show(self, rows: list[SweepRow]) -> None:
        if rows == self._rows and self.row_count:
            return
        current = self.current_sweep() if self.row_count else None
        self._rows = list(rows)
        self.clear()
        total = sum(r.total for r in rows)
        done = sum(r.count(RunState.DONE) for r in rows)
        self.add_row(ALL, Text(progress_bar(done, total), style="green"), f"{done}/{total}",
                     str(sum(r.count(RunState.RUNNING) for r in rows)), str(sum(r.count(RunState.QUEUED) for r in rows)),
                     self._bad(sum(r.count(RunState.FAILED) + r.count(RunState.DIVERGED) for r in rows)), key=ALL)
        for r in rows:
            bad = r.count(RunState.FAILED) + r.count(RunState.DIVERGED)
            self.add_row(r.name, Text(progress_bar(r.count(RunState.DONE), r.total), style="green"),
                         f"{r.count(RunState.DONE)}/{r.total}", str(r.count(RunState.RUNNING) or ""),
                         str(r.count(RunState.QUEUED) or ""),
                         self._bad(bad), key=r.name)
        names = [ALL] + [r.name for r in rows]
        if current in names:
            self.move_cursor(row=names.index(current), animate=False)

    @staticmethod
    def _bad(n: int) -> Text:
        return Text(f"{n} ⚠", style="bold red") if n else Text("")

    def current_sweep(self) -> Optional[str]:
        names = [ALL] + [r.name for r in self._rows]
        if not self.row_count or not (0 <= self.cursor_row < len(names)):
            return None
        return names[self.cursor_row]

    def selected(self) -> Optional[str]:
        """The selected sweep name, or None for all sweeps."""
        s = self.current_sweep()
        return None if s in (None, ALL) else s
