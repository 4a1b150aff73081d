"""The metric and the loss of docs/science.md, against values worked out by hand.

Metric: per-sample relative L2, sqrt(sum (pred - u)^2 / sum u^2), averaged over samples (not
over batches). Loss: the sum over pixels of the squared error, averaged over the batch, with
the target u not normalized.
"""

from __future__ import annotations

import math
import types

import h5py
import numpy as np
import pytest
import torch
from torch import nn

from sciml_tui.learning import trainer as trainer_mod
from sciml_tui.learning.config import RunConfig
from sciml_tui.learning.data import FieldSet
from sciml_tui.learning.metrics_log import read_metrics
from sciml_tui.learning.trainer import Trainer, evaluate, relative_l2

# Three 2x2 samples. u0 = all ones (sum u^2 = 4), prediction off by 1 on two pixels
# (sum err^2 = 2): sqrt(2/4) = 0.7071067811865476. u1 = [[3, 0], [4, 0]] (sum u^2 = 25),
# prediction 0: sqrt(25/25) = 1. u2 predicted exactly: 0.
U = [[[1.0, 1.0], [1.0, 1.0]], [[3.0, 0.0], [4.0, 0.0]], [[2.0, -1.0], [0.5, 0.0]]]
PRED = [[[2.0, 1.0], [1.0, 0.0]], [[0.0, 0.0], [0.0, 0.0]], [[2.0, -1.0], [0.5, 0.0]]]
PER_SAMPLE = [0.7071067811865476, 1.0, 0.0]
MEAN_OVER_SAMPLES = 0.5690355937288492  # (0.7071067811865476 + 1 + 0) / 3


def _t(rows) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float32)[:, None]


def test_relative_l2_per_sample():
    got = relative_l2(_t(PRED), _t(U))
    assert got.tolist() == pytest.approx(PER_SAMPLE, rel=1e-6, abs=1e-7)


class _ReturnsF(nn.Module):
    """A 'model' whose prediction is its first input channel."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :1]


def test_evaluate_averages_over_samples_not_batches():
    data = FieldSet(_t(PRED), torch.zeros(3, 1), _t(U))
    got = evaluate(_ReturnsF(), data, batch=2, device=torch.device("cpu"), precision="fp32")
    # the mean of the two batch means would be ((0.7071 + 1) / 2 + 0) / 2 = 0.4268
    assert got == pytest.approx(MEAN_OVER_SAMPLES, rel=1e-6)


class _PredictsZeroAtFirst(nn.Module):
    """Stands in for the FNO: its prediction is one trainable constant, 0 before the first step."""

    def __init__(self, in_channels: int, width: int, modes: int, layers: int = 4) -> None:
        super().__init__()
        self.arch = {"in_channels": in_channels, "width": width, "modes": modes, "layers": layers, "out_channels": 1}
        self.bias = nn.Parameter(torch.zeros(1))
        self.spectral = [types.SimpleNamespace(check_grid=lambda h, w: None)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 0.0 * x[:, :1] + self.bias


def _write_split(path, u: np.ndarray) -> None:
    count, n = u.shape[0], u.shape[-1]
    fields = np.zeros((count, 2, n, n), np.float32)
    fields[:, 0] = np.linspace(-1.0, 1.0, n * n).reshape(n, n)  # any non-zero source
    fields[:, 1] = u
    tensor = np.tile(np.float32([0.015, 0.025, 0.008]), (count, 1))
    with h5py.File(path, "w") as fh:
        fh["fields"], fh["tensor"] = fields, tensor
        fh.attrs["system"] = "poisson"


def test_the_training_loss_of_one_batch_is_summed_over_pixels_and_averaged_over_the_batch(tmp_path, monkeypatch):
    # u0: ones on a 4x4 grid, sum u^2 = 16; u1: a single 2 at one pixel, sum u^2 = 4.
    # Loss at prediction 0: (16 + 4) / 2 = 10 (a per-pixel mean would give 0.625, a batch sum 20).
    u = np.zeros((2, 4, 4), np.float32)
    u[0] = 1.0
    u[1, 2, 3] = 2.0
    data = tmp_path / "data"
    data.mkdir()
    for split in ("train", "val", "test"):
        _write_split(data / f"{split}.h5", u)
    monkeypatch.setattr(trainer_mod, "FNO2d", _PredictsZeroAtFirst)
    cfg = RunConfig(mode="scratch", data=[{"path": str(data)}], device="cpu",
                    recipe={"epochs": 1, "batch_size": 2, "lr": 1e-12})
    result = Trainer(cfg, tmp_path / "run").run()
    assert result["status"] == "done"
    (row,) = read_metrics(tmp_path / "run")["epochs"]
    assert row["train_loss"] == pytest.approx(10.0, rel=1e-6)
    # with the prediction still ~0, every sample's relative L2 error is ~1
    assert result["test_error"] == pytest.approx(1.0, rel=1e-6)
    assert math.isclose(row["val_error"], 1.0, rel_tol=1e-6)
