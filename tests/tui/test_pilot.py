"""Pilot tests: navigation, filtering, launch, cancel, resume, export on the fixture workspace."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest
from textual.widgets import TabbedContent
from tui_helpers import pilot_test, plan_then_launch, settle

from sciml_tui.tui import engine
from sciml_tui.tui.screens.dialogs import ConfirmScreen, ExportScreen
from sciml_tui.tui.screens.help import HelpScreen
from sciml_tui.tui.screens.launch import LaunchScreen
from sciml_tui.tui.screens.overview import OverviewScreen
from sciml_tui.tui.screens.results import ResultsScreen
from sciml_tui.tui.screens.run_detail import RunDetailScreen
from sciml_tui.tui.widgets.runs_table import RunsTable


def runs_table(app) -> RunsTable:
    return app.screen.query_one(RunsTable)


async def filter_to(pilot, text: str) -> None:
    await pilot.press("slash")
    await pilot.press(*list(text))
    await pilot.press("enter")
    await pilot.pause()


@pilot_test
async def test_overview_lists_every_run_and_sweep(app):
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, lambda a: runs_table(a).row_count > 0)
        assert isinstance(app.screen, OverviewScreen)
        assert runs_table(app).row_count == 27
        first = runs_table(app).current_id()
        assert app.snapshot.records[first]["state"] == "running"  # sorted by state: live first


@pilot_test
async def test_navigation_between_screens(app):
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, lambda a: runs_table(a).row_count > 0)
        await pilot.press("enter")
        await settle(pilot, lambda a: isinstance(a.screen, RunDetailScreen))
        for key, tab in (("2", "config"), ("3", "lineage"), ("4", "log"), ("1", "curves")):
            await pilot.press(key)
            assert app.screen.query_one(TabbedContent).active == tab
        await pilot.press("escape", "r")
        await settle(pilot, lambda a: isinstance(a.screen, ResultsScreen))
        before = app.screen.target
        await pilot.press("t")
        assert app.screen.target != before
        await pilot.press("escape", "question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape", "l")
        assert isinstance(app.screen, LaunchScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, OverviewScreen)


@pilot_test
async def test_failed_run_opens_on_its_error(app):
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, lambda a: runs_table(a).row_count > 0)
        await filter_to(pilot, "state:fail")
        assert runs_table(app).order == ["qs-scratch-n16-s1"]
        await pilot.press("enter")
        await settle(pilot, lambda a: isinstance(a.screen, RunDetailScreen)
                     and "qs-scratch-n16-s1" in a.snapshot.metrics)
        await pilot.pause()
        assert app.screen.query_one(TabbedContent).active == "log"
        assert "loss is nan" in str(app.screen.query_one("#run-error").render())


@pilot_test
async def test_marked_runs_are_overlaid(app):
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, lambda a: runs_table(a).row_count > 0)
        await filter_to(pilot, "n:64 sweep:quick")
        assert len(runs_table(app).order) == 4
        await pilot.press("space", "down", "space", "up", "enter")
        await settle(pilot, lambda a: isinstance(a.screen, RunDetailScreen))
        assert len(app.screen.run_ids) == 2


@pilot_test
async def test_filter_and_clear(app):
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, lambda a: runs_table(a).row_count > 0)
        await filter_to(pilot, "init:finetune")
        assert runs_table(app).row_count == 11
        assert all(app.snapshot.records[r]["init"] == "finetune" for r in runs_table(app).order)
        await pilot.press("escape")
        assert runs_table(app).row_count == 27


@pilot_test
async def test_sort_cycles_columns(app):
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, lambda a: runs_table(a).row_count > 0)
        await pilot.press("s")  # state -> init
        inits = [app.snapshot.records[r]["init"] for r in runs_table(app).order]
        assert inits == sorted(inits)
        await pilot.press("S")
        inits = [app.snapshot.records[r]["init"] for r in runs_table(app).order]
        assert inits == sorted(inits, reverse=True)


@pilot_test
async def test_new_metric_points_appear(app, workspace):
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, lambda a: runs_table(a).row_count > 0)
        rdir = workspace / "runs" / "qs-scratch-n64-s1"
        data = json.loads((rdir / "metrics.json").read_text())
        data["epochs"]["13"] = dict(data["epochs"]["12"], epoch=13, val_error=0.1234)
        (rdir / "metrics.json").write_text(json.dumps(data))
        t = runs_table(app)
        await settle(pilot, lambda a: t.get_cell("qs-scratch-n64-s1", "epoch") == "13/20")
        assert t.get_cell("qs-scratch-n64-s1", "best val") == "0.1234"


@pilot_test
async def test_corrupt_store_shows_a_message(app, workspace):
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, lambda a: runs_table(a).row_count > 0)
        # replaced in one rename, as every store write is: a plain write_text truncates first,
        # and a poll landing between truncation and write reads a valid, empty store
        broken = workspace / ".sciml" / "broken.json"
        broken.write_text("{ broken")
        os.replace(broken, workspace / ".sciml" / "sciml.json")
        await settle(pilot, lambda a: a.snapshot.error is not None)
        assert "corrupt" in str(app.screen.query_one("#banner").render())
        assert runs_table(app).row_count == 27  # the last good state stays visible


@pilot_test
async def test_launch_shows_plan_then_launches(app, monkeypatch):
    calls = []
    monkeypatch.setattr(engine, "launch_sweep", lambda root, spec: calls.append(spec.name) or "launched quickstart")
    async with app.run_test(size=(100, 30)) as pilot:
        text = await plan_then_launch(app, pilot)
        assert "quickstart" in text and "points" in text
        await pilot.press("y")
        await settle(pilot, lambda a: calls)
        assert calls == ["quickstart.yaml"]


@pilot_test
async def test_resume_asks_then_resumes_the_sweep(app, monkeypatch):
    calls = []
    monkeypatch.setattr(engine, "resume_sweep", lambda root, sweep: calls.append(sweep) or f"resumed {sweep}")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, lambda a: runs_table(a).row_count > 0)
        await filter_to(pilot, "sweep:quickstart")
        await pilot.press("R")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        assert calls == []
        await pilot.press("R", "y")
        await settle(pilot, lambda a: calls)
        assert calls == ["quickstart"]


@pytest.fixture
def sleeper(workspace):
    """A harmless sleeping process recorded as the running run qs-scratch-n64-s1."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True)
    rid = "qs-scratch-n64-s1"
    info = {"pid": proc.pid, "pgid": proc.pid, "backend": "local", "host": "localhost",
            "started_at": time.time(), "device": "cpu", "create_time": psutil.Process(proc.pid).create_time()}
    (workspace / "runs" / rid / "launch.json").write_text(json.dumps(info))
    store = workspace / ".sciml" / "sciml.json"
    data = json.loads(store.read_text())
    for rec in data["runs"].values():
        if rec["id"] == rid:
            rec["pid"] = proc.pid
    store.write_text(json.dumps(data))
    yield proc
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@pilot_test
async def test_cancel_stops_the_process_and_marks_the_run(app, sleeper):
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, lambda a: runs_table(a).row_count > 0)
        await filter_to(pilot, "id:qs-scratch-n64-s1")
        assert runs_table(app).current_id() == "qs-scratch-n64-s1"
        await pilot.press("c")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot, lambda a: a.snapshot.records["qs-scratch-n64-s1"]["state"] == "cancelled", tries=500)
        assert sleeper.wait(timeout=10) is not None


@pilot_test
async def test_export_writes_files_and_confirms_overwrite(app, workspace):
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, lambda a: runs_table(a).row_count > 0)
        await pilot.press("r")
        await settle(pilot, lambda a: isinstance(a.screen, ResultsScreen))
        await pilot.press("e")
        assert isinstance(app.screen, ExportScreen)
        await pilot.press("j")
        out = workspace / "exports" / "quickstart.json"
        await settle(pilot, lambda a: out.exists())
        assert json.loads(out.read_text())["sweep"] == "quickstart"
        out.write_text("{}")
        await pilot.press("e", "j")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot, lambda a: out.read_text() != "{}")
        await pilot.press("e", "c")
        await settle(pilot, lambda a: (workspace / "exports" / "quickstart.csv").exists())


@pilot_test
async def test_quit_leaves_runs_alone(app, sleeper):
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("q")
    assert sleeper.poll() is None
