"""The dashboard's bell on failures and finished sweeps, and provenance in the run detail."""

from __future__ import annotations

from types import SimpleNamespace

from textual.widgets import Static
from tui_helpers import pilot_test, settle

from sciml_tui.rundir import RunDir
from sciml_tui.tui.alerts import bell_reasons
from sciml_tui.tui.poller import SweepRow
from sciml_tui.tui.screens.run_detail import RunDetailScreen
from sciml_tui.tui.widgets.runs_table import RunsTable


def _snap(states: dict, active: int):
    row = SweepRow("s", 3, (("queued", active), ("running", 0), ("done", 3 - active)))
    return SimpleNamespace(records={k: {"id": k, "state": v} for k, v in states.items()}, sweeps=[row])


def test_bell_rings_for_new_failures_and_finished_sweeps_only():
    start = _snap({"a": "running", "b": "failed"}, active=1)
    assert bell_reasons(None, start) == []  # what was so at start-up does not ring
    assert bell_reasons(start, start) == []
    assert bell_reasons(start, _snap({"a": "diverged", "b": "failed"}, active=1)) == ["run a diverged"]
    assert bell_reasons(start, _snap({"a": "done", "b": "failed"}, active=0)) == ["sweep s finished"]


@pilot_test
async def test_a_run_failing_while_watched_rings_the_bell(app, workspace):
    rung = []
    app.bell = lambda: rung.append(True)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, lambda a: a.screen.query(RunsTable) and a.screen.query_one(RunsTable).row_count > 0)
        running = next(r for r in app.snapshot.records.values() if r["state"] == "running")
        from sciml_tui.store import WorkspaceStore

        WorkspaceStore(workspace).update_run(running["id"], state="failed", message="boom")
        app.wake_poller()
        await settle(pilot, lambda a: a.snapshot.records[running["id"]]["state"] == "failed")
        assert rung


@pilot_test
async def test_run_detail_shows_provenance(app, workspace):
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, lambda a: a.screen.query(RunsTable) and a.screen.query_one(RunsTable).row_count > 0)
        rid = app.screen.query_one(RunsTable).current_id()
        RunDir(app.snapshot.records[rid]["run_dir"]).write_provenance({
            "versions": {"sciml-tui": "0.1.0", "torch": "2.13.0"}, "device": {"kind": "cuda", "name": "NVIDIA H200"},
            "host": "node7", "git": {"commit": "abcdef1234567890", "dirty": True},
            "datasets": [{"path": "/data/pois", "content_sha256": {"train": "f00d" * 16}}]})
        await pilot.press("enter")
        await settle(pilot, lambda a: isinstance(a.screen, RunDetailScreen))
        await pilot.press("3")

        def shown(a) -> str:
            return str(a.screen.query_one("#lineage-text", Static).content)

        await settle(pilot, lambda a: "NVIDIA H200" in shown(a))
        text = shown(app)
        assert "torch 2.13.0" in text and "git abcdef123456 (dirty)" in text and "train f00df00d" in text
