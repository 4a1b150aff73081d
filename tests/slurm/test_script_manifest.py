"""Array script, manifest and sbatch arguments, without Slurm (these always run)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sciml_tui.errors import UserError
from sciml_tui.launch.slurm import SlurmOptions, array_script, manifest_text, sbatch_argv, submit
from sciml_tui.launch import LAUNCHES
from sciml_tui.launch import slurm as procs
from sciml_tui.store import WorkspaceStore, reconcile
from sciml_tui.atomic import write_json


def test_manifest_has_one_absolute_run_dir_per_line(tmp_path):
    dirs = [tmp_path / "runs" / "a", tmp_path / "runs" / "b c"]
    assert manifest_text(dirs).splitlines() == [str(d) for d in dirs]
    with pytest.raises(UserError, match="line break"):
        manifest_text([tmp_path / "x\ny"])


@pytest.mark.parametrize("task, resume", [(0, False), (1, True)])
def test_array_script_maps_the_task_id_to_its_run_dir(tmp_path, task, resume):
    """Run the script with bash as Slurm would: the entry gets line task+1 (and --resume after a checkpoint)."""
    dirs = [tmp_path / "runs" / "r0", tmp_path / "runs" / "r 1"]
    for d in dirs:
        d.mkdir(parents=True)
    (dirs[1] / "checkpoints").mkdir()
    (dirs[1] / "checkpoints" / "last.pt").write_bytes(b"")
    manifest = tmp_path / ".sciml" / "slurm" / "x.manifest"
    manifest.parent.mkdir(parents=True)
    manifest.write_text(manifest_text(dirs))
    entry = [sys.executable, "-c", "import sys, json; print(json.dumps(sys.argv[1:]))"]
    script = manifest.with_suffix(".sh")
    script.write_text(array_script(manifest, entry))
    env = {**os.environ, "SLURM_ARRAY_TASK_ID": str(task), "SLURM_ARRAY_JOB_ID": "7"}
    out = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    log = (dirs[task] / "stdout.log").read_text().splitlines()
    assert log[0].startswith(f"sciml: Slurm task 7_{task} on ")
    assert json.loads(log[1]) == [str(dirs[task])] + (["--resume"] if resume else [])
    assert not (dirs[1 - task] / "stdout.log").exists()


def test_array_script_fails_clearly_for_a_task_beyond_the_manifest(tmp_path):
    manifest = tmp_path / "m"
    manifest.write_text(manifest_text([tmp_path]))
    script = tmp_path / "s.sh"
    script.write_text(array_script(manifest, ["true"]))
    out = subprocess.run(["bash", str(script)], env={**os.environ, "SLURM_ARRAY_TASK_ID": "3"},
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 2 and "no run dir for array task 3" in out.stderr


def test_sbatch_argv_array_limit_dependency_and_user_options(tmp_path):
    opts = SlurmOptions(partition="gpu", array_limit=4, opts=["time=00:10:00", "cpus-per-task=2", "--mem=4G"])
    argv = sbatch_argv(tmp_path / "s.sh", 10, name="sciml-x", output="o-%A_%a.out", chdir=tmp_path,
                       options=opts, dependency=["12", "9_0"])
    assert argv[0] == "sbatch" and argv[-1] == str(tmp_path / "s.sh")
    assert "--parsable" in argv and "--array=0-9%4" in argv
    assert "--dependency=afterok:12:9_0" in argv and "--kill-on-invalid-dep=yes" in argv
    assert {"--partition=gpu", "--time=00:10:00", "--cpus-per-task=2", "--mem=4G", "--ntasks=1"} <= set(argv)
    assert "--cpus-per-task=1" not in argv
    assert opts.threads() == 2
    plain = sbatch_argv(tmp_path / "s.sh", 1, name="n", output="o", chdir=tmp_path, options=SlurmOptions())
    assert "--array=0-0" in plain and not any(a.startswith("--dependency") for a in plain)


@pytest.mark.parametrize("opt, match", [("time", "KEY=VALUE"), ("array=0-3", "set by sciml"),
                                        ("dependency=afterok:1", "set by sciml"), ("a b=1", "KEY=VALUE"),
                                        ("cpus-per-task=two", "positive integer"),
                                        ("arr=0-3", "arr .sbatch reads it as --array"),
                                        ("dep=afterok:1", "--dependency"), ("out=x", "--output"),
                                        ("--e=x", "set by sciml"), ("workdir=/", "set by sciml"),
                                        ("kill=no", "--kill-on-invalid-dep")])
def test_bad_slurm_options_are_one_line_errors(opt, match):
    with pytest.raises(UserError, match=match):
        SlurmOptions(opts=[opt]).threads()


def test_options_that_abbreviate_no_reserved_one_pass():
    assert SlurmOptions(opts=["time=1:00", "mem=4G", "exclusive=user", "gres=gpu:1"]).extra()["mem"] == "4G"


def test_missing_slurm_commands_give_a_user_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(UserError, match="not found on PATH"):
        submit(WorkspaceStore(tmp_path), ["s"])


def _slurm_run(ws: WorkspaceStore, rid: str, state: str, job: str) -> Path:
    run_dir = ws.runs_dir / rid
    run_dir.mkdir(parents=True)
    write_json(run_dir / "launch.json", {"backend": "slurm", "slurm_job_id": job, "pid": None})
    ws.upsert_run({"id": rid, "sweep": "s", "state": state, "run_dir": str(run_dir), "started_at": None})
    return run_dir


def test_reconcile_follows_squeue(tmp_path, monkeypatch):
    """Pending stays queued, RUNNING becomes running, gone without result.json becomes failed,
    gone with one takes it; when squeue cannot be asked nothing changes."""
    ws = WorkspaceStore(tmp_path)
    _slurm_run(ws, "pending", "queued", "5_0")
    _slurm_run(ws, "started", "queued", "5_1")
    _slurm_run(ws, "vanished", "running", "5_2")
    done_dir = _slurm_run(ws, "finished", "running", "5_3")
    write_json(done_dir / "result.json", {"status": "done", "test_error": 0.1})
    monkeypatch.setattr(procs, "squeue_tasks", lambda: None)
    procs._squeue_cache = (0.0, None)
    assert reconcile(ws, LAUNCHES) == ["finished"]
    assert ws.run("vanished")["state"] == "running"
    monkeypatch.setattr(procs, "squeue_tasks", lambda: {"5_0": "PENDING", "5_1": "RUNNING", "99_0": "RUNNING"})
    procs._squeue_cache = (0.0, None)
    assert sorted(reconcile(ws, LAUNCHES)) == ["started", "vanished"]
    states = {r["id"]: r["state"] for r in ws.runs()}
    assert states == {"pending": "queued", "started": "running", "vanished": "failed", "finished": "done"}
    assert "Slurm task 5_2 left the queue" in ws.run("vanished")["message"]
