"""Rich rendering of `sweep_results` output for the terminal (used by `sciml results`)."""

from __future__ import annotations

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text as RichText

from sciml_tui.results import render_caveats
from sciml_tui.results.text import (efficiency_line, excluded_line, fit_line, models,
                                    progress_line, table, to_ascii, worse_line)


def render_results(res: dict, ascii_only: bool = False) -> RenderableType:
    """Per model: the error-vs-N table, then efficiency, fit and excluded-run lines.

    `ascii_only` draws the table with ASCII rules and writes '+-' for '±' (for terminals whose
    encoding cannot show box drawing)."""
    def Text(s: str = "", **kw) -> RichText:  # noqa: N802 - stands in for rich's Text
        return RichText(to_ascii(s) if ascii_only else s, **kw)

    def cells(row: list[str]) -> list[str]:
        return [to_ascii(c) for c in row] if ascii_only else row

    ms = models(res)
    if not ms:
        return Text(f"sweep {res['sweep']}: no sweep runs recorded yet")
    parts: list[RenderableType] = [Text(f"{res['sweep']}: {progress_line(res)}", style="bold")]
    parts += render_caveats.legend(res, ascii_only)
    if worse_line(res):
        parts.append(Text(worse_line(res), style="bold red"))
    for model in ms:
        headers, rows = table(res, model)
        t = Table(title=f"{res['sweep']}: {model}", title_justify="left",
                  box=box.ASCII if ascii_only else box.HEAVY_HEAD)
        for i, h in enumerate(cells(headers)):
            t.add_column(h, justify="right" if i == 0 else "left", no_wrap=True)
        for row in rows:
            t.add_row(*cells(row))
        parts.append(t)
        for eff in res["efficiency_by_model"]:
            if eff["model"] == model:
                parts.append(Text(efficiency_line(eff)))
        parts += render_caveats.factor_caveats(res, model, ascii_only)
        for line in (fit_line(res, model), excluded_line(res, model)):
            if line:
                parts.append(Text(line, style="dim"))
        parts += render_caveats.exponent_caveats(res, model, ascii_only)
        parts.append(Text(""))
    return Group(*parts, *render_caveats.warnings(res, ascii_only))
