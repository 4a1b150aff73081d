"""Engine flags of a launch (`--precision`, `--compile`, `--gpu-data`): in every run's config;
precision and compile are part of a run's id, gpu_data (never changes the numbers) is not."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from sciml_tui.cli import app
from sciml_tui.specs.plan import plan_from_file

QUICKSTART = Path(__file__).resolve().parents[2] / "experiments" / "quickstart.yaml"


def _ids(plan) -> list[str]:
    return [r.id for r in plan.runs]


def test_precision_and_compile_make_other_runs_gpu_data_the_same_ones(tmp_path):
    ref = plan_from_file(QUICKSTART, tmp_path)
    assert all(r.config["precision"] == "fp32" and r.config["gpu_data"] == "auto" for r in ref.runs)
    bf16 = plan_from_file(QUICKSTART, tmp_path, engine={"precision": "bf16", "compile": True})
    assert all(r.config["precision"] == "bf16" and r.config["compile"] for r in bf16.runs)
    assert not set(_ids(ref)) & set(_ids(bf16))
    host = plan_from_file(QUICKSTART, tmp_path, engine={"gpu_data": "host"})
    assert _ids(host) == _ids(ref) and all(r.config["gpu_data"] == "host" for r in host.runs)


def test_cli_flags_reach_the_plan_and_bad_values_are_one_error_line(tmp_path):
    runner = CliRunner()
    base = ["run", "sweep", str(QUICKSTART), "-w", str(tmp_path), "--dry-run", "--json"]
    plain = runner.invoke(app, base)
    res = runner.invoke(app, [*base, "--precision", "tf32", "--gpu-data", "host"])
    assert plain.exit_code == 0 and res.exit_code == 0, res.output
    ids = lambda out: {r["id"] for r in json.loads(out)["runs"]}  # noqa: E731
    tf32 = plan_from_file(QUICKSTART, tmp_path, engine={"precision": "tf32"})
    assert ids(res.output) == set(_ids(tf32)) and not ids(res.output) & ids(plain.output)
    res = runner.invoke(app, [*base, "--precision", "fp16"])
    assert res.exit_code == 2 and res.output.startswith("error: --precision 'fp16'")
    res = runner.invoke(app, [*base, "--workers", "lukewarm"])
    assert res.exit_code == 2 and "error:" in res.output and "--workers" in res.output
