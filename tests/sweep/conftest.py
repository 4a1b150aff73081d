from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).parent

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


def fake_datasets(plan) -> None:
    """Empty split files so the plan's datasets count as present (the fake trainer ignores them)."""
    for d in plan.datasets:
        d.path.mkdir(parents=True, exist_ok=True)
        for k in ("train", "val", "test"):
            (d.path / f"{k}.h5").write_bytes(b"")
        d.exists = True


@pytest.fixture
def fake_entry(monkeypatch):
    """Route launches to the fake trainer (also for detached schedulers, through the env)."""
    monkeypatch.setenv("SCIML_TRAIN_ENTRY", json.dumps([sys.executable, str(HERE / "fake_entry.py")]))
    monkeypatch.setenv("FAKE_EPOCH_S", "0")
    return monkeypatch


@pytest.fixture
def spec_file(tmp_path):
    ws = tmp_path / "ws"
    (ws / "experiments").mkdir(parents=True)
    path = ws / "experiments" / "small.yaml"
    path.write_text(SPEC)
    return path


def prepare(spec_file: Path, fake_data: bool = True):
    """The spec's plan recorded in its workspace (with empty dataset files unless told not to)."""
    from sciml_tui.launch import plan_sweep, record_plan
    from sciml_tui.store import WorkspaceStore

    ws = WorkspaceStore(spec_file.parents[1])
    plan = plan_sweep(spec_file, ws)
    if fake_data:
        fake_datasets(plan)
    record_plan(ws, plan)
    return ws


def wait_until(pred, timeout: float = 60.0, poll: float = 0.05) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(poll)
    return False


@pytest.fixture
def fake_worker(fake_entry):
    """Warm workers whose runner is the fake trainer (the worker loop itself is the real one)."""
    fake_entry.setenv("SCIML_WORKER_ENTRY", json.dumps(
        [sys.executable, "-m", "sciml_tui.learning.worker_entry", "--runner", f"{HERE / 'fake_entry.py'}:train"]))
    return fake_entry
