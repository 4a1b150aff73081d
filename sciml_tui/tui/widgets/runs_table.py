"""The runs table: filter, sort and marks, redrawn only where a snapshot changed.

Columns are chosen by priority for the width at hand, so the id and the state of a run are
visible at any size (80 x 24 included); the others appear as room allows.
"""

from __future__ import annotations

import math
import operator
from typing import Optional

from rich.cells import cell_len
from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable

from sciml_tui.store.records import WORSE_MARK
from sciml_tui.tui.format import glyphs_of
from sciml_tui.tui.poller import COLUMNS, RunRow

FIELD_ALIASES = {"n": "N", "val": "best val", "err": "best val", "val_err": "best val", "status": "state",
                 "ep": "epoch"}
NUMERIC = ("N", "lr", "seed", "epoch", "best val")
SORTABLE = ("state", "init", "N", "lr", "seed", "epoch", "best val", "elapsed", "sweep", "id")
# Most important first: the greedy choice of columns for the available width follows it.
PRIORITY = ("id", "state", "best val", "epoch", "N", "init", "sweep", "seed", "lr", "model", "elapsed", "device")
ALWAYS = ("id", "state")
MARK_W = 1
COMPARE = ((">=", operator.ge), ("<=", operator.le), (">", operator.gt), ("<", operator.lt), ("=", operator.eq))


def _number(text: str) -> Optional[float]:
    text = text.strip().lower()
    scale = 1024 if text.endswith("k") else 1
    try:
        return float(text[:-1] if scale > 1 else text) * scale
    except ValueError:
        return None


def _numeric_match(value: float, want: str) -> bool:
    op = operator.eq
    for sym, fn in COMPARE:
        if want.startswith(sym):
            op, want = fn, want[len(sym):]
            break
    target = _number(want)
    if target is None or math.isinf(value):
        return False
    if op is operator.eq:
        return math.isclose(value, target, rel_tol=1e-9, abs_tol=1e-12)
    return op(value, target)


def _term_matches(row: RunRow, rec: dict, field: str, want: str) -> bool:
    field = FIELD_ALIASES.get(field, field)
    if field in NUMERIC:
        return _numeric_match(row.keys[COLUMNS.index(field)], want)
    if field == "state":
        return any(want in h.lower() for h in (row.state, row.cells[COLUMNS.index("state")]))
    if field in COLUMNS:
        return want in row.cells[COLUMNS.index(field)].lower()
    return want in str(rec.get(field, "")).lower()


def matches(row: RunRow, rec: dict, query: str) -> bool:
    """Space-separated terms, all must match (case-insensitive). `field:value` reads the run's
    value, not its display: numeric fields (n, lr, seed, epoch, val) compare numbers, exactly or
    with >=, <=, >, < (`n:8` is N = 8, never 128; `n:8K` is 8192); state, sweep, init, model,
    device and id match a part of the value (`state:run`, `state:running`); any other field is
    read from the record. Plain `text` is a part of any cell."""
    for term in query.lower().split():
        field, sep, want = term.partition(":")
        if sep and field:
            if not _term_matches(row, rec, field, want):
                return False
        elif not any(term in c.lower() for c in row.cells) and term not in row.state:
            return False
    return True


def choose_columns(widths: dict[str, int], room: int, skip: tuple[str, ...] = (), pad: int = 1) -> list[str]:
    """The columns (in display order) that fit `room` cells: by PRIORITY, id and state always."""
    used, chosen = MARK_W + 2 * pad, set()
    for name in PRIORITY:
        need = widths.get(name, 0) + 2 * pad
        if name in skip:
            continue
        if name in ALWAYS or used + need <= room:
            chosen.add(name)
            used += need
    return [c for c in COLUMNS if c in chosen]


def cell(name: str, text: str) -> Text | str:
    """A flagged error (worse than predicting zero) in bold red, its mark kept for NO_COLOR."""
    if name == "best val" and text.endswith(WORSE_MARK):
        return Text(text, style="bold red")
    return text


class RunsTable(DataTable):
    """Rows keyed by run id. `show(rows, records, ids)` diffs against what is displayed."""

    BINDINGS = [Binding("enter", "select_cursor", "Open")]

    def __init__(self, **kw) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kw)
        self.query_text = ""
        self.sort_col = "state"
        self.sort_reverse = False
        self.marked: set[str] = set()
        self._shown: dict[str, RunRow] = {}
        self._order: list[str] = []
        self._columns: list[str] = []
        self._widths: dict[str, int] = {}
        self._last: Optional[tuple] = None

    def on_resize(self) -> None:
        self.redisplay()

    def show(self, rows: dict[str, RunRow], records: dict[str, dict], ids: Optional[set[str]]) -> None:
        """Show `rows` of the runs in `ids` (None: every run) that pass the filter."""
        self._last = (rows, records, ids)
        visible = [rid for rid, row in rows.items()
                   if (ids is None or rid in ids)
                   and (not self.query_text or matches(row, records[rid], self.query_text))]
        ci = COLUMNS.index(self.sort_col)
        visible.sort(key=lambda rid: (rows[rid].keys[ci], rows[rid].keys), reverse=self.sort_reverse)
        if self._layout(rows, ids) or visible != self._order:
            self._rebuild(visible, rows)
            return
        for rid in visible:
            new, old = rows[rid], self._shown.get(rid)
            if new == old:
                continue
            for name in self._columns:
                i = COLUMNS.index(name)
                if old is None or new.cells[i] != old.cells[i]:
                    self.update_cell(rid, name, cell(name, new.cells[i]))
            self._shown[rid] = new

    def _layout(self, rows: dict[str, RunRow], ids: Optional[set[str]]) -> bool:
        """Pick the columns and their widths for the current size; True when they changed."""
        widths = {name: max([cell_len(name)] + [cell_len(r.cells[i]) for r in rows.values()])
                  for i, name in enumerate(COLUMNS)}
        room = self.size.width - 2  # a vertical scrollbar may take two cells
        columns = choose_columns(widths, room, skip=("sweep",) if ids is not None else ())
        wanted = {c: widths[c] for c in columns}
        if columns == self._columns and wanted == self._widths:
            return False
        self._columns, self._widths = columns, wanted
        self.clear(columns=True)
        self.add_column(" ", key="mark", width=MARK_W)
        for name in columns:
            self.add_column(name, key=name, width=wanted[name])  # fixed widths: never cut on redraw
        self._order = []
        return True

    def _rebuild(self, order: list[str], rows: dict[str, RunRow]) -> None:
        current = self.current_id()
        self.clear()
        index = [COLUMNS.index(c) for c in self._columns]
        for rid in order:
            cells = [cell(COLUMNS[i], rows[rid].cells[i]) for i in index]
            self.add_row(self._mark(rid), *cells, key=rid)
        self._order = order
        self._shown = {rid: rows[rid] for rid in order}
        if current in self._shown:
            self.move_cursor(row=order.index(current), animate=False)

    def _mark(self, rid: str) -> str:
        return glyphs_of(self).mark if rid in self.marked else " "

    def redisplay(self) -> None:
        if self._last is not None:
            self.show(*self._last)

    @property
    def columns_shown(self) -> list[str]:
        return list(self._columns)

    def current_id(self) -> Optional[str]:
        if not self._order or self.cursor_row < 0 or self.cursor_row >= len(self._order):
            return None
        return self._order[self.cursor_row]

    def visible_marked(self) -> list[str]:
        """Marked runs the filter and the sweep selection let through, in display order."""
        return [rid for rid in self._order if rid in self.marked]

    def toggle_mark(self) -> Optional[str]:
        rid = self.current_id()
        if rid is None:
            return None
        if rid in self.marked:
            self.marked.discard(rid)
        else:
            self.marked.add(rid)
        self.update_cell(rid, "mark", self._mark(rid))
        return rid

    def clear_marks(self, ids: Optional[list[str]] = None) -> int:
        """Unmark `ids` (default: every marked run); returns how many were marked."""
        gone = self.marked if ids is None else self.marked & set(ids)
        for rid in gone & set(self._order):
            self.update_cell(rid, "mark", " ")
        n = len(gone)
        self.marked = self.marked - gone
        return n

    def cycle_sort(self, reverse: bool = False) -> None:
        if reverse:
            self.sort_reverse = not self.sort_reverse
        else:
            i = SORTABLE.index(self.sort_col) if self.sort_col in SORTABLE else -1
            self.sort_col = SORTABLE[(i + 1) % len(SORTABLE)]
        self.redisplay()

    @property
    def sort_label(self) -> str:
        g = glyphs_of(self)
        return f"{self.sort_col} {g.sort_down if self.sort_reverse else g.sort_up}"

    @property
    def order(self) -> list[str]:
        return list(self._order)
