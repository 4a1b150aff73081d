"""Bounds on generation options and the resources a dataset needs, checked before any work.

Light on purpose (no numpy): spec validation uses the same rules without importing the solver.
"""

from __future__ import annotations

import math
import os
import shutil
from pathlib import Path
from typing import Optional

BLOCK = 64  # samples per generated block (the unit of work and of determinism)
MIN_N = 8
MAX_N = 1024
MAX_N_REASON = (f"a block of {BLOCK} samples at n={MAX_N} holds ~4 GiB of spectra while it is solved "
                f"and every sample takes 8 MiB on disk (the study uses n=128)")
MAX_SPLIT = 10_000_000
MAX_SPLIT_REASON = "more samples than any training run of the study reads (it uses at most 32768)"
TENSOR_WIDTH = {"poisson": 3, "advdiff": 5, "helmholtz": 2}  # coefficients per sample
# Peak bytes per grid point and sample while a block is solved (measured with tracemalloc:
# 37-51 across the systems at n=64..128), rounded up to leave room for the finished block.
BLOCK_BYTES_PER_POINT = 64
FILE_OVERHEAD = 64 << 10  # HDF5 metadata and attributes per file (a few KiB), with room to spare


def grid_problem(n: object) -> Optional[str]:
    if isinstance(n, bool) or not isinstance(n, int) or n < MIN_N:
        return f"grid size n must be an even integer >= {MIN_N}, got {n!r}"
    if n % 2:
        return "n must be even (the spectral grid has n/2 positive wavenumbers)"
    if n > MAX_N:
        return f"grid size n={n} is above the limit of {MAX_N}: {MAX_N_REASON}"
    return None


def split_problem(split: str, count: object) -> Optional[str]:
    if isinstance(count, bool) or not isinstance(count, int) or count <= 0:
        return f"{split} size must be a positive integer, got {count!r}"
    if count > MAX_SPLIT:
        return f"{split} size {count} is above the limit of {MAX_SPLIT}: {MAX_SPLIT_REASON}"
    return None


def range_problem(system: str, lo: float, hi: float) -> Optional[str]:
    """Why [lo, hi] is no valid parameter range of `system` (canonical name), or None."""
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in (lo, hi)):
        return f"range ends must be finite numbers, got {lo!r}:{hi!r}"
    if lo > hi:
        return f"range {lo:g}:{hi:g} is reversed: the low end must be <= the high end"
    if system == "poisson" and lo <= 0:
        return f"poisson e range must be positive (K must stay positive definite), got {lo:g}:{hi:g}"
    if system == "advdiff" and lo < 0:
        return f"advdiff psi range must be >= 0, got {lo:g}:{hi:g}"
    return None


def sample_bytes(system: str, n: int) -> int:
    """Bytes one sample takes in a split file: fields, coefficients, f_measure (+ psi for advdiff)."""
    return 2 * n * n * 4 + TENSOR_WIDTH[system] * 4 + 8 + (8 if system == "advdiff" else 0)


def dataset_bytes(system: str, n: int, sizes: dict[str, int]) -> int:
    return sum(sample_bytes(system, n) * count + FILE_OVERHEAD for count in sizes.values())


def block_bytes(n: int) -> int:
    return BLOCK * n * n * BLOCK_BYTES_PER_POINT


def fmt_bytes(b: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if b < 1024 or unit == "TiB":
            return f"{b:.0f} {unit}" if unit == "B" else f"{b:.1f} {unit}"
        b /= 1024
    return f"{b:.1f} TiB"


def available_memory() -> Optional[int]:
    """MemAvailable from /proc/meminfo in bytes (None where there is no such file)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def workers_that_fit(n: int, workers: int, available: Optional[int]) -> int:
    """How many worker threads fit in memory (each solves one block while two wait per worker);
    0 when not even one does. `available` None: memory unknown, all of them."""
    if available is None:
        return workers
    per_worker = 2 * block_bytes(n)
    return max(0, min(workers, available // per_worker))


def free_disk(folder: Path) -> Optional[int]:
    """Free bytes on the filesystem holding `folder` (or its nearest existing parent)."""
    probe = Path(folder)
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        return shutil.disk_usage(probe).free
    except OSError:
        return None


def disk_problem(out_dir: Path, system: str, n: int, sizes: dict[str, int]) -> Optional[str]:
    need = dataset_bytes(system, n, sizes)
    free = free_disk(out_dir)
    if free is not None and need > free:
        return (f"the dataset needs about {fmt_bytes(need)} on the filesystem of {out_dir}, which has "
                f"{fmt_bytes(free)} free: free some space, choose another --out folder or fewer samples")
    return None


def error_reason(exc: OSError) -> str:
    """A short reason for a failed write: the errno text, else the first line of the message."""
    if exc.errno:
        return os.strerror(exc.errno)
    text = str(exc)
    for marker in ("No space left on device", "Read-only file system", "Disk quota exceeded"):
        if marker in text:
            return marker
    return text.splitlines()[0][:200] if text else type(exc).__name__
