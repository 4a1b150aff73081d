"""The launch screen shows the plan's cost estimate and warns in its question above the limit."""

from __future__ import annotations

import json

from tui_helpers import pilot_test, settle

from sciml_tui.tui import engine
from sciml_tui.tui.screens.dialogs import ConfirmScreen
from sciml_tui.tui.screens.launch import LaunchScreen


async def _plan_then_launch(app, pilot) -> str:
    await settle(pilot)
    await pilot.press("l")
    await settle(pilot, lambda a: isinstance(a.screen, LaunchScreen) and a.screen.current_spec())
    await pilot.press("enter")
    await settle(pilot, lambda a: "quickstart.yaml" in a.screen.plans)
    text, ok = app.screen.plans["quickstart.yaml"]
    assert ok, text
    await pilot.press("L")
    assert isinstance(app.screen, ConfirmScreen)
    return text


@pilot_test
async def test_launch_question_carries_the_cost_warning_above_the_limit(app, workspace, monkeypatch):
    (workspace / ".sciml" / "settings.json").write_text(json.dumps({"max_device_hours": 1e-9}))
    calls = []
    monkeypatch.setattr(engine, "launch_sweep", lambda root, spec: calls.append(spec.name) or "launched")
    async with app.run_test(size=(100, 30)) as pilot:
        text = await _plan_then_launch(app, pilot)
        assert "cost estimate:" in text and "sample-passes" in text
        assert app.screen.question.startswith("warning: about ") and "Launch quickstart.yaml" in app.screen.question
        await pilot.press("n")
        assert calls == []


@pilot_test
async def test_launch_question_is_plain_below_the_limit(app):
    async with app.run_test(size=(100, 30)) as pilot:
        text = await _plan_then_launch(app, pilot)
        assert "cost estimate:" in text and "warning:" not in text
        assert app.screen.question == "Launch quickstart.yaml detached?"
        await pilot.press("n")
