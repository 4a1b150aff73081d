"""The CLI contract of run sweep / status / logs / cancel / resume (typer CliRunner)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from sciml_tui.cli import app
from sciml_tui.launch import plan_sweep, record_plan, run_scheduler
from sciml_tui.store import WorkspaceStore

from .conftest import fake_datasets

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"
runner = CliRunner()


def test_bad_spec_exits_2_with_one_line_per_problem_and_records_nothing(tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text("datasets:\n  d: {system: poisson, range: [1, 5], n: 31, sizes: {train: 8, val: 8, test: 8}}\n"
                    "sweeps:\n  s: {dataset: d, n_train: [8], extra: 1}\n")
    res = runner.invoke(app, ["run", "sweep", str(spec), "--workspace", str(tmp_path)])
    assert res.exit_code == 2
    lines = res.output.strip().splitlines()
    assert lines == [f"error: {spec}:2: datasets.d.n: n must be even (the spectral grid has n/2 positive wavenumbers)",
                     f"error: {spec}:4: sweeps.s.extra: Extra inputs are not permitted"]
    assert not (tmp_path / ".sciml").exists() and not (tmp_path / "runs").exists()


def test_dry_run_prints_the_plan_and_writes_nothing(tmp_path):
    res = runner.invoke(app, ["run", "sweep", str(EXPERIMENTS / "quickstart.yaml"), "-w", str(tmp_path), "--dry-run"])
    assert res.exit_code == 0, res.output
    out = res.output
    assert "generate  poisson-1-5-" in out and "pre-training (1):" in out
    # 5 N x 5 lr x 3 seeds per arm, and one zero-shot run
    assert "sweep quickstart: 151 points (scratch 75, finetune 75, zeroshot 1): 151 to run, 0 finished" in out
    assert out.strip().splitlines()[-1] == "order: generate 2 dataset(s) -> pre-train 1 -> 151 point(s)"
    assert list(tmp_path.iterdir()) == []


def test_dry_run_json_of_the_full_scale_specs(tmp_path):
    for name, sweeps, points in (("ood-poisson.yaml", 4, 4 * 391), ("mixture-all.yaml", 3, 3 * 587)):
        res = runner.invoke(app, ["run", "sweep", str(EXPERIMENTS / name), "-w", str(tmp_path), "--dry-run", "--json"])
        assert res.exit_code == 0, res.output
        plan = json.loads(res.output)
        assert len(plan["sweeps"]) == sweeps and len(plan["order"]["points"]) == points
        pre = [r for r in plan["runs"] if r["role"] == "pretrain"]
        assert pre and all(r["model"] == "fno-67m" for r in pre)
    assert list(tmp_path.iterdir()) == []


def test_status_logs_cancel_on_a_finished_sweep(spec_file, fake_entry):
    ws = WorkspaceStore(spec_file.parents[1])
    plan = plan_sweep(spec_file, ws)
    fake_datasets(plan)
    record_plan(ws, plan)
    run_scheduler(ws, ["s"])
    w = ["--workspace", str(ws.root)]
    res = runner.invoke(app, ["status", *w])
    assert res.exit_code == 0 and "s " in res.output and "6/6" in res.output
    res = runner.invoke(app, ["status", "--json", "--sweep", "s", *w])
    data = json.loads(res.output)
    assert data["sweeps"][0]["done"] == 6 and len(data["runs"]) == 6
    assert {"id", "state", "device", "epoch", "elapsed_s", "val_error"} <= set(data["runs"][0])
    run_id = data["runs"][-1]["id"]
    res = runner.invoke(app, ["logs", run_id, "-n", "1", *w])
    assert res.exit_code == 0 and res.output.strip() == "done"
    for cmd in (["logs", "nosuch"], ["cancel", "nosuch"], ["resume", "nosuch"]):
        res = runner.invoke(app, [*cmd, *w])
        assert res.exit_code == 2 and res.output.startswith("error: ") and "nosuch" in res.output
    res = runner.invoke(app, ["run", "sweep", str(spec_file), *w, "--json"])  # all done: nothing runs
    assert res.exit_code == 0 and json.loads(res.output)["counts"] == {"done": 6}


def test_status_does_not_import_torch(tmp_path):
    code = ("import sys; from typer.testing import CliRunner; from sciml_tui.cli import app; "
            f"r = CliRunner().invoke(app, ['status', '-w', {str(tmp_path)!r}]); "
            "assert r.exit_code == 0, r.output; print('torch' in sys.modules, 'pydantic' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[0] == "False"
