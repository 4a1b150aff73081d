"""Launch backends: start a run, tell whether it lives, cancel it.

The scheduler only talks to this interface, so a Slurm backend can follow without touching it.
The local backend starts each training as a detached subprocess in its own session (closing
the terminal or killing the scheduler never kills it), with an argument list, never a shell.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Protocol

import psutil
import yaml

from sciml_tui.atomic import write_json, write_text
from sciml_tui.store.procs import pid_alive

ENTRY_ENV = "SCIML_TRAIN_ENTRY"  # JSON list: argv prefix replacing `python -m sciml_tui.learning.entry`


@dataclass
class Slot:
    """One place a run can go: a GPU (CUDA_VISIBLE_DEVICES) or a share of the CPU cores."""

    name: str
    gpu: Optional[str] = None
    threads: Optional[int] = None

    @property
    def device(self) -> str:
        return f"cuda:{self.gpu}" if self.gpu is not None else "cpu"


@dataclass
class Handle:
    run_id: str
    run_dir: Path
    pid: int
    pgid: int
    create_time: Optional[float]
    slot: Optional[Slot] = None
    proc: Optional[subprocess.Popen] = field(default=None, repr=False)


class Backend(Protocol):
    name: str

    def start(self, run: dict[str, Any], slot: Slot, resume: bool, cwd: Path) -> Handle: ...
    def alive(self, handle: Handle) -> bool: ...
    def cancel(self, handle: Handle, grace_s: float = 5.0) -> None: ...
    def adopt(self, run: dict[str, Any], launch: dict[str, Any]) -> Optional[Handle]: ...


def entry_argv() -> list[str]:
    override = os.environ.get(ENTRY_ENV)
    if override:
        argv = json.loads(override)
        if not (isinstance(argv, list) and argv and all(isinstance(a, str) for a in argv)):
            raise ValueError(f"{ENTRY_ENV} must be a JSON list of strings")
        return argv
    return [sys.executable, "-m", "sciml_tui.learning.entry"]


def process_env(threads: Optional[int], gpu: Optional[str]) -> dict[str, str]:
    from sciml_tui.learning.runtime_env import training_env  # no torch at import

    env = training_env(dict(os.environ), threads)
    # a CPU slot hides GPUs so that the CPU pool never lands on a device by accident
    env["CUDA_VISIBLE_DEVICES"] = gpu if gpu is not None else ""
    return env


def write_config(run: dict[str, Any]) -> Path:
    run_dir = Path(run["run_dir"])
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / "config.yaml"
    write_text(path, yaml.safe_dump(run["config"], sort_keys=False))
    return path


class LocalBackend:
    name = "local"

    def __init__(self, argv: Optional[list[str]] = None) -> None:
        self.argv = argv or entry_argv()

    def start(self, run: dict[str, Any], slot: Slot, resume: bool, cwd: Path) -> Handle:
        run_dir = Path(run["run_dir"])
        write_config(run)
        args = [*self.argv, str(run_dir)] + (["--resume"] if resume else [])
        with open(run_dir / "stdout.log", "ab") as out:
            proc = subprocess.Popen(
                args, cwd=str(cwd), env=process_env(slot.threads, slot.gpu), stdin=subprocess.DEVNULL,
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True, close_fds=True,
            )
        try:
            create_time: Optional[float] = psutil.Process(proc.pid).create_time()
        except psutil.Error:
            create_time = None
        write_json(run_dir / "launch.json", {
            "pid": proc.pid, "pgid": proc.pid, "backend": self.name, "host": socket.gethostname(),
            "started_at": time.time(), "device": slot.device, "create_time": create_time,
            "argv": args,
        })
        return Handle(run["id"], run_dir, proc.pid, proc.pid, create_time, slot, proc)

    def alive(self, handle: Handle) -> bool:
        if handle.proc is not None:
            return handle.proc.poll() is None
        return pid_alive(handle.pid, handle.create_time)

    def adopt(self, run: dict[str, Any], launch: dict[str, Any]) -> Optional[Handle]:
        pid = launch.get("pid")
        if launch.get("backend", "local") != self.name or not pid_alive(pid, launch.get("create_time")):
            return None
        return Handle(run["id"], Path(run["run_dir"]), pid, launch.get("pgid") or pid, launch.get("create_time"))

    def cancel(self, handle: Handle, grace_s: float = 5.0) -> None:
        """SIGTERM the run's process group, SIGKILL it after `grace_s` if still there."""
        if not self.alive(handle):
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(handle.pgid, sig)
            except (ProcessLookupError, PermissionError):
                return
            deadline = time.time() + (grace_s if sig == signal.SIGTERM else 2.0)
            while time.time() < deadline:
                if not self.alive(handle):
                    return
                time.sleep(0.05)


def detect_gpus() -> list[str]:
    """Visible GPU indices without importing torch: CUDA_VISIBLE_DEVICES, else nvidia-smi -L."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return [g.strip() for g in env.split(",") if g.strip() and g.strip() != "-1"]
    import shutil

    if shutil.which("nvidia-smi") is None:
        return []
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [str(i) for i, line in enumerate(l for l in out.splitlines() if l.startswith("GPU "))]


MAX_CPU_SLOTS = 8


def make_slots(gpus: Optional[list[str]] = None, per_gpu: int = 1, max_parallel: Optional[int] = None,
               cores: Optional[int] = None, threads_per_run: int = 1) -> list[Slot]:
    """Slots: `per_gpu` per GPU; without GPUs, CPU slots of `threads_per_run` cores each.

    On CPU the default is one single-threaded run per core (at most 8 runs): sweep points are
    independent, and small FNOs gain less from a second thread than from a second run.
    `max_parallel` caps the number of slots (on CPU it also sets how the cores are shared).
    """
    gpus = detect_gpus() if gpus is None else gpus
    per_gpu = max(1, per_gpu)
    if gpus:
        slots = [Slot(f"gpu{g}#{k}" if per_gpu > 1 else f"gpu{g}", gpu=g) for g in gpus for k in range(per_gpu)]
        return slots[: max_parallel] if max_parallel else slots
    cores = cores or os.cpu_count() or 1
    count = max_parallel or min(MAX_CPU_SLOTS, max(1, cores // threads_per_run))
    threads = max(1, cores // count)
    return [Slot(f"cpu{i}", threads=threads) for i in range(count)]
