"""The seed's source term: a 12 x 12 lattice of Gaussian bumps with random sparse amplitudes.

Bump (iy, ix) sits at ``(c[ix], c[iy])`` with ``c = 0.5 + (j - 5.5) / 16``, j = 0..11
(0.15625 .. 0.84375), width sigma = 1/32: ``exp(-|x - c|^2 / (2 sigma^2))``. As in the seed
the bumps are not wrapped periodically (the nearest edge is 5 sigma away, exp(-12.5)).

The Gaussian is separable, so for an amplitude matrix ``A`` (12 x 12, rows = y index)
``f = G^T A G`` with ``G[j, i] = exp(-(i/n - c[j])^2 / (2 sigma^2))``: one small batched
matmul per block instead of 144 full-grid exponentials per sample.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

LATTICE = 12
SPACING = 1.0 / 16.0
SIGMA = 1.0 / 32.0
AMP_LO, AMP_HI = 1e-3, 1.0
VF_VALUES = (0.2, 0.4, 0.6, 0.8)

CENTRES = 0.5 + (np.arange(LATTICE) - (LATTICE - 1) / 2.0) * SPACING


@lru_cache(maxsize=16)
def gaussian_matrix(n: int) -> np.ndarray:
    """(12, n) float64: 1-D Gaussian profiles of the lattice rows/columns on the grid i/n."""
    x = np.arange(n) / n
    g = np.exp(-((x[None, :] - CENTRES[:, None]) ** 2) / (2.0 * SIGMA**2))
    g.setflags(write=False)
    return g


def vf_block_bounds(count: int) -> list[tuple[float, int, int]]:
    """The seed's sparsity blocks: [(vf, start, stop)]; the last block takes the remainder."""
    q = count // len(VF_VALUES)
    starts = [i * q for i in range(len(VF_VALUES))] + [count]
    return [(vf, starts[i], starts[i + 1]) for i, vf in enumerate(VF_VALUES)]


def vf_of_indices(count: int, idx: np.ndarray) -> np.ndarray:
    """vf of sample indices ``idx`` in a split of ``count`` samples."""
    q = count // len(VF_VALUES)
    starts = np.array([i * q for i in range(1, len(VF_VALUES))])
    return np.asarray(VF_VALUES)[np.searchsorted(starts, idx, side="right")]


def draw_amplitudes(rng: np.random.Generator, vf: np.ndarray) -> np.ndarray:
    """Amplitude matrices (B, 12, 12): each bump on with probability 1 - vf, then U[0.001, 1].

    A sample with no bump on gets one random bump switched on (the seed's rule).
    """
    vf = np.asarray(vf, dtype=np.float64)
    b = vf.shape[0]
    nb = LATTICE * LATTICE
    on = rng.random((b, nb)) > vf[:, None]
    amp = AMP_LO + (AMP_HI - AMP_LO) * rng.random((b, nb))
    fallback = rng.integers(0, nb, size=b)
    empty = ~on.any(axis=1)
    on[empty, fallback[empty]] = True
    return np.where(on, amp, 0.0).reshape(b, LATTICE, LATTICE)


def synthesize(amplitudes: np.ndarray, n: int) -> np.ndarray:
    """Un-normalized source fields (B, n, n) float64 (axis -2 = y) from amplitude matrices."""
    g = gaussian_matrix(n)
    return g.T @ amplitudes @ g


def lattice_source(amplitudes: np.ndarray, n: int, remove_mean: bool) -> np.ndarray:
    """The seed's f: synthesize, divide by the per-sample max, optionally subtract the mean."""
    f = synthesize(amplitudes, n)
    f /= f.max(axis=(1, 2), keepdims=True)
    if remove_mean:
        f -= f.mean(axis=(1, 2), keepdims=True)
    return f
