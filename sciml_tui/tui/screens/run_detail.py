"""Run detail: loss and val-error curves (log y, marked runs overlaid), config, lineage with
provenance, log."""

from __future__ import annotations

from typing import Optional

import yaml
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static, TabbedContent, TabPane

from sciml_tui.provenance import dataset_lines, provenance_line
from sciml_tui.store.records import RunState
from sciml_tui.store.records import WORSE_MARK, worse_than_zero
from sciml_tui.tui.format import STATE_LABEL, fmt_err, fmt_lr, fmt_n
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
        snap = self.app.snapshot
        parents = {snap.records.get(r, {}).get("parent") for r in self.run_ids} if snap else set()
        self.app.poller.watch_runs(set(self.run_ids) | {p for p in parents if p})
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
        key = tuple(id(snap.metrics.get(r)) for r in self.run_ids) + (rec.get("state"),)
        if self._shown.get("key") == key:
            return
        self._shown["key"] = key
        self._curves(snap)
        self.query_one("#config-text", Static).update(Text(m.get("config") or "(no config.yaml)"))
        self.query_one("#lineage-text", Static).update(
            Text.assemble(lineage(self.rid, snap), "\n", provenance_text(m.get("provenance"))))
        self._log(rec, m)

    def _title(self, rec: dict, row: Optional[RunRow]) -> None:
        state = row.state if row is not None else str(rec.get("state"))
        cells = dict(zip(COLUMNS, row.cells)) if row is not None else {}
        epoch = f"epoch {cells['epoch']}  " if cells.get("epoch") else ""
        t = Text.assemble((f" {self.rid} ", "bold"), "  ", STATE_LABEL.get(state, state), "  ", epoch,
                          f"{rec.get('init', '')} {rec.get('model', '')}  N={fmt_n(rec.get('n_train'))}  "
                          f"lr {fmt_lr(rec.get('lr'))}  seed {rec.get('seed', '')}  ")
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
        text = Text("\n".join(lines[-200:]) if lines else "(no train.log yet)")
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
        err_box.update(Text(f"⚠ {problem}", style="bold") if problem else "")
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


def lineage(rid: str, snap: Snapshot) -> Text:
    """dataset -> mixture -> pre-training run -> this run, from the store and the configs."""
    recs, dsets = snap.records, {d.get("id"): d for d in snap.datasets}
    out = Text()

    def ds_line(ds_id: str, indent: str, weight: Optional[float] = None) -> None:
        d = dsets.get(ds_id) or {}
        rng = d.get("range")
        desc = f"{d.get('system', '?')} {rng}  n={d.get('n', '?')}  sizes={d.get('sizes', '?')}" if d else "(not in the store)"
        w = f" x{weight:g}" if weight is not None else ""
        out.append(f"{indent}dataset  ", style="dim")
        out.append(f"{ds_id}{w}", style="bold")
        out.append(f"  {desc}\n")

    rec = recs.get(rid, {})
    out.append("this run  ", style="dim")
    out.append(f"{rid}", style="bold")
    out.append(f"  {rec.get('init', '')} {rec.get('model', '')} N={fmt_n(rec.get('n_train'))}\n")
    for ds in rec.get("datasets") or []:
        ds_line(ds, "  ")
    parent = rec.get("parent")
    depth = "  "
    while parent:
        p = recs.get(parent, {})
        out.append(f"{depth}└ pre-trained by  ", style="dim")
        out.append(parent, style="bold")
        out.append(f"  {STATE_LABEL.get(str(p.get('state')), p.get('state', '?'))}  test {fmt_err(p.get('test_error')) or '-'}\n")
        mix = _mixture(snap, parent)
        ids = p.get("datasets") or []
        if len(ids) > 1 or len(mix) > 1:
            out.append(f"{depth}    mixture of {max(len(ids), len(mix))} datasets\n", style="dim")
        for i, ds in enumerate(ids):
            ds_line(ds, depth + "    ", mix[i] if i < len(mix) else None)
        parent, depth = p.get("parent"), depth + "  "
    if not rec.get("parent"):
        out.append("  (trained from scratch: no pre-training run)\n" if rec.get("init") == "scratch" else "", style="dim")
    return out


def provenance_text(prov: Optional[dict]) -> Text:
    """What reproduces the run (`provenance.json`): versions, device, host, git, dataset hashes."""
    out = Text("reproduce with  ", style="dim")
    if not prov:
        out.append("(no provenance.json yet: the run records it when it starts)\n", style="dim")
        return out
    out.append(provenance_line(prov) + "\n")
    for line in dataset_lines(prov):
        out.append("  dataset  ", style="dim")
        out.append(line + "\n")
    return out


def _mixture(snap: Snapshot, rid: str) -> list[float]:
    m = snap.metrics.get(rid) or {}
    try:
        cfg = yaml.safe_load(m.get("config") or "") or {}
        return [float(d.get("weight", 1.0)) for d in cfg.get("data") or []]
    except (yaml.YAMLError, AttributeError, TypeError, ValueError):
        return []
