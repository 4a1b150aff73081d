"""Fixtures of the dashboard tests: a fresh copy of the committed workspace per test."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from tui_helpers import FIXTURE, build_app

from sciml_tui.tui.app import SciMLApp


@pytest.fixture(autouse=True)
def fixed_device(monkeypatch):
    """Plans estimate their cost on a fixed device, so the launch screen reads the same anywhere."""
    from sciml_tui.learning.calibrate import DeviceInfo

    monkeypatch.setattr("sciml_tui.launch.api.device_for_slots", lambda slots: DeviceInfo("cpu", "cpu fixture", 2))


@pytest.fixture(autouse=True)
def unicode_terminal(monkeypatch):
    """The dashboard draws its Unicode symbols whatever the locale the tests run under (the ASCII
    tests force the other answer)."""
    monkeypatch.setattr("sciml_tui.tui.app.ascii_only", lambda stream=None: False)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    dest = tmp_path / "ws"
    shutil.copytree(FIXTURE, dest)
    # the engine stores absolute run dirs; the committed fixture keeps them relative
    store = dest / ".sciml" / "sciml.json"
    data = json.loads(store.read_text())
    for rec in data["runs"].values():
        rec["run_dir"] = str(dest / rec["run_dir"])
    store.write_text(json.dumps(data))
    return dest


@pytest.fixture
def app(workspace: Path) -> SciMLApp:
    return build_app(workspace)
