"""Exports: CSV round trip, JSON, PNG/SVG plots; text helpers for the CLI and dashboard."""

from __future__ import annotations

import csv
import io
import json
import sys

import pytest

from results_records import power_law_runs, rec
from sciml_tui.errors import UserError
from sciml_tui.results import (curve_series, efficiency_line, export_csv, export_json, export_plot, fmt_lr,
                               sweep_results, table, to_csv)
from sciml_tui.results.figures import build_error_figure
from sciml_tui.results.render import render_results

NS = [8, 16, 32, 64, 128]


@pytest.fixture
def res():
    runs = (power_law_runs(0.5, -0.5, "scratch", NS, seeds=(0, 1))
            + [rec("finetune", n, 1e-4, s, 0.05 * n ** -0.5 * (1 + 0.1 * s)) for n in NS
               for s in (0, 1)]
            + [rec("zeroshot", None, None, 0, 0.2), rec("finetune", 256, 1e-3, 0, 0, state="running")])
    return sweep_results(runs, "s", target=0.1)


def test_csv_round_trip(res, tmp_path):
    path = export_csv(res, tmp_path / "out" / "s.csv")
    rows = list(csv.DictReader(path.open()))
    points = [(c, p) for c in res["curves"] for p in c["points"]]
    assert len(rows) == len(points) == 11
    for row, (c, p) in zip(rows, points):
        assert row["init"] == c["init"] and row["model"] == c["model"]
        assert (int(row["n"]) if row["n"] else None) == p["n"]
        assert float(row["error"]) == p["error"]  # repr floats read back exactly
        assert float(row["error_std"]) == p["error_std"]
        assert int(row["seeds"]) == p["seeds"]
        assert (float(row["lr"]) if row["lr"] else None) == p["lr"]
        assert [float(e) for e in row["errors"].split(";")] == p["errors"]
    assert list(tmp_path.joinpath("out").iterdir()) == [path]  # no temp file left behind


def test_json_export_is_the_result(res, tmp_path):
    path = export_json(res, tmp_path / "s.json")
    assert json.loads(path.read_text()) == res


@pytest.mark.parametrize("suffix,magic", [(".png", b"\x89PNG\r\n\x1a\n"), (".svg", b"<svg")])
def test_plot_files_are_written(res, tmp_path, suffix, magic):
    path = export_plot(res, tmp_path / f"plot{suffix}")
    data = path.read_bytes()
    assert len(data) > 1000
    if suffix == ".png":
        assert data.startswith(magic)
    else:
        assert magic in data[:2000]
        assert b"downstream examples N" in data or b"downstream" in data
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_plot_with_several_models(tmp_path):
    runs = (power_law_runs(0.5, -0.5, "scratch", NS) + power_law_runs(0.05, -0.5, "finetune", NS)
            + power_law_runs(0.4, -0.6, "scratch", NS, model="fno-1m"))
    path = export_plot(sweep_results(runs, "s"), tmp_path / "p.png")
    assert path.stat().st_size > 1000


def test_plot_bad_suffix_and_nothing_to_plot(res, tmp_path):
    with pytest.raises(UserError, match=r"\.png or \.svg"):
        export_plot(res, tmp_path / "plot.pdf")
    with pytest.raises(UserError, match="no finished points"):
        export_plot(sweep_results([], "s"), tmp_path / "plot.png")
    assert list(tmp_path.iterdir()) == []


def test_missing_matplotlib_is_a_clear_user_error(res, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    with pytest.raises(UserError, match=r"\[plot\]"):
        export_plot(res, tmp_path / "plot.png")


def test_failed_plot_leaves_an_existing_file_untouched(res, tmp_path, monkeypatch):
    target = tmp_path / "plot.png"
    target.write_bytes(b"old")
    import matplotlib.figure

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", boom)
    with pytest.raises(RuntimeError):
        export_plot(res, target)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["plot.png"]


def test_table_rows_and_series(res):
    headers, rows = table(res, "tiny")
    assert headers == ["N", "scratch", "fine-tuned", "zero-shot"]
    assert [r[0] for r in rows] == ["8", "16", "32", "64", "128", "256"]
    assert rows[0][1].startswith("0.177±0.000 (lr 1e-3)")
    assert "(lr 1e-4)" in rows[0][2]
    assert rows[0][3] == "0.200" and rows[1][3] == ""
    assert rows[-1][2] == "(running)"
    series = dict(curve_series(res))
    assert [n for n, _, _ in series["scratch"]] == NS
    assert series["zero-shot"] == [(8, 0.2, 0.0), (128, 0.2, 0.0)]
    assert fmt_lr(0.0005) == "5e-4" and fmt_lr(1e-3) == "1e-3"


def test_table_marks_queued_and_partly_finished_points():
    runs = [rec("scratch", 8, 1e-3, 0, 0.2), rec("scratch", 8, 1e-3, 1, 0, state="queued"),
            rec("scratch", 16, 1e-3, 0, 0, state="queued"), rec("zeroshot", None, None, 0, 0, state="queued")]
    res = sweep_results(runs, "s")
    _, rows = table(res, "tiny", with_lr=False)
    assert rows == [["8", "0.200 +", "(queued)"], ["16", "(queued)", ""]]
    assert efficiency_line(res["efficiency"]).startswith("1e-2: no factor yet:")


def test_rich_rendering_mentions_the_factor_and_fit(res):
    from rich.console import Console

    console = Console(width=120, record=True, color_system=None)
    console.print(render_results(res))
    text = console.export_text()
    assert "fine-tuned" in text and "zero-shot" in text
    assert "fewer examples" in text
    assert "fit error ~ a N^b" in text
    assert "s: 21/22 sweep runs done, 1 running" in text


def test_spread_is_printed_to_the_means_precision():
    from sciml_tui.results.text import fmt_error

    assert fmt_error({"error": 0.2228, "error_std": 3.37e-8, "seeds": 2}) == "0.223±0.000"
    assert fmt_error({"error": 0.00523, "error_std": 0.00031, "seeds": 3}) == "0.00523±0.00031"
    assert fmt_error({"error": 0.412, "error_std": 0.031, "seeds": 1}) == "0.412"


def test_dashboard_table_uses_the_cli_cells():
    from sciml_tui.results.text import combined_table

    runs = [rec("scratch", 8, 2.5e-4, 0, 0.2), rec("scratch", 8, 2.5e-4, 1, 0, state="queued"),
            rec("scratch", 16, 1e-3, 0, 0, state="queued"), rec("zeroshot", None, None, 0, 0, state="queued")]
    res = sweep_results(runs, "s")
    headers, rows = combined_table(res)
    assert headers == ["N", "scratch"]
    # a queued N reads '(queued)' as in `sciml results`, not '(running)'
    assert rows == [("8", ["8", "0.200*"]), ("16", ["16", "(queued)"]), ("z-tiny-None", ["zero-shot", "(queued)"])]
    _, cli_rows = table(res, "tiny")
    assert cli_rows[0][1] == "0.200 (lr 2.5e-4) +"


def _png_size_and_dpi(data: bytes) -> tuple[int, int, float]:
    """Width, height (IHDR) and dpi (pHYs, pixels per metre) read from the PNG file itself."""
    import struct

    width, height = struct.unpack(">II", data[16:24])
    at = data.index(b"pHYs")
    ppm_x, _ppm_y, unit = struct.unpack(">IIB", data[at + 4:at + 13])
    assert unit == 1  # metres
    return width, height, ppm_x * 0.0254


def test_png_is_large_and_at_least_150_dpi(res, tmp_path):
    width, height, dpi = _png_size_and_dpi(export_plot(res, tmp_path / "p.png").read_bytes())
    assert dpi >= 150
    assert width >= 1000 and height >= 800


def _labelled_log_ticks(axis) -> list[str]:
    labels = [t.get_text() for t in axis.get_ticklabels() if t.get_text()]
    lo, hi = sorted(axis.get_view_interval())
    return [text for text, v in zip(labels, axis.get_ticklocs()) if lo <= v <= hi]


@pytest.mark.parametrize("a,b", [(0.5, -0.05), (0.5, -0.5), (1.0, -1.5)])
def test_log_axes_show_several_labelled_ticks(tmp_path, a, b):
    # a=0.5, b=-0.05: the errors span 0.39..0.45, well under a decade
    runs = power_law_runs(a, b, "scratch", NS) + power_law_runs(a / 2, b, "finetune", NS)
    fig = build_error_figure(sweep_results(runs, "s", target=a * 128 ** b))
    ax = fig.axes[0]
    assert len(_labelled_log_ticks(ax.yaxis)) >= 3
    assert _labelled_log_ticks(ax.xaxis) == ["8", "16", "32", "64", "128"]


def test_log_ticks_choose_round_values():
    from sciml_tui.results.figures import log_ticks, pow2_ticks

    assert log_ticks(1e-4, 1.0) == [1e-4, 1e-3, 1e-2, 1e-1, 1.0]
    assert log_ticks(0.15, 0.9) == [0.2, 0.3, 0.5, 0.7]
    assert len(log_ticks(0.40, 0.45)) >= 3
    assert pow2_ticks(8, 32768) == [8, 32, 128, 512, 2048, 8192, 32768]


def test_svg_keeps_tick_labels_as_text(res, tmp_path):
    import re

    svg = export_plot(res, tmp_path / "p.svg").read_text()
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    assert {"8", "16", "128"} <= set(texts)
    assert "0.1" in texts and "target 0.1" in texts
    assert any(t.startswith("error bars: mean ± sample std over 2 seeds") for t in texts)


def test_every_line_has_a_legend_entry(res):
    fig = build_error_figure(res)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == [
        "scratch", "scratch fit: 0.5·N^-0.50",
        "fine-tuned", "fine-tuned fit: 0.0525·N^-0.50",
        "zero-shot (no downstream training): 0.2",
        "target 0.1",
        "scratch reaches 0.1 at N ≈ 25", "fine-tuned reaches 0.1 at N ≤ 8"]
    assert ax.get_legend().get_title().get_text() == "error bars: mean ± sample std over 2 seeds"
    # every drawn line is in the legend: 2 curves, 2 fits, zero-shot, target, 2 crossings
    drawn = [a.get_label() for a in (*ax.get_lines(), *ax.containers) if not a.get_label().startswith("_")]
    assert sorted(drawn) == sorted(labels)


def test_inits_differ_in_marker_and_line_style_without_colour(res, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    ax = build_error_figure(res).axes[0]
    by_label = {c.get_label(): c.lines[0] for c in ax.containers}
    scratch, fine = by_label["scratch"], by_label["fine-tuned"]
    assert scratch.get_marker() != fine.get_marker()
    assert scratch.get_linestyle() != fine.get_linestyle()
    colours = {ln.get_color() for ln in ax.get_lines()}
    assert all(c.startswith("#") and c[1:3] == c[3:5] == c[5:7] or c in ("black", "k") for c in colours)


def test_band_figure_shades_the_seed_spread(res):
    ax = build_error_figure(res, band=True).axes[0]
    assert ax.get_legend().get_title().get_text().startswith("shaded band: mean ± sample std")
    assert len(ax.collections) >= 2  # one band per curve


def _worse_res():
    runs = [rec("scratch", 8, 1e-3, 0, 1.7), rec("scratch", 16, 1e-3, 0, 0.4), rec("zeroshot", None, None, 0, 2.5)]
    return sweep_results(runs, "s", target=0.1)


def test_results_table_flags_errors_worse_than_predicting_zero():
    from sciml_tui.store.status import WORSE_MARK

    headers, rows = table(_worse_res(), "tiny")
    by_n = {r[0]: r for r in rows}
    assert by_n["8"][1].startswith("1.70") and WORSE_MARK in by_n["8"][1]
    assert WORSE_MARK not in by_n["16"][1]
    assert WORSE_MARK in by_n["8"][headers.index("zero-shot")]
    from rich.console import Console

    console = Console(width=120, record=True, color_system=None)
    console.print(render_results(_worse_res()))
    assert "worse than predicting zero" in console.export_text()


def test_exports_flag_errors_worse_than_predicting_zero(tmp_path):
    res = _worse_res()
    rows = list(csv.DictReader(io.StringIO(to_csv(res))))
    flags = {(r["init"], r["n"]): r["worse_than_zero"] for r in rows}
    assert flags == {("scratch", "8"): "true", ("scratch", "16"): "false", ("zeroshot", ""): "true"}
    data = json.loads(export_json(res, tmp_path / "r.json").read_text())
    points = {(c["init"], p["n"]): p["worse_than_zero"] for c in data["curves"] for p in c["points"]}
    assert points == {("scratch", 8): True, ("scratch", 16): False, ("zeroshot", None): True}
    assert data == json.loads(json.dumps(res))  # the JSON export is the results as they are
