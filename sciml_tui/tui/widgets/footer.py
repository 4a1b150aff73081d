"""The footer of every screen: its keys without the palette hint, so they fit 80 columns
(ctrl+p still opens the palette; the help screen says so)."""

from __future__ import annotations

from textual.widgets import Footer


class KeyFooter(Footer):
    def __init__(self, **kw) -> None:
        super().__init__(show_command_palette=False, **kw)
