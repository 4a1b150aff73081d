"""`generate_dataset`: validate options, compute blocks on worker threads, stream to HDF5.

numpy's FFTs and matmuls release the GIL, so a small thread pool computes blocks in parallel
while the calling thread writes finished blocks in order. Peak memory is a few blocks
(~100 MB at 128^2), whatever the split size. All three splits are written to hidden temp
files beside the targets and renamed only when every split is complete, so an interrupt
(Ctrl-C, SIGTERM through a StopRequest, an exception in ``progress``) or a full disk leaves no
file under a final name, nor a temp file. Before any work the options are bounded
(``physics.limits``), the free disk is compared with the dataset's size, the worker count is
fitted to the available memory, and each temp file reserves its size on disk.
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
import time
from collections import Counter, deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

from sciml_tui.atomic import shared_file_mode
from sciml_tui.errors import UserError
from sciml_tui.physics.limits import (
    BLOCK,
    FILE_OVERHEAD,
    available_memory,
    block_bytes,
    disk_problem,
    error_reason,
    fmt_bytes,
    grid_problem,
    range_problem,
    sample_bytes,
    split_problem,
    workers_that_fit,
)
from sciml_tui.physics.blocks import (
    ADVDIFF_E_RANGE,
    GENERATOR_VERSION,
    SplitPlan,
    generate_block,
    omega_sort_key,
)
from sciml_tui.physics.sources import vf_block_bounds
from sciml_tui.physics.stop import StopRequest
from sciml_tui.physics.systems import PARAMETER, SYSTEMS, TENSOR_WIDTH

SPLITS = ("train", "val", "test")
ALIASES = {
    "poisson": "poisson", "sys1": "poisson", "sys-1": "poisson", "diffusion": "poisson",
    "advdiff": "advdiff", "sys2": "advdiff", "sys-2": "advdiff", "advection-diffusion": "advdiff",
    "helmholtz": "helmholtz", "sys3": "helmholtz", "sys-3": "helmholtz",
}


_HEAP_TUNED = False


def keep_buffers_in_heap() -> None:
    """Ask glibc to keep freed multi-MB buffers in the heap instead of unmapping them.

    Every block allocates a few 4-8 MB temporaries (spectra, symbols); by default glibc hands
    such blocks back to the OS on free and page-faults them in again on the next block, which
    costs more than the arithmetic. Process-wide and best effort (glibc only); the working
    set stays bounded, so the heap does not grow with the dataset.
    """
    global _HEAP_TUNED
    if _HEAP_TUNED:
        return
    _HEAP_TUNED = True
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        libc.mallopt(m_mmap_threshold, 32 * 1024 * 1024)  # glibc's maximum on 64-bit
        libc.mallopt(m_trim_threshold, 1024 * 1024 * 1024)
    except (OSError, AttributeError):
        pass


def default_workers() -> int:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 8))


def normalize_system(system: str) -> str:
    key = str(system).strip().lower()
    if key not in ALIASES:
        raise UserError(f"unknown system {system!r}: choose one of {', '.join(SYSTEMS)}")
    return ALIASES[key]


def validate_options(
    system: str, lo: float, hi: float, n: int, sizes: dict[str, int], seed: int,
    out_dir: Path, overwrite: bool,
) -> str:
    """Check every option, and the free disk, before anything is written; returns the
    canonical system name."""
    system = normalize_system(system)
    problem = range_problem(system, lo, hi) or grid_problem(n)
    if problem:
        raise UserError(problem)
    unknown = set(sizes) - set(SPLITS)
    if unknown:
        raise UserError(f"unknown split(s) {sorted(unknown)}: sizes take train, val, test")
    for split in SPLITS:
        problem = split_problem(split, sizes.get(split))
        if problem:
            raise UserError(problem)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise UserError(f"seed must be a non-negative integer, got {seed!r}")
    _check_output(Path(out_dir), overwrite)
    problem = disk_problem(Path(out_dir), system, n, sizes)
    if problem:
        raise UserError(problem)
    return system


def _check_output(out_dir: Path, overwrite: bool) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"output {out_dir} exists and is not a folder")
    for split in SPLITS:
        target = out_dir / f"{split}.h5"
        if target.exists() and not overwrite:
            raise UserError(f"{target} already exists (use --overwrite to replace it)")
    probe = out_dir
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise UserError(f"output folder {out_dir} cannot be created: {probe} is a file")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise UserError(f"output folder {out_dir} is not writable ({probe}): choose another --out folder")


def fit_workers(n: int, workers: int) -> int:
    """The worker count whose blocks fit in the available memory (fewer when needed)."""
    fit = workers_that_fit(n, workers, available_memory())
    if fit == 0:
        raise UserError(f"not enough memory to generate at n={n}: one block of {BLOCK} samples needs "
                        f"about {fmt_bytes(2 * block_bytes(n))} and {fmt_bytes(available_memory() or 0)} "
                        "is available: use a smaller n or free memory")
    return fit


def _split_attrs(plan: SplitPlan, sizes: dict[str, int], rejections: Counter) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "system": plan.system,
        "parameter": PARAMETER[plan.system],
        "range_lo": float(plan.lo),
        "range_hi": float(plan.hi),
        "n": plan.n,
        "seed": plan.seed,
        "split": plan.split,
        "sizes": {k: int(sizes[k]) for k in SPLITS},
        "count": plan.count,
        "generator_version": GENERATOR_VERSION,
        "paired_sources": bool(plan.paired_sources),
        "vf_blocks": [[vf, a, b] for vf, a, b in vf_block_bounds(plan.count)],
    }
    if plan.system == "advdiff":
        attrs["e_range"] = list(ADVDIFF_E_RANGE)
    if plan.system == "helmholtz":
        attrs["omega_integer"] = bool(plan.omega_integer)
        attrs["rejections"] = dict(sorted(rejections.items(), key=lambda kv: omega_sort_key(kv[0])))
    return attrs


def _run_split(plan: SplitPlan, writer: Any, workers: int, tick: Callable[[int], None],
               stop: StopRequest) -> Counter:
    rejections: Counter = Counter()
    pending: deque[Future] = deque()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sciml-gen") as pool:
        next_block = 0
        try:
            while next_block < plan.num_blocks or pending:
                stop.check()
                while next_block < plan.num_blocks and len(pending) < 2 * workers:
                    pending.append(pool.submit(generate_block, plan, next_block))
                    next_block += 1
                res = pending.popleft().result()
                arrays = {"fields": res.fields, "tensor": res.tensor}
                if res.other is not None:
                    arrays.update(other=res.other, psi_target=res.psi_target)
                writer.write(res.start, arrays)
                rejections.update(res.rejections)
                tick(res.fields.shape[0])
        except BaseException:
            for fut in pending:
                fut.cancel()
            raise
    return rejections


def _write_split(plan: SplitPlan, tmp: Path, sizes: dict[str, int], workers: int,
                 tick: Callable[[int], None], stop: StopRequest) -> dict[str, Any]:
    """Generate one split into `tmp`; its summary entry."""
    from sciml_tui.physics.h5io import SplitWriter  # h5py only when generating

    reserve = sample_bytes(plan.system, plan.n) * plan.count + FILE_OVERHEAD
    writer = SplitWriter(tmp, plan.count, plan.n, TENSOR_WIDTH[plan.system],
                         with_psi=plan.system == "advdiff", reserve=reserve)
    try:
        rejections = _run_split(plan, writer, workers, tick, stop)
        attrs = _split_attrs(plan, sizes, rejections)
        hashes = writer.finish(attrs)
    finally:
        writer.close()
    entry: dict[str, Any] = {"count": plan.count, "content_sha256": _content(hashes)}
    if plan.system == "helmholtz":
        entry["rejections"] = attrs["rejections"]
    return entry


def _commit(temps: dict[str, Path], out_dir: Path) -> None:
    mode = shared_file_mode()
    for split in SPLITS:
        os.chmod(temps[split], mode)  # mkstemp makes 0600; datasets are shared files
        with open(temps[split], "rb+") as fh:
            os.fsync(fh.fileno())
    for split in SPLITS:
        os.replace(temps[split], out_dir / f"{split}.h5")


def _discard(temps: dict[str, Path]) -> None:
    for tmp in temps.values():
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _write_all(plans: list[SplitPlan], out_dir: Path, sizes: dict[str, int], workers: int,
               tick: Callable[[int], None], stop: StopRequest) -> dict[str, Any]:
    """Every split into a temp file, then all renamed into place; the splits' summaries."""
    temps: dict[str, Path] = {}
    entries: dict[str, Any] = {}
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for plan in plans:
            fd, tmp = tempfile.mkstemp(prefix=f".{plan.split}.h5.", suffix=".tmp", dir=out_dir)
            os.close(fd)
            temps[plan.split] = Path(tmp)
            entry = _write_split(plan, temps[plan.split], sizes, workers, tick, stop)
            entries[plan.split] = {"path": str(out_dir / f"{plan.split}.h5"), **entry}
        stop.check()  # a signal from here on is only recorded: the three files appear together
        _commit(temps, out_dir)
    except OSError as exc:
        _discard(temps)
        raise UserError(f"cannot write the dataset in {out_dir}: {error_reason(exc)}; nothing was kept "
                        "(free some space or choose another --out folder)") from None
    except BaseException:
        _discard(temps)
        raise
    return entries


def generate_dataset(
    system: str,
    lo: float,
    hi: float,
    n: int,
    sizes: dict[str, int],
    seed: int,
    out_dir: Path,
    overwrite: bool = False,
    paired_sources: bool = False,
    progress: Callable[[int, int], None] | None = None,
    *,
    omega_integer: bool | None = None,
    workers: int | None = None,
    stop: StopRequest | None = None,
) -> dict:
    """Generate ``out_dir/{train,val,test}.h5`` for one system and parameter range.

    ``lo``/``hi``: the range of e (poisson), psi (advdiff) or omega (helmholtz; integer omega
    when both ends are integers, unless ``omega_integer`` says otherwise). ``progress(done,
    total)`` is called after every block (samples over all splits). ``stop``: a StopRequest
    whose signals end the generation (KeyboardInterrupt) at the next block at the latest.
    Returns a JSON-able summary. Full disks and unwritable folders raise UserError; any
    failure leaves no file behind.
    """
    lo, hi = float(lo), float(hi)
    system = validate_options(system, lo, hi, n, sizes, seed, out_dir, overwrite)
    if omega_integer is None:
        omega_integer = lo.is_integer() and hi.is_integer()
    if system == "helmholtz" and omega_integer and math.ceil(lo) > math.floor(hi):
        raise UserError(f"omega range {lo:g}:{hi:g} holds no integer (pass float omega instead)")
    workers = fit_workers(n, workers or default_workers())
    keep_buffers_in_heap()
    out_dir, stop = Path(out_dir), stop or StopRequest()
    total, done = sum(sizes[s] for s in SPLITS), 0

    def tick(k: int) -> None:
        nonlocal done
        done += k
        if progress is not None:
            progress(done, total)

    summary: dict[str, Any] = {
        "system": system, "parameter": PARAMETER[system], "range": [lo, hi], "n": n,
        "seed": seed, "paired_sources": paired_sources, "out_dir": str(out_dir),
        "generator_version": GENERATOR_VERSION, "splits": {},
    }
    if system == "helmholtz":
        summary["omega_integer"] = bool(omega_integer)
    t0 = time.perf_counter()
    plans = [SplitPlan(system, lo, hi, n, seed, split, sizes[split], paired_sources, bool(omega_integer))
             for split in SPLITS]
    summary["splits"] = _write_all(plans, out_dir, sizes, workers, tick, stop)
    elapsed = time.perf_counter() - t0
    summary["elapsed_s"] = round(elapsed, 3)
    summary["samples_per_s"] = round(total / elapsed, 1) if elapsed > 0 else None
    return summary


def _content(hashes: dict[str, str]) -> str:
    from sciml_tui.physics.h5io import content_hash

    return content_hash(hashes)
