from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sciml_tui.store import procs

FAKE_ENTRY = Path(__file__).parents[1] / "sweep" / "fake_entry.py"

SPEC = """\
datasets:
  pre: {system: poisson, range: [1, 5], n: 16, sizes: {train: 32, val: 8, test: 8}, seed: 1}
  down: {system: poisson, range: [5, 10], n: 16, sizes: {train: 32, val: 8, test: 8}, seed: 2}
pretrain:
  p: {model: tiny, data: pre, recipe: {epochs: 2}}
sweeps:
  s:
    dataset: down
    n_train: [4, 8]
    lr: [1e-3]
    seeds: [0]
    models: [tiny]
    inits: [scratch, {finetune: p}, {zeroshot: p}]
    recipe: {epochs: 2}
"""


def slurm_reason() -> str | None:
    """Why the real-Slurm tests cannot run here, or None when they can."""
    if shutil.which("sbatch") is None:
        return "sbatch not on PATH (bring Slurm up with .ci/slurm-up.sh)"
    try:
        out = subprocess.run(["sinfo", "--noheader", "--format", "%T"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"sinfo does not answer: {exc}"
    states = out.stdout.split()
    if out.returncode != 0 or not any(s.rstrip("*~#") in ("idle", "mixed", "allocated", "completing") for s in states):
        return f"no usable Slurm node (sinfo: {out.stdout.strip() or out.stderr.strip()})"
    return None


needs_slurm = pytest.mark.skipif(slurm_reason() is not None, reason=str(slurm_reason()))


def fake_datasets(plan) -> None:
    """Empty split files so the plan's datasets count as present (the fake trainer ignores them)."""
    for d in plan.datasets:
        d.path.mkdir(parents=True, exist_ok=True)
        for k in ("train", "val", "test"):
            (d.path / f"{k}.h5").write_bytes(b"")
        d.exists = True


@pytest.fixture
def fake_entry(monkeypatch):
    monkeypatch.setenv("SCIML_TRAIN_ENTRY", json.dumps([sys.executable, str(FAKE_ENTRY)]))
    monkeypatch.setenv("FAKE_EPOCH_S", "0")
    return monkeypatch


@pytest.fixture
def spec_file(tmp_path):
    ws = tmp_path / "ws"
    (ws / "experiments").mkdir(parents=True)
    path = ws / "experiments" / "small.yaml"
    path.write_text(SPEC)
    return path


@pytest.fixture(autouse=True)
def fresh_squeue():
    """No squeue answer is reused across tests."""
    procs._squeue_cache = (0.0, None)
    yield
    procs._squeue_cache = (0.0, None)


def wait_for(pred, timeout=60.0, poll=0.2):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(poll)
    return False
