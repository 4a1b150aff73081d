"""Top line: app name, workspace and the resources strip (GPU via NVML, else CPU and memory)."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.widgets import Static

from sciml_tui.tui.format import glyphs_of


class StatusBar(Static):
    DEFAULT_CSS = "StatusBar { height: 1; }"

    def __init__(self, **kw) -> None:
        super().__init__("", **kw)
        self._key: tuple = ()
        self._args: tuple = ()

    def on_resize(self) -> None:
        if self._args:
            self.show(*self._args)

    def show(self, workspace: Path, resources: list[tuple[str, str]]) -> None:
        self._args = (workspace, resources)
        key = (str(workspace), tuple(resources), self.size.width)
        if key == self._key:
            return
        self._key = key
        home = str(Path.home())
        ws = str(workspace)
        ws = "~" + ws[len(home):] if ws.startswith(home + "/") else ws
        g = glyphs_of(self)
        ws = g.text(getattr(self.app, "workspace_label", None) or ws)
        right = Text()
        for label, value in resources:
            right.append(f" {g.text(label)} ", style="bold")
            right.append(g.text(value) + " ")
        left = Text.assemble((" sciml-tui ", "bold reverse"), "  ", (ws, "italic"))
        pad = max(1, self.size.width - left.cell_len - right.cell_len)
        if left.cell_len + right.cell_len >= self.size.width and self.size.width:
            left.truncate(max(12, self.size.width - right.cell_len - 1), overflow="ellipsis")
            pad = max(1, self.size.width - left.cell_len - right.cell_len)
        self.update(Text.assemble(left, " " * pad, right))
