"""Manufactured solutions: an analytic periodic u, f derived by hand, solve, compare (float64)."""

from __future__ import annotations

import numpy as np
import pytest

from sciml_tui.physics.spectral import gradient, wavenumbers
from sciml_tui.physics.systems import (
    diffusion_tensor,
    solve_advdiff_tensor,
    solve_helmholtz,
    solve_poisson,
)

TP = 2 * np.pi
SIZES = [32, 64, 128]


def grid(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) with the seed's convention: axis 0 = y, axis 1 = x."""
    x = np.arange(n) / n
    return np.meshgrid(x, x)  # indexing="xy"


def manufactured(n: int):
    """u = exp(sin 2 pi x) cos 2 pi y + 0.3 sin(2 pi (2x - 3y)): zero mean, not a trig polynomial,
    anisotropic in x and y (so a swapped axis convention fails). Returns u and its derivatives."""
    x, y = grid(n)
    es = np.exp(np.sin(TP * x))
    cx, sx, cy, sy = np.cos(TP * x), np.sin(TP * x), np.cos(TP * y), np.sin(TP * y)
    ph = TP * (2 * x - 3 * y)
    u = es * cy + 0.3 * np.sin(ph)
    ux = TP * cx * es * cy + 0.3 * TP * 2 * np.cos(ph)
    uy = -TP * es * sy - 0.3 * TP * 3 * np.cos(ph)
    uxx = TP**2 * (cx * cx - sx) * es * cy - 0.3 * (TP * 2) ** 2 * np.sin(ph)
    uyy = -(TP**2) * es * cy - 0.3 * (TP * 3) ** 2 * np.sin(ph)
    uxy = -(TP**2) * cx * es * sy + 0.3 * (TP**2) * 6 * np.sin(ph)
    return u, ux, uy, uxx, uyy, uxy


def rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def f32(a):
    return np.asarray(a, dtype=np.float64).astype(np.float32).astype(np.float64)


@pytest.mark.parametrize("n", SIZES)
def test_poisson_manufactured(n):
    u, _, _, uxx, uyy, uxy = manufactured(n)
    e, theta = np.array([3.7, 1.2]), np.array([0.4, 2.9])
    k = f32(diffusion_tensor(e, theta))
    f = np.stack([-(k[i, 0] * uxx + k[i, 1] * uyy + 2 * k[i, 2] * uxy) for i in range(2)])
    got, tensor = solve_poisson(f, e, theta)
    np.testing.assert_array_equal(tensor, k)
    for i in range(2):
        assert rel(got[i], u) < 1e-10


@pytest.mark.parametrize("n", SIZES)
def test_advdiff_manufactured(n):
    u, ux, uy, uxx, uyy, uxy = manufactured(n)
    lam, phi = 0.35, 1.1
    k = (1 - lam) * diffusion_tensor(np.array([2.5]), np.array([0.7]))[0]
    t = f32(np.r_[k, lam * np.cos(phi), lam * np.sin(phi)])
    f = -(t[0] * uxx + t[1] * uyy + 2 * t[2] * uxy) + t[3] * ux + t[4] * uy
    got, psi = solve_advdiff_tensor(np.fft.rfft2(f[None]), t[None], n)
    assert rel(got[0], u) < 1e-10
    adv = t[3] * ux + t[4] * uy
    dif = t[0] * uxx + t[1] * uyy + 2 * t[2] * uxy
    assert psi[0] == pytest.approx(np.linalg.norm(adv) / np.linalg.norm(dif), rel=1e-10)


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("omega", [3.0, 7.5, -2.0])
def test_helmholtz_manufactured(n, omega):
    u, _, _, uxx, uyy, _ = manufactured(n)
    c = float(f32(0.01))
    f = -c * (uxx + uyy) - omega * u
    got, tensor, f_out = solve_helmholtz(f[None], np.array([omega]))
    assert rel(got[0], u) < 1e-10
    np.testing.assert_array_equal(f_out[0], f)  # no zero-symbol mode: f untouched
    assert tensor.tolist() == [[c, omega]]


def test_helmholtz_zero_symbol_modes_are_removed():
    # omega = 0: the constant mode has zero symbol, so it is dropped from f and u
    n = 32
    u, _, _, uxx, uyy, _ = manufactured(n)
    f = -float(f32(0.01)) * (uxx + uyy) + 5.0
    got, _, f_out = solve_helmholtz(f[None], np.array([0.0]))
    assert abs(f_out[0].mean()) < 1e-12
    assert rel(got[0], u) < 1e-10


@pytest.mark.parametrize("n", SIZES)
def test_gradient_axis_convention(n):
    u, ux, uy, *_ = manufactured(n)
    gx, gy = gradient(u[None])
    assert rel(gx[0], ux) < 1e-10 and rel(gy[0], uy) < 1e-10


def test_wavenumbers_match_seed_layout():
    k = wavenumbers(8)
    assert k.ky2[:, 0].tolist() == [0, 1, 4, 9, 16, 9, 4, 1]  # seed: 0..n/2, -n/2+1..-1
    assert k.kx2[0].tolist() == [0, 1, 4, 9, 16]
    assert k.kx[0, -1] == 0 and k.ky[4, 0] == 0  # odd powers vanish at Nyquist
    assert k.weight[0].tolist() == [1, 2, 2, 2, 1]


@pytest.mark.parametrize("n", [32, 128])
def test_advdiff_fast_path_matches_full_spectrum_solve(n):
    from sciml_tui.physics.sources import draw_amplitudes, lattice_source
    from sciml_tui.physics.systems import solve_advdiff

    rng = np.random.default_rng(5)
    f = lattice_source(draw_amplitudes(rng, np.full(16, 0.6)), n, remove_mean=True)
    e, th, ph = rng.uniform(1, 5, 16), rng.uniform(0, TP, 16), rng.uniform(0, TP, 16)
    target = rng.uniform(0.2, 5, 16)
    u, tensor, psi = solve_advdiff(f, e, th, ph, target)
    u_full, psi_full = solve_advdiff_tensor(np.fft.rfft2(f), tensor, n)
    assert np.abs(u - u_full).max() < 1e-12 * np.abs(u_full).max()
    assert np.abs(psi / psi_full - 1).max() < 1e-8
    assert np.abs(psi / target - 1).max() < 1e-5  # float32 coefficients bound the match
