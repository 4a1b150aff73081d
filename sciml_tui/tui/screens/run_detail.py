"""Run detail: loss and val-error curves (log y, marked runs overlaid), config, lineage with
provenance, log."""

from __future__ import annotations

from typing import Optional

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static, TabbedContent, TabPane

from sciml_tui.provenance import dataset_lines, provenance_line
from sciml_tui.store.records import RunState
from sciml_tui.store.records import WORSE_MARK, worse_than_zero
from sciml_tui.store.workspace import lineage as walk_lineage
from sciml_tui.tui.format import UNICODE, Glyphs, fmt_err, fmt_lr, fmt_n, glyphs_of
from sciml_tui.tui.poller import COLUMNS, RunRow, Snapshot
from sciml_tui.tui.widgets.braille_plot import PALETTE, BraillePlot, PlotSpec, Series
from sciml_tui.tui.widgets.footer import KeyFooter
from sciml_tui.tui.widgets.status_bar import StatusBar

FAILED = (RunState.FAILED, RunState.DIVERGED)


class RunDetailScreen(Screen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("1", "tab('curves')", "Curves"),
        Binding("2", "tab('config')", "Config"),
        Binding("3", "tab('lineage')", "Lineage"),
        Binding("4", "tab('log')", "Log"),
    ]

    def __init__(self, run_ids: list[str]) -> None:
        super().__init__()
        self.run_ids = run_ids
        self._shown: dict[str, object] = {}
        self._opened = False

    @property
    def rid(self) -> str:
        return self.run_ids[0]

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        yield Static("", id="run-title")
        yield Static("", id="run-error")
        with TabbedContent(id="tabs", initial="curves"):
            with TabPane("Curves", id="curves"):
                yield BraillePlot(PlotSpec(x_label="epoch", empty="no epochs yet"), id="val-plot")
                yield BraillePlot(PlotSpec(x_label="epoch", empty="no epochs yet"), id="loss-plot")
            with TabPane("Config", id="config"):
                with VerticalScroll():
                    yield Static("", id="config-text")
            with TabPane("Lineage", id="lineage"):
                with VerticalScroll():
                    yield Static("", id="lineage-text")
            with TabPane("Log", id="log"):
                with VerticalScroll(id="log-scroll"):
                    yield Static("", id="log-text")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#run-error").display = False
        self.app.poller.watch_runs(set(self.run_ids))
        self.app.wake_poller()
        if self.app.snapshot is not None:
            self.apply_snapshot(self.app.snapshot)

    def on_unmount(self) -> None:
        self.app.poller.watch_runs(set())

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    def apply_snapshot(self, snap: Snapshot) -> None:
        rec = snap.records.get(self.rid)
        self.query_one(StatusBar).show(self.app.workspace, snap.resources)
        if rec is None:
            self.query_one("#run-title", Static).update(f"run {self.rid} is no longer in the store")
            return
        self._title(rec, snap.rows.get(self.rid))
        m = snap.metrics.get(self.rid)
        if m is None:
            return  # the poller has not read this run yet; the next snapshot brings it
        g = glyphs_of(self)
        # the chain's states move without this run's files: redrawn whenever its text changes
        text = Text.assemble(lineage(self.rid, snap, g), "\n", provenance_text(m.get("provenance"), g))
        if self._shown.get("lineage") != text:
            self._shown["lineage"] = text
            self.query_one("#lineage-text", Static).update(text)
        key = tuple(id(snap.metrics.get(r)) for r in self.run_ids) + (rec.get("state"),)
        if self._shown.get("key") == key:
            return
        self._shown["key"] = key
        self._curves(snap)
        self.query_one("#config-text", Static).update(Text(g.text(m.get("config") or "(no config.yaml)")))
        self._log(rec, m)

    def _title(self, rec: dict, row: Optional[RunRow]) -> None:
        state = row.state if row is not None else str(rec.get("state"))
        cells = dict(zip(COLUMNS, row.cells)) if row is not None else {}
        epoch = f"epoch {cells['epoch']}  " if cells.get("epoch") else ""
        g = glyphs_of(self)
        t = Text.assemble((g.text(f" {self.rid} "), "bold"), "  ", g.state_label(state), "  ", epoch,
                          g.text(f"{rec.get('init', '')} {rec.get('model', '')}  N={fmt_n(rec.get('n_train'))}  "
                                 f"lr {fmt_lr(rec.get('lr'))}  seed {rec.get('seed', '')}  "))
        t.append_text(flagged("best val", cells.get("best val") or "-"))
        t.append("  ")
        t.append_text(flagged("test", fmt_err(rec.get("test_error")) or "-", rec.get("test_error")))
        if len(self.run_ids) > 1:
            t.append(f"  (+{len(self.run_ids) - 1} overlaid)", style="italic")
        self.query_one("#run-title", Static).update(t)

    def _curves(self, snap: Snapshot) -> None:
        val, loss = [], []
        names = short_names(self.run_ids) if len(self.run_ids) > 1 else ["", ""]
        for i, (rid, name) in enumerate(zip(self.run_ids, names)):
            ep = (snap.metrics.get(rid) or {}).get("epochs") or []
            color = PALETTE[i % len(PALETTE)]
            xs = [r.get("epoch") for r in ep]
            val.append(Series(name, xs, [r.get("val_error") for r in ep], color, style=i))
            loss.append(Series(name, xs, [r.get("train_loss") for r in ep], color, style=i))
        self.query_one("#val-plot", BraillePlot).show(
            PlotSpec(val, title="val rel. L2", x_label="epoch", empty="no epochs yet"))
        self.query_one("#loss-plot", BraillePlot).show(
            PlotSpec(loss, title="train loss", x_label="epoch", empty="no epochs yet"))

    def _log(self, rec: dict, m: dict) -> None:
        lines = m.get("log") or []
        g = glyphs_of(self)
        text = Text(g.text("\n".join(lines[-200:])) if lines else "(no train.log yet)")
        self.query_one("#log-text", Static).update(text)
        self.query_one("#log-scroll", VerticalScroll).scroll_end(animate=False)
        state = str(rec.get("state"))
        err_box = self.query_one("#run-error", Static)
        problem = m.get("error")
        if state in FAILED:
            result = m.get("result") or {}
            why = rec.get("message") or result.get("message") or next(
                (ln for ln in reversed(lines) if ln.strip()), "no message recorded")
            problem = f"{state}: {why}"
        err_box.update(Text(g.text(f"{g.warn} {problem}"), style="bold") if problem else "")
        err_box.display = bool(problem)
        if state in FAILED and not self._opened:
            self.action_tab("log")
        self._opened = True


def flagged(label: str, text: str, value: object = None) -> Text:
    """'label value', in bold red with its mark when the error is worse than predicting zero."""
    worse = text.endswith(WORSE_MARK) or worse_than_zero(value)
    mark = WORSE_MARK if worse and not text.endswith(WORSE_MARK) else ""
    return Text(f"{label} {text}{mark}", style="bold red" if worse else "")


def short_names(ids: list[str]) -> list[str]:
    """What tells overlaid runs apart: their ids without the parts all of them share
    ('qs-finetune-n64-s0', 'qs-scratch-n64-s1' -> 'finetune-s0', 'scratch-s1')."""
    parts = [rid.split("-") for rid in ids]
    common = set.intersection(*(set(p) for p in parts))
    names = ["-".join(x for x in p if x not in common) or rid for p, rid in zip(parts, ids)]
    return names if len(set(names)) == len(names) else list(ids)


def lineage(rid: str, snap: Snapshot, g: Glyphs = UNICODE) -> Text:
    """dataset -> mixture -> pre-training run -> this run: the store's own walk
    (`store.workspace.lineage`) over the snapshot's tables, so no file is read here. Each run
    up the chain shows its state and test error and, when it was itself fine-tuned, its own
    datasets; the chain's first run shows the datasets (and mixture weights) it started from."""
    dsets = {str(d.get("id")): d for d in snap.datasets}
    chain = walk_lineage(snap.records, dsets, rid)
    out = Text()
    runs = [item for item in chain if item["kind"] == "run"]
    weights: dict[str, float] = {}
    indent, depth = "  ", 0
    for item in chain:
        kind = item["kind"]
        if kind == "run":
            indent, depth = _run_line(out, item, depth, dsets, g), depth + 1
        elif kind == "mixture":
            ids, ws = item.get("datasets") or [], item.get("weights") or []
            weights = {i: float(w) for i, w in zip(ids, ws) if isinstance(w, (int, float))}
            name = f" {item['name']}" if item.get("name") else ""
            _add(out, g, (f"{indent}mixture{name} of {len(ids)} datasets\n", "dim"))
        else:
            _dataset_line(out, item, indent, weights.get(str(item.get("id"))), g)
    last = runs[-1] if runs else {}
    if last.get("parent") and last["parent"] not in snap.records:
        _add(out, g, (f"{'  ' * len(runs)}{g.branch} pre-trained by  ", "dim"), (str(last["parent"]), "bold"),
             "  (not in the store)\n")
    if runs and not runs[0].get("parent") and runs[0].get("init") == "scratch":
        _add(out, g, ("  (trained from scratch: no pre-training run)\n", "dim"))
    return out


def _add(out: Text, g: Glyphs, *parts: str | tuple[str, str]) -> None:
    """Append strings (or (string, style) pairs) as the terminal can show them."""
    for part in parts:
        text, style = part if isinstance(part, tuple) else (part, "")
        out.append(g.text(text), style=style)


def _run_line(out: Text, run: dict, depth: int, dsets: dict[str, dict], g: Glyphs) -> str:
    """The line of a run of the chain (depth 0: this run), then its own datasets when it was
    fine-tuned (the chain's first run gets them from the lineage); returns their indent."""
    if depth == 0:
        _add(out, g, ("this run  ", "dim"), (str(run.get("id")), "bold"),
             f"  {run.get('init', '')} {run.get('model', '')} N={fmt_n(run.get('n_train'))}\n")
    else:
        state = run.get("state", "?")
        _add(out, g, (f"{'  ' * depth}{g.branch} pre-trained by  ", "dim"), (str(run.get("id")), "bold"),
             f"  {g.state_label(str(state))}  test {fmt_err(run.get('test_error')) or '-'}\n")
    indent = "  " * depth + ("    " if depth else "  ")
    if run.get("parent"):
        for ds in run.get("datasets") or []:
            _dataset_line(out, dsets.get(ds) or {"id": ds}, indent, None, g)
    return indent


def _dataset_line(out: Text, d: dict, indent: str, weight: Optional[float], g: Glyphs) -> None:
    known = set(d) - {"kind", "id"}
    desc = (f"{d.get('system', '?')} {d.get('range')}  n={d.get('n', '?')}  sizes={d.get('sizes', '?')}"
            if known else "(not in the store)")
    w = f" x{weight:g}" if weight is not None else ""
    _add(out, g, (f"{indent}dataset  ", "dim"), (f"{d.get('id')}{w}", "bold"), f"  {desc}\n")


def provenance_text(prov: Optional[dict], g: Glyphs = UNICODE) -> Text:
    """What reproduces the run (`provenance.json`): versions, device, host, git, dataset hashes."""
    out = Text("reproduce with  ", style="dim")
    if not prov:
        out.append("(no provenance.json yet: the run records it when it starts)\n", style="dim")
        return out
    _add(out, g, provenance_line(prov) + "\n")
    for line in dataset_lines(prov):
        _add(out, g, ("  dataset  ", "dim"), line + "\n")
    return out
