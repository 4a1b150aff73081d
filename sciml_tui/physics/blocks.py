"""Random streams and the generation of one block of samples.

Determinism: a split is cut into blocks of ``BLOCK`` samples; block b draws from its own
generators, seeded by ``SeedSequence(entropy, spawn_key=(b,))``. So the arrays depend only on
the options (never on thread count or timing), and blocks can be computed in any order.

Two streams per block:
- *source* stream (bump on/off and amplitudes): entropy (seed, split, 1) plus, unless sources
  are paired, (system, range); so different ranges or systems never share source functions by
  accident, and ``paired_sources=True`` gives identical first-draw sources across them;
- *parameter* stream (e, theta, phi, psi target, omega, and SYS-3 redraws): entropy
  (seed, split, 2, system, range).
The grid size n is not part of either, so the same options at another n sample the same
functions on a finer or coarser grid (SYS-3 redraws aside).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from sciml_tui.errors import UserError
from sciml_tui.physics.limits import BLOCK
from sciml_tui.physics.sources import draw_amplitudes, lattice_source, vf_of_indices
from sciml_tui.physics.systems import solve_advdiff, solve_helmholtz, solve_poisson

GENERATOR_VERSION = "sciml-tui-gen/1"
SPLIT_CODES = {"train": 0, "val": 1, "test": 2}
SYSTEM_CODES = {"poisson": 1, "advdiff": 2, "helmholtz": 3}
ADVDIFF_E_RANGE = (1.0, 5.0)
HELMHOLTZ_MAX_ABS_U = 2.0
MAX_REDRAWS_PER_SAMPLE = 200  # give up on ranges where nearly every draw is rejected


@dataclass(frozen=True)
class SplitPlan:
    """Everything that determines the arrays of one split."""

    system: str
    lo: float
    hi: float
    n: int
    seed: int
    split: str
    count: int
    paired_sources: bool = False
    omega_integer: bool = True  # SYS-3 only: integer omega in {lo..hi}, else U[lo, hi)

    @property
    def num_blocks(self) -> int:
        return -(-self.count // BLOCK)


@dataclass
class BlockResult:
    start: int
    fields: np.ndarray  # (B, 2, n, n) float32: [f, u]
    tensor: np.ndarray  # (B, T) float32
    other: np.ndarray | None = None  # (B, 1) float32 realized psi (SYS-2)
    psi_target: np.ndarray | None = None  # (B, 1) float32 (SYS-2)
    rejections: Counter = field(default_factory=Counter)  # SYS-3: omega key -> count


def _bits(x: float) -> int:
    return int(np.float64(x).view(np.uint64))


def block_rngs(plan: SplitPlan, b: int) -> tuple[np.random.Generator, np.random.Generator]:
    base = [plan.seed, SPLIT_CODES[plan.split]]
    key = [SYSTEM_CODES[plan.system], _bits(plan.lo), _bits(plan.hi), int(plan.omega_integer)]
    src = base + [1] + ([] if plan.paired_sources else key)
    par = base + [2] + key
    mk = lambda ent: np.random.Generator(np.random.PCG64(np.random.SeedSequence(ent, spawn_key=(b,))))  # noqa: E731
    return mk(src), mk(par)


def omega_key(omega: float, integer: bool) -> str:
    """Rejection-count key: the integer omega, or its unit bin for float ranges."""
    if not np.isfinite(omega):
        return "non-finite"
    if integer:
        return str(int(round(omega)))
    k = int(np.floor(omega))
    return f"[{k},{k + 1})"


def omega_sort_key(key: str) -> float:
    """Order omega keys by value ("3", "[3,4)"); anything else last."""
    try:
        return float(key.strip("[)").split(",")[0])
    except ValueError:
        return float("inf")


def _draw_omega(rng: np.random.Generator, plan: SplitPlan, size: int) -> np.ndarray:
    if plan.omega_integer:
        return rng.integers(int(plan.lo), int(plan.hi) + 1, size=size).astype(np.float64)
    return rng.uniform(plan.lo, plan.hi, size=size)


def _pack(start: int, f: np.ndarray, u: np.ndarray, tensor: np.ndarray) -> BlockResult:
    fields = np.empty((f.shape[0], 2) + f.shape[1:], dtype=np.float32)
    fields[:, 0] = f
    fields[:, 1] = u
    return BlockResult(start=start, fields=fields, tensor=tensor.astype(np.float32))


def generate_block(plan: SplitPlan, b: int) -> BlockResult:
    """Samples [b*BLOCK, min((b+1)*BLOCK, count)) of the split, solved in float64."""
    start = b * BLOCK
    stop = min(start + BLOCK, plan.count)
    size = stop - start
    vf = vf_of_indices(plan.count, np.arange(start, stop))
    src, par = block_rngs(plan, b)
    amps = draw_amplitudes(src, vf)
    n = plan.n
    if plan.system == "poisson":
        e = par.uniform(plan.lo, plan.hi, size)
        theta = par.uniform(0.0, 2 * np.pi, size)
        f = lattice_source(amps, n, remove_mean=True)
        u, tensor = solve_poisson(f, e, theta)
        return _pack(start, f, u, tensor)
    if plan.system == "advdiff":
        e = par.uniform(*ADVDIFF_E_RANGE, size)
        theta = par.uniform(0.0, 2 * np.pi, size)
        phi = par.uniform(0.0, 2 * np.pi, size)
        target = par.uniform(plan.lo, plan.hi, size)
        f = lattice_source(amps, n, remove_mean=True)
        u, tensor, psi = solve_advdiff(f, e, theta, phi, target)
        res = _pack(start, f, u, tensor)
        res.other = psi.astype(np.float32)[:, None]
        res.psi_target = target.astype(np.float32)[:, None]
        return res
    if plan.system == "helmholtz":
        return _helmholtz_block(plan, start, vf, amps, par)
    raise ValueError(f"unknown system {plan.system!r}")


def _helmholtz_block(
    plan: SplitPlan, start: int, vf: np.ndarray, amps: np.ndarray, par: np.random.Generator
) -> BlockResult:
    """SYS-3 with the seed's rule: redraw source and omega while max|u| > 2."""
    n = plan.n
    omega = _draw_omega(par, plan, vf.shape[0])
    f = lattice_source(amps, n, remove_mean=False)
    u, tensor, f = solve_helmholtz(f, omega)
    rejections: Counter = Counter()
    bad = np.nonzero(np.abs(u).max(axis=(1, 2)) > HELMHOLTZ_MAX_ABS_U)[0]
    tries = 0
    while bad.size:
        rejections.update(omega_key(w, plan.omega_integer) for w in tensor[bad, 1])
        tries += bad.size
        if tries > MAX_REDRAWS_PER_SAMPLE * vf.shape[0]:
            raise UserError(
                f"helmholtz omega range [{plan.lo:g}, {plan.hi:g}]: nearly every draw has "
                f"max|u| > {HELMHOLTZ_MAX_ABS_U:g} (near resonance); choose another range"
            )
        om2 = _draw_omega(par, plan, bad.size)
        f2 = lattice_source(draw_amplitudes(par, vf[bad]), n, remove_mean=False)
        u2, t2, f2 = solve_helmholtz(f2, om2)
        f[bad], u[bad], tensor[bad] = f2, u2, t2
        bad = bad[np.abs(u2).max(axis=(1, 2)) > HELMHOLTZ_MAX_ABS_U]
    res = _pack(start, f, u, tensor)
    res.rejections = rejections
    return res
