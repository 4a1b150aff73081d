"""The dashboard on a terminal that shows only ASCII (LANG=C, PYTHONIOENCODING=ascii): every
symbol it writes itself has an ASCII form (`tui.format.Glyphs`), chosen once when the app starts;
on a Unicode terminal it keeps its symbols. Textual's own borders and scrollbars are Textual's."""

from __future__ import annotations

import html
import re

from textual.widgets import DataTable, Static
from tui_helpers import build_app, pilot_test, settle

from sciml_tui.tui.format import ASCII, TEXT_SYMBOLS, UNICODE, glyphs_for
from sciml_tui.tui.screens.help import HelpScreen
from sciml_tui.tui.screens.results import ResultsScreen
from sciml_tui.tui.screens.run_detail import RunDetailScreen
from sciml_tui.tui.widgets.braille_plot import BraillePlot
from sciml_tui.tui.widgets.runs_table import RunsTable

FINETUNE, SCRATCH, FAILED = "qs-finetune-n32-s0", "qs-scratch-n32-s0", "qs-scratch-n16-s1"


def _plain(x) -> str:
    return x.plain if hasattr(x, "plain") else str(x)


def screen_texts(screen) -> list[str]:
    """Every string the app put into the screen's widgets: table headers and cells, border
    titles, rendered text of Static-like widgets, plots, footer keys and tabs."""
    out = []
    for w in screen.query("*"):
        out += [_plain(t) for t in (w.border_title, w.border_subtitle) if t]
        if isinstance(w, DataTable):
            out += [_plain(c.label) for c in w.columns.values()]
            out += [_plain(c) for i in range(w.row_count) for c in w.get_row_at(i)]
        elif isinstance(w, (Static, BraillePlot)) or type(w).__name__ == "FooterKey":
            out.append(_plain(w.render()))  # Static covers labels, tabs, the status bar
    return out


def drawn_symbols(app) -> set[str]:
    """Non-ASCII characters on the drawn screen (borders included)."""
    svg = app.export_screenshot()
    text = html.unescape("".join(re.findall(r">([^<]*)</text>", svg))).replace("\xa0", " ")
    return {c for c in text if ord(c) > 127}


async def tour(app, pilot) -> dict[str, tuple[list[str], set[str]]]:
    """Overview, results, run detail (curves, lineage, a failed run's error) and help: what each
    shows, as (widget texts, drawn non-ASCII characters)."""
    seen = {}

    def take(name: str) -> None:
        seen[name] = (screen_texts(app.screen), drawn_symbols(app))

    await settle(pilot, lambda a: a.screen.query(RunsTable) and a.screen.query_one(RunsTable).row_count > 0)
    take("overview")
    await pilot.press("r")
    await settle(pilot, lambda a: isinstance(a.screen, ResultsScreen)
                 and a.snapshot.results_key == ("quickstart", 1e-2))
    take("results")
    await pilot.press("escape")
    app.push_screen(RunDetailScreen([FINETUNE, SCRATCH]))
    await settle(pilot, lambda a: isinstance(a.screen, RunDetailScreen) and FINETUNE in a.snapshot.metrics)
    take("detail")
    await pilot.press("3")
    await pilot.pause()
    take("lineage")
    await pilot.press("escape")
    app.push_screen(RunDetailScreen([FAILED]))
    await settle(pilot, lambda a: isinstance(a.screen, RunDetailScreen) and FAILED in a.snapshot.metrics)
    take("failed")
    await pilot.press("question_mark")
    await settle(pilot, lambda a: isinstance(a.screen, HelpScreen))
    take("help")
    return seen


def joined(seen, name: str) -> str:
    return "\n".join(seen[name][0])


@pilot_test
async def test_an_ascii_terminal_gets_only_ascii_from_the_dashboard(workspace, monkeypatch):
    monkeypatch.setattr("sciml_tui.tui.app.ascii_only", lambda stream=None: True)
    app = build_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        assert app.glyphs is ASCII
        seen = await tour(app, pilot)
    for name, (texts, drawn) in seen.items():
        assert texts and all(t.isascii() for t in texts), (name, [t for t in texts if not t.isascii()])
        # borders are ASCII (the `$frame` CSS variables) and the tabs' underline bar is hidden
        assert not drawn, (name, drawn)
    overview = joined(seen, "overview")
    for form in ("+ done", "> run", "x fail", ". queued", "# cancel", "sort: state ^", " enter Open ", "1 !"):
        assert form in overview, form
    assert re.search(r"(?m)^#+\.+$", overview)  # a sweep's progress bar
    assert "+-" in joined(seen, "results")  # the mean +- std cells, as the CLI writes them
    assert "`- pre-trained by  qs-pretrain  + done" in joined(seen, "lineage")
    assert "\n! failed: " in "\n" + joined(seen, "failed")
    assert "up down move" in joined(seen, "help")


@pilot_test
async def test_a_unicode_terminal_keeps_the_symbols(app):
    async with app.run_test(size=(120, 40)) as pilot:
        assert app.glyphs is UNICODE
        seen = await tour(app, pilot)
    overview = joined(seen, "overview")
    for form in ("✓ done", "▶ run", "✗ fail", "· queued", "■ cancel", "sort: state ▲", " ⏎ Open ",
                 "1 ⚠"):
        assert form in overview, form
    assert "█" in overview and "░" in overview
    assert {"╭", "╯"} <= seen["overview"][1]  # rounded panel borders (`$frame` round)
    assert "±" in joined(seen, "results")
    assert "└ pre-trained by  qs-pretrain  ✓ done" in joined(seen, "lineage")
    assert any(0x2800 < ord(c) <= 0x28FF for c in joined(seen, "detail"))  # braille curves
    assert "⚠ failed: " in joined(seen, "failed")
    assert "↑ ↓ move" in joined(seen, "help")


def test_the_glyph_table_has_an_ascii_form_for_every_symbol():
    assert glyphs_for(True) is ASCII and glyphs_for(False) is UNICODE
    assert set(ASCII.states) == set(UNICODE.states)
    for name, value in vars(ASCII).items():
        values = value.values() if isinstance(value, dict) else [value]
        assert all(str(v).isascii() for v in values), name
    assert all(getattr(UNICODE, n) != getattr(ASCII, n) for n in TEXT_SYMBOLS)
    text = "⚠ 0.41±0.03 ≤ 2 … ⏎ ↑ ↓ • ▲ ▼ └ ✓"
    assert UNICODE.text(text) == text
    assert ASCII.text(text) == "! 0.41+-0.03 <= 2 ... enter up down * ^ v `- ?"
    assert ASCII.bar(5, 10) == "#####....." and UNICODE.bar(5, 10) == "█████░░░░░"
    assert ASCII.bar(0, 0, 4) == "...."
