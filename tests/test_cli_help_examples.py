"""Every command's `-h` shows examples a user can copy."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from sciml_tui.cli import app


def _leaf_paths(group, prefix=()):
    for name, cmd in getattr(group, "commands", {}).items():
        if getattr(cmd, "commands", None):
            yield from _leaf_paths(cmd, prefix + (name,))
        else:
            yield prefix + (name,)


def test_every_command_help_has_examples():
    root = typer.main.get_command(app)
    paths = list(_leaf_paths(root))
    assert len(paths) >= 12
    runner = CliRunner()
    missing = [" ".join(p) for p in paths if "Examples:" not in runner.invoke(app, [*p, "-h"]).output]
    assert not missing, f"commands without examples in -h: {missing}"
