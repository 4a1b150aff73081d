"""Rich pieces of the caveats (legend, intervals, factor at other targets, warnings) that
`render_results` places around each model's table; the text itself comes from `caveats`."""

from __future__ import annotations

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from sciml_tui.results.caveats import (caveat_lines, exponent_interval_line, factor_interval_lines,
                                      factor_table)
from sciml_tui.results.text import to_ascii


def _plain(text: str, ascii_only: bool) -> str:
    return to_ascii(text) if ascii_only else text


def legend(res: dict, ascii_only: bool = False) -> list[RenderableType]:
    return [Text(_plain(caveat_lines(res)[0], ascii_only), style="dim")]


def factor_caveats(res: dict, model: str, ascii_only: bool = False) -> list[RenderableType]:
    """The interval of one model's factor, then its factor at other targets."""
    parts: list[RenderableType] = [Text(_plain(line, ascii_only)) for line in factor_interval_lines(res, model)]
    headers, rows = factor_table(res, model)
    if rows:
        t = Table(title="factor at other targets", title_justify="left", box=None, padding=(0, 2))
        for i, h in enumerate(headers):
            t.add_column(h, justify="left" if i == 0 else "right", no_wrap=True)
        for row in rows:
            t.add_row(*(_plain(c, ascii_only) for c in row))
        parts.append(t)
    return parts


def exponent_caveats(res: dict, model: str, ascii_only: bool = False) -> list[RenderableType]:
    line = exponent_interval_line(res, model)
    return [Text(_plain(line, ascii_only), style="dim")] if line else []


def warnings(res: dict, ascii_only: bool = False) -> list[RenderableType]:
    return [Text(_plain(line, ascii_only), style="yellow") for line in caveat_lines(res)[1:]]
