"""`sciml run sweep` with the cost estimate: dry run, --json, --calibrate and the launch limit."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from sciml_tui.cli import app
from sciml_tui.learning.calibrate import CALIBRATION_FILE, SETTINGS_FILE
from sciml_tui.store import WorkspaceStore

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"
runner = CliRunner()


def _sweep(spec: Path, *args: str):
    return runner.invoke(app, ["run", "sweep", str(spec), "-w", str(spec.parents[1]), *args])


def test_dry_run_of_every_shipped_spec_prints_the_estimate(tmp_path):
    for spec in sorted(EXPERIMENTS.glob("*.yaml")):
        res = runner.invoke(app, ["run", "sweep", str(spec), "-w", str(tmp_path), "--dry-run"])
        assert res.exit_code == 0, res.output
        assert "cost estimate:" in res.output and "sample-passes" in res.output, spec.name
        assert "device time" in res.output and "checkpoints" in res.output
    assert list(tmp_path.iterdir()) == []


def test_dry_run_json_carries_the_estimate(spec_file):
    res = _sweep(spec_file, "--dry-run", "--json")
    assert res.exit_code == 0, res.output
    est = json.loads(res.output)["cost"]
    # s: scratch and finetune at N 4 and 8, 2 epochs each; pre-training on 32 samples, 2 epochs
    assert est["train_sample_passes"] == 2 * (4 + 8) * 2 + 2 * 32
    assert est["runs"] == 6 and est["guess"] is True and est["over_limit"] is False


def test_launch_above_the_limit_refuses_without_a_terminal_and_records_nothing(spec_file):
    res = _sweep(spec_file, "--max-device-hours", "0.0000001")
    assert res.exit_code == 2
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: the estimate is about ")
    assert "--yes" in lines[0]
    assert WorkspaceStore(spec_file.parents[1]).runs() == []


def test_launch_limit_from_the_workspace_settings(spec_file):
    settings = spec_file.parents[1] / SETTINGS_FILE
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(json.dumps({"max_device_hours": 1e-9}))
    res = _sweep(spec_file, "--dry-run")
    assert res.exit_code == 0 and "warning: about " in res.output
    assert _sweep(spec_file).exit_code == 2
    settings.write_text(json.dumps({"max_device_hours": "lots"}))
    res = _sweep(spec_file, "--dry-run")
    assert res.exit_code == 2 and res.output.startswith("error: ") and "max_device_hours" in res.output


def test_yes_launches_above_the_limit(spec_file, fake_entry):
    from .conftest import fake_datasets
    from sciml_tui.launch import plan_sweep

    fake_datasets(plan_sweep(spec_file, spec_file.parents[1]))
    res = _sweep(spec_file, "--max-device-hours", "0.0000001", "--yes", "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["counts"] == {"done": 6}


def test_calibrate_measures_once_and_the_estimate_stops_guessing(spec_file):
    res = _sweep(spec_file, "--dry-run", "--json", "--calibrate")
    assert res.exit_code == 0, res.output
    est = json.loads(res.stdout)["cost"]
    assert est["guess"] is False and est["device_hours"] > 0
    cache = json.loads((spec_file.parents[1] / CALIBRATION_FILE).read_text())
    (key, table), = cache["devices"].items()
    assert "torch" in key and set(table["entries"]) == {"tiny@16"} and table["startup_s"] > 0
    points = table["entries"]["tiny@16"]["points"]
    assert [p["batch"] for p in points][0] == 1 and all(p["train_s"] > 0 for p in points)
    again = _sweep(spec_file, "--dry-run", "--calibrate")
    assert "already calibrated" in again.output
    assert json.loads((spec_file.parents[1] / CALIBRATION_FILE).read_text()) == cache
