"""The help screen: every key of every screen."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from sciml_tui.tui.format import glyphs_of

HELP = """\
[b]sciml-tui[/b]: launch, watch and compare pre-training / transfer sweeps.

[b]Everywhere[/b]  ? help  q quit (runs keep running)  esc back
            ctrl+p palette (theme, screenshot, every key)
[b]Overview[/b]    ↑ ↓ move  tab sweeps / runs  enter open (marks overlaid)
            space mark  u unmark all  / filter  esc clear filter
            c cancel: marked runs in view, else the run (or the sweep
              when the sweeps table has focus); asks first
            s / S sort column / reverse  r results  l launch
            R resume sweep  e export results
[b]Run detail[/b]  1 curves  2 config  3 lineage  4 log
[b]Results[/b]     t / T next / previous target  [ ] sweep  e export
[b]Launch[/b]      enter dry-run plan  L launch detached (asks first)

[b]Filter[/b]  field:value, all must match; numbers compare as numbers:
  state:running  init:finetune  n:64  n:>=512  lr:1e-3  val:>0.1
[b]best val[/b] is the best validation error so far (as in sciml status);
[b]![/b] marks a relative L2 error above 1: worse than predicting zero.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,q", "close", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Static(glyphs_of(self).text(HELP))  # '↑ ↓' are 'up down' in ASCII

    def action_close(self) -> None:
        self.dismiss(None)
