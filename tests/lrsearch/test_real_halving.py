"""Successive halving with the real trainer: the rung pause checkpoints, the loser is pruned,
and the survivor, paused and resumed, ends with the numbers of an uninterrupted run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
import yaml

from sciml_tui.launch import plan_sweep, record_plan, run_scheduler
from sciml_tui.launch.backend import Slot
from sciml_tui.learning.run import run_in_dir
from sciml_tui.rundir import RunDir
from sciml_tui.store import WorkspaceStore

SPEC = """\
datasets:
  down: {system: poisson, range: [5, 10], n: 16, sizes: {train: 32, val: 8, test: 8}, seed: 2}
sweeps:
  r:
    dataset: down
    n_train: [16]
    lr: [1.0e-4, 1.0e-2]
    lr_search: {halving: {rungs: [0.5]}}
    recipe: {epochs: 4, batch_size: 4, val_share: 0.01, val_min_evals: 1}
"""


@pytest.mark.slow
def test_real_halving_prunes_one_lr_and_the_survivor_matches_an_uninterrupted_run(tmp_path, monkeypatch):
    monkeypatch.delenv("SCIML_TRAIN_ENTRY", raising=False)
    spec = tmp_path / "experiments" / "r.yaml"
    spec.parent.mkdir()
    spec.write_text(SPEC)
    ws = WorkspaceStore(tmp_path)
    record_plan(ws, plan_sweep(spec, ws))
    counts = run_scheduler(ws, ["r"], slots=[Slot("cpu0", threads=1)])
    assert counts == {"done": 1, "pruned": 1}
    runs = {r.state.value: r for r in ws.runs(sweep="r")}
    pruned, kept = runs["pruned"], runs["done"]
    assert pruned.stopped_at_rung == 2 and pruned.config["recipe"]["val_extra_epochs"] == [2]
    (decision,) = ws.sweep("r").lr_rungs["scratch|tiny||16"]
    rung_vals = {r.lr: next(row["val_error"] for row in RunDir(r.run_dir).metrics()["epochs"] if row["epoch"] == 2)
                 for r in (pruned, kept)}
    assert decision["kept"] == [kept.lr] and rung_vals[kept.lr] < rung_vals[pruned.lr]
    assert decision["scores"] == {repr(lr): v for lr, v in sorted(rung_vals.items())}
    assert "resumed from" in (Path(kept.run_dir) / "train.log").read_text()
    assert kept["epochs_run"] == 4 and len(RunDir(pruned.run_dir).metrics()["epochs"]) == 2
    # the same config trained in one go
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    cfg = yaml.safe_load((Path(kept.run_dir) / "config.yaml").read_text())
    cfg.pop("stop_after_epoch", None)
    cfg["threads"] = 1  # as the slot ran it: the same reduction order
    (fresh / "config.yaml").write_text(yaml.safe_dump(cfg))
    threads = torch.get_num_threads()
    try:
        result = run_in_dir(fresh)
    finally:
        torch.set_num_threads(threads)
    assert result["status"] == "done"
    assert (result["best_val_error"], result["test_error"]) == (kept.best_val_error, kept.test_error)
    shutil.rmtree(fresh)
