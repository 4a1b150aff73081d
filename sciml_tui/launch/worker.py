"""Warm workers: one long-lived training process per slot, fed runs one after another.

`WorkerPool` (used by `LocalBackend` with `workers="warm"`) keeps at most one worker per slot
(`python -m sciml_tui.learning.worker_entry WORKER_DIR`, detached in its own session like a fresh
run, so runs still outlive the terminal and the scheduler) and hands it the next run through its
inbox (`sciml_tui/workerdir.py`). A worker that died, exited after a cancelled run or outgrew its
memory cap is replaced by a fresh one for the next run; a crash fails only the run it was on.
The folders live under `.sciml/workers/`; a dead worker's folder is removed when it is replaced.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from sciml_tui.errors import UserError
from sciml_tui.launch.procs import argv_from_env, create_time_of, pid_alive, terminate
from sciml_tui.workerdir import WORKER_LOG, WorkerDir

WORKER_ENV = "SCIML_WORKER_ENTRY"  # JSON list: argv prefix replacing `python -m sciml_tui.learning.worker_entry`
TRAIN_ENTRY_ENV = "SCIML_TRAIN_ENTRY"  # a custom per-run entry point: warm workers cannot run it
WORKER_MODES = ("warm", "fresh")
DEFAULT_WORKERS = "warm"
RSS_SHARE = 0.8  # the slots' workers together may keep this share of the machine's memory resident
IDLE_WAIT_S = 60.0  # how long a finished run's worker may take to clean up before it is replaced


def check_mode(workers: Optional[str]) -> None:
    if workers is not None and workers not in WORKER_MODES:
        raise UserError(f"--workers {workers!r}: use {' or '.join(WORKER_MODES)}")


def worker_argv() -> Optional[list[str]]:
    """The worker command, or None when only fresh processes can run the entry point in use."""
    argv = argv_from_env(WORKER_ENV)
    if argv is not None:
        return argv
    if os.environ.get(TRAIN_ENTRY_ENV):
        return None
    return [sys.executable, "-m", "sciml_tui.learning.worker_entry"]


def worker_alive(launch: dict[str, Any]) -> bool:
    """A run handed to a worker lives while the worker does and still holds the run's token."""
    return pid_alive(launch.get("pid"), launch.get("create_time")) and \
        WorkerDir(launch.get("worker") or ".").holds(launch.get("token"))


@dataclass
class Worker:
    dir: WorkerDir
    proc: subprocess.Popen = field(repr=False)
    create_time: Optional[float]
    argv: list[str]

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait_idle(self, timeout_s: float) -> bool:
        """True once it is ready for a run; False when it exited (or hung, then it is stopped)."""
        deadline = time.monotonic() + timeout_s
        while self.alive():
            if self.dir.idle():
                return True
            if time.monotonic() > deadline:
                terminate(lambda sig: os.killpg(self.pid, sig), self.alive, 5.0)
                return False
            time.sleep(0.02)
        return False


class WorkerPool:
    def __init__(self, root: Path, argv: list[str], slots: int = 1) -> None:
        self.root, self.argv = Path(root), argv
        self.workers: dict[str, Worker] = {}
        self.max_rss_mb = self._rss_cap(slots)

    @staticmethod
    def _rss_cap(slots: int) -> Optional[float]:
        override = os.environ.get("SCIML_WORKER_MAX_RSS_MB")
        if override:
            return float(override)
        import psutil

        return RSS_SHARE * psutil.virtual_memory().total / 2**20 / max(1, slots)

    def dispatch(self, slot: Any, job: dict[str, Any], cwd: Path, env: dict[str, str]) -> Worker:
        """Hand `job` to the slot's idle worker, or to a fresh one when it has none that can take it."""
        worker = self.workers.get(slot.name)
        if worker is not None and worker.wait_idle(IDLE_WAIT_S):
            worker.dir.put(job)
            return worker
        if worker is not None:
            shutil.rmtree(worker.dir.path, ignore_errors=True)
        worker = self._spawn(slot, job, cwd, env)
        self.workers[slot.name] = worker
        return worker

    def _spawn(self, slot: Any, job: dict[str, Any], cwd: Path, env: dict[str, str]) -> Worker:
        wd = WorkerDir(self.root / f"{slot.name.replace('#', '-')}-{uuid.uuid4().hex[:8]}")
        wd.put(job)  # waiting before the process starts: the run is held from the first moment
        args = [*self.argv, str(wd.path), "--owner", str(os.getpid())] + (["--max-rss-mb", f"{self.max_rss_mb:.0f}"] if self.max_rss_mb else [])
        with open(wd.file(WORKER_LOG), "ab") as out:
            proc = subprocess.Popen(args, cwd=str(cwd), env=env, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True, close_fds=True)
        return Worker(wd, proc, create_time_of(proc.pid), args)

    def close(self) -> None:
        """Ask idle workers to exit (busy ones finish their run and exit once their scheduler is gone)."""
        for worker in self.workers.values():
            if not worker.alive():
                shutil.rmtree(worker.dir.path, ignore_errors=True)
            elif worker.dir.idle():
                worker.dir.put({"exit": True})
