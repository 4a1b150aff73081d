"""The process environment for a training process (used by the launcher).

Measured on CPU: glibc's malloc returns the FFT work buffers to the OS after every call
(mmap/munmap of large blocks), which halves the FNO step rate; MALLOC_MMAP_MAX_=0 and a
high MALLOC_TRIM_THRESHOLD_ keep them in the heap. More compute threads than cores makes
the FFTs collapse, so each process gets an explicit thread count.
"""

from __future__ import annotations

from typing import Optional

TRIM_THRESHOLD = str(1 << 34)  # 16 GiB: never trim the heap back during training
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def training_env(base_env: dict, threads: Optional[int]) -> dict:
    """A copy of `base_env` with the allocator settings and, if given, the thread count."""
    env = dict(base_env)
    env["MALLOC_MMAP_MAX_"] = "0"
    env["MALLOC_TRIM_THRESHOLD_"] = TRIM_THRESHOLD
    if threads is not None:
        if threads < 1:
            raise ValueError("threads must be >= 1")
        for var in THREAD_VARS:
            env[var] = str(threads)
    return env
