"""Small modal dialogs: confirmation (destructive actions) and export."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label

from sciml_tui.tui.format import glyphs_of


class ConfirmScreen(ModalScreen[bool]):
    BINDINGS = [Binding("y", "yes", "Yes"), Binding("n,escape", "no", "No")]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(glyphs_of(self).text(self.question), id="question")
            with Horizontal(id="buttons"):
                yield Button("Yes (y)", variant="error", id="yes")
                yield Button("No (n)", id="no")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_yes(self) -> None:
        self.dismiss(True)

    def action_no(self) -> None:
        self.dismiss(False)


class ExportScreen(ModalScreen[None]):
    """Export a sweep's results to WORKSPACE/exports/<sweep>.{csv,json,png}."""

    BINDINGS = [Binding("c", "pick('csv')", "CSV"), Binding("j", "pick('json')", "JSON"),
                Binding("p", "pick('png')", "PNG"), Binding("a", "pick('all')", "All"),
                Binding("escape", "dismiss_none", "Close")]

    def __init__(self, sweep: str, target: float) -> None:
        super().__init__()
        self.sweep, self.target = sweep, target

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(glyphs_of(self).text(f"Export results of {self.sweep} to exports/"), id="question")
            with Horizontal(id="buttons"):
                yield Button("CSV (c)", id="csv")
                yield Button("JSON (j)", id="json")
                yield Button("PNG (p)", id="png")
                yield Button("All (a)", id="all", variant="primary")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.action_pick(str(event.button.id))

    def action_dismiss_none(self) -> None:
        self.dismiss(None)

    def action_pick(self, kind: str) -> None:
        app = self.app
        kinds = ["csv", "json", "png"] if kind == "all" else [kind]
        paths = app.export_paths(self.sweep, kinds)
        records = app.snapshot.sweep_runs(self.sweep) if app.snapshot else []
        existing = [p.name for p in paths if p.exists()]

        def go(ok: bool | None = True) -> None:
            if ok:
                app.job_export(self.sweep, self.target, records, paths)

        self.dismiss(None)
        if existing:
            app.push_screen(ConfirmScreen(f"Overwrite {', '.join(existing)} in exports/?"), go)
        else:
            go()
