"""Plain-text capture of what the app shows (for tests, the benchmark and docs)."""

from __future__ import annotations

import io

from rich.console import Console
from textual.app import App


def screen_text(app: App) -> str:
    """The current screen as plain text, one line per terminal row, trailing blanks kept."""
    width, height = app.size
    update = app.screen._compositor.render_update(full=True)
    con = Console(width=width, height=height, file=io.StringIO(), record=True, color_system=None,
                  legacy_windows=False, force_terminal=False)
    con.print(update, end="")
    text = con.export_text(styles=False)
    return "\n".join(line.rstrip() for line in text.splitlines()[:height])
