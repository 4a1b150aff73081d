"""benchmarks/device_check.sh in its CPU dry mode: every section runs and is recorded."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_device_check_dry_records_every_section(tmp_path):
    out = subprocess.run(["bash", str(ROOT / "benchmarks" / "device_check.sh"), "--dry", "--out", str(tmp_path),
                          "--work", str(tmp_path / "work")], capture_output=True, text=True, timeout=400)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    (path,) = tmp_path.glob("device-check-*-dry.json")
    rec = json.loads(path.read_text())
    assert rec["mode"] == "dry" and rec["date"] in path.name and rec["env"]["torch"]
    for name in ("throughput", "resident", "warm", "headline"):
        assert "error" not in rec[name] and "skipped" not in rec[name], (name, rec[name])
    ours = [r for r in rec["throughput"]["rows"] if r["model"] == "ours"]
    assert {r["precision"] for r in ours} == {"fp32", "bf16"} and all(r["step_s"] > 0 for r in ours)
    assert rec["throughput"]["neuralop"] == "compared" or rec["throughput"]["neuralop"].startswith("not available")
    assert rec["resident"]["resident_step_s"] > 0 and rec["warm"]["fresh_process_s"] > 0
    head = rec["headline"]
    assert head["estimate"]["train_sample_passes"] == 2 * 2 * (8 + 16) + 2 * 32
    assert head["estimate"]["guess"] is False  # the dry run calibrated first
    curves = {row["curve"] for row in head["table"]}
    assert {"scratch", "fine-tuned", "zero-shot"} <= curves
    assert head["counts"]["done"] == 5 and "factor" in head["efficiency"]
