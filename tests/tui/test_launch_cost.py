"""The launch screen shows the plan's cost estimate and warns in its question above the limit."""

from __future__ import annotations

import json

from tui_helpers import pilot_test, plan_then_launch

from sciml_tui.tui import engine


@pilot_test
async def test_launch_question_carries_the_cost_warning_above_the_limit(app, workspace, monkeypatch):
    (workspace / ".sciml" / "settings.json").write_text(json.dumps({"max_device_hours": 1e-9}))
    calls = []
    monkeypatch.setattr(engine, "launch_sweep", lambda root, spec: calls.append(spec.name) or "launched")
    async with app.run_test(size=(100, 30)) as pilot:
        text = await plan_then_launch(app, pilot)
        assert "cost estimate:" in text and "sample-passes" in text
        assert app.screen.question.startswith("warning: about ") and "Launch quickstart.yaml" in app.screen.question
        await pilot.press("n")
        assert calls == []


@pilot_test
async def test_launch_question_is_plain_below_the_limit(app):
    async with app.run_test(size=(100, 30)) as pilot:
        text = await plan_then_launch(app, pilot)
        assert "cost estimate:" in text and "warning:" not in text
        assert app.screen.question == "Launch quickstart.yaml detached?"
        await pilot.press("n")
