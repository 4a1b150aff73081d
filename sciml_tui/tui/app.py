"""Placeholder dashboard until the dashboard room lands."""

from __future__ import annotations

from textual.app import App
from textual.widgets import Footer, Header, Static


class SciMLApp(App):
    BINDINGS = [("q", "quit", "Quit")]

    def compose(self):
        yield Header()
        yield Static("sciml-tui")
        yield Footer()


def run_app() -> None:
    SciMLApp().run()
