"""The workspace store: keyed upserts, transactions, backup, corrupt-file message, lineage."""

from __future__ import annotations

import json

import pytest

from sciml_tui.errors import UserError
from sciml_tui.store import WorkspaceStore


def test_reading_an_empty_workspace_creates_nothing(tmp_path):
    ws = WorkspaceStore(tmp_path)
    assert ws.runs() == [] and ws.sweeps() == [] and ws.datasets() == []
    assert ws.sweep("x") is None and ws.run("x") is None
    assert not (tmp_path / ".sciml").exists()


def test_upsert_merges_by_key_and_update_changes_fields(tmp_path):
    ws = WorkspaceStore(tmp_path)
    ws.upsert_run({"id": "a", "sweep": "s", "state": "queued"})
    ws.upsert_run({"id": "b", "sweep": "s", "state": "queued"})
    ws.upsert_run({"id": "a", "lr": 1e-3})
    assert ws.update_run("b", state="done", test_error=0.1)
    assert not ws.update_run("missing", state="done")
    runs = {r["id"]: r for r in ws.runs()}
    assert runs["a"] == {"id": "a", "sweep": "s", "state": "queued", "lr": 1e-3}
    assert runs["b"]["state"] == "done" and runs["b"]["test_error"] == 0.1
    # the file is TinyDB's format: tables of doc ids
    raw = json.loads(ws.path.read_text())
    assert set(raw["runs"]) == {"1", "2"}


def test_runs_of_a_sweep_follow_its_run_ids(tmp_path):
    ws = WorkspaceStore(tmp_path)
    with ws.transaction() as tx:
        tx.upsert("runs", {"id": "pre", "sweep": "other"})
        tx.upsert("runs", {"id": "p1", "sweep": "s"})
        tx.upsert("runs", {"id": "old", "sweep": "s"})
        tx.upsert("sweeps", {"name": "s", "run_ids": ["pre", "p1"]})
    assert [r["id"] for r in ws.runs(sweep="s")] == ["pre", "p1"]
    assert [r["id"] for r in ws.runs(sweep="nosuch")] == []


def test_a_failed_transaction_writes_nothing(tmp_path):
    ws = WorkspaceStore(tmp_path)
    ws.upsert_run({"id": "a", "state": "queued"})
    with pytest.raises(RuntimeError):
        with ws.transaction() as tx:
            tx.update("runs", "a", state="done")
            raise RuntimeError("boom")
    assert ws.run("a")["state"] == "queued"


def test_corrupt_store_names_the_file_and_the_backup(tmp_path):
    ws = WorkspaceStore(tmp_path)
    ws.upsert_run({"id": "a", "state": "queued"})
    ws.upsert_run({"id": "b", "state": "queued"})  # the first version is now the .bak
    assert json.loads(ws.bak_path.read_text())["runs"]["1"]["id"] == "a"
    ws.path.write_text('{"runs": {"1": {"id": "a"')
    with pytest.raises(UserError) as err:
        ws.runs()
    msg = str(err.value)
    assert str(ws.path) in msg and str(ws.bak_path) in msg and "cp " in msg
    with pytest.raises(UserError):
        ws.upsert_run({"id": "c"})  # writers refuse too, so the .bak is never overwritten
    assert json.loads(ws.bak_path.read_text())["runs"]["1"]["id"] == "a"


def test_lineage_goes_finetune_pretrain_mixture_datasets(tmp_path):
    ws = WorkspaceStore(tmp_path)
    with ws.transaction() as tx:
        tx.upsert("datasets", {"id": "d1", "name": "a"})
        tx.upsert("datasets", {"id": "d2", "name": "b"})
        tx.upsert("runs", {"id": "pre", "parent": None, "datasets": ["d1", "d2"], "mixture": "mix"})
        tx.upsert("runs", {"id": "ft", "parent": "pre", "datasets": ["d3"]})
    kinds = [(x["kind"], x.get("id") or x.get("name")) for x in ws.lineage("ft")]
    assert kinds == [("run", "ft"), ("run", "pre"), ("mixture", "mix"), ("dataset", "d1"), ("dataset", "d2")]


def test_reconcile_fails_dead_runs_takes_results_and_spares_runs_being_launched(tmp_path):
    import time

    from sciml_tui.atomic import write_json
    from sciml_tui.launch import LAUNCHES
    from sciml_tui.store import reconcile

    ws = WorkspaceStore(tmp_path)
    dirs = {k: tmp_path / "runs" / k for k in ("dead", "finished", "starting", "queued")}
    for d in dirs.values():
        d.mkdir(parents=True)
    write_json(dirs["dead"] / "launch.json", {"pid": 2**22 + 12345, "backend": "local"})
    (dirs["dead"] / "train.log").write_text("epoch 1\nepoch 2\nTraceback: boom\n")
    write_json(dirs["finished"] / "launch.json", {"pid": 2**22 + 12345, "backend": "local"})
    write_json(dirs["finished"] / "result.json", {"status": "diverged", "test_error": None, "best_val_error": 0.3,
                                                  "message": "loss became nan"})
    with ws.transaction() as tx:
        for k, d in dirs.items():
            tx.upsert("runs", {"id": k, "state": "queued" if k == "queued" else "running", "run_dir": str(d),
                               "started_at": time.time() - (1 if k == "starting" else 100)})
    assert sorted(reconcile(ws, LAUNCHES)) == ["dead", "finished"]
    runs = {r["id"]: r for r in ws.runs()}
    assert runs["dead"]["state"] == "failed" and runs["dead"]["log_tail"].endswith("Traceback: boom")
    assert runs["finished"]["state"] == "diverged" and runs["finished"]["message"] == "loss became nan"
    assert runs["starting"]["state"] == "running" and runs["queued"]["state"] == "queued"


def test_reconcile_spares_a_run_restarted_while_it_looked(tmp_path, monkeypatch):
    import time

    from sciml_tui.atomic import write_json
    import importlib

    reconcile_module = importlib.import_module("sciml_tui.store.reconcile")

    ws = WorkspaceStore(tmp_path)
    rdir = tmp_path / "runs" / "r"
    rdir.mkdir(parents=True)
    write_json(rdir / "launch.json", {"pid": 2**22 + 12345, "backend": "local"})
    ws.upsert_run({"id": "r", "state": "running", "run_dir": str(rdir), "started_at": time.time() - 100})
    looked = reconcile_module.ended_fields

    def look_then_restart(*args, **kw):  # a scheduler starts a new attempt between the look and the write
        fields = looked(*args, **kw)
        ws.update_run("r", state="running", started_at=time.time())
        return fields

    monkeypatch.setattr(reconcile_module, "ended_fields", look_then_restart)
    from sciml_tui.launch import LAUNCHES

    reconcile_module.reconcile(ws, LAUNCHES)
    assert ws.run("r")["state"] == "running"


@pytest.mark.parametrize("text", ["", "  \n", "[]", '{"runs": []}', '{"runs": {"1": 5}}', '{"runs": {"1": null}}',
                                  '{"sweeps": {"1": {"name": "s", "run_ids": [1]}}}'])
def test_an_empty_or_malformed_store_is_corrupt_never_empty(tmp_path, text):
    ws = WorkspaceStore(tmp_path)
    ws.upsert_run({"id": "a", "state": "queued"})
    ws.upsert_run({"id": "b", "state": "queued"})
    bak = ws.bak_path.read_text()
    ws.path.write_text(text)
    read = ws.sweeps if "sweeps" in text else ws.runs
    for read in (read, ws.tables):
        with pytest.raises(UserError, match="corrupt") as err:
            read()
        assert str(ws.bak_path) in str(err.value) and "cp " in str(err.value)
    with pytest.raises(UserError, match="corrupt"):
        ws.upsert_run({"id": "c"})
    assert ws.path.read_text() == text and ws.bak_path.read_text() == bak


def test_a_store_write_the_filesystem_refuses_is_one_error_and_changes_nothing(tmp_path, monkeypatch):
    import errno
    import os

    ws = WorkspaceStore(tmp_path)
    ws.upsert_run({"id": "a", "state": "queued"})
    ws.upsert_run({"id": "b", "state": "queued"})
    before, bak = ws.path.read_text(), ws.bak_path.read_text()

    def full(path, text):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
    monkeypatch.setattr("sciml_tui.store.workspace.write_text", full)
    with pytest.raises(UserError, match="No space left on device.*unchanged"):
        ws.update_run("a", state="running")
    assert ws.path.read_text() == before and ws.bak_path.read_text() == bak


def test_temp_files_of_killed_store_writes_are_removed_by_the_next_write(tmp_path):
    ws = WorkspaceStore(tmp_path)
    ws.upsert_run({"id": "a", "state": "queued"})
    orphans = [ws.meta_dir / ".sciml.json.k1ll3d.tmp", ws.meta_dir / ".sciml.json.bak.x9.tmp"]
    for p in orphans:
        p.write_text("{half")
    other = ws.meta_dir / ".calibration.json.abc.tmp"  # not the store's: left alone
    other.write_text("x")
    ws.update_run("a", state="running")
    assert not any(p.exists() for p in orphans) and other.exists()
    assert ws.run("a")["state"] == "running"
