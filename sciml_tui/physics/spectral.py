"""Fourier machinery on the n x n periodic unit square.

Conventions (the seed's, from its ``np.meshgrid(x, y)`` grids):

- grid points are ``i / n``, ``i = 0..n-1``; a field ``u`` has shape ``(..., n, n)`` with
  **array axis -2 = y and axis -1 = x**, so ``u[..., j, i] = u(x=i/n, y=j/n)``;
- transforms are ``np.fft.rfft2`` over the last two axes: the half spectrum runs along x
  (``kx = 0..n/2``), the full spectrum along y (``ky = 0..n/2-1, -n/2..-1`` as ``fftfreq``);
- d/dx multiplies by ``2 pi i kx``; d2/dx2 by ``-(2 pi)^2 kx^2``.

Nyquist modes: even powers use ``k = n/2``; odd powers (first derivatives, the mixed
``kx ky`` term) use ``k = 0`` there, so every symbol is Hermitian and the solution of a real
problem is exactly real. The seed used ``+n/2`` and took the real part afterwards; the two
differ only on Nyquist modes, where the Gaussian source carries below 1e-30 of its energy at
n = 128.

The unified operator ``L u = -div(D grad u) + a . grad u - omega u`` covers every system:
its symbol is ``4 pi^2 (D11 kx^2 + D22 ky^2 + 2 D12 kx ky) + 2 pi i (a1 kx + a2 ky) - omega``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

TWO_PI = 2.0 * np.pi
FOUR_PI2 = 4.0 * np.pi**2


@dataclass(frozen=True)
class Wavenumbers:
    """Integer wavenumbers broadcastable against an rfft2 spectrum of shape (n, n//2 + 1)."""

    n: int
    kx2: np.ndarray  # (1, m) float64, kx^2 with Nyquist n/2
    ky2: np.ndarray  # (n, 1)
    kx: np.ndarray  # (1, m) odd-power wavenumber, 0 at Nyquist
    ky: np.ndarray  # (n, 1)
    weight: np.ndarray  # (1, m) Parseval weights of the half spectrum (1 or 2)


@lru_cache(maxsize=16)
def wavenumbers(n: int) -> Wavenumbers:
    if n < 2 or n % 2:
        raise ValueError(f"grid size must be even and >= 2, got {n}")
    ky_full = np.fft.fftfreq(n, d=1.0 / n)  # 0..n/2-1, -n/2..-1
    kx_full = np.arange(n // 2 + 1, dtype=np.float64)
    ky_odd = ky_full.copy()
    ky_odd[n // 2] = 0.0
    kx_odd = kx_full.copy()
    kx_odd[n // 2] = 0.0
    weight = np.full(n // 2 + 1, 2.0)
    weight[0] = weight[n // 2] = 1.0
    arrays = dict(
        kx2=(kx_full**2)[None, :],
        ky2=(ky_full**2)[:, None],
        kx=kx_odd[None, :],
        ky=ky_odd[:, None],
        weight=weight[None, :],
    )
    for a in arrays.values():
        a.setflags(write=False)
    return Wavenumbers(n=n, **arrays)


def _col(c: np.ndarray | float) -> np.ndarray:
    """Per-sample coefficients (B,) -> (B, 1, 1) for broadcasting over a spectrum."""
    return np.asarray(c, dtype=np.float64).reshape(-1, 1, 1)


@lru_cache(maxsize=16)
def symbol_basis(n: int) -> np.ndarray:
    """(6, n * (n//2+1)) complex128: the symbol of each union term with unit coefficient,
    [D11, D22, D12, a1, a2, omega] -> [4pi^2 kx^2, 4pi^2 ky^2, 8pi^2 kx ky, 2pi i kx,
    2pi i ky, -1]. A batch of symbols is one small matmul: ``coeffs (B, 6) @ basis``."""
    k = wavenumbers(n)
    shape = (n, n // 2 + 1)
    flat = [np.broadcast_to(a, shape).ravel() for a in (k.kx2, k.ky2, k.kx * k.ky, k.kx, k.ky)]
    basis = np.empty((6, flat[0].size), dtype=np.complex128)
    basis[0], basis[1], basis[2] = FOUR_PI2 * flat[0], FOUR_PI2 * flat[1], 2 * FOUR_PI2 * flat[2]
    basis[3], basis[4] = 1j * TWO_PI * flat[3], 1j * TWO_PI * flat[4]
    basis[5] = -1.0
    basis.setflags(write=False)
    return basis


def combine(coeffs: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """coeffs (B, K) @ basis (K, M) for small K. einsum's loop: BLAS gemm with K = 2 or 3
    was 10x slower here."""
    return np.einsum("bk,km->bm", coeffs, basis)


@lru_cache(maxsize=16)
def real_symbol_bases(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Contiguous float64 copies of the diffusion rows (3, M) and advection rows / i (2, M)."""
    b = symbol_basis(n)
    d, a = np.ascontiguousarray(b[:3].real), np.ascontiguousarray(b[3:5].imag)
    d.setflags(write=False)
    a.setflags(write=False)
    return d, a


def diffusion_symbol(n: int, d11, d22, d12) -> np.ndarray:
    """Symbol of ``-div(D grad .)``: (B, n, n//2+1) float64, >= 0 for D positive definite."""
    c = np.stack([np.ravel(d11), np.ravel(d22), np.ravel(d12)], axis=1).astype(np.float64)
    return combine(c, real_symbol_bases(n)[0]).reshape(c.shape[0], n, n // 2 + 1)


def advection_symbol(n: int, a1, a2) -> np.ndarray:
    """Imaginary part / i of the symbol of ``a . grad``: (B, n, n//2+1) float64."""
    c = np.stack([np.ravel(a1), np.ravel(a2)], axis=1).astype(np.float64)
    return combine(c, real_symbol_bases(n)[1]).reshape(c.shape[0], n, n // 2 + 1)


def operator_symbol(n: int, coeffs: np.ndarray) -> np.ndarray:
    """Symbol of the unified operator for per-sample union coefficients.

    ``coeffs``: (B, 6) = [D11, D22, D12, a1, a2, omega]. Returns (B, n, n//2+1) complex128.
    """
    c = np.asarray(coeffs, dtype=np.float64)
    d, a = real_symbol_bases(n)
    sym = np.empty((c.shape[0], d.shape[1]), dtype=np.complex128)
    sym.real = combine(c[:, :3], d)
    sym.real -= c[:, 5:6]
    sym.imag = combine(c[:, 3:5], a)
    return sym.reshape(c.shape[0], n, n // 2 + 1)


def union_coefficients(system: str, tensor: np.ndarray) -> np.ndarray:
    """Map a stored ``tensor`` (N, T) of a system to union coefficients (N, 6)."""
    t = np.asarray(tensor, dtype=np.float64)
    out = np.zeros((t.shape[0], 6))
    if system == "poisson":
        out[:, 0:3] = t[:, 0:3]
    elif system == "advdiff":
        out[:, 0:5] = t[:, 0:5]
    elif system == "helmholtz":
        out[:, 0] = out[:, 1] = t[:, 0]
        out[:, 5] = t[:, 1]
    else:
        raise ValueError(f"unknown system {system!r}")
    return out


def apply_operator(u: np.ndarray, coeffs: np.ndarray) -> np.ndarray:
    """``L u`` for fields u (B, n, n) (any float dtype, computed in float64)."""
    u = np.asarray(u, dtype=np.float64)
    n = u.shape[-1]
    return np.fft.irfft2(operator_symbol(n, coeffs) * np.fft.rfft2(u), s=(n, n))


def gradient(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Spectral (du/dx, du/dy) of fields (B, n, n)."""
    u = np.asarray(u, dtype=np.float64)
    n = u.shape[-1]
    k = wavenumbers(n)
    uh = np.fft.rfft2(u)
    ux = np.fft.irfft2(1j * TWO_PI * k.kx * uh, s=(n, n))
    uy = np.fft.irfft2(1j * TWO_PI * k.ky * uh, s=(n, n))
    return ux, uy
