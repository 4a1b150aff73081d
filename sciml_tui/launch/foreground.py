"""`sciml train` runs in the workspace store, so `status`, `logs`, `results` and the dashboard
show them like sweep runs.

Each config file has an implicit sweep `train-<config stem>` (marked `"kind": "train"`) that
lists every run trained from it; a run's id is its run dir's name. The foreground process
writes `launch.json` (pid, backend local) so a killed `sciml train` is failed by
reconciliation like any lost run.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path
from typing import Any

from sciml_tui.errors import UserError
from sciml_tui.launch.procs import create_time_of
from sciml_tui.rundir import RunDir
from sciml_tui.store.reconcile import fields_from_result
from sciml_tui.store.records import RunState, SweepState, sweep_outcome
from sciml_tui.store.workspace import WorkspaceStore

TRAIN_KIND = "train"


def train_sweep_name(config: Path) -> str:
    return f"train-{config.stem}"


def _model_name(cfg: Any) -> str:
    m = cfg.model
    return m.preset if m.preset and m.width is None and m.modes is None else f"w{m.width}-m{m.modes}-l{m.layers}"


def record_train_run(ws: WorkspaceStore, config: Path, run_dir: Path, cfg: Any, datasets: list[str]) -> str:
    """Record the run (state running) under its config's sweep; return its id."""
    rid, sweep, now = run_dir.name, train_sweep_name(config), time.time()
    device = cfg.device
    run = {"id": rid, "sweep": sweep, "role": "pretrain" if cfg.mode == "pretrain" else "sweep",
           "init": cfg.mode, "model": _model_name(cfg), "n_train": cfg.n_train, "lr": cfg.recipe.lr,
           "seed": cfg.seed, "parent": None, "datasets": datasets, "config": cfg.model_dump(mode="json"),
           "run_dir": str(run_dir.absolute()), "epochs": cfg.recipe.epochs, "state": RunState.RUNNING,
           "pid": os.getpid(), "device": device, "created_at": now, "started_at": now, "ended_at": None}
    with ws.transaction() as tx:
        cur = tx.get("sweeps", sweep)
        if cur is not None and cur.get("kind") != TRAIN_KIND:
            raise UserError(f"a sweep named {sweep!r} already exists in {ws.root}: rename the config file")
        other = tx.get("runs", rid)
        if other is not None and other.get("sweep") != sweep:
            raise UserError(f"run {rid!r} already belongs to sweep {other.get('sweep')!r}: choose another --run-dir")
        ids = list((cur or {}).get("run_ids") or [])
        tx.upsert("sweeps", {"name": sweep, "kind": TRAIN_KIND, "experiment": None, "spec_path": str(config.absolute()),
                             "created_at": (cur or {}).get("created_at", now), "state": SweepState.RUNNING,
                             "run_ids": ids + ([rid] if rid not in ids else [])})
        tx.upsert("runs", run)
    RunDir(run_dir).write_launch({"pid": os.getpid(), "pgid": os.getpgid(0), "backend": "local",
                                  "host": socket.gethostname(), "started_at": now, "device": device,
                                  "create_time": create_time_of(os.getpid()), "foreground": True})
    return rid


def finish_train_run(ws: WorkspaceStore, config: Path, rid: str, result: dict[str, Any]) -> None:
    """Record the outcome (`result.json`'s fields; a stop without one: failed, resumable)."""
    fields = fields_from_result(result) if result.get("status") in ("done", "diverged", "failed") else {
        "state": RunState.FAILED, "message": result.get("message") or "stopped before the end: resume with --resume"}
    sweep = train_sweep_name(config)
    with ws.transaction() as tx:
        tx.update("runs", rid, **fields, ended_at=time.time())
        rec = tx.get("sweeps", sweep) or {}
        states = [(tx.get("runs", i) or {}).get("state") for i in rec.get("run_ids") or []]
        tx.update("sweeps", sweep, state=sweep_outcome(states), ended_at=time.time())
