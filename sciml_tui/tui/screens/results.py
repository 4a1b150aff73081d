"""Results of a sweep: error-vs-N table, log-log plot (mean with spread), data efficiency."""

from __future__ import annotations

from typing import Optional

from rich.cells import cell_len
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Static

from sciml_tui.results.caveats import caveat_lines, factor_interval_line
from sciml_tui.results.text import combined_table, efficiency_line, series_label
from sciml_tui.store.records import WORSE_MARK, worse_than_zero
from sciml_tui.tui.format import glyphs_of
from sciml_tui.tui.poller import Snapshot
from sciml_tui.tui.widgets.braille_plot import PALETTE, BraillePlot, PlotSpec, Series
from sciml_tui.tui.widgets.footer import KeyFooter
from sciml_tui.tui.widgets.status_bar import StatusBar

TARGETS = (5e-1, 2e-1, 1e-1, 5e-2, 2e-2, 1e-2, 5e-3, 2e-3, 1e-3)


def worse_cells(res: dict) -> set[tuple[str, int]]:
    """(row key, column) of the `combined_table` cells whose mean error is above 1."""
    curves = [c for c in res.get("curves") or [] if c.get("init") != "zeroshot"]
    out = {(str(p.get("n")), j + 1) for j, c in enumerate(curves) for p in c.get("points") or []
           if worse_than_zero(p.get("error"))}
    out |= {(f"z-{z['model']}-{z['source']}", 1) for z in res.get("curves") or [] if z.get("init") == "zeroshot"
            and any(worse_than_zero(p.get("error")) for p in z.get("points") or [])}
    return out


class ResultsScreen(Screen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("t", "target(1)", "Target"),
        Binding("T", "target(-1)", "Target -", show=False),
        Binding("left_square_bracket", "sweep(-1)", "Prev sweep", key_display="["),
        Binding("right_square_bracket", "sweep(1)", "Next sweep", key_display="]"),
        Binding("e", "export", "Export"),
    ]
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]

    def __init__(self, sweep: str, target: float = 1e-2) -> None:
        super().__init__()
        self.sweep = sweep
        self.target = target
        self._shown: Optional[tuple] = None

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        with Vertical(id="results-body"):
            with Vertical(id="results-left"):
                yield DataTable(id="results-table", cursor_type="row", zebra_stripes=True)
                yield Static("", id="efficiency")
            yield BraillePlot(PlotSpec(log_x=True, x_label="N (log)", empty="no finished points yet"), id="results-plot")
        yield KeyFooter()

    def on_mount(self) -> None:
        self._request()
        if self.app.snapshot is not None:
            self.apply_snapshot(self.app.snapshot)

    def on_unmount(self) -> None:
        self.app.poller.want_results(None)

    def _request(self) -> None:
        title = f"Results: {self.sweep}   target {self.target:g}"
        self.query_one("#results-body").border_title = glyphs_of(self).text(title)
        self.app.poller.want_results(self.sweep, self.target)
        self.app.wake_poller()

    def action_target(self, step: int) -> None:
        i = min(range(len(TARGETS)), key=lambda k: abs(TARGETS[k] - self.target))
        self.target = TARGETS[(i + step) % len(TARGETS)]
        self._request()

    def action_sweep(self, step: int) -> None:
        names = [s.name for s in self.app.snapshot.sweeps] if self.app.snapshot else []
        if not names:
            return
        i = names.index(self.sweep) if self.sweep in names else 0
        self.sweep = names[(i + step) % len(names)]
        self._request()

    def action_export(self) -> None:
        from sciml_tui.tui.screens.dialogs import ExportScreen

        self.app.push_screen(ExportScreen(self.sweep, self.target))

    def apply_snapshot(self, snap: Snapshot) -> None:
        self.query_one(StatusBar).show(self.app.workspace, snap.resources)
        if snap.results_key != (self.sweep, self.target) or snap.results is None:
            return
        key = (id(snap.results), self.sweep, self.target)
        if key == self._shown:
            return
        self._shown = key
        res = snap.results
        curves = [c for c in res.get("curves") or [] if c.get("init") != "zeroshot"]
        zeros = [c for c in res.get("curves") or [] if c.get("init") == "zeroshot"]
        multi = len({c.get("model") for c in curves}) > 1
        self._table(res)
        self._summary(res, curves, zeros, multi)
        self._plot(curves, zeros, multi)

    def _table(self, res: dict) -> None:
        headers, rows = combined_table(res)
        flagged = worse_cells(res)
        g = glyphs_of(self)
        headers = [g.text(h) for h in headers]  # '0.41±0.03' is '0.41+-0.03' in ASCII, as in the CLI
        cells = [(key, [Text(g.text(c) + f" {WORSE_MARK}", style="bold red") if (key, j) in flagged
                        else Text(g.text(c)) for j, c in enumerate(row)]) for key, row in rows]
        t = self.query_one("#results-table", DataTable)
        t.clear(columns=True)
        for i, h in enumerate(headers):
            # fixed widths: a width measured later, after a redraw, leaves cells cut ('0.697±0')
            width = max([cell_len(h)] + [row[i].cell_len for _, row in cells if i < len(row)])
            t.add_column(h, key="N" if i == 0 else f"c{i - 1}", width=width)
        for key, row in cells:
            t.add_row(*row, key=key)

    def _summary(self, res: dict, curves: list[dict], zeros: list[dict], multi: bool) -> None:
        out, g = Text(), glyphs_of(self)
        if res.get("error"):
            out.append(g.text(f"{g.warn} {res['error']}\n"), style="bold red")
        effs = res.get("efficiency_by_model") or ([res["efficiency"]] if res.get("efficiency") else [])
        for eff in effs:
            tag = [str(eff[k]) for k in ("model", "source") if eff.get(k) and (k == "source" or multi)]
            model = f"[{' '.join(tag)}] " if tag else ""
            out.append(g.text(f"{model}{efficiency_line(eff)}\n"), style="bold" if eff.get("factor") else "dim")
            interval = factor_interval_line(res, eff.get("model"), eff.get("source"))
            out.append(g.text(f"{model}{interval}\n") if interval else "")
        slopes = [f"{series_label(c, multi)} {c['fit']['b']:+.2f}" for c in curves if isinstance(c.get("fit"), dict)
                  and c["fit"].get("b") is not None]
        if slopes:
            out.append(g.text("slope " + "  ".join(slopes) + "   ('*' = seeds still running)\n"), style="dim")
        for i, line in enumerate(caveat_lines(res)):
            out.append(g.text(line + "\n"), style="dim" if i == 0 else "yellow")
        self.query_one("#efficiency", Static).update(out)

    def _plot(self, curves: list[dict], zeros: list[dict], multi: bool) -> None:
        series, ns = [], set()
        for i, c in enumerate(curves):
            pts = [p for p in c.get("points") or [] if p.get("n") and p.get("error") is not None]
            xs = [p["n"] for p in pts]
            ns.update(xs)
            ys = [p["error"] for p in pts]
            sd = [p.get("error_std") or 0.0 for p in pts]
            series.append(Series(series_label(c, multi), xs, ys, PALETTE[i % len(PALETTE)], markers=True, style=i,
                                 lo=[max(y - s, y * 1e-3) for y, s in zip(ys, sd)], hi=[y + s for y, s in zip(ys, sd)]))
        for j, z in enumerate(zeros):
            p = (z.get("points") or [{}])[0]
            if p.get("error") is not None:
                series.append(Series(series_label(z, multi), [0], [p["error"]], PALETTE[(len(curves) + j) % len(PALETTE)], hline=True))
        series.append(Series(f"target {self.target:g}", [0], [self.target], "grey50", hline=True))
        self.query_one("#results-plot", BraillePlot).show(
            PlotSpec(series, log_x=True, x_label="N (log)", x_ticks=sorted(ns), empty="no finished points yet"))
