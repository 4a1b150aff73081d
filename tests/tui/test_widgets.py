"""Pure pieces: plot rendering, formatting, filtering, the poller's change detection."""

from __future__ import annotations

import json

from sciml_tui.tui.format import fmt_elapsed, fmt_err, fmt_n, progress_bar, to_epoch
from sciml_tui.tui.poller import Poller
from sciml_tui.tui.widgets.braille_plot import PlotSpec, Series, render_plot
from sciml_tui.tui.widgets.runs_table import matches

from tui_helpers import NOW, RESOURCES


def test_plot_has_requested_size_and_log_ticks():
    s = Series("val", [1, 2, 3, 4], [1.0, 0.1, 0.01, 0.001])
    lines = render_plot(PlotSpec([s], x_label="epoch"), 40, 12)
    assert len(lines) == 12
    assert all(line.cell_len <= 40 for line in lines)
    text = "\n".join(line.plain for line in lines)
    assert "0.01" in text and "0.1" in text and "epoch" in lines[0].plain
    assert any(0x2800 < ord(ch) <= 0x28FF for ch in text)


def test_plot_skips_nonpositive_and_nan_and_says_when_empty():
    lines = render_plot(PlotSpec([Series("x", [1, 2], [0.0, float("nan")])], empty="nothing"), 30, 6)
    assert "nothing" in lines[-1].plain
    ok = render_plot(PlotSpec([Series("x", [1, 2, 3], [0.0, 0.5, float("nan")])]), 30, 6)
    assert len(ok) == 6


def test_plot_log_x_labels_the_ladder():
    s = Series("scratch", [8, 64, 512], [0.4, 0.1, 0.03], markers=True, lo=[0.3, 0.09, 0.02], hi=[0.5, 0.11, 0.04])
    axis = render_plot(PlotSpec([s], log_x=True, x_ticks=[8, 64, 512]), 60, 10)[-1].plain
    assert "8" in axis and "64" in axis and "512" in axis


def test_formatting():
    assert fmt_elapsed(75) == "1:15" and fmt_elapsed(3 * 3600 + 120) == "3h02" and fmt_elapsed(None) == ""
    assert fmt_err(0.01234) == "0.0123" and fmt_err(float("nan")) == "nan" and fmt_err(None) == ""
    assert fmt_n(8192) == "8K" and fmt_n(None) == "-" and fmt_n(100) == "100"
    assert progress_bar(5, 10, 10) == "█████░░░░░" and progress_bar(0, 0, 4) == "░░░░"
    assert to_epoch("2026-01-01T00:00:00+00:00") == to_epoch(to_epoch("2026-01-01T00:00:00Z"))


def _poller(ws):
    return Poller(ws, clock=lambda: NOW, resources=lambda: list(RESOURCES))


def test_filter_terms(workspace):
    snap = _poller(workspace).poll()
    hits = {rid for rid, row in snap.rows.items() if matches(row, snap.records[rid], "state:fail")}
    assert hits == {"qs-scratch-n16-s1"}
    hits = {rid for rid, row in snap.rows.items() if matches(row, snap.records[rid], "init:finetune n:64 sweep:quick")}
    assert hits == {"qs-finetune-n64-s0", "qs-finetune-n64-s1"}


def test_poller_reports_only_changes_and_sees_new_epochs(workspace):
    p = _poller(workspace)
    first = p.poll()
    assert first is not None and p.poll() is None
    rdir = workspace / "runs" / "qs-scratch-n64-s1"
    data = json.loads((rdir / "metrics.json").read_text())
    data["epochs"]["13"] = {"epoch": 13, "train_loss": 1.0, "val_error": 0.2, "lr": 1e-4, "samples_per_s": 1.0, "time_s": 20.0}
    (rdir / "metrics.json").write_text(json.dumps(data))
    snap = p.poll()
    assert snap is not None and snap.rows["qs-scratch-n64-s1"].cells[7] == "13/20"
    assert snap.rows["qs-pretrain"] == first.rows["qs-pretrain"]


def test_poller_survives_a_corrupt_store_and_keeps_last_state(workspace):
    p = _poller(workspace)
    good = p.poll()
    (workspace / ".sciml" / "sciml.json").write_text("{ not json")
    snap = p.poll()
    assert snap is not None and snap.error and "corrupt" in snap.error
    assert set(snap.records) == set(good.records)


def test_poller_reports_a_mistyped_record_as_a_corrupt_store(workspace):
    p = _poller(workspace)
    good = p.poll()
    store = workspace / ".sciml" / "sciml.json"
    data = json.loads(store.read_text())
    next(iter(data["runs"].values()))["state"] = "finished"
    store.write_text(json.dumps(data))
    snap = p.poll()
    assert snap is not None and "corrupt" in snap.error and "'finished'" in snap.error
    assert set(snap.records) == set(good.records)


def test_poller_on_missing_workspace(tmp_path):
    snap = _poller(tmp_path / "nope").poll()
    assert snap.error and "does not exist" in snap.error and not snap.records
