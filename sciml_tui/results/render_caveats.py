"""Rich pieces of the caveats (legend, intervals, factor at other targets, warnings) that
`render_results` places around each model's table; the text itself comes from `caveats`."""

from __future__ import annotations

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from sciml_tui.results.caveats import (caveat_lines, exponent_interval_line, factor_interval_lines,
                                      factor_table)


def legend(res: dict) -> list[RenderableType]:
    return [Text(caveat_lines(res)[0], style="dim")]


def factor_caveats(res: dict, model: str) -> list[RenderableType]:
    """The interval of one model's factor, then its factor at other targets."""
    parts: list[RenderableType] = [Text(line) for line in factor_interval_lines(res, model)]
    headers, rows = factor_table(res, model)
    if rows:
        t = Table(title="factor at other targets", title_justify="left", box=None, padding=(0, 2))
        for i, h in enumerate(headers):
            t.add_column(h, justify="left" if i == 0 else "right", no_wrap=True)
        for row in rows:
            t.add_row(*row)
        parts.append(t)
    return parts


def exponent_caveats(res: dict, model: str) -> list[RenderableType]:
    line = exponent_interval_line(res, model)
    return [Text(line, style="dim")] if line else []


def warnings(res: dict) -> list[RenderableType]:
    return [Text(line, style="yellow") for line in caveat_lines(res)[1:]]
