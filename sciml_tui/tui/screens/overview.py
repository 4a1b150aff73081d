"""Overview: sweeps with progress, the runs table (sort, filter, marks), resources."""

from __future__ import annotations

from typing import Optional

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Input, Static

from sciml_tui.store.records import ACTIVE
from sciml_tui.tui.format import glyphs_of
from sciml_tui.tui.poller import Snapshot
from sciml_tui.tui.widgets.footer import KeyFooter
from sciml_tui.tui.widgets.runs_table import RunsTable
from sciml_tui.tui.widgets.status_bar import StatusBar
from sciml_tui.tui.widgets.sweeps_table import SweepsTable


class OverviewScreen(Screen):
    # The footer shows what fits in 80 columns; the help screen lists every key. Tab and
    # shift+tab (sweeps <-> runs) come from Screen.
    BINDINGS = [
        Binding("space", "mark", "Mark"),
        Binding("u", "unmark", "Unmark all", show=False),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("r", "results", "Results"),
        Binding("l", "launch", "Launch"),
        Binding("c", "cancel", "Cancel"),
        Binding("R", "resume", "Resume", show=False),
        Binding("e", "export", "Export", show=False),
        Binding("s", "sort", "Sort", show=False),
        Binding("S", "sort_reverse", "Reverse sort", show=False),
        Binding("escape", "clear_filter", "Clear filter", show=False),
    ]

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        yield Static("", id="banner")
        with Vertical(id="sweeps-box"):
            yield SweepsTable(id="sweeps")
        with Vertical(id="runs-box"):
            yield Input(placeholder="filter: text or field:value (state:fail init:finetune n:64)", id="filter")
            yield RunsTable(id="runs")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#sweeps-box").border_title = "Sweeps"
        self.query_one("#filter").display = False
        self.query_one(RunsTable).focus()
        self._title_runs()
        if self.app.snapshot is not None:
            self.apply_snapshot(self.app.snapshot)

    # --- data -----------------------------------------------------------------------------
    def apply_snapshot(self, snap: Snapshot) -> None:
        self.query_one(StatusBar).show(self.app.workspace, snap.resources)
        banner = self.query_one("#banner", Static)
        g = glyphs_of(self)
        notes = [f"sweep {r.name} {r.note}" for r in snap.sweeps if r.note]  # stopped / stalled sweeps
        if snap.error:
            banner.update(g.text(f"{g.warn} {snap.error}"))
        elif notes:
            banner.update(g.text("\n".join(f"{g.warn} {n}" for n in notes)))
        elif not snap.records:
            banner.update("No runs in this workspace yet: press l to launch a spec from experiments/.")
        banner.display = bool(snap.error or notes or not snap.records)
        self.query_one(SweepsTable).show(snap.sweeps, snap.overall)
        self._show_runs(snap)

    def _show_runs(self, snap: Optional[Snapshot]) -> None:
        if snap is None:
            return
        sweep = self.query_one(SweepsTable).selected()
        ids = None if sweep is None else set(snap.sweep_ids.get(sweep) or
                                            [r for r, rec in snap.records.items() if rec.get("sweep") == sweep])
        self.query_one(RunsTable).show(snap.rows, snap.records, ids)
        self._title_runs()

    def _title_runs(self) -> None:
        t = self.query_one(RunsTable)
        sweep = self.query_one(SweepsTable).selected() or "all"
        q = f"  /{t.query_text}" if t.query_text else ""
        shown = len(t.visible_marked())
        marks = ""
        if t.marked:
            hidden = len(t.marked) - shown
            marks = f"  {shown} marked" + (f" ({hidden} hidden)" if hidden else "") + " u:unmark"
        title = f"Runs ({sweep}) {len(t.order)}  sort: {t.sort_label}{q}{marks}"
        self.query_one("#runs-box").border_title = glyphs_of(self).text(title)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "sweeps":
            self._show_runs(self.app.snapshot)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "sweeps":
            self.query_one(RunsTable).focus()
        else:
            self.action_open_run()

    # --- filter ---------------------------------------------------------------------------
    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        t = self.query_one(RunsTable)
        t.query_text = event.value.strip()
        t.redisplay()
        self._title_runs()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if not event.value.strip():
            event.input.display = False
        self.query_one(RunsTable).focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.value = ""
        box.display = False
        self.query_one(RunsTable).focus()

    # --- actions --------------------------------------------------------------------------
    def current_run(self) -> Optional[str]:
        return self.query_one(RunsTable).current_id()

    def current_sweep(self) -> Optional[str]:
        s = self.query_one(SweepsTable).selected()
        if s is None and self.app.snapshot is not None:
            rid = self.current_run()
            if rid is not None:
                s = self.app.snapshot.records.get(rid, {}).get("sweep")
        return s

    def action_mark(self) -> None:
        self.query_one(RunsTable).toggle_mark()
        self._title_runs()

    def action_unmark(self) -> None:
        n = self.query_one(RunsTable).clear_marks()
        self._title_runs()
        self.notify(f"unmarked {n} run(s)" if n else "no marked runs")

    def action_sort(self) -> None:
        self.query_one(RunsTable).cycle_sort()
        self._title_runs()

    def action_sort_reverse(self) -> None:
        self.query_one(RunsTable).cycle_sort(reverse=True)
        self._title_runs()

    def action_open_run(self) -> None:
        from sciml_tui.tui.screens.run_detail import RunDetailScreen

        rid = self.current_run()
        if rid is None:
            self.notify("no run selected", severity="warning")
            return
        t = self.query_one(RunsTable)
        others = [r for r in t.order if r in t.marked and r != rid]
        self.app.push_screen(RunDetailScreen([rid] + others))

    def action_results(self) -> None:
        from sciml_tui.tui.screens.results import ResultsScreen

        sweep = self.current_sweep()
        names = [s.name for s in (self.app.snapshot.sweeps if self.app.snapshot else [])]
        if sweep is None and names:
            sweep = names[0]
        if sweep is None:
            self.notify("no sweep to show", severity="warning")
            return
        targets = self.app.snapshot.sweep_targets if self.app.snapshot else {}
        self.app.push_screen(ResultsScreen(sweep, targets.get(sweep, 1e-2)))

    def action_launch(self) -> None:
        from sciml_tui.tui.screens.launch import LaunchScreen

        self.app.push_screen(LaunchScreen())

    def action_cancel(self) -> None:
        from sciml_tui.tui.screens.dialogs import ConfirmScreen

        snap = self.app.snapshot
        t = self.query_one(RunsTable)
        if t.visible_marked():  # marks the filter hides are left alone
            targets = t.visible_marked()
        elif self.focused is self.query_one(SweepsTable) and self.query_one(SweepsTable).selected():
            targets = [self.query_one(SweepsTable).selected()]
        else:
            targets = [rid for rid in [self.current_run()] if rid]
        if not targets or snap is None:
            self.notify("nothing selected to cancel", severity="warning")
            return
        ids = {i for tg in targets for i in snap.sweep_ids.get(tg, [])} | set(targets)
        recs = [r for r in snap.records.values() if r.get("id") in ids and r.get("state") in ACTIVE]
        if not recs:
            self.notify("nothing running or queued there", severity="warning")
            return

        def done(ok: Optional[bool]) -> None:
            if ok:
                for target in targets:
                    self.app.job_cancel(target)
                t.clear_marks(targets)
                self._title_runs()

        self.app.push_screen(ConfirmScreen(f"Cancel {', '.join(targets)}? ({len(recs)} live run(s) will be stopped)"), done)

    def action_resume(self) -> None:
        from sciml_tui.tui.screens.dialogs import ConfirmScreen

        sweep = self.current_sweep()
        if sweep is None:
            self.notify("select a sweep to resume", severity="warning")
            return
        self.app.push_screen(ConfirmScreen(f"Resume sweep {sweep}? (runs what is missing or failed)"),
                             lambda ok: ok and self.app.job_resume(sweep))

    def action_export(self) -> None:
        from sciml_tui.tui.screens.dialogs import ExportScreen

        sweep = self.current_sweep()
        if sweep is None:
            self.notify("select a sweep to export", severity="warning")
            return
        self.app.push_screen(ExportScreen(sweep, 1e-2))
