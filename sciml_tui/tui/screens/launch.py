"""Launch: pick a spec in experiments/, read its dry-run plan, launch it detached."""

from __future__ import annotations

from typing import Optional

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from sciml_tui.tui.format import glyphs_of
from sciml_tui.tui.messages import PlanReady
from sciml_tui.tui.poller import Snapshot
from sciml_tui.tui.widgets.footer import KeyFooter
from sciml_tui.tui.widgets.status_bar import StatusBar


class LaunchScreen(Screen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("enter", "plan", "Plan"),
        Binding("L", "launch", "Launch"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._specs: list[str] = []
        self.plans: dict[str, tuple[str, bool]] = {}

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        with Horizontal(id="launch-body"):
            yield OptionList(id="specs")
            with VerticalScroll(id="plan-box"):
                yield Static("Select a spec and press enter for its dry-run plan.", id="plan")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#specs").border_title = "experiments/"
        self.query_one("#plan-box").border_title = "Dry-run plan"
        self.query_one(OptionList).focus()
        if self.app.snapshot is not None:
            self.apply_snapshot(self.app.snapshot)

    def apply_snapshot(self, snap: Snapshot) -> None:
        self.query_one(StatusBar).show(self.app.workspace, snap.resources)
        if snap.specs != self._specs:
            ol = self.query_one(OptionList)
            current = self.current_spec()
            self._specs = list(snap.specs)
            ol.clear_options()
            ol.add_options([Option(glyphs_of(self).text(s), id=s) for s in self._specs])
            if not self._specs:
                self.query_one("#plan", Static).update("No spec files in experiments/ (write one: see the README).")
            elif current in self._specs:
                ol.highlighted = self._specs.index(current)
            else:
                ol.highlighted = 0

    def current_spec(self) -> Optional[str]:
        ol = self.query_one(OptionList)
        if ol.highlighted is None or not self._specs:
            return None
        return self._specs[ol.highlighted]

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.action_plan()

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        spec = self.current_spec()
        if spec in self.plans:
            self._show(spec, *self.plans[spec])

    def action_plan(self) -> None:
        spec = self.current_spec()
        if spec is None:
            return
        g = glyphs_of(self)
        self.query_one("#plan", Static).update(g.text(f"planning {spec} {g.ellipsis}"))
        self.app.job_plan(spec, self)

    def on_plan_ready(self, msg: PlanReady) -> None:
        self.plans[msg.spec] = (msg.text, msg.ok)
        if msg.spec == self.current_spec():
            self._show(msg.spec, msg.text, msg.ok)

    def _show(self, spec: str, text: str, ok: bool) -> None:
        g = glyphs_of(self)
        body = Text(g.text(text)) if ok else Text(g.text(f"{g.warn} {text}"), style="bold red")
        if ok:
            body.append("\n\npress L to launch it detached (it keeps running after you quit)", style="dim")
        self.query_one("#plan", Static).update(body)

    def action_launch(self) -> None:
        from sciml_tui.tui.screens.dialogs import ConfirmScreen

        spec = self.current_spec()
        if spec is None:
            self.notify("no spec selected", severity="warning")
            return

        def go(ok: Optional[bool]) -> None:
            if ok:
                self.app.job_launch(spec)
                self.app.pop_screen()

        text, _ = self.plans.get(spec, ("", False))
        warnings = [line for line in text.splitlines() if line.startswith("warning: ")]  # the cost estimate's
        self.app.push_screen(ConfirmScreen("\n".join(warnings + [f"Launch {spec} detached?"])), go)
