"""The dashboard's results screen states the same legend, warnings and interval as the CLI."""

from __future__ import annotations

from textual.widgets import Static
from tui_helpers import pilot_test, settle

from sciml_tui.results.caveats import caveat_lines, factor_interval_line
from sciml_tui.tui.screens.results import ResultsScreen


def _flat(text: str) -> str:
    return " ".join(str(text).split())


def _shown(app) -> str:
    return _flat(app.screen.query_one("#efficiency", Static).content)


@pilot_test
async def test_results_screen_shows_the_caveat_sentences(app):
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot, lambda a: a.snapshot is not None and a.snapshot.records)
        await pilot.press("r")
        await settle(pilot, lambda a: isinstance(a.screen, ResultsScreen)
                     and a.snapshot.results_key == ("quickstart", 1e-2) and "legend" in a.snapshot.results)
        res = app.snapshot.results
        lines = caveat_lines(res)
        assert len(lines) >= 2  # the legend and at least one warning on the fixture sweep
        for line in lines:
            assert _flat(line) in _shown(app)
        await pilot.press("T", "T", "T", "T")  # up to 0.2, where scratch has an N (a bound factor)
        await settle(pilot, lambda a: a.snapshot.results_key == ("quickstart", 0.2)
                     and a.snapshot.results is not res)
        res = app.snapshot.results
        assert res["efficiency"]["factor"] is not None
        interval = factor_interval_line(res, "tiny", res["efficiency"]["source"])
        assert interval.startswith("factor at 0.2: ") and _flat(interval) in _shown(app)
