"""The Typer application object shared by every command module.

Command modules import heavy libraries (torch, h5py) inside the command bodies so that
`sciml --help` and light commands stay fast. Help is plain text (no boxes, flags without a
`<bool>` placeholder, `-h` as well as `--help`), and every usage error is one `error:` line with
exit code 2, like the errors the commands raise themselves.
"""

from __future__ import annotations

import functools
import sys
from typing import Any, Callable, Optional, Sequence

import typer
from typer.core import TyperGroup

try:  # typer >= 0.24 carries its own copy of click
    from typer._click import exceptions as click_exc
except ImportError:  # pragma: no cover - older typer on top of click
    from click import exceptions as click_exc

from sciml_tui import __version__
from sciml_tui.errors import UserError

CONTEXT = {"help_option_names": ["-h", "--help"]}


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


def usage_error_line(exc: Any) -> str:
    """'error: No such option: --foo (see `sciml status -h`)'."""
    ctx = getattr(exc, "ctx", None)
    where = f" (see `{ctx.command_path} -h`)" if ctx is not None else ""
    return f"error: {exc.format_message()}{where}"


class SciGroup(TyperGroup):
    """The root command: click's usage errors become one `error:` line (exit 2)."""

    def main(self, args: Optional[Sequence[str]] = None, prog_name: Optional[str] = None,
             complete_var: Optional[str] = None, standalone_mode: bool = True, **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click_exc.ClickException as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":
                typer.echo(exc.format_message())  # `sciml` alone prints its help
                sys.exit(0)
            typer.echo(usage_error_line(exc), err=True)
            sys.exit(exc.exit_code)
        except typer.Abort:  # typer's own copy of click keeps Abort outside its exceptions module
            typer.echo("error: aborted", err=True)
            sys.exit(1)
        # without standalone mode an Exit comes back as its code, a finished command as None
        sys.exit(rv if isinstance(rv, int) else 0)


def _examples_epilog(examples: Sequence[str]) -> str:
    # '\b' keeps click from re-wrapping the lines.
    return "\b\nExamples:\n" + "\n".join(f"  {e}" for e in examples)


class SciTyper(typer.Typer):
    """typer.Typer whose commands report UserError as one line and exit 2, and may list
    `examples=[...]` shown under their --help."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("rich_markup_mode", None)
        kwargs.setdefault("context_settings", CONTEXT)
        super().__init__(**kwargs)

    def command(self, *args: Any, examples: Sequence[str] = (), **kwargs: Any):  # type: ignore[override]
        if examples:
            kwargs.setdefault("epilog", _examples_epilog(examples))
        register = super().command(*args, **kwargs)

        def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
            register(_one_line_errors(fn))
            return fn

        return decorator


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"sciml {__version__}")
        raise typer.Exit(0)


app = SciTyper(
    name="sciml",
    help="Pre-train, fine-tune and compare Fourier Neural Operators on PDE data.",
    epilog=_examples_epilog([
        "sciml run sweep experiments/quickstart.yaml   # generate, pre-train, sweep",
        "sciml status --sweep quickstart",
        "sciml results quickstart --plot quickstart.svg",
        "sciml --install-completion                     # tab completion for your shell",
    ]),
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    cls=SciGroup,
)


@app.callback()
def _root(version: bool = typer.Option(False, "--version", "-V", callback=_show_version, is_eager=True,
                                        help="Print the version and exit.")) -> None:
    """Pre-train, fine-tune and compare Fourier Neural Operators on PDE data."""


data_app = SciTyper(help="Generate and inspect PDE datasets (HDF5).", no_args_is_help=True)
run_app = SciTyper(help="Run experiments described in spec files.", no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(run_app, name="run")
from sciml_tui.cli import spec_cmds  # noqa: E402,F401  (registers `sciml spec`; needs `app` above)
