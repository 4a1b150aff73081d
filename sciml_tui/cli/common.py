"""Options and helpers shared by the command modules."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

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


def print_json(obj: Any) -> None:
    typer.echo(json.dumps(obj, indent=2, default=str))


def is_tty() -> bool:
    return sys.stdout.isatty()
