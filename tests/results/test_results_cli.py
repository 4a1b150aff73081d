"""`sciml results` against a workspace store populated through the store API."""

from __future__ import annotations

import csv
import io
import json

import pytest
from typer.testing import CliRunner

from results_records import power_law_runs, rec
from sciml_tui.cli import app
from sciml_tui.results import sweep_results

import sciml_tui.store as store_mod

NS = [8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096]
runner = CliRunner()


def _runs():
    return (power_law_runs(0.5, -0.5, "scratch", NS, seeds=(0, 1))
            + power_law_runs(0.05, -0.5, "finetune", NS, seeds=(0, 1))
            + [rec("zeroshot", None, None, 0, 0.2),
               rec("scratch", 8, 1e-4, 0, 0.0, state="failed")])


@pytest.fixture
def ws(tmp_path):
    store = store_mod.WorkspaceStore(tmp_path)
    runs = [{**r, "sweep": "demo"} for r in _runs()]
    store.upsert_runs(runs)
    store.upsert_sweep({"name": "demo", "run_ids": [r["id"] for r in runs], "state": "done"})
    store.upsert_sweep({"name": "empty", "run_ids": [], "state": "queued"})
    return tmp_path


def invoke(*args):
    return runner.invoke(app, ["results", *map(str, args)])


def test_table_shows_factor_and_fits(ws):
    r = invoke("demo", "--workspace", ws)
    assert r.exit_code == 0, r.output
    assert "fine-tuned" in r.output and "zero-shot" in r.output
    assert "1e-2 reached with 25 (fine-tuned) vs 2500 (scratch) -> 100x fewer examples" in r.output
    assert "N^-0.50" in r.output
    assert "1 failed" in r.output


def test_json_is_exactly_sweep_results(ws):
    r = invoke("demo", "-w", ws, "--json", "--target", "0.02")
    assert r.exit_code == 0, r.output
    store = store_mod.WorkspaceStore(ws)
    assert json.loads(r.stdout) == sweep_results(store.runs(sweep="demo"), "demo", target=0.02)


def test_target_defaults_to_the_sweeps_own(ws):
    store = store_mod.WorkspaceStore(ws)
    store.update_sweep("demo", target=0.02)
    r = invoke("demo", "-w", ws, "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["efficiency"]["target"] == 0.02
    r = invoke("demo", "-w", ws, "--json", "--target", "0.01")
    assert json.loads(r.stdout)["efficiency"]["target"] == 0.01


def test_csv_to_stdout_and_to_file(ws, tmp_path):
    r = invoke("demo", "-w", ws, "--csv")
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert len(rows) == 2 * len(NS) + 1
    out = tmp_path / "exports" / "demo.csv"
    r = invoke("demo", "-w", ws, "--csv", "--out", out)
    assert r.exit_code == 0, r.output
    assert out.read_text() == invoke("demo", "-w", ws, "--csv").stdout


def test_plot_option_writes_a_file(ws, tmp_path):
    out = tmp_path / "demo.svg"
    r = invoke("demo", "-w", ws, "--json", "--plot", out)
    assert r.exit_code == 0, r.output
    json.loads(r.stdout)  # the note about the plot went to stderr, not into the JSON
    assert b"<svg" in out.read_bytes()[:2000]


def test_sweep_without_finished_points_is_not_an_error(ws):
    r = invoke("empty", "-w", ws)
    assert r.exit_code == 0, r.output
    assert "no sweep runs" in r.output


@pytest.mark.parametrize("args,message", [
    (["nope"], "unknown sweep 'nope'"),
    (["demo", "--json", "--csv"], "one of --json and --csv"),
    (["demo", "--target", "0"], "--target must be a positive"),
    (["demo", "--target", "nan"], "--target must be a positive"),
    (["demo", "--plot", "x.pdf"], ".png or .svg"),
    (["demo", "--out", "x.txt"], "--out"),
])
def test_bad_input_is_one_line_and_exit_2(ws, args, message):
    r = invoke(*args, "-w", ws)
    assert r.exit_code == 2
    assert message in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert "Traceback" not in r.output


def test_unknown_sweep_lists_known_ones(ws):
    r = invoke("nope", "-w", ws)
    assert "known: demo, empty" in r.stderr


def test_corrupt_store_is_a_clear_error(ws):
    (ws / ".sciml" / "sciml.json").write_text("{not json")
    r = invoke("demo", "-w", ws)
    assert r.exit_code == 2
    assert "corrupt" in r.stderr and "Traceback" not in r.output


def test_workspace_from_environment(ws):
    r = runner.invoke(app, ["results", "demo", "--json"], env={"SCIML_WORKSPACE": str(ws)})
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["sweep"] == "demo"


def test_out_file_by_suffix(ws, tmp_path):
    out = tmp_path / "demo.json"
    r = invoke("demo", "-w", ws, "--out", out)
    assert r.exit_code == 0, r.output
    assert json.loads(out.read_text())["sweep"] == "demo"
