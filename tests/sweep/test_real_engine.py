"""With the real data and training engines: generate, detach, SIGKILL a run mid-training,
reconcile it to failed, and `sciml resume` it from its last checkpoint."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import psutil
import pytest
from typer.testing import CliRunner

from sciml_tui.cli import app
from sciml_tui.store import WorkspaceStore


from .conftest import wait_until

SPEC = """\
datasets:
  down: {system: poisson, range: [5, 10], n: 16, sizes: {train: 32, val: 8, test: 8}, seed: 2}
sweeps:
  r:
    dataset: down
    n_train: [32]
    lr: [3.0e-3]
    inits: [scratch]
    recipe: {epochs: 30, batch_size: 4, checkpoint_every: 1}  # a checkpoint to resume from before the kill
"""


_wait = wait_until


@pytest.mark.slow
def test_sigkilled_real_run_resumes_from_its_last_checkpoint(tmp_path):
    spec = tmp_path / "r.yaml"
    spec.write_text(SPEC)
    runner = CliRunner()
    w = ["--workspace", str(tmp_path)]
    res = runner.invoke(app, ["run", "sweep", str(spec), *w, "--detach", "--json", "--workers", "fresh"])
    assert res.exit_code == 0, res.output
    sched_pid = json.loads(res.output)["scheduler_pid"]
    ws = WorkspaceStore(tmp_path)
    (run,) = ws.runs(sweep="r")
    run_dir = Path(run["run_dir"])
    assert _wait(lambda: (run_dir / "checkpoints" / "last.pt").exists(), 120), (run_dir / "stdout.log").read_text()
    os.kill(sched_pid, signal.SIGKILL)
    pid = json.loads((run_dir / "launch.json").read_text())["pid"]
    os.killpg(pid, signal.SIGKILL)
    assert _wait(lambda: not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE, 10)
    res = runner.invoke(app, ["status", "--json", "--sweep", "r", *w])
    (row,) = json.loads(res.output)["runs"]
    assert row["state"] == "failed" and not (run_dir / "result.json").exists()
    res = runner.invoke(app, ["resume", "r", *w, "--workers", "fresh"])
    assert res.exit_code == 0, res.output
    rec = ws.run(run["id"])
    assert rec["state"] == "done" and rec["test_error"] is not None and rec["epochs_run"] == 30
    assert "--resume" in json.loads((run_dir / "launch.json").read_text())["argv"]
    assert "resumed from" in (run_dir / "train.log").read_text()
