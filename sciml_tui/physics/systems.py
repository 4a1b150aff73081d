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

import numpy as np

from sciml_tui.physics.sources import SIGMA
from sciml_tui.physics.spectral import (
    FOUR_PI2,
    advection_symbol,
    diffusion_symbol,
    wavenumbers,
)

DIFF_SCALE = 0.01
SYSTEMS = ("poisson", "advdiff", "helmholtz")
TENSOR_WIDTH = {"poisson": 3, "advdiff": 5, "helmholtz": 2}
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


def _inverse_irfft(f_hat: np.ndarray, sym: np.ndarray, n: int) -> np.ndarray:
    """irfft2(f_hat / sym) with modes of zero symbol set to zero."""
    zero = sym == 0
    u_hat = f_hat / np.where(zero, 1.0, sym)
    u_hat[zero] = 0.0
    return np.fft.irfft2(u_hat, s=(n, n))


def solve_poisson(f: np.ndarray, e: np.ndarray, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """SYS-1 on mean-free sources f (B, n, n). Returns (u, tensor (B, 3))."""
    n = f.shape[-1]
    tensor = _f32(diffusion_tensor(e, theta))
    sym = diffusion_symbol(n, tensor[:, 0], tensor[:, 1], tensor[:, 2])
    return _inverse_irfft(np.fft.rfft2(f), sym, n), tensor


def _psi_mode_mask(n: int) -> np.ndarray:
    """Modes that carry the source's energy (Gaussian envelope above 1e-16); the rest add
    less than 1e-12 to psi and are left out of the lam search (not out of the solve)."""
    k = wavenumbers(n)
    k2 = k.kx2 + k.ky2
    mask = np.exp(-((2 * np.pi * SIGMA) ** 2) * k2) > 1e-16
    mask[0, 0] = False
    return np.broadcast_to(mask, (n, n // 2 + 1))


def lam_ratio_for_psi(
    w: np.ndarray, dsym: np.ndarray, asym: np.ndarray, target: np.ndarray,
    rtol: float = 1e-12, max_iter: int = 60,
) -> np.ndarray:
    """Per-sample s = (lam / (1 - lam))^2 giving psi = target, from the spectrum (Parseval).

    With u_hat = f_hat / ((1-lam)(D + i t A)), t = lam / (1-lam), and weights w = |f_hat|^2:
    psi^2(s) = W / M(s) - 1 with M(s) = sum w D^2 / (D^2 + s A^2), W = sum w. The map
    s -> psi^2 is increasing and concave (1/M is a parallel sum of linear functions), so
    Newton from s = 0 climbs monotonically to the root without overshooting.
    Arrays: w, dsym, asym (B, M) float64 over the kept modes; target (B,).
    """
    d2 = dsym * dsym
    a2 = asym * asym
    wd2 = w * d2
    big_w = w.sum(axis=1)
    goal = target.astype(np.float64) ** 2
    s = np.zeros_like(goal)
    active = goal > 0
    for _ in range(max_iter):
        if not active.any():
            break
        idx = np.nonzero(active)[0]
        denom = d2[idx] + s[idx, None] * a2[idx]
        q = wd2[idx] / denom
        m = q.sum(axis=1)
        dm = (q * a2[idx] / denom).sum(axis=1)  # = -M'(s)
        g = big_w[idx] / m - 1.0 - goal[idx]
        gp = big_w[idx] * dm / (m * m)
        if np.any(gp <= 0):
            raise ValueError("advection has no effect on this source: psi cannot be reached")
        step = -g / gp
        s[idx] = s[idx] + step
        active[idx] = np.abs(step) > rtol * np.maximum(s[idx], 1e-300)
    return s


def solve_advdiff(
    f: np.ndarray, e: np.ndarray, theta: np.ndarray, phi: np.ndarray, psi_target: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SYS-2 on mean-free sources f (B, n, n). Returns (u, tensor (B, 5), realized psi (B,))."""
    n = f.shape[-1]
    k_unit = diffusion_tensor(e, theta)
    v = np.stack([np.cos(phi), np.sin(phi)], axis=1)
    f_hat = np.fft.rfft2(f)
    dsym = diffusion_symbol(n, k_unit[:, 0], k_unit[:, 1], k_unit[:, 2])
    asym = advection_symbol(n, v[:, 0], v[:, 1])
    power = (f_hat.real**2 + f_hat.imag**2) * wavenumbers(n).weight
    mask = _psi_mode_mask(n)
    s = lam_ratio_for_psi(
        power[:, mask], dsym[:, mask], asym[:, mask], np.asarray(psi_target, dtype=np.float64)
    )
    t = np.sqrt(s)
    lam = t / (1.0 + t)
    tensor = _f32(np.concatenate([(1.0 - lam)[:, None] * k_unit, lam[:, None] * v], axis=1))
    u, psi = solve_advdiff_tensor(f_hat, tensor, n)
    return u, tensor, psi


def solve_advdiff_tensor(
    f_hat: np.ndarray, tensor: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Solve SYS-2 for given stored coefficients (B, 5) from the rfft2 of mean-free sources.

    Returns (u (B, n, n), realized psi (B,)); psi is measured over the full spectrum.
    """
    dsym = diffusion_symbol(n, tensor[:, 0], tensor[:, 1], tensor[:, 2])
    asym = advection_symbol(n, tensor[:, 3], tensor[:, 4])
    zero = (dsym == 0) & (asym == 0)
    u_hat = f_hat / np.where(zero, 1.0, dsym + 1j * asym)
    u_hat[zero] = 0.0
    p = (u_hat.real**2 + u_hat.imag**2) * wavenumbers(n).weight
    adv = np.einsum("bij,bij->b", p, asym * asym)
    dif = np.einsum("bij,bij->b", p, dsym * dsym)
    psi = np.sqrt(adv / np.where(dif > 0, dif, 1.0))
    return np.fft.irfft2(u_hat, s=(n, n)), psi


def solve_helmholtz(
    f: np.ndarray, omega: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SYS-3: -0.01 laplace(u) - omega u = f on sources f (B, n, n).

    Modes where the symbol is zero are removed from f as well (as in the seed).
    Returns (u, tensor (B, 2), f) where f is the input with those modes removed.
    """
    n = f.shape[-1]
    b = f.shape[0]
    omega = _f32(omega)
    kw = wavenumbers(n)
    c = float(_f32(DIFF_SCALE))
    sym = FOUR_PI2 * c * (kw.kx2 + kw.ky2)[None] - omega.reshape(-1, 1, 1)
    f_hat = np.fft.rfft2(f)
    zero = sym == 0
    if zero.any():
        f_hat[zero] = 0.0
        rows = zero.any(axis=(1, 2))
        f = f.copy()
        f[rows] = np.fft.irfft2(f_hat[rows], s=(n, n))
    u = _inverse_irfft(f_hat, sym, n)
    tensor = np.stack([np.full(b, c), omega], axis=1)
    return u, tensor, f
