"""The dashboard shows numbers exactly as the CLI does (one set of formats, see results.text)."""

from __future__ import annotations

import json

from tui_helpers import pilot_test, settle

from sciml_tui.results.text import fmt_lr
from sciml_tui.tui.poller import COLUMNS
from sciml_tui.tui.widgets.runs_table import RunsTable


def _set_lr(workspace, rid: str, lr: float) -> None:
    store = workspace / ".sciml" / "sciml.json"
    data = json.loads(store.read_text())
    rec = next(r for r in data["runs"].values() if r["id"] == rid)
    rec["lr"] = lr
    store.write_text(json.dumps(data))


@pilot_test
async def test_runs_table_shows_lr_as_the_cli_does(app, workspace):
    _set_lr(workspace, "qs-scratch-n64-s1", 2.5e-4)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot, lambda a: a.screen.query(RunsTable) and a.screen.query_one(RunsTable).row_count > 0)
        table = app.screen.query_one(RunsTable)
        cell = table.get_cell("qs-scratch-n64-s1", "lr")
        assert cell == "2.5e-4" == fmt_lr(2.5e-4)
        assert "lr" in COLUMNS
