"""The `sciml` command line. Command modules register themselves on the shared app."""

from __future__ import annotations

from sciml_tui.cli.app import app

# Importing the modules registers their commands; each keeps heavy imports inside commands.
from sciml_tui.cli import data_cmds, train_cmds, sweep_cmds, results_cmds  # noqa: E402,F401


def main() -> None:
    app()


__all__ = ["app", "main"]
