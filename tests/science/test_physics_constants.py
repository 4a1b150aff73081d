"""The physics of docs/science.md against numbers worked out by hand, not the modules' constants.

Source: bumps of width sigma = 1/32 on a 12 x 12 lattice, spacing 1/16, centred at 0.5, so
centres at 0.15625 + j/16 = (10 + 4j)/64 for j = 0..11: on a 64-point grid every centre is a
grid point. SYS-1: K = 0.01 R(theta)^T diag(1, e) R(theta). SYS-3: -0.01 laplace(u) - omega u = f.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sciml_tui.physics import generate_dataset, read_dataset
from sciml_tui.physics.sources import draw_amplitudes, lattice_source, synthesize
from sciml_tui.physics.systems import diffusion_tensor, solve_helmholtz, solve_poisson

CENTRES = [0.15625, 0.21875, 0.28125, 0.34375, 0.40625, 0.46875,
           0.53125, 0.59375, 0.65625, 0.71875, 0.78125, 0.84375]


def _one_bump(iy: int, ix: int, n: int = 64) -> np.ndarray:
    amps = np.zeros((1, 12, 12))
    amps[0, iy, ix] = 1.0
    return synthesize(amps, n)[0]


def test_the_lattice_centres_are_where_the_bumps_peak():
    assert CENTRES[0] == 10 / 64 and CENTRES[-1] == 54 / 64 and CENTRES[6] - CENTRES[5] == 1 / 16
    for j, c in enumerate(CENTRES):
        field = _one_bump(j, 11 - j)  # rows are y: bump (iy, ix) peaks at y = c[iy], x = c[ix]
        iy, ix = np.unravel_index(np.argmax(field), field.shape)
        assert (iy / 64, ix / 64) == (c, CENTRES[11 - j])
        assert field[iy, ix] == pytest.approx(1.0, abs=1e-12)


def test_the_bump_width_is_one_32nd():
    # bump (2, 11): centre y = 18/64, x = 54/64. exp(-d^2 / (2 sigma^2)) with 2 sigma^2 = 1/512:
    # d = 1/64 -> exp(-512/4096) = exp(-0.125); d = 2/64 -> exp(-0.5); d^2 = 2 (2/64)^2 -> exp(-1)
    field = _one_bump(2, 11)
    assert field[18, 54] == pytest.approx(1.0, abs=1e-12)
    assert field[18, 55] == pytest.approx(0.8824969025845955, rel=1e-12)
    assert field[19, 54] == pytest.approx(0.8824969025845955, rel=1e-12)
    assert field[18, 56] == pytest.approx(0.6065306597126334, rel=1e-12)
    assert field[20, 56] == pytest.approx(0.36787944117144233, rel=1e-12)


def test_amplitudes_are_on_with_probability_one_minus_vf_and_in_the_seed_range():
    rng = np.random.default_rng(0)
    amps = draw_amplitudes(rng, np.full(2000, 0.8))
    on = amps[amps > 0]
    assert on.min() >= 0.001 and on.max() <= 1.0
    assert on.size / amps.size == pytest.approx(0.2, abs=0.01)  # 288000 draws: sd 0.00075


def test_the_source_is_scaled_to_max_one_and_made_mean_free_for_sys1_and_sys2():
    amps = np.zeros((1, 12, 12))
    amps[0, 3, 4], amps[0, 8, 9] = 0.5, 0.25
    raw = lattice_source(amps, 64, remove_mean=False)[0]
    assert raw.max() == pytest.approx(1.0, abs=1e-12) and raw[22, 26] == pytest.approx(1.0, abs=1e-12)
    assert raw[42, 46] == pytest.approx(0.5, abs=1e-9)  # the other bump, half as high
    mean_free = lattice_source(amps, 64, remove_mean=True)[0]
    assert mean_free.mean() == pytest.approx(0.0, abs=1e-15)
    assert np.allclose(mean_free, raw - raw.mean(), atol=1e-15)


# e = 3, theta = pi/6: cos = sqrt(3)/2, sin = 1/2.
# K11 = 0.01 (3/4 + 3 * 1/4) = 0.015; K22 = 0.01 (1/4 + 3 * 3/4) = 0.025;
# K12 = 0.01 (3 - 1) (1/2)(sqrt(3)/2) = 0.01 * sqrt(3)/2 = 0.008660254037844387.
K_BY_HAND = [0.015, 0.025, 0.008660254037844387]


def test_the_diffusion_tensor_for_a_given_anisotropy_and_angle():
    k = diffusion_tensor(np.array([3.0]), np.array([math.pi / 6]))[0]
    assert k.tolist() == pytest.approx(K_BY_HAND, rel=1e-12)
    # eigenvalues 0.01 and 0.01 e: trace 0.04, determinant 0.0003
    assert k[0] + k[1] == pytest.approx(0.04, rel=1e-12)
    assert k[0] * k[1] - k[2] ** 2 == pytest.approx(0.0003, rel=1e-9)


def _mode(n: int, kx: int, ky: int) -> np.ndarray:
    x = np.arange(n) / n
    return np.cos(2 * math.pi * (kx * x[None, :] + ky * x[:, None]))  # rows are y


def test_poisson_divides_each_mode_by_4pi2_k_dot_K_k():
    # -div(K grad u) = f for f = cos(2 pi (kx x + ky y)): u = f / (4 pi^2 (K11 kx^2 + K22 ky^2 + 2 K12 kx ky))
    f = np.stack([_mode(16, 1, 0), _mode(16, 0, 1), _mode(16, 1, 1), _mode(16, 1, -1)])
    u, tensor = solve_poisson(f, np.full(4, 3.0), np.full(4, math.pi / 6))
    assert tensor[0].tolist() == pytest.approx(K_BY_HAND, rel=1e-7)  # stored as float32
    four_pi2 = 4 * math.pi**2
    for i, quad in enumerate([0.015, 0.025, 0.015 + 0.025 + 2 * 0.008660254037844387,
                              0.015 + 0.025 - 2 * 0.008660254037844387]):
        assert np.allclose(u[i], f[i] / (four_pi2 * quad), rtol=1e-6, atol=1e-9), i


def test_helmholtz_has_the_seed_sign():
    # -0.01 laplace(u) - omega u = f: u = f / (0.01 * 4 pi^2 |k|^2 - omega); for k = (1, 0), omega = 1
    # the divisor is 0.3947841760435743 - 1 < 0, so u is f flipped and scaled by 1 / -0.6052158...
    f = _mode(16, 1, 0)[None]
    u, tensor, _ = solve_helmholtz(f, np.array([1.0]))
    assert tensor[0].tolist() == pytest.approx([0.01, 1.0], rel=1e-7)
    assert np.allclose(u[0], f[0] / (0.3947841760435743 - 1.0), rtol=1e-6, atol=1e-9)


def test_a_generated_sys1_file_holds_0_01_R_diag_R(tmp_path):
    # every stored K has eigenvalues 0.01 and 0.01 e with e in the range (K11 + K22 = 0.01 (1 + e),
    # det K = 0.0001 e), and the stored source is mean-free
    generate_dataset("poisson", 2.0, 4.0, 16, {"train": 8, "val": 4, "test": 4}, 3, tmp_path)
    fields, tensor, _, _ = read_dataset(tmp_path / "train.h5")
    k11, k22, k12 = tensor.astype(np.float64).T
    e = (k11 + k22) / 0.01 - 1.0
    assert np.all((e >= 2.0 - 1e-4) & (e <= 4.0 + 1e-4))
    assert np.allclose(k11 * k22 - k12**2, 0.0001 * e, rtol=1e-4)
    f = fields[:, 0].astype(np.float64)
    assert np.allclose(f.mean(axis=(1, 2)), 0.0, atol=1e-6)
