"""The help screen: every key of every screen."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

HELP = """\
[b]sciml-tui[/b]: launch, watch and compare pre-training / transfer sweeps.

[b]Everywhere[/b]
  ?          this help             ctrl+p   command palette
  q          quit (running sweeps keep running)
  escape     back / close          T        light / dark theme

[b]Overview[/b]
  ↑ ↓        move                  tab      switch sweeps / runs
  enter      open run (marked runs overlaid)
  space      mark run              /        filter (text or field:value)
  s / S      sort column / reverse
  r          results of the sweep  l        launch a spec
  c          cancel run / marked / sweep (asks first)
  R          resume sweep          e        export results

[b]Run detail[/b]
  1 2 3 4    curves / config / lineage / log

[b]Results[/b]
  t / T      next / previous target error
  [ ]        previous / next sweep e        export CSV, JSON, PNG

[b]Launch[/b]
  enter      dry-run plan of the spec
  L          launch it detached (asks first)

Filter examples: [i]state:fail[/i]  [i]init:finetune n:64[/i]  [i]seed:1 run[/i]
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,q", "close", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Static(HELP)

    def action_close(self) -> None:
        self.dismiss(None)
