"""The Typer application object shared by every command module.

Command modules import heavy libraries (torch, h5py) inside the command bodies so that
`sciml --help` and light commands stay fast.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import typer

from sciml_tui.errors import UserError


def _one_line_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a UserError into one line on stderr and exit code 2 (no traceback)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except UserError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None

    return wrapper


class SciTyper(typer.Typer):
    """typer.Typer whose commands report UserError as one line and exit 2."""

    def command(self, *args: Any, **kwargs: Any):  # type: ignore[override]
        register = super().command(*args, **kwargs)

        def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
            register(_one_line_errors(fn))
            return fn

        return decorator


app = SciTyper(
    name="sciml",
    help="Pre-train, fine-tune and compare Fourier Neural Operators on PDE data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
data_app = SciTyper(help="Generate and inspect PDE datasets (HDF5).", no_args_is_help=True)
run_app = SciTyper(help="Run experiments described in spec files.", no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(run_app, name="run")
from sciml_tui.cli import spec_cmds  # noqa: E402,F401  (registers `sciml spec`; needs `app` above)
