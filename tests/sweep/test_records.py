"""Typed store records: one state vocabulary, the stored JSON unchanged, bad types refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from sciml_tui.errors import UserError
from sciml_tui.store import WorkspaceStore
from sciml_tui.store.records import (ACTIVE, FINISHED, RecordInvalid, RunRecord, RunState, SweepRecord,
                                     parse_record, sweep_outcome)

FIXTURE = Path(__file__).parents[1] / "tui" / "fixtures" / "workspace"


def test_states_are_their_strings():
    assert RunState.DONE == "done" and f"{RunState.DONE}" == "done" and str(RunState.QUEUED) == "queued"
    assert json.dumps({"state": RunState.DIVERGED}) == '{"state": "diverged"}'
    assert {"done": 1}.get(RunState.DONE) == 1
    assert FINISHED == {"done", "diverged", "pruned"} and ACTIVE == {"queued", "running"}


def test_a_record_reads_and_writes_back_the_same_keys():
    raw = {"id": "r", "state": "done", "lr": 1e-3, "n_train": 8, "weights": [0.5, 0.5], "message": None}
    rec = parse_record("runs", raw)
    assert isinstance(rec, RunRecord) and rec.state is RunState.DONE and rec.finished and not rec.active
    assert rec.to_dict() == raw and rec == raw and dict(rec) == raw
    assert rec["weights"] == [0.5, 0.5] and rec.get("test_error") is None and "test_error" not in rec
    assert rec.get("message", "x") is None  # stored as null: a null, not the default


def test_the_committed_fixture_workspace_loads_typed():
    tables = WorkspaceStore(FIXTURE).tables()
    assert len(tables.runs) == 27 and all(isinstance(r.state, RunState) for r in tables.runs)
    sweep = tables.sweep("quickstart")
    assert isinstance(sweep, SweepRecord) and [r.id for r in tables.sweep_runs("quickstart")] == sweep.run_ids


@pytest.mark.parametrize("field,value", [("state", "finished"), ("n_train", "8"), ("lr", True), ("id", 3),
                                         ("datasets", "d1"), ("started_at", [1])])
def test_wrong_types_are_refused(field, value):
    with pytest.raises(RecordInvalid):
        parse_record("runs", {"id": "r", "state": "done", field: value})


def test_a_store_with_a_mistyped_record_is_a_corrupt_store_naming_the_backup(tmp_path):
    shutil.copytree(FIXTURE / ".sciml", tmp_path / ".sciml")
    ws = WorkspaceStore(tmp_path)
    ws.update_run("qs-pretrain", message="touched")  # leaves a .bak copy
    data = json.loads(ws.path.read_text())
    next(iter(data["runs"].values()))["n_train"] = "many"
    ws.path.write_text(json.dumps(data))
    with pytest.raises(UserError, match=r"corrupt \(runs record 1: .*n_train.*\).*sciml.json.bak"):
        ws.runs()


def test_a_writer_cannot_store_a_record_that_would_not_read_back(tmp_path):
    ws = WorkspaceStore(tmp_path)
    ws.upsert_run({"id": "r", "state": "queued"})
    with pytest.raises(ValueError, match="invalid runs record"):
        ws.update_run("r", state="finished")
    assert ws.run("r").state is RunState.QUEUED


def test_sweep_outcome():
    assert sweep_outcome(["done", "diverged"]) == "done"
    assert sweep_outcome(["done", "cancelled"]) == "failed"
    assert sweep_outcome(["done", "queued"]) == "stopped" and sweep_outcome(["done"], stopped=True) == "stopped"
