"""Options and helpers shared by the command modules."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from sciml_tui.errors import UserError
from sciml_tui.terminal import ascii_only  # noqa: F401  (re-exported for the commands)

WorkspaceOpt = Annotated[
    Path,
    typer.Option(
        "--workspace",
        "-w",
        envvar="SCIML_WORKSPACE",
        help="Workspace folder (default: the current folder).",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def default_workspace() -> Path:
    return Path(os.environ.get("SCIML_WORKSPACE") or ".")


def workspace_dir(path: Path | None, must_exist: bool = False) -> Path:
    """The workspace folder of `--workspace` (default: SCIML_WORKSPACE or the current folder)."""
    ws = path or default_workspace()
    if ws.exists() and not ws.is_dir():
        raise UserError(f"workspace {ws} is a file, not a folder: pass --workspace FOLDER")
    if must_exist and not ws.exists():
        raise UserError(f"workspace {ws} does not exist: pass an existing --workspace folder")
    return ws


def print_json(obj: Any) -> None:
    typer.echo(json.dumps(obj, indent=2, default=str))


def is_tty() -> bool:
    return sys.stdout.isatty()


def require_sweep(ws: Any, sweep: str) -> list[dict]:
    """The runs of `sweep`; an unknown sweep name is a one-line error listing the known ones."""
    from sciml_tui.errors import UserError

    runs = ws.runs(sweep=sweep)
    if ws.sweep(sweep) is None and not runs:
        known = sorted(str(s.get("name")) for s in ws.sweeps())
        hint = f" (known: {', '.join(known)})" if known else " (no sweeps recorded there yet)"
        raise UserError(f"unknown sweep {sweep!r} in workspace {ws.root}{hint}")
    return runs


def print_results(res: dict) -> None:
    """The Rich tables of `sciml results`, in ASCII where the terminal needs it."""
    from rich.console import Console

    from sciml_tui.results.render import render_results

    Console().print(render_results(res, ascii_only=ascii_only()))
