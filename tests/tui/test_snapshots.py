"""SVG snapshots of each screen at 80x24 and 160x48 (frozen clock, fixed resources, no blink).

Update after an intended change with `pytest tests/tui/test_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

import pytest
from textual.widgets import Input
from tui_helpers import build_app, settle

from sciml_tui.tui.screens.launch import LaunchScreen
from sciml_tui.tui.screens.results import ResultsScreen
from sciml_tui.tui.screens.run_detail import RunDetailScreen
from sciml_tui.tui.widgets.runs_table import RunsTable

SIZES = [(80, 24), (160, 48)]


def _loaded(app) -> bool:
    return app.snapshot is not None and app.screen.query(RunsTable) and app.screen.query_one(RunsTable).row_count > 0


async def _overview(pilot):
    await settle(pilot, _loaded)


async def _filtered(pilot):
    await settle(pilot, _loaded)
    await pilot.press("slash", *"init:finetune")
    pilot.app.screen.query_one(Input).cursor_blink = False
    await pilot.pause()


async def _detail(pilot):
    await settle(pilot, _loaded)
    await pilot.press("slash", *"id:qs-finetune-n32-s0", "enter", "enter")
    await settle(pilot, lambda a: isinstance(a.screen, RunDetailScreen) and "qs-finetune-n32-s0" in a.snapshot.metrics)


async def _failed(pilot):
    await settle(pilot, _loaded)
    await pilot.press("slash", *"state:fail", "enter", "enter")
    await settle(pilot, lambda a: isinstance(a.screen, RunDetailScreen) and "qs-scratch-n16-s1" in a.snapshot.metrics)


async def _results(pilot):
    await settle(pilot, _loaded)
    await pilot.press("r")
    await settle(pilot, lambda a: isinstance(a.screen, ResultsScreen) and a.snapshot.results_key == ("quickstart", 1e-2))


async def _launch(pilot):
    await settle(pilot, _loaded)
    await pilot.press("l")
    await settle(pilot, lambda a: isinstance(a.screen, LaunchScreen) and a.screen.current_spec())
    await pilot.press("enter")
    await settle(pilot, lambda a: "quickstart.yaml" in a.screen.plans)


async def _help(pilot):
    await settle(pilot, _loaded)
    await pilot.press("question_mark")


SCREENS = {"overview": _overview, "filter": _filtered, "detail": _detail, "failed": _failed,
           "results": _results, "launch": _launch, "help": _help}


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("screen", list(SCREENS))
def test_screen(snap_compare, workspace, screen, size):
    app = build_app(workspace)
    assert snap_compare(app, terminal_size=size, run_before=SCREENS[screen])
