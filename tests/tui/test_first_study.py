"""Issue 12 (a researcher's first study, over SSH and tmux at 80 x 24): one test per defect."""

from __future__ import annotations

import json
import os
import time

import psutil
from textual.containers import VerticalScroll
from textual.widgets import DataTable
from tui_helpers import NOW, RESOURCES, pilot_test, settle

from sciml_tui.launch.sweeps import scheduler_alive
from sciml_tui.store import WorkspaceStore
from sciml_tui.store.status import collect, render_text
from sciml_tui.tui.app import SciMLApp
from sciml_tui.tui.capture import screen_text
from sciml_tui.tui.poller import Poller
from sciml_tui.tui.screens.dialogs import ConfirmScreen
from sciml_tui.tui.screens.help import HelpScreen
from sciml_tui.tui.screens.launch import LaunchScreen
from sciml_tui.tui.screens.overview import OverviewScreen
from sciml_tui.tui.screens.results import ResultsScreen
from sciml_tui.tui.screens.run_detail import RunDetailScreen, short_names
from sciml_tui.tui.widgets.braille_plot import PlotSpec, Series, render_plot
from sciml_tui.tui.widgets.runs_table import RunsTable, matches
from sciml_tui.tui.widgets.sweeps_table import SweepsTable


def runs_table(app) -> RunsTable:
    return app.screen.query_one(RunsTable)


def loaded(app) -> bool:
    return bool(app.screen.query(RunsTable)) and runs_table(app).row_count > 0


def edit_store(workspace, fn) -> None:
    store = workspace / ".sciml" / "sciml.json"
    data = json.loads(store.read_text())
    fn(data)
    tmp = store.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, store)


def run_rec(data: dict, rid: str) -> dict:
    return next(r for r in data["runs"].values() if r["id"] == rid)


def sweep_rec(data: dict, name: str) -> dict:
    return next(s for s in data["sweeps"].values() if s["name"] == name)


def poll(workspace):
    return Poller(workspace, clock=lambda: NOW, resources=lambda: list(RESOURCES)).poll()


# --- results ---------------------------------------------------------------------------------

@pilot_test
async def test_results_columns_keep_their_width_when_redrawn_before_they_are_measured(app):
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, loaded)
        await pilot.press("r")
        await settle(pilot, lambda a: isinstance(a.screen, ResultsScreen) and a.snapshot.results_key is not None)
        screen = app.screen
        # a target change rebuilds the table; a frame drawn before the table measured its
        # cells used to stay cached, cutting '16' to '1' and '0.431±0.015' to '0.431±0'
        screen._table(app.snapshot.results)
        screen_text(app)
        await pilot.pause(0.2)
        text = screen_text(app)
        assert "0.431±0.015" in text and "0.0622±0.0021" in text and "zero-shot" in text
        table = screen.query_one("#results-table", DataTable)
        assert [c.width for c in table.ordered_columns][:2] == [len("zero-shot"), len("0.431±0.015")]


# --- keys --------------------------------------------------------------------------------------

@pilot_test
async def test_tab_moves_to_the_sweeps_so_a_keyboard_user_can_pick_one(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, loaded)
        await pilot.press("tab")
        assert isinstance(app.focused, SweepsTable)
        await pilot.press("down")  # (all) -> ood-poisson
        await pilot.pause()
        ids = set(app.snapshot.sweep_ids["ood-poisson"])
        assert set(runs_table(app).order) == ids
        await pilot.press("enter")
        assert isinstance(app.focused, RunsTable)


def test_no_key_means_two_things_on_any_screen():
    for screen in (OverviewScreen, ResultsScreen, RunDetailScreen, LaunchScreen):
        seen: dict[str, str] = {}
        for b in list(SciMLApp.BINDINGS) + list(screen.BINDINGS):
            for key in b.key.split(","):
                assert seen.setdefault(key, b.action) == b.action, (screen.__name__, key)


@pilot_test
async def test_palette_lists_each_entry_once(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, loaded)
        for key in ("", "r"):
            if key:
                await pilot.press(key)
                await pilot.pause()
            titles = [c.title for c in app.get_system_commands(app.screen)]
            assert len(titles) == len(set(titles)), titles
            assert "Toggle light/dark" in titles and "Help" in titles


# --- marks ---------------------------------------------------------------------------------------

@pilot_test
async def test_marks_hidden_by_a_filter_leave_cancel_to_the_current_run_and_u_unmarks(app, monkeypatch):
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, loaded)
        await pilot.press("slash", *"state:done", "enter")
        await pilot.press("space", "down", "space")
        assert len(runs_table(app).marked) == 2
        await pilot.press("slash", "ctrl+u", *"state:running", "enter")
        await pilot.pause()
        assert runs_table(app).visible_marked() == []
        current = runs_table(app).current_id()
        await pilot.press("c")
        assert isinstance(app.screen, ConfirmScreen)
        assert current in app.screen.question
        await pilot.press("n", "u")
        assert runs_table(app).marked == set()


# --- filter ----------------------------------------------------------------------------------

def test_filter_reads_values_not_display_text(workspace):
    edit_store(workspace, lambda d: run_rec(d, "qs-scratch-n8-s0").update(n_train=128))
    snap = poll(workspace)

    def hits(q):
        return {rid for rid, row in snap.rows.items() if matches(row, snap.records[rid], q)}

    running = {rid for rid, r in snap.records.items() if r["state"] == "running"}
    assert hits("state:running") == running == hits("state:run")
    assert "qs-scratch-n128-s0" not in hits("n:8") and "qs-scratch-n8-s0" not in hits("n:8")
    assert hits("n:8") == {rid for rid, r in snap.records.items() if r.get("n_train") == 8}
    assert hits("n:>=1024") == {"ood-pretrain", "ood-scratch-n4096-s0"}
    assert hits("n:4K") == {"ood-scratch-n4096-s0"}


# --- 80 x 24 ---------------------------------------------------------------------------------

@pilot_test
async def test_at_80x24_every_run_shows_its_id_and_state_and_the_footer_fits(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, loaded)
        t = runs_table(app)
        assert {"id", "state", "best val"} <= set(t.columns_shown)
        text = screen_text(app)
        shown = [rid for rid in t.order if rid in text]
        assert len(shown) >= 10
        footer = text.splitlines()[-1]
        assert "? Help" in footer and "q Quit" in footer


@pilot_test
async def test_help_fits_80x24(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, loaded)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        box = app.screen.query_one(VerticalScroll)
        assert box.max_scroll_y == 0 and box.max_scroll_x == 0


# --- run detail ------------------------------------------------------------------------------

@pilot_test
async def test_overlaid_runs_keep_the_panel_titles_and_running_header_shows_epoch_of_total(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, loaded)
        await pilot.press("slash", *"n:64 sweep:quick state:run", "enter")
        await pilot.press("space", "down", "space", "up", "enter")
        await settle(pilot, lambda a: isinstance(a.screen, RunDetailScreen)
                     and all(r in a.snapshot.metrics for r in a.screen.run_ids))
        await pilot.pause()
        assert "epoch 12/20" in str(app.screen.query_one("#run-title").render())
        val = screen_text(app)
        assert " val rel. L2  ━━ finetune  ━━ scratch" in val and " train loss  ━━ finetune" in val


def test_short_names_keep_what_differs():
    assert short_names(["qs-finetune-n64-s1", "qs-scratch-n64-s1"]) == ["finetune", "scratch"]
    assert short_names(["qs-finetune-n64-s0", "qs-finetune-n64-s1"]) == ["s0", "s1"]


# --- counts and val err agree with `sciml status` --------------------------------------------

def _dashboard_counts(snap) -> dict:
    return {r.name: (r.total, r.finished, r.count("running"), r.count("queued"), r.count("failed"))
            for r in snap.sweeps}


def _cli_counts(status) -> dict:
    return {s["name"]: (s["total"], s["done"], s["counts"].get("running", 0), s["counts"].get("queued", 0),
                        s["counts"].get("failed", 0)) for s in status["sweeps"]}


def test_a_shared_pretraining_counts_in_both_sweeps_as_in_sciml_status(workspace):
    edit_store(workspace, lambda d: sweep_rec(d, "ood-poisson")["run_ids"].insert(0, "qs-pretrain"))
    snap = poll(workspace)
    status = collect(WorkspaceStore(workspace), scheduler_alive=scheduler_alive, now=NOW)
    assert _dashboard_counts(snap) == _cli_counts(status)
    assert _dashboard_counts(snap)["ood-poisson"][:2] == (9, 1)
    assert snap.overall.total == len(snap.records) == 27  # each run once in the total


def test_a_resumed_sweep_counts_its_waiting_runs_as_queued_in_both_views(workspace):
    me = psutil.Process(os.getpid())

    def resume(d):
        sweep_rec(d, "ood-poisson").update(scheduler_pid=me.pid, scheduler_create_time=me.create_time())
        run_rec(d, "ood-scratch-n4096-s0").update(ended_at=me.create_time() - 60)

    edit_store(workspace, resume)
    snap = poll(workspace)
    status = collect(WorkspaceStore(workspace), scheduler_alive=scheduler_alive, now=NOW)
    assert _dashboard_counts(snap) == _cli_counts(status)
    assert _dashboard_counts(snap)["ood-poisson"][3] == 7  # 6 queued + the cancelled one waiting
    assert snap.rows["ood-scratch-n4096-s0"].state == "queued"


def test_val_err_is_the_best_so_far_in_both_views(workspace):
    rdir = workspace / "runs" / "qs-scratch-n64-s1"
    data = json.loads((rdir / "metrics.json").read_text())
    data["epochs"]["13"] = dict(data["epochs"]["12"], epoch=13, val_error=0.9)  # worse than before
    (rdir / "metrics.json").write_text(json.dumps(data))
    best = min(r["val_error"] for r in data["epochs"].values())
    snap = poll(workspace)
    status = collect(WorkspaceStore(workspace), sweep="quickstart", scheduler_alive=scheduler_alive, now=NOW)
    row = next(r for r in status["runs"] if r["id"] == "qs-scratch-n64-s1")
    assert row["val_error"] == best and row["epoch"] == 13
    assert snap.rows["qs-scratch-n64-s1"].cells[8] == f"{best:.4f}"
    assert "best_val" in render_text(status)


def test_an_error_worse_than_predicting_zero_is_flagged_in_every_view(workspace):
    def worse(d):
        for seed in (0, 1):
            run_rec(d, f"qs-scratch-n8-s{seed}").update(best_val_error=1.7, test_error=1.8)

    edit_store(workspace, worse)
    snap = poll(workspace)
    assert snap.rows["qs-scratch-n8-s0"].cells[8].endswith("!")
    text = render_text(collect(WorkspaceStore(workspace), sweep="quickstart", scheduler_alive=scheduler_alive, now=NOW))
    assert "1.8!" in text and "worse than predicting zero" in text
    from sciml_tui.results import sweep_results
    from sciml_tui.tui.screens.results import worse_cells

    res = sweep_results(snap.sweep_runs("quickstart"), "quickstart", 1e-2)
    assert ("8", 1) in worse_cells(res) and ("16", 1) not in worse_cells(res)


@pilot_test
async def test_flags_show_in_the_runs_table_and_run_header(app, workspace):
    edit_store(workspace, lambda d: run_rec(d, "qs-scratch-n8-s0").update(best_val_error=1.7, test_error=1.8))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, loaded)
        assert str(runs_table(app).get_cell("qs-scratch-n8-s0", "best val")) == "1.7000!"
        await pilot.press("slash", *"id:qs-scratch-n8-s0", "enter", "enter")
        await settle(pilot, lambda a: isinstance(a.screen, RunDetailScreen))
        title = str(app.screen.query_one("#run-title").render())
        assert "best val 1.7000!" in title and "test 1.8000!" in title


# --- plots without colour or braille ---------------------------------------------------------

def _two_curves() -> PlotSpec:
    return PlotSpec([Series("scratch", [8, 64, 512], [0.4, 0.1, 0.03], markers=True),
                     Series("fine-tuned", [8, 64, 512], [0.1, 0.05, 0.02], "#3b8fd9", markers=True)],
                    log_x=True, title="error")


def test_no_color_gives_each_series_its_own_marker():
    text = "\n".join(t.plain for t in render_plot(_two_curves(), 50, 10, plain=True))
    assert "o─ scratch" in text and "x─ fine-tuned" in text
    body = text.split("\n", 1)[1]
    assert body.count("o") >= 3 and body.count("x") >= 3


def test_ascii_terminal_gets_a_plot_without_braille_or_box_drawing():
    lines = render_plot(_two_curves(), 50, 10, ascii_only=True)
    text = "\n".join(t.plain for t in lines)
    text.encode("ascii")  # raises if anything is not ASCII
    assert "o- scratch" in text and "x- fine-tuned" in text and "+" in text
    assert len(lines) == 10 and all(t.cell_len <= 50 for t in lines)
