"""`sciml status` fits the terminal: no number wraps mid-digit at 80 columns."""

from __future__ import annotations

from sciml_tui.store.status import render_text


def _status(run_id: str) -> dict:
    run = {"id": run_id, "sweep": "s", "init": "finetune", "model": "fno-17m", "n_train": 16384, "lr": 2.5e-4,
           "seed": 2, "state": "running", "device": "cuda:0", "epoch": 123, "epochs": 500, "elapsed_s": 4000.0,
           "val_error": 0.0123, "test_error": None, "message": None}
    return {"sweeps": [{"name": "s", "state": "running", "total": 10, "done": 3, "counts": {"running": 1}}],
            "runs": [run]}


def test_status_rows_fit_80_columns_and_keep_the_id_whole():
    rid = "advection-diffusion-transfer-sweep-v2-finetune-fno-17m-n16384-lr5e-05-s2-0123abcd"
    text = render_text(_status(rid), 80)
    assert all(len(line) <= 80 for line in text.splitlines() if rid not in line)
    assert rid in text  # whole, on its own line when it does not fit beside the numbers
    assert "0.0123" in text and "123/500" in text


def test_a_wide_terminal_shows_every_column_on_one_line():
    text = render_text(_status("s-run-1"), 160)
    header = next(line for line in text.splitlines() if line.startswith("state"))
    for col in ("init", "model", "N", "lr", "seed", "device", "epoch", "elapsed", "best_val", "test_err", "id"):
        assert col in header.split()
    assert any("s-run-1" in line and "0.0123" in line for line in text.splitlines())
