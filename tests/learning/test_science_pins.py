"""The science the numbers rest on, checked from the saved files rather than the trainer's code:
the reported test error is that of the best-validation weights, and a fine-tune starts from
exactly the pre-trained weights."""

import numpy as np
import pytest
import torch

from sciml_tui.learning.checkpoint import load_checkpoint
from sciml_tui.learning.data import load_splits, normalize
from sciml_tui.learning.fno import FNO2d
from sciml_tui.learning.metrics_log import read_metrics
from sciml_tui.learning.run import run_in_dir

from .conftest import base_config, make_dataset, write_run


def _test_error(ckpt: dict, data_dir) -> float:
    """Mean per-sample relative L2 error on the test split, written out here on purpose."""
    arch = ckpt["arch"]
    model = FNO2d(arch["in_channels"], arch["width"], arch["modes"], arch["layers"])
    model.load_state_dict(ckpt["model"])
    model.eval()
    test = normalize(load_splits([data_dir], "test", [1.0], None), ckpt["layout"], ckpt["scales"],
                     torch.device("cpu"))
    x, y = test.batch(torch.arange(len(test)), torch.device("cpu"))
    with torch.no_grad():
        pred = model(x).double().numpy()
    y = y.double().numpy()
    per_sample = np.sqrt(((pred - y) ** 2).sum(axis=(1, 2, 3)) / (y ** 2).sum(axis=(1, 2, 3)))
    return float(per_sample.mean())


def test_reported_test_error_comes_from_the_best_validation_weights(tmp_path):
    data = make_dataset(tmp_path / "data", sizes=(32, 64, 16))
    # 8 samples, many epochs: validation bottoms out mid-run, then over-fitting raises it
    cfg = base_config(data, mode="scratch", n_train=8, recipe={"epochs": 30, "batch_size": 8, "val_share": None})
    run = write_run(tmp_path / "run", cfg)
    result = run_in_dir(run)
    assert result["status"] == "done"
    rows = read_metrics(run)["epochs"]
    best_row = min(rows, key=lambda r: r["val_error"])
    assert best_row["epoch"] < 30, "construction failed: the best epoch is the last one"
    assert result["best_epoch"] == best_row["epoch"]
    assert result["best_val_error"] == pytest.approx(best_row["val_error"], rel=1e-9)

    best, last = load_checkpoint(run / "checkpoints/best.pt"), load_checkpoint(run / "checkpoints/last.pt")
    assert best["epoch"] == best_row["epoch"] and last["epoch"] == 30
    from_best, from_last = _test_error(best, data), _test_error(last, data)
    assert abs(from_best - from_last) > 1e-6 * from_best, "best and last weights must differ for this test"
    assert result["test_error"] == pytest.approx(from_best, rel=1e-5)
    assert result["test_error"] != pytest.approx(from_last, rel=1e-6)


def test_finetune_starts_from_exactly_the_checkpoint_weights(poisson_data, tmp_path, monkeypatch):
    pre = write_run(tmp_path / "pre", base_config(poisson_data, mode="pretrain", recipe={"epochs": 2}))
    assert run_in_dir(pre)["status"] == "done"
    ckpt = load_checkpoint(pre / "checkpoints/best.pt")

    seen = []
    original = torch.optim.Adam.step

    def first_step(self, *args, **kwargs):
        if not seen:  # the parameters the first update starts from
            seen.append([p.detach().clone() for g in self.param_groups for p in g["params"]])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", first_step)
    ft = write_run(tmp_path / "ft", {**base_config(poisson_data, mode="finetune", n_train=8, recipe={"epochs": 1}),
                                    "init_checkpoint": str(pre / "checkpoints/best.pt")})
    assert run_in_dir(ft)["status"] == "done"

    arch = ckpt["arch"]
    reference = FNO2d(arch["in_channels"], arch["width"], arch["modes"], arch["layers"])
    reference.load_state_dict(ckpt["model"])
    expected = list(reference.parameters())
    assert seen and len(seen[0]) == len(expected)
    for got, want in zip(seen[0], expected):
        assert torch.equal(got, want.detach())
    fresh = FNO2d(arch["in_channels"], arch["width"], arch["modes"], arch["layers"])
    assert not all(torch.equal(a, b) for a, b in zip(fresh.parameters(), expected)), "a fresh init must differ"
