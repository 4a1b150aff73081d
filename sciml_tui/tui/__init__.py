"""The `sciml-tui` dashboard (Textual)."""

from __future__ import annotations


def main() -> None:
    from sciml_tui.tui.app import run_app

    run_app()
