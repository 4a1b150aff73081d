"""The run detail's lineage tab renders `store.workspace.lineage`, the walk `ws.lineage` does,
over the poller's snapshot: a mixture pre-training, a chained fine-tune, a `sciml train` mixture."""

from __future__ import annotations

import re

from textual.widgets import Static
from tui_helpers import pilot_test, settle

from sciml_tui.store import WorkspaceStore
from sciml_tui.store.workspace import lineage
from sciml_tui.tui.screens.run_detail import RunDetailScreen
from sciml_tui.tui.widgets.runs_table import RunsTable

UP, DOWN, HELM = "poisson-1-5-3f2a9c01", "poisson-5-10-b71e44d2", "helmholtz-1-2-0c0ffee0"
MIX_PRE, MIX_FT, CHAIN, TRAIN_MIX = "mix-pretrain-tiny", "mix-finetune-n64", "chain-finetune-n64", "train-mix"


def add_lineage_runs(root) -> WorkspaceStore:
    """Next to the fixture's runs: a pre-training on a weighted mixture and a fine-tune of it, a
    fine-tune of a fine-tuned run (qs-finetune-n64-s0 <- qs-pretrain), and a mixture recorded by
    `sciml train` (weights only in its config)."""
    ws = WorkspaceStore(root)
    common = {"sweep": "lineage", "model": "tiny", "seed": 0, "lr": 1e-3}
    with ws.transaction() as tx:
        tx.upsert("datasets", {"id": HELM, "name": "helmholtz-1-2", "system": "helmholtz", "range": [1, 2], "n": 32,
                               "sizes": {"train": 256, "val": 64, "test": 64}, "state": "done"})
        tx.upsert("runs", {"id": MIX_PRE, "state": "done", "role": "pretrain", "init": "pretrain", "parent": None,
                           "datasets": [UP, HELM], "mixture": "pois-helm", "weights": [0.7, 0.3], "test_error": 0.05,
                           "n_train": 512, **common})
        tx.upsert("runs", {"id": MIX_FT, "state": "done", "role": "sweep", "init": "finetune", "parent": MIX_PRE,
                           "datasets": [DOWN], "n_train": 64, "test_error": 0.08, **common})
        tx.upsert("runs", {"id": CHAIN, "state": "queued", "role": "sweep", "init": "finetune",
                           "parent": "qs-finetune-n64-s0", "datasets": [HELM], "n_train": 64, **common})
        tx.upsert("runs", {"id": TRAIN_MIX, "state": "done", "role": "pretrain", "init": "pretrain", "parent": None,
                           "datasets": [UP, DOWN], "n_train": 256, "config": {"data": [
                               {"path": "data/a", "weight": 2.0}, {"path": "data/b", "weight": 1.0}]}, **common})
    return ws


def tab_ids(text: str) -> list[str]:
    """The id on each line of the tab, in order: runs, the mixture's name (if it has one), datasets."""
    return re.findall(r"(?m)^\s*(?:this run|\S+ pre-trained by|mixture(?! of )|dataset)\s+(\S+)", text)


def expected_ids(chain: list[dict]) -> list[str]:
    """`ws.lineage` as the tab lays it out: a fine-tuned run's own datasets under it."""
    out = []
    for item in chain:
        if item["kind"] != "mixture" or item.get("name"):
            out.append(str(item.get("id") or item.get("name")))
        if item["kind"] == "run" and item.get("parent"):
            out += item.get("datasets") or []
    return out


async def open_lineage(app, pilot, rid: str) -> str:
    app.push_screen(RunDetailScreen([rid]))
    await settle(pilot, lambda a: isinstance(a.screen, RunDetailScreen) and rid in a.snapshot.metrics)
    await pilot.press("3")
    await pilot.pause()
    return str(app.screen.query_one("#lineage-text", Static).content)


@pilot_test
async def test_the_lineage_tab_and_the_store_agree(app, workspace):
    ws = add_lineage_runs(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, lambda a: a.screen.query(RunsTable) and a.screen.query_one(RunsTable).row_count > 0)
        snap = app.snapshot
        for rid in (MIX_FT, MIX_PRE, CHAIN, TRAIN_MIX, "qs-zeroshot-s0", "qs-scratch-n32-s0"):
            chain = ws.lineage(rid)
            # one walk: the snapshot's tables give what the store's own read gives
            assert lineage(snap.records, {d["id"]: d for d in snap.datasets}, rid) == chain
            text = await open_lineage(app, pilot, rid)
            assert tab_ids(text) == expected_ids(chain), (rid, text)
            await pilot.press("escape")
    assert [x["kind"] for x in ws.lineage(MIX_FT)] == ["run", "run", "mixture", "dataset", "dataset"]
    runs = [x.get("id") for x in ws.lineage(CHAIN) if x["kind"] == "run"]
    assert runs == [CHAIN, "qs-finetune-n64-s0", "qs-pretrain"]


@pilot_test
async def test_the_tab_shows_mixture_weights_states_and_follows_the_chain(app, workspace):
    ws = add_lineage_runs(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, lambda a: a.snapshot is not None and MIX_FT in a.snapshot.records)
        text = await open_lineage(app, pilot, MIX_FT)
        assert f"      mixture pois-helm of 2 datasets\n      dataset  {UP} x0.7" in text
        assert f"dataset  {HELM} x0.3  helmholtz [1, 2]" in text
        assert f"  └ pre-trained by  {MIX_PRE}  ✓ done  test 0.05" in text
        # the parent's state moves without this run's files changing: the tab follows the store
        ws.update_run(MIX_PRE, test_error=0.04)
        app.wake_poller()
        await settle(pilot, lambda a: "test 0.04" in str(a.screen.query_one("#lineage-text", Static).content))
        await pilot.press("escape")
        text = await open_lineage(app, pilot, CHAIN)
        assert "  └ pre-trained by  qs-finetune-n64-s0" in text and "    └ pre-trained by  qs-pretrain" in text
        await pilot.press("escape")
        text = await open_lineage(app, pilot, TRAIN_MIX)
        assert "mixture of 2 datasets" in text and f"{UP} x2" in text and f"{DOWN} x1" in text
    assert ws.lineage(TRAIN_MIX)[1]["weights"] == [2.0, 1.0]
