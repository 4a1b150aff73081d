"""The three systems, solved exactly in Fourier space, batched (float64 throughout).

Each solver takes sources ``f`` (B, n, n) and per-sample parameters and returns the solution
``u`` (B, n, n) together with the stored coefficient ``tensor`` (B, T). Coefficients are
rounded to float32 *before* the solve, so the stored float32 tensor describes exactly the
problem that was solved.

- SYS-1 ``poisson``:   -div(K grad u) = f,  K = 0.01 R(theta)^T diag(1, e) R(theta);
  tensor = [K11, K22, K12].
- SYS-2 ``advdiff``:   -div((1-lam) K grad u) + lam v . grad u = f, v = (cos phi, sin phi);
  tensor = [(1-lam) K11, (1-lam) K22, (1-lam) K12, lam v1, lam v2]; lam chosen per sample
  so that psi = ||lam v.grad u|| / ||(1-lam) div(K grad u)|| hits its target.
- SYS-3 ``helmholtz``: -0.01 laplace(u) - omega u = f; tensor = [0.01, omega].
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from sciml_tui.physics.limits import TENSOR_WIDTH  # noqa: F401  (re-exported)
from sciml_tui.physics.sources import SIGMA
from sciml_tui.physics.spectral import (
    FOUR_PI2,
    advection_symbol,
    combine,
    diffusion_symbol,
    operator_symbol,
    real_symbol_bases,
    wavenumbers,
)

DIFF_SCALE = 0.01
SYSTEMS = ("poisson", "advdiff", "helmholtz")
PARAMETER = {"poisson": "e", "advdiff": "psi", "helmholtz": "omega"}


def _f32(a: np.ndarray) -> np.ndarray:
    return np.asarray(a, dtype=np.float64).astype(np.float32).astype(np.float64)


def diffusion_tensor(e: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """(B, 3) [K11, K22, K12] of 0.01 R(theta)^T diag(1, e) R(theta) (the seed's order)."""
    c, s = np.cos(theta), np.sin(theta)
    k11 = c * c + e * s * s
    k22 = s * s + e * c * c
    k12 = (e - 1.0) * s * c
    return DIFF_SCALE * np.stack([k11, k22, k12], axis=1)


def _divide_real(f_hat: np.ndarray, sym: np.ndarray) -> np.ndarray:
    """f_hat / sym for a real symbol, in place (numpy's mixed complex / real division casts
    the real array to complex first, twice as slow); sym = inf gives 0."""
    f_hat.real /= sym
    f_hat.imag /= sym
    return f_hat


def solve_poisson(f: np.ndarray, e: np.ndarray, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """SYS-1 on mean-free sources f (B, n, n). Returns (u, tensor (B, 3))."""
    n = f.shape[-1]
    tensor = _f32(diffusion_tensor(e, theta))
    sym = diffusion_symbol(n, tensor[:, 0], tensor[:, 1], tensor[:, 2])
    sym[:, 0, 0] = np.inf  # K positive definite: only the mean mode has zero symbol; u_hat = 0
    return np.fft.irfft2(_divide_real(np.fft.rfft2(f), sym), s=(n, n)), tensor


@lru_cache(maxsize=16)
def _psi_modes(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Flat indices of the half-spectrum modes that carry the source's energy (Gaussian
    envelope above 1e-10, |k| <= 24; the mean mode excluded) and their Parseval weights.
    The other modes change psi by < 1e-9 relative (measured), below float32 resolution,
    so the lam search and the stored psi use only these."""
    k = wavenumbers(n)
    k2 = np.broadcast_to(k.kx2 + k.ky2, (n, n // 2 + 1))
    keep = np.exp(-((2 * np.pi * SIGMA) ** 2) * k2) > 1e-10
    keep[0, 0] = False
    idx = np.flatnonzero(keep)
    weight = np.broadcast_to(k.weight, keep.shape).ravel()[idx]
    return idx, weight


@lru_cache(maxsize=16)
def _low_modes(n: int) -> np.ndarray:
    """Positions, within the kept modes, of those with |k| <= 16."""
    idx, _ = _psi_modes(n)
    k = wavenumbers(n)
    k2 = np.broadcast_to(k.kx2 + k.ky2, (n, n // 2 + 1)).ravel()[idx]
    return np.flatnonzero(k2 <= 256)


@lru_cache(maxsize=16)
def _psi_bases(n: int) -> tuple[np.ndarray, np.ndarray]:
    idx, _ = _psi_modes(n)
    d, a = real_symbol_bases(n)
    return np.ascontiguousarray(d[:, idx]), np.ascontiguousarray(a[:, idx])


def lam_ratio_for_psi(
    w: np.ndarray, dsym: np.ndarray, asym: np.ndarray, target: np.ndarray,
    rtol: float = 1e-12, max_iter: int = 60, s0: np.ndarray | None = None,
) -> np.ndarray:
    """Per-sample s = (lam / (1 - lam))^2 giving psi = target, from the spectrum (Parseval).

    With u_hat = f_hat / ((1-lam)(D + i t A)), t = lam / (1-lam), and weights w = |f_hat|^2:
    psi^2(s) = W / M(s) - 1 with M(s) = sum w D^2 / (D^2 + s A^2), W = sum w. The map
    s -> psi^2 is increasing and concave (1/M is a parallel sum of linear functions), so
    Newton from s = 0 climbs monotonically to the root without overshooting (7-9 steps);
    from any other start ``s0`` the first step lands left of the root (the tangent of a
    concave function lies above it) and the climb continues from there.
    Arrays: w, dsym, asym (B, M) float64 over the kept modes; target (B,).
    """
    d2 = dsym * dsym
    a2 = asym * asym
    wd2 = w * d2
    big_w = w.sum(axis=1)
    goal = np.asarray(target, dtype=np.float64) ** 2
    s = np.zeros_like(goal) if s0 is None else np.array(s0, dtype=np.float64)
    for _ in range(max_iter):
        denom = d2 + s[:, None] * a2
        q = wd2 / denom
        m = q.sum(axis=1)
        q *= a2
        q /= denom
        dm = q.sum(axis=1)  # = -M'(s)
        g = big_w / m - 1.0 - goal
        gp = big_w * dm / (m * m)
        if np.any((gp <= 0) & (goal > 0)):
            raise ValueError("advection has no effect on this source: psi cannot be reached")
        step = np.where(goal > 0, -g / np.where(gp > 0, gp, 1.0), 0.0)
        s = np.maximum(s + step, 0.0)
        if np.all(np.abs(step) <= rtol * s):
            break
    return s


def psi_from_power(power: np.ndarray, dsym: np.ndarray, asym: np.ndarray) -> np.ndarray:
    """psi = ||a.grad u|| / ||div(D grad u)|| from |f_hat|^2 (Parseval-weighted) and the
    diffusion / advection symbols of the stored coefficients; arrays (B, M)."""
    p = power / (dsym * dsym + asym * asym)
    adv = np.einsum("bm,bm,bm->b", p, asym, asym)
    dif = np.einsum("bm,bm,bm->b", p, dsym, dsym)
    return np.sqrt(adv / np.where(dif > 0, dif, 1.0))


def solve_advdiff(
    f: np.ndarray, e: np.ndarray, theta: np.ndarray, phi: np.ndarray, psi_target: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SYS-2 on mean-free sources f (B, n, n). Returns (u, tensor (B, 5), realized psi (B,))."""
    n = f.shape[-1]
    b = f.shape[0]
    k_unit = diffusion_tensor(e, theta)
    v = np.stack([np.cos(phi), np.sin(phi)], axis=1)
    f_hat = np.fft.rfft2(f)
    idx, weight = _psi_modes(n)
    fk = f_hat.reshape(b, -1)[:, idx]
    power = (fk.real**2 + fk.imag**2) * weight
    dbasis, abasis = _psi_bases(n)
    dsym, asym = combine(k_unit, dbasis), combine(v, abasis)
    # start from the root on the low modes (|k| <= 16 hold all but ~1e-4 of psi): the
    # full search then needs 2-3 steps instead of 7-9
    low = _low_modes(n)
    s0 = lam_ratio_for_psi(power[:, low], dsym[:, low], asym[:, low], psi_target, rtol=1e-6)
    s = lam_ratio_for_psi(power, dsym, asym, psi_target, s0=s0)
    t = np.sqrt(s)
    lam = t / (1.0 + t)
    tensor = _f32(np.concatenate([(1.0 - lam)[:, None] * k_unit, lam[:, None] * v], axis=1))
    psi = psi_from_power(power, combine(tensor[:, :3], dbasis), combine(tensor[:, 3:], abasis))
    return _solve_complex(f_hat, tensor, n), tensor, psi


def _solve_complex(f_hat: np.ndarray, tensor: np.ndarray, n: int) -> np.ndarray:
    """irfft2(f_hat / symbol) for SYS-2 coefficients (B, 5); the mean mode of u is zero."""
    union = np.zeros((tensor.shape[0], 6))
    union[:, :5] = tensor
    sym = operator_symbol(n, union)
    sym[:, 0, 0] = 1.0
    f_hat[:, 0, 0] = 0.0
    np.divide(f_hat, sym, out=f_hat)
    return np.fft.irfft2(f_hat, s=(n, n))


def solve_advdiff_tensor(
    f_hat: np.ndarray, tensor: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Solve SYS-2 for given coefficients (B, 5) from the rfft2 of mean-free sources
    (overwritten). Returns (u (B, n, n), psi (B,) measured over the full spectrum)."""
    b = f_hat.shape[0]
    power = (f_hat.real**2 + f_hat.imag**2) * wavenumbers(n).weight
    power[:, 0, 0] = 0.0
    dsym = diffusion_symbol(n, tensor[:, 0], tensor[:, 1], tensor[:, 2]).reshape(b, -1)
    asym = advection_symbol(n, tensor[:, 3], tensor[:, 4]).reshape(b, -1)
    dsym[:, 0] = 1.0
    psi = psi_from_power(power.reshape(b, -1), dsym, asym)
    return _solve_complex(f_hat, tensor, n), psi


@lru_cache(maxsize=16)
def _laplace_symbol(n: int) -> np.ndarray:
    """(n, n//2+1): 0.01 (float32-rounded) * 4 pi^2 |k|^2, the symbol of -0.01 laplace."""
    kw = wavenumbers(n)
    sym = FOUR_PI2 * float(_f32(DIFF_SCALE)) * (kw.kx2 + kw.ky2)
    sym.setflags(write=False)
    return sym


def solve_helmholtz(
    f: np.ndarray, omega: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SYS-3: -0.01 laplace(u) - omega u = f on sources f (B, n, n).

    Modes where the symbol is zero are removed from f as well (as in the seed).
    Returns (u, tensor (B, 2), f) where f is the input with those modes removed.
    """
    n = f.shape[-1]
    omega = _f32(omega)
    lap = _laplace_symbol(n)
    sym = lap[None] - omega.reshape(-1, 1, 1)
    f_hat = np.fft.rfft2(f)
    resonant = np.isin(omega, lap)  # a symbol is exactly zero only where omega equals it
    if resonant.any():
        zero = sym == 0
        f_hat[zero] = 0.0
        sym[zero] = np.inf
        f = f.copy()
        f[resonant] = np.fft.irfft2(f_hat[resonant], s=(n, n))
    u = np.fft.irfft2(_divide_real(f_hat, sym), s=(n, n))
    tensor = np.stack([np.full(omega.shape[0], float(_f32(DIFF_SCALE))), omega], axis=1)
    return u, tensor, f
