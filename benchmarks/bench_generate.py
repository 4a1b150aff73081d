"""Data-generation throughput against the FFT floor, measured in the same run.

    python benchmarks/bench_generate.py            # each system at n = 128 and 64
    python benchmarks/bench_generate.py --full     # + a 32768-sample SYS-1 train split at 128^2

For each (system, n) it prints samples/s of
- ``compute``: the generator's blocks on the worker threads (sources, solve, float32 packing);
- ``to HDF5``: the whole ``generate_dataset`` call, file writing and hashing included;
- ``floor``: a batched forward + inverse real FFT (rfft2 + irfft2, numpy, float64) of the
  same block shape on the same thread pool: the least any exact spectral solve can cost;
and the ratio floor / generator (goal: within 3x). ``seed-style`` times the seed's per-sample
algorithm (144 full-grid exponentials + complex fft2 + ifft2) for reference.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from sciml_tui.physics import generate_dataset
from sciml_tui.physics.blocks import BLOCK, SplitPlan, generate_block
from sciml_tui.physics.generate import default_workers, keep_buffers_in_heap
from sciml_tui.physics.sources import CENTRES, SIGMA

RANGES = {"poisson": (1.0, 5.0), "advdiff": (0.2, 1.0), "helmholtz": (1.0, 10.0)}


def best_of(fn, repeats: int) -> float:
    fn()  # warm caches, threads, FFT plans
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def compute_rate(system: str, n: int, count: int, workers: int, repeats: int) -> float:
    plan = SplitPlan(system, *RANGES[system], n, 0, "train", count)

    def run() -> None:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(lambda b: generate_block(plan, b), range(plan.num_blocks)))

    return count / best_of(run, repeats)


def floor_rate(n: int, count: int, workers: int, repeats: int) -> float:
    blocks = [np.random.default_rng(i).random((BLOCK, n, n)) for i in range(-(-count // BLOCK))]

    def one(x: np.ndarray) -> np.ndarray:
        return np.fft.irfft2(np.fft.rfft2(x), s=(n, n))

    def run() -> None:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(one, blocks))

    return len(blocks) * BLOCK / best_of(run, repeats)


def file_rate(system: str, n: int, count: int, workers: int) -> float:
    with tempfile.TemporaryDirectory() as d:
        sizes = {"train": count, "val": 1, "test": 1}
        t0 = time.perf_counter()
        generate_dataset(system, *RANGES[system], n, sizes, 0, Path(d) / "ds", workers=workers)
        return (count + 2) / (time.perf_counter() - t0)


def seed_style_ms(n: int, samples: int = 8) -> float:
    """The seed's algorithm per sample: 144 exponentials over the grid, fft2, divide, ifft2."""
    x = np.arange(n) / n
    xg, yg = np.meshgrid(x, x)
    cx, cy = np.meshgrid(CENTRES, CENTRES)
    k = np.fft.fftfreq(n, 1.0 / n)
    kx, ky = np.meshgrid(k, k)
    sym = 0.01 * 4 * np.pi**2 * (kx**2 + 3 * ky**2)
    sym[0, 0] = 1.0
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    for _ in range(samples):
        p = rng.random(144) * (rng.random(144) > 0.4)
        f = sum(a * np.exp(-((xg - a1) ** 2 + (yg - a2) ** 2) / (2 * SIGMA**2))
                for a, a1, a2 in zip(p, cx.ravel(), cy.ravel()))
        f = f / f.max()
        f -= f.mean()
        np.real(np.fft.ifft2(np.fft.fft2(f) / sym))
    return (time.perf_counter() - t0) / samples * 1e3


FULL_CHILD = """
import json, resource, sys, time
from pathlib import Path
from sciml_tui.physics import generate_dataset
out, workers = Path(sys.argv[1]), int(sys.argv[2])
t0 = time.perf_counter()
s = generate_dataset("poisson", 1, 5, 128, {"train": 32768, "val": 64, "test": 64}, 0, out, workers=workers)
el = time.perf_counter() - t0
print(json.dumps({"elapsed_s": el, "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "train_bytes": (out / "train.h5").stat().st_size}))
"""


def full_split(workers: int) -> dict:
    with tempfile.TemporaryDirectory(dir=os.environ.get("SCIML_BENCH_TMP")) as d:
        out = subprocess.run([sys.executable, "-c", FULL_CHILD, str(Path(d) / "full"), str(workers)],
                             capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=1024, help="samples per measurement at n = 128 (x4 at 64)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workers", type=int, default=default_workers())
    ap.add_argument("--full", action="store_true", help="also time a 32768-sample SYS-1 split at 128^2")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    keep_buffers_in_heap()  # the same allocator settings for the floor and the generator

    rows = []
    for n in (128, 64):
        count = args.count * (128 // n) ** 2
        floor = floor_rate(n, count, args.workers, args.repeats)
        seed_ms = seed_style_ms(n)
        for system in RANGES:
            comp = compute_rate(system, n, count, args.workers, args.repeats)
            rows.append({"system": system, "n": n, "samples": count, "compute_per_s": comp,
                         "file_per_s": file_rate(system, n, count, args.workers),
                         "floor_per_s": floor, "ratio": floor / comp,
                         "seed_style_ms": seed_ms, "speedup_vs_seed_style": comp * seed_ms / 1e3})
    result = {"workers": args.workers, "rows": rows}
    if args.full:
        result["full_sys1_train_128"] = full_split(args.workers)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"workers: {args.workers} threads, numpy {np.__version__}")
    print(f"{'system':10s} {'n':>4s} {'compute/s':>10s} {'to HDF5/s':>10s} {'floor/s':>10s} "
          f"{'ratio':>6s} {'seed-style ms':>14s} {'speedup':>8s}")
    for r in rows:
        print(f"{r['system']:10s} {r['n']:4d} {r['compute_per_s']:10.0f} {r['file_per_s']:10.0f} "
              f"{r['floor_per_s']:10.0f} {r['ratio']:6.2f} {r['seed_style_ms']:14.2f} "
              f"{r['speedup_vs_seed_style']:7.0f}x")
    if args.full:
        f = result["full_sys1_train_128"]
        print(f"full SYS-1 split, 32768 (+128) samples at 128^2: {f['elapsed_s']:.1f} s, "
              f"peak RSS {f['peak_rss_mib']:.0f} MiB, train.h5 {f['train_bytes'] / 2**30:.2f} GiB")


if __name__ == "__main__":
    main()
