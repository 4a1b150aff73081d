"""The Gaussian-lattice source: separable synthesis equals the seed's 144-exponential sum."""

from __future__ import annotations

import numpy as np
import pytest

from sciml_tui.physics.sources import (
    CENTRES,
    SIGMA,
    draw_amplitudes,
    lattice_source,
    synthesize,
    vf_block_bounds,
    vf_of_indices,
)


def brute_force(p: np.ndarray, n: int) -> np.ndarray:
    """The seed's loop: meshgrid(x, y), centres flattened row-major with y the slow index."""
    x = np.arange(n) / n
    xg, yg = np.meshgrid(x, x)
    cxg, cyg = np.meshgrid(CENTRES, CENTRES)
    out = np.zeros((n, n))
    for a, cx, cy in zip(p, cxg.ravel(), cyg.ravel()):
        out += a * np.exp(-((xg - cx) ** 2 + (yg - cy) ** 2) / (2 * SIGMA**2))
    return out


def test_lattice_geometry():
    assert len(CENTRES) == 12
    assert CENTRES[0] == pytest.approx(0.15625) and CENTRES[-1] == pytest.approx(0.84375)
    assert np.allclose(np.diff(CENTRES), 1 / 16)


@pytest.mark.parametrize("n", [32, 64, 128])
def test_separable_synthesis_matches_seed_sum(n):
    rng = np.random.default_rng(1)
    amps = draw_amplitudes(rng, np.array([0.2, 0.8, 0.6]))
    got = synthesize(amps, n)
    for i in range(3):
        want = brute_force(amps[i].ravel(), n)
        assert np.abs(got[i] - want).max() < 1e-12 * np.abs(want).max()


def test_normalization_and_mean_removal():
    amps = draw_amplitudes(np.random.default_rng(2), np.full(4, 0.4))
    raw = lattice_source(amps, 64, remove_mean=False)
    assert np.allclose(raw.max(axis=(1, 2)), 1.0)
    f = lattice_source(amps, 64, remove_mean=True)
    assert np.abs(f.mean(axis=(1, 2))).max() < 1e-14
    assert np.allclose(f, raw - raw.mean(axis=(1, 2), keepdims=True))


def test_sparsity_and_amplitudes():
    rng = np.random.default_rng(3)
    for vf in (0.2, 0.4, 0.6, 0.8):
        a = draw_amplitudes(rng, np.full(400, vf))
        on = a > 0
        frac = on.mean()
        sd = np.sqrt(vf * (1 - vf) / on.size)
        assert abs(frac - (1 - vf)) < 5 * sd, (vf, frac)
        vals = a[on]
        assert vals.min() >= 1e-3 and vals.max() < 1.0
        # amplitudes uniform on [0.001, 1): mean and variance of U
        assert abs(vals.mean() - 0.5005) < 5 * 0.288 / np.sqrt(vals.size)


def test_all_off_switches_one_bump_on():
    a = draw_amplitudes(np.random.default_rng(4), np.full(50, 1.0))
    assert ((a > 0).sum(axis=(1, 2)) == 1).all()


@pytest.mark.parametrize("count", [1, 3, 4, 10, 32768])
def test_vf_blocks_follow_the_seed(count):
    # seed: num_ex gives count // 4 to the first three vf values and the rest to the last
    q = count // 4
    want = [q, q, q, count - 3 * q]
    bounds = vf_block_bounds(count)
    assert [b - a for _, a, b in bounds] == want
    vfs = vf_of_indices(count, np.arange(count))
    for vf, a, b in bounds:
        assert (vfs[a:b] == vf).all()
