"""Provenance: what reproduces a run, recorded once at its start and shown in exports."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from sciml_tui.provenance import collect_provenance, git_state
from sciml_tui.rundir import RunDir
from .conftest import make_dataset


def test_provenance_module_does_not_import_torch():
    code = "import sys, sciml_tui.provenance; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_collect_names_versions_device_host_and_dataset_hashes(tmp_path):
    from sciml_tui.physics import generate_dataset

    summary = generate_dataset("poisson", 1.0, 2.0, 16, sizes={"train": 4, "val": 2, "test": 2}, seed=0,
                               out_dir=tmp_path / "ds")
    prov = collect_provenance([str(tmp_path / "ds")], tmp_path, device="cpu")
    assert prov["versions"]["sciml-tui"] and prov["versions"]["numpy"] and prov["versions"]["python"]
    assert set(prov["versions"]) >= {"torch", "cuda", "cudnn"}
    assert prov["host"] and prov["device"]["kind"] == "cpu" and prov["device"]["name"]
    assert prov["datasets"] == [{"path": str(tmp_path / "ds"),
                                 "content_sha256": {s: summary["splits"][s]["content_sha256"]
                                                    for s in ("train", "val", "test")}}]
    assert prov["git"] is None  # tmp_path is no git repository


def test_seed_files_without_hash_record_none(tmp_path):
    make_dataset(tmp_path / "seed", attrs=False, sizes=(4, 2, 2))
    prov = collect_provenance([str(tmp_path / "seed")], tmp_path, device="cpu")
    assert prov["datasets"][0]["content_sha256"] == {"train": None, "val": None, "test": None}


@pytest.mark.skipif(subprocess.run(["git", "--version"], capture_output=True).returncode != 0,
                    reason="git is not installed")
def test_git_commit_and_dirty_flag(tmp_path):
    def git(*args):
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "spec.yaml").write_text("a: 1\n")
    git("add", "spec.yaml")
    git("-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "spec")
    head = subprocess.run(["git", "-C", str(tmp_path), "rev-parse", "HEAD"], capture_output=True,
                          text=True).stdout.strip()
    (tmp_path / "runs" / "r1").mkdir(parents=True)
    (tmp_path / "runs" / "r1" / "train.log").write_text("untracked run output\n")
    assert git_state(tmp_path / "runs" / "r1") == {"commit": head, "dirty": False}
    (tmp_path / "spec.yaml").write_text("a: 2\n")
    assert git_state(tmp_path / "runs" / "r1") == {"commit": head, "dirty": True}


def test_git_missing_is_fine(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no git on PATH
    assert git_state(tmp_path) is None


def test_rundir_reads_what_it_wrote(tmp_path):
    rd = RunDir(tmp_path)
    assert rd.provenance() is None
    rd.write_provenance({"host": "h"})
    assert rd.provenance() == {"host": "h"} and json.loads((tmp_path / "provenance.json").read_text())


def test_a_training_run_records_its_provenance_at_start(tmp_path, poisson_data):
    import torch

    from sciml_tui.learning.run import run_in_dir

    from .conftest import base_config, write_run

    run_dir = write_run(tmp_path / "run", base_config(poisson_data, recipe={"epochs": 1}))
    assert run_in_dir(run_dir)["status"] == "done"
    prov = RunDir(run_dir).provenance()
    assert prov["versions"]["torch"] == torch.__version__ and prov["device"]["kind"] == "cpu"
    assert prov["datasets"][0]["path"] == str(poisson_data)


def test_provenance_line_names_versions_device_and_commit():
    from sciml_tui.provenance import provenance_line

    prov = {"versions": {"sciml-tui": "0.1.0", "torch": "2.13.0", "numpy": "2.1", "cuda": None},
            "device": {"kind": "cuda", "name": "NVIDIA H200"}, "host": "node7",
            "git": {"commit": "0123456789abcdef", "dirty": True}}
    line = provenance_line(prov)
    assert "torch 2.13.0" in line and "cuda -" in line and "NVIDIA H200 on node7" in line
    assert "git 0123456789ab (dirty)" in line
    assert provenance_line(None) == ""
