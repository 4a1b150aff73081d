"""The runs table: filter, sort and marks, redrawn only where a snapshot changed."""

from __future__ import annotations

from typing import Optional

from textual.binding import Binding
from textual.widgets import DataTable

from sciml_tui.tui.poller import COLUMNS, RunRow

FIELD_ALIASES = {"n": "N", "val": "val err", "err": "val err", "status": "state", "ep": "epoch"}
SORTABLE = ("state", "init", "N", "lr", "seed", "epoch", "val err", "elapsed", "id")


def matches(row: RunRow, rec: dict, query: str) -> bool:
    """Space-separated terms, all must match: `field:text` (substring of that column, or of
    the record field `sweep`) or plain `text` (substring of any cell). Case-insensitive."""
    for term in query.lower().split():
        if ":" in term:
            field, _, want = term.partition(":")
            field = FIELD_ALIASES.get(field, field)
            if field in COLUMNS:
                hay = row.cells[COLUMNS.index(field)].lower()
                if field == "state":
                    hay += " " + str(rec.get("state", "")).lower()
            else:
                hay = str(rec.get(field, "")).lower()
            if want not in hay:
                return False
        elif not any(term in c.lower() for c in row.cells) and term not in str(rec.get("state", "")):
            return False
    return True


class RunsTable(DataTable):
    """Rows keyed by run id. `show(rows, records, sweep)` diffs against what is displayed."""

    BINDINGS = [Binding("enter", "select_cursor", "Open run")]

    def __init__(self, **kw) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kw)
        self.query_text = ""
        self.sort_col = "state"
        self.sort_reverse = False
        self.marked: set[str] = set()
        self._shown: dict[str, RunRow] = {}
        self._order: list[str] = []
        self._last: Optional[tuple] = None

    def on_mount(self) -> None:
        self.add_column(" ", key="mark", width=1)
        for name in COLUMNS:
            self.add_column(name, key=name)

    def show(self, rows: dict[str, RunRow], records: dict[str, dict], sweep: Optional[str]) -> None:
        self._last = (rows, records, sweep)
        visible = [rid for rid, row in rows.items()
                   if (sweep is None or records[rid].get("sweep") == sweep)
                   and (not self.query_text or matches(row, records[rid], self.query_text))]
        ci = COLUMNS.index(self.sort_col)
        visible.sort(key=lambda rid: (rows[rid].keys[ci], rows[rid].keys), reverse=self.sort_reverse)
        if visible != self._order:
            self._rebuild(visible, rows)
            return
        for rid in visible:
            new, old = rows[rid], self._shown.get(rid)
            if new == old:
                continue
            for name, a, b in zip(COLUMNS, new.cells, old.cells if old else [None] * len(COLUMNS)):
                if a != b:
                    self.update_cell(rid, name, a)
            self._shown[rid] = new

    def _rebuild(self, order: list[str], rows: dict[str, RunRow]) -> None:
        current = self.current_id()
        self.clear()
        for rid in order:
            self.add_row("•" if rid in self.marked else " ", *rows[rid].cells, key=rid)
        self._order = order
        self._shown = {rid: rows[rid] for rid in order}
        if current in self._shown:
            self.move_cursor(row=order.index(current), animate=False)

    def redisplay(self) -> None:
        if self._last is not None:
            self.show(*self._last)

    def current_id(self) -> Optional[str]:
        if not self._order or self.cursor_row < 0 or self.cursor_row >= len(self._order):
            return None
        return self._order[self.cursor_row]

    def toggle_mark(self) -> Optional[str]:
        rid = self.current_id()
        if rid is None:
            return None
        if rid in self.marked:
            self.marked.discard(rid)
        else:
            self.marked.add(rid)
        self.update_cell(rid, "mark", "•" if rid in self.marked else " ")
        return rid

    def cycle_sort(self, reverse: bool = False) -> None:
        if reverse:
            self.sort_reverse = not self.sort_reverse
        else:
            i = SORTABLE.index(self.sort_col) if self.sort_col in SORTABLE else -1
            self.sort_col = SORTABLE[(i + 1) % len(SORTABLE)]
        self.redisplay()

    @property
    def sort_label(self) -> str:
        return f"{self.sort_col} {'▼' if self.sort_reverse else '▲'}"

    @property
    def order(self) -> list[str]:
        return list(self._order)
