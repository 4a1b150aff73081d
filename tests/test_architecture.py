"""The core stays pure: no UI library below the CLI and the dashboard, no torch for light commands."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import sciml_tui

CORE_PACKAGES = ["physics", "learning", "specs", "store", "launch", "results"]
UI_MODULES = ("textual", "typer", "rich.live")


def _core_modules() -> list[str]:
    names = ["sciml_tui.errors", "sciml_tui.atomic", "sciml_tui.tinydb_atomic"]
    for pkg in CORE_PACKAGES:
        names.append(f"sciml_tui.{pkg}")
        path = [f"{sciml_tui.__path__[0]}/{pkg}"]
        names += [f"sciml_tui.{pkg}.{m.name}" for m in pkgutil.iter_modules(path)]
    return names


def _loaded_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True, text=True, check=True,
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_core_imports_no_ui_library():
    imports = "\n".join(f"import {name}" for name in _core_modules())
    loaded = _loaded_after(imports)
    leaked = sorted(m for m in loaded if m.split(".")[0] in {"textual", "typer"})
    assert not leaked, f"core modules pulled in UI libraries: {leaked[:5]}"


def test_cli_help_does_not_import_torch():
    code = (
        "import sys\n"
        "from sciml_tui.cli import app\n"
        "try:\n"
        "    app(['--help'], standalone_mode=False)\n"
        "except SystemExit:\n"
        "    pass\n"
    )
    loaded = _loaded_after(code)
    assert "torch" not in loaded
    assert "h5py" not in loaded


def test_every_command_group_has_help():
    out = subprocess.run([sys.executable, "-m", "sciml_tui.cli", "--help"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "data" in out.stdout
