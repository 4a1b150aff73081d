"""Stored samples satisfy their PDE; parameters follow their distributions; files are
deterministic, hashed, and self-describing."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from sciml_tui.physics import dataset_info, generate_dataset, read_dataset, verify_hash
from sciml_tui.physics.spectral import apply_operator, gradient, union_coefficients

from .conftest import CASES, SMALL


@pytest.mark.parametrize("system", list(CASES))
def test_stored_float32_samples_satisfy_their_pde(datasets, system):
    out, _ = datasets[system]
    for split in SMALL:
        fields, tensor, other, attrs = read_dataset(out / f"{split}.h5")
        assert fields.dtype == np.float32 and tensor.dtype == np.float32
        f = fields[:, 0].astype(np.float64)
        u = fields[:, 1].astype(np.float64)
        r = apply_operator(u, union_coefficients(system, tensor)) - f
        rel = np.linalg.norm(r, axis=(1, 2)) / np.linalg.norm(f, axis=(1, 2))
        assert rel.max() < 1e-3, rel.max()
        assert rel.max() < 2e-4  # float32 rounding floor (seed files: ~2e-5 at n = 64)


def test_layout_and_attributes(datasets):
    out, summary = datasets["advdiff"]
    with h5py.File(out / "train.h5") as h:
        assert h["fields"].shape == (96, 2, 64, 64)
        assert h["tensor"].shape == (96, 5) and h["other"].shape == (96, 1)
        a = dict(h.attrs)
    assert a["system"] == "advdiff" and a["parameter"] == "psi"
    assert (a["range_lo"], a["range_hi"], a["n"], a["seed"], a["split"]) == (0.2, 1.0, 64, 7, "train")
    assert a["content_sha256"] == summary["splits"]["train"]["content_sha256"]
    assert verify_hash(out / "train.h5")


def test_poisson_solution_is_zero_mean_and_sources_mean_free(datasets):
    fields, *_ = read_dataset(datasets["poisson"][0] / "train.h5")
    assert np.abs(fields[:, 0].mean(axis=(1, 2))).max() < 1e-6
    assert np.abs(fields[:, 1].mean(axis=(1, 2))).max() < 1e-6


def test_helmholtz_rule_and_rejections(datasets):
    out, summary = datasets["helmholtz"]
    fields, tensor, _, attrs = read_dataset(out / "train.h5")
    assert np.abs(fields[:, 1]).max() <= 2.0
    assert set(np.unique(tensor[:, 1])) <= set(range(1, 11))
    assert 2 not in tensor[:, 1]  # omega = 2 is always near resonance at this source
    rej = attrs["rejections"]
    assert rej.get("2", 0) > 0 and rej == summary["splits"]["train"]["rejections"]
    info = dataset_info(out / "train.h5")
    assert sum(info["omega_histogram"].values()) == 96
    assert info["rejections"] == rej


def _ks(sample: np.ndarray, lo: float, hi: float) -> float:
    """Kolmogorov-Smirnov distance to U[lo, hi]."""
    x = np.sort((sample - lo) / (hi - lo))
    i = np.arange(1, x.size + 1)
    return float(max((i / x.size - x).max(), (x - (i - 1) / x.size).max()))


def test_e_is_uniform_in_range(tmp_path):
    s = generate_dataset("poisson", 5, 10, 8, {"train": 1024, "val": 1, "test": 1}, 3, tmp_path)
    info = dataset_info(s["splits"]["train"]["path"])
    e = info["realized"]["e"]
    assert 5 <= e["min"] and e["max"] <= 10
    _, tensor, _, _ = read_dataset(tmp_path / "train.h5")
    e_all = (tensor[:, 0].astype(np.float64) + tensor[:, 1]) / 0.01 - 1
    assert _ks(e_all, 5, 10) < 1.63 / np.sqrt(e_all.size)  # KS critical value at alpha = 1%
    assert _ks(e_all, 5, 9) > 1.63 / np.sqrt(e_all.size)  # the test can fail


def test_psi_hits_its_target_and_is_uniform(tmp_path):
    generate_dataset("advdiff", 1, 2, 32, {"train": 512, "val": 1, "test": 1}, 5, tmp_path)
    fields, tensor, other, _ = read_dataset(tmp_path / "train.h5")
    with h5py.File(tmp_path / "train.h5") as h:
        target = h["psi_target"][:, 0].astype(np.float64)
    psi = other[:, 0].astype(np.float64)
    assert np.abs(psi / target - 1).max() < 1e-2
    assert np.abs(psi / target - 1).max() < 1e-5  # in fact exact up to float32 rounding
    assert _ks(psi, 1, 2) < 1.63 / np.sqrt(psi.size)
    # realized psi, re-measured in real space from the stored float32 u
    u = fields[:64, 1].astype(np.float64)
    t = tensor[:64].astype(np.float64)
    ux, uy = gradient(u)
    adv = t[:, 3, None, None] * ux + t[:, 4, None, None] * uy
    dif = apply_operator(u, union_coefficients("poisson", t[:, :3]))
    measured = np.linalg.norm(adv, axis=(1, 2)) / np.linalg.norm(dif, axis=(1, 2))
    assert np.abs(measured / psi[:64] - 1).max() < 1e-3


def test_omega_draws_are_uniform_before_rejection(tmp_path):
    generate_dataset("helmholtz", 1, 10, 32, {"train": 1000, "val": 1, "test": 1}, 11, tmp_path)
    info = dataset_info(tmp_path / "train.h5")
    hist, rej = info["omega_histogram"], info["rejections"]
    draws = np.array([hist.get(str(w), 0) + rej.get(str(w), 0) for w in range(1, 11)])
    expected = draws.sum() / 10
    chi2 = float(((draws - expected) ** 2 / expected).sum())
    assert chi2 < 21.67  # chi-square, 9 degrees of freedom, alpha = 1%
    assert hist.get("2", 0) == 0 and rej["2"] > 0.5 * expected
    assert 0.25 < rej["4"] / draws[3] < 0.75  # omega = 4 is rejected about half the time


def test_float_omega_range(tmp_path):
    s = generate_dataset("helmholtz", 5.5, 6.5, 16, {"train": 64, "val": 1, "test": 1}, 0, tmp_path)
    assert s["omega_integer"] is False
    _, tensor, _, _ = read_dataset(tmp_path / "train.h5")
    om = tensor[:, 1]
    assert om.min() >= 5.5 and om.max() <= 6.5 and len(np.unique(om)) > 50
