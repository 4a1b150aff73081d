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
    assert json.loads(r.stdout) == {**sweep_results(store.runs(sweep="demo"), "demo", target=0.02),
                                    "provenance": {}}  # no run recorded one


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


def _quickstart_like_ws(tmp_path):
    """Two seeds, an lr grid of two whose top wins for scratch and bottom for fine-tuning,
    best epochs at the end of training: the quickstart's shape."""
    runs = []
    for init, a, win in (("scratch", 1.0, 1e-2), ("finetune", 0.5, 3e-3)):
        for n in (8, 16, 32, 64):
            for s in (0, 1):
                err = a * n ** -0.5 * (1 + 0.05 * s)
                for lr in (3e-3, 1e-2):
                    runs.append(rec(init, n, lr, s, err if lr == win else 2 * err, sweep="qs",
                                    best_epoch=40 if lr == win else 20, epochs_run=40))
    runs += [rec("zeroshot", None, None, 0, 0.232, sweep="qs")]
    store = store_mod.WorkspaceStore(tmp_path)
    store.upsert_runs(runs)
    store.upsert_sweep({"name": "qs", "run_ids": [r["id"] for r in runs], "state": "done"})
    return tmp_path


def _flat(text):
    return " ".join(text.split())


def test_json_marks_lr_edges_and_carries_warnings_and_interval(tmp_path):
    ws = _quickstart_like_ws(tmp_path)
    res = json.loads(invoke("qs", "-w", ws, "--json", "--target", "0.15").stdout)
    marks = {(c["init"], p["n"]): p["lr_at_edge"] for c in res["curves"] for p in c["points"]}
    assert {v for (init, _), v in marks.items() if init == "scratch"} == {"high"}
    assert {v for (init, _), v in marks.items() if init == "finetune"} == {"low"}
    kinds = {w["kind"] for w in res["warnings"]}
    assert {"lr_edge", "late_best_epoch", "few_seeds"} <= kinds
    lo, hi = res["uncertainty"]["efficiency"]["ci"]
    assert lo <= res["efficiency"]["factor"] <= hi
    assert "bootstrap" in res["uncertainty"]["method"] and res["legend"]
    assert [r["target"] for r in res["factor_table"][0]["rows"] if r["requested"]] == [0.15]


def test_text_output_shows_the_same_sentences_as_the_json(tmp_path):
    ws = _quickstart_like_ws(tmp_path)
    res = json.loads(invoke("qs", "-w", ws, "--json", "--target", "0.15").stdout)
    out = _flat(invoke("qs", "-w", ws, "--target", "0.15").stdout)
    for sentence in [res["legend"]] + [w["text"] for w in res["warnings"]]:
        assert _flat(sentence) in out
    assert "95% CI" in out and "factor at other targets" in out


def test_csv_carries_edge_marks_warnings_and_the_metric(tmp_path):
    ws = _quickstart_like_ws(tmp_path)
    res = json.loads(invoke("qs", "-w", ws, "--json", "--target", "0.15").stdout)
    rows = list(csv.DictReader(io.StringIO(invoke("qs", "-w", ws, "--csv", "--target", "0.15").stdout)))
    assert {r["lr_at_edge"] for r in rows if r["init"] == "scratch"} == {"high"}
    assert {r["lr_at_edge"] for r in rows if r["init"] == "zeroshot"} == {""}
    assert {r["late_best_epoch"] for r in rows if r["init"] == "scratch"} == {"true"}
    assert all("test relative L2" in r["metric"] for r in rows)
    assert rows[0]["warnings"].split(" | ") == [w["text"] for w in res["warnings"]]


def test_exports_carry_each_runs_provenance(ws):
    from sciml_tui.rundir import RunDir

    store = store_mod.WorkspaceStore(ws)
    zeroshot = next(r for r in store.runs(sweep="demo") if r["init"] == "zeroshot")
    prov = {"versions": {"sciml-tui": "0.1.0", "torch": "2.13.0"}, "device": {"kind": "cpu", "name": "EPYC"},
            "host": "node7", "git": {"commit": "abcdef1234567890", "dirty": False}, "datasets": []}
    RunDir(ws / "runs" / zeroshot["id"]).write_provenance(prov)
    r = invoke("demo", "-w", ws, "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["provenance"] == {zeroshot["id"]: prov}
    r = invoke("demo", "-w", ws, "--csv")
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    cells = {row["init"]: row["provenance"] for row in rows if row["init"] != "scratch"}
    assert "torch 2.13.0" in cells["zeroshot"] and "EPYC on node7" in cells["zeroshot"]
    assert "git abcdef123456" in cells["zeroshot"] and cells["finetune"] == ""
