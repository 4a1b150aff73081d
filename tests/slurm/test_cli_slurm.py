"""`sciml run sweep --backend slurm` from the command line."""

from __future__ import annotations

from typer.testing import CliRunner

from sciml_tui.cli.app import app
from sciml_tui.launch import plan_sweep
from sciml_tui.launch import slurm
from sciml_tui.store import WorkspaceStore

from .conftest import fake_datasets, needs_slurm

runner = CliRunner()


def _args(spec_file, *extra):
    return ["run", "sweep", str(spec_file), "--workspace", str(spec_file.parents[1]), *extra]


def test_slurm_options_need_the_slurm_backend(spec_file):
    res = runner.invoke(app, _args(spec_file, "--partition", "debug"))
    assert res.exit_code == 2 and "need --backend slurm" in res.output
    res = runner.invoke(app, _args(spec_file, "--backend", "pbs"))
    assert res.exit_code == 2 and "unknown backend 'pbs'" in res.output
    res = runner.invoke(app, _args(spec_file, "--max-requeues", "3"))
    assert res.exit_code == 2 and "--max-requeues need --backend slurm" in res.output


def test_a_negative_requeue_cap_is_one_error_line_before_slurm_is_asked(spec_file):
    res = runner.invoke(app, _args(spec_file, "--backend", "slurm", "--max-requeues", "-1"))
    assert res.exit_code == 2
    assert res.output.strip().splitlines() == ["error: --max-requeues must be 0 or more, got -1"]
    assert WorkspaceStore(spec_file.parents[1]).runs() == []


def test_without_slurm_commands_one_error_line(spec_file, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    res = runner.invoke(app, _args(spec_file, "--backend", "slurm", "--detach"))
    assert res.exit_code == 2
    assert res.output.strip().splitlines() == ["error: squeue not found on PATH: the Slurm backend needs the Slurm client commands"]


@needs_slurm
def test_detached_submission_then_nothing_new(spec_file, fake_entry):
    ws = WorkspaceStore(spec_file.parents[1])
    fake_datasets(plan_sweep(spec_file, ws))
    res = runner.invoke(app, _args(spec_file, "--backend", "slurm", "--detach", "--array-limit", "3",
                                   "--slurm-opt", "time=00:05:00"))
    assert res.exit_code == 0, res.output
    assert "submitted 6 run(s) to Slurm" in res.output
    ids = [r["id"] for r in ws.runs(sweep="s")]
    assert slurm.watch(ws, ["s"], ids, poll_s=0.3, timeout_s=60) == {"done": 6}
    res = runner.invoke(app, _args(spec_file, "--backend", "slurm"))
    assert res.exit_code == 0, res.output
    assert "6 done" in res.output
    res = runner.invoke(app, _args(spec_file, "--backend", "slurm", "--detach"))
    assert "nothing to submit" in res.output


def test_a_failed_submission_records_nothing(spec_file, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    runner.invoke(app, _args(spec_file, "--backend", "slurm"))
    assert WorkspaceStore(spec_file.parents[1]).runs() == []
