"""Shared helpers of the dashboard tests (a uniquely named module: tests/ has no packages)."""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path

from sciml_tui.tui.app import SciMLApp, make_app
from sciml_tui.tui.format import to_epoch

FIXTURE = Path(__file__).parent / "fixtures" / "workspace"
NOW = to_epoch("2026-01-01T12:00:00+00:00")
RESOURCES = [("cpu", " 12%"), ("mem", "3.1/16G")]



def build_app(ws: Path, poll_interval: float = 0.05) -> SciMLApp:
    return make_app(ws, clock=lambda: NOW, resources=lambda: list(RESOURCES), poll_interval=poll_interval,
                    label="~/studies/fixture")


async def settle(pilot, cond=lambda app: app.snapshot is not None, tries: int = 1000) -> None:
    """Pause until `cond(app)` holds (the poller delivered), then let the UI process it."""
    for _ in range(tries):
        await pilot.pause(0.02)
        if cond(pilot.app):
            break
    else:
        raise AssertionError("the dashboard never reached the expected state")
    await pilot.pause()


def pilot_test(fn):
    """Run an async test body in a fresh event loop (no async pytest plugin needed)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return asyncio.run(fn(*args, **kwargs))

    return wrapper


async def plan_then_launch(app, pilot) -> str:
    """Open the launch screen, plan quickstart.yaml, press L: the plan's text (the confirm is open)."""
    from sciml_tui.tui.screens.dialogs import ConfirmScreen
    from sciml_tui.tui.screens.launch import LaunchScreen

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
