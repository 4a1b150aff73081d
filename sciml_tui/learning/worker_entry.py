"""A warm worker: `python -m sciml_tui.learning.worker_entry WORKER_DIR --owner PID [--max-rss-mb M]`.

One process that trains the runs a scheduler hands it, one after another (`sciml_tui/workerdir.py`),
so that the interpreter, torch and the device are set up once per slot instead of once per run.
Each run writes exactly the files a fresh `python -m sciml_tui.learning.entry` writes, its output
goes to the run's stdout.log, and between runs the process state a run could leak into the next
(thread count, precision flags, compiled graphs, device caches) is put back, so a run's numbers
are the same as in a fresh process.

It exits when told (`{"exit": true}`), when the scheduler that started it is gone while it idles, after
a run stopped by SIGTERM (`sciml cancel`, preemption: exit 75, like the entry point) and after a run
that left its memory above `--max-rss-mb` (the scheduler starts a fresh worker for the next run).
A run that raises fails alone; a crash of the process fails only the run it was on.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import importlib.util
import os
import sys
import time
from typing import Any, Callable, Optional

from sciml_tui.rundir import STDOUT_LOG
from sciml_tui.workerdir import WorkerDir

IDLE_POLL_S = 0.05
Runner = Callable[[str, bool], int]  # (run_dir, resume) -> the entry point's exit code


def train_run(run_dir: str, resume: bool) -> int:
    """What `python -m sciml_tui.learning.entry RUN_DIR [--resume]` does, in this process."""
    from sciml_tui.learning.entry import main

    return main([run_dir] + (["--resume"] if resume else []))


def load_runner(spec: Optional[str]) -> Runner:
    """`module:function` or `path/to/file.py:function`; None: the real trainer."""
    if not spec:
        return train_run
    where, name = spec.rsplit(":", 1)
    if where.endswith(".py"):
        mod_spec = importlib.util.spec_from_file_location("sciml_worker_runner", where)
        module = importlib.util.module_from_spec(mod_spec)
        mod_spec.loader.exec_module(module)  # type: ignore[union-attr]
    else:
        module = importlib.import_module(where)
    return getattr(module, name)


class _Output:
    """Points fds 1 and 2 at a run's stdout.log for the length of the run, then back."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __enter__(self) -> None:
        sys.stdout.flush(), sys.stderr.flush()
        self.saved = (os.dup(1), os.dup(2))
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 1), os.dup2(fd, 2)
        os.close(fd)

    def __exit__(self, *exc: Any) -> None:
        sys.stdout.flush(), sys.stderr.flush()
        for target, fd in zip((1, 2), self.saved):
            os.dup2(fd, target)
            os.close(fd)


def reset_between_runs(threads: Optional[int]) -> None:
    """Undo what one run may have changed in this process (only if torch was imported)."""
    gc.collect()
    torch = sys.modules.get("torch")
    if torch is None:
        return
    if threads:
        torch.set_num_threads(threads)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    dynamo = sys.modules.get("torch._dynamo")
    if dynamo is not None:
        dynamo.reset()
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def serve(wd: WorkerDir, runner: Runner, max_rss_mb: Optional[float], threads: Optional[int],
          owner: Optional[int] = None) -> int:
    """Take jobs until told to exit, orphaned, stopped by SIGTERM or over the memory cap."""
    from sciml_tui.learning.preemption import EXIT_PREEMPTED

    # the scheduler that started us (given, as it may be gone before we get here): re-parented when gone
    owner = owner or os.getppid()
    wd.set_current(None)
    while True:
        job = wd.take()
        if job is None:
            if os.getppid() != owner:
                return 0
            time.sleep(IDLE_POLL_S)
            continue
        if job.get("exit"):
            return 0
        with _Output(os.path.join(job["run_dir"], STDOUT_LOG)):
            try:
                code = runner(job["run_dir"], bool(job.get("resume")))
            except BaseException as exc:  # noqa: BLE001 - KeyboardInterrupt too: no result, the run is lost alone
                print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
                code = 1
        print(f"run {job['run_dir']} exited {code}", flush=True)
        if code == EXIT_PREEMPTED:
            return code  # SIGTERM was for this worker: stop here, the scheduler starts a new one
        reset_between_runs(threads)
        if max_rss_mb and rss_mb() > max_rss_mb:
            print(f"memory {rss_mb():.0f} MB above {max_rss_mb:.0f} MB: exiting for a fresh worker", flush=True)
            return 0
        wd.set_current(None)


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sciml_tui.learning.worker_entry", description=__doc__.splitlines()[0])
    ap.add_argument("worker_dir")
    ap.add_argument("--owner", type=int, default=None, help="the scheduler's pid: exit when idle and it is gone")
    ap.add_argument("--max-rss-mb", type=float, default=None, help="exit after a run that leaves more resident")
    ap.add_argument("--runner", default=None, help="module:function (tests); default: the trainer")
    args = ap.parse_args(argv)
    threads = int(os.environ["OMP_NUM_THREADS"]) if os.environ.get("OMP_NUM_THREADS", "").isdigit() else None
    return serve(WorkerDir(args.worker_dir), load_runner(args.runner), args.max_rss_mb, threads, args.owner)


if __name__ == "__main__":
    sys.exit(main())
