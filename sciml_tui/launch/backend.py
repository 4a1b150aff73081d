"""Launch backends: submit a sweep's runs, tell whether a launched run lives, cancel runs.

Every backend implements `Backend`; the one that launched a run is named in its `launch.json`
(`backend_of(launch)`), so liveness and cancellation always go to the right one, and
`LAUNCHES` is what reconciliation (in the store room) is given to ask them.

The local backend runs each training as a detached subprocess in its own session (closing
the terminal or killing the scheduler never kills it), with an argument list, never a shell;
a scheduler (`sciml_tui.launch.scheduler`, detached or in the foreground) places them on slots.
The Slurm backend is `sciml_tui.launch.slurm.SlurmBackend`.
"""

from __future__ import annotations

import importlib
import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Protocol

from sciml_tui.errors import UserError
from sciml_tui.launch.procs import argv_from_env, create_time_of, pid_alive, terminate
from sciml_tui.launch.sweeps import Event, no_event, sweep_queue
from sciml_tui.launch.worker import DEFAULT_WORKERS, WorkerPool, check_mode, worker_alive, worker_argv
from sciml_tui.rundir import STDOUT_LOG, RunDir
from sciml_tui.store import WorkspaceStore
from sciml_tui.store.reconcile import NO_RESULT
from sciml_tui.store.records import Liveness, RunRecord

ENTRY_ENV = "SCIML_TRAIN_ENTRY"  # JSON list: argv prefix replacing `python -m sciml_tui.learning.entry`
IN_QUEUE = (Liveness.PENDING, Liveness.RUNNING)


class Backend(Protocol):
    name: str
    title: str  # for messages: "local", "Slurm"

    def require(self) -> None:
        """UserError (one line) when the backend cannot be used from here; checked before any write."""

    def submit(self, ws: WorkspaceStore, sweeps: list[str], on_event: Event = no_event) -> dict[str, Any]:
        """Launch what the recorded sweeps still need; the dict is what `launch_sweep` returns."""

    def liveness(self, launch: dict[str, Any]) -> Liveness: ...
    def lost_message(self, launch: dict[str, Any]) -> str: ...
    def cancel(self, launches: list[dict[str, Any]], grace_s: float = 5.0) -> None: ...


BACKENDS = {"local": "sciml_tui.launch.backend:LocalBackend", "slurm": "sciml_tui.launch.slurm:SlurmBackend"}


def backend_named(name: str, **options: Any) -> Backend:
    """The backend called `name`, built with its options (UserError for an unknown name)."""
    where = BACKENDS.get(name)
    if where is None:
        raise UserError(f"unknown backend {name!r}: use {' or '.join(BACKENDS)}")
    module, cls = where.split(":")
    return getattr(importlib.import_module(module), cls)(**options)


def backend_of(launch: dict[str, Any]) -> Optional[Backend]:
    """The backend that wrote this `launch.json` (None when it names none we know)."""
    name = launch.get("backend", "local")
    return backend_named(name) if name in BACKENDS else None


class _Launches:
    """Liveness of any launched run, asked of the backend that launched it."""

    def liveness(self, launch: dict[str, Any]) -> Liveness:
        backend = backend_of(launch)
        return backend.liveness(launch) if backend is not None else Liveness.GONE

    def lost_message(self, launch: dict[str, Any]) -> str:
        backend = backend_of(launch)
        return backend.lost_message(launch) if backend is not None else NO_RESULT


LAUNCHES = _Launches()


def launched_elsewhere(runs: list[RunRecord], backend: str) -> tuple[Optional[str], list[str]]:
    """(title, ids) of the active `runs` that another backend still holds in its queue."""
    held: list[str] = []
    title = None
    for r in runs:
        launch = RunDir(r.run_dir).launch() if r.active and r.run_dir else None
        other = backend_of(launch) if launch else None
        if other is not None and other.name != backend and other.liveness(launch) in IN_QUEUE:
            held.append(r.id)
            title = other.title
    return title, held


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
    launch: dict[str, Any] = field(default_factory=dict, repr=False)  # its launch.json (worker, token)


def entry_argv() -> list[str]:
    return argv_from_env(ENTRY_ENV) or [sys.executable, "-m", "sciml_tui.learning.entry"]


def process_env(threads: Optional[int], gpu: Optional[str]) -> dict[str, str]:
    from sciml_tui.learning.runtime_env import training_env  # no torch at import

    env = training_env(dict(os.environ), threads)
    # a CPU slot hides GPUs so that the CPU pool never lands on a device by accident
    env["CUDA_VISIBLE_DEVICES"] = gpu if gpu is not None else ""
    return env


def prepare_run_dir(run: RunRecord) -> RunDir:
    """Write the run's config and drop an earlier attempt's result (it resumes from last.pt) and
    an earlier cancel."""
    rdir = RunDir(run.run_dir)
    rdir.write_config(run.config or {})
    rdir.clear_result()
    rdir.clear_cancelled()
    return rdir


class LocalBackend:
    """Runs as processes on this machine, placed on slots by a scheduler."""

    name = "local"
    title = "local"

    def __init__(self, argv: Optional[list[str]] = None, *, detach: bool = True, max_parallel: Optional[int] = None,
                 gpus: Optional[list[str]] = None, per_gpu: int = 1, workers: str = DEFAULT_WORKERS) -> None:
        check_mode(workers)
        self._argv = argv
        self.detach, self.max_parallel, self.gpus, self.per_gpu = detach, max_parallel, gpus, per_gpu
        self.workers = workers
        self.pool: Optional[WorkerPool] = None
        self.slot_count = 1

    @property
    def argv(self) -> list[str]:
        if self._argv is None:
            self._argv = entry_argv()
        return self._argv

    # -- the backend interface -------------------------------------------------------------
    def require(self) -> None:
        self.argv  # a malformed SCIML_TRAIN_ENTRY is refused before anything is recorded

    def submit(self, ws: WorkspaceStore, sweeps: list[str], on_event: Event = no_event) -> dict[str, Any]:
        """Start a scheduler for the sweeps: detached (returns at once) or here until they end."""
        from sciml_tui.launch.scheduler import run_scheduler, scheduler_log, spawn_scheduler

        title, held = launched_elsewhere(sweep_queue(ws, sweeps), self.name)
        if held:
            raise UserError(f"{len(held)} run(s) of {', '.join(sweeps)} are in {title} (e.g. {held[0]}); "
                            f"cancel them or use --backend {title.lower()}")
        if self.detach:
            pid = spawn_scheduler(ws, sweeps, self.max_parallel, self.gpus, self.per_gpu, self.workers)
            return {"sweeps": sweeps, "scheduler_pid": pid, "log": str(scheduler_log(ws, sweeps))}
        counts = run_scheduler(ws, sweeps, max_parallel=self.max_parallel, gpus=self.gpus, per_gpu=self.per_gpu,
                               on_event=on_event, workers=self.workers)
        return {"sweeps": sweeps, "counts": counts}

    def liveness(self, launch: dict[str, Any]) -> Liveness:
        return Liveness.RUNNING if self._launch_alive(launch) else Liveness.GONE

    @staticmethod
    def _launch_alive(launch: dict[str, Any]) -> bool:
        if launch.get("token"):  # handed to a warm worker
            return worker_alive(launch)
        return pid_alive(launch.get("pid"), launch.get("create_time"))

    def lost_message(self, launch: dict[str, Any]) -> str:
        return NO_RESULT

    def cancel(self, launches: list[dict[str, Any]], grace_s: float = 5.0) -> None:
        for launch in launches:
            handle = self.adopt_launch(launch)
            if handle is not None:
                self.stop(handle, grace_s)

    # -- runs on slots, for the scheduler ---------------------------------------------------
    def use_slots(self, slots: list[Slot]) -> None:
        """The scheduler's slots: in warm mode each gets one worker, capped at its share of memory."""
        self.slot_count = len(slots)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()

    def start(self, run: RunRecord, slot: Slot, resume: bool, cwd: Path) -> Handle:
        rdir = RunDir(run.run_dir)
        rdir.write_config(run.config or {})
        worker_cmd = worker_argv() if self.workers == "warm" else None
        if worker_cmd is not None:
            return self._start_warm(run, rdir, slot, resume, cwd, worker_cmd)
        args = [*self.argv, str(rdir.path)] + (["--resume"] if resume else [])
        with open(rdir.file(STDOUT_LOG), "ab") as out:
            proc = subprocess.Popen(
                args, cwd=str(cwd), env=process_env(slot.threads, slot.gpu), stdin=subprocess.DEVNULL,
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True, close_fds=True,
            )
        launch = self._write_launch(rdir, slot, proc.pid, create_time_of(proc.pid), {"argv": args})
        return Handle(run.id, rdir.path, proc.pid, proc.pid, launch["create_time"], slot, proc, launch)

    def _start_warm(self, run: RunRecord, rdir: RunDir, slot: Slot, resume: bool, cwd: Path,
                    worker_cmd: list[str]) -> Handle:
        if self.pool is None:
            self.pool = WorkerPool(Path(cwd) / ".sciml" / "workers", worker_cmd, self.slot_count)
        token = uuid.uuid4().hex
        worker = self.pool.dispatch(slot, {"run_dir": str(rdir.path.resolve()), "resume": resume, "token": token},
                                    cwd, process_env(slot.threads, slot.gpu))
        launch = self._write_launch(rdir, slot, worker.pid, worker.create_time,
                                    {"argv": worker.argv, "worker": str(worker.dir.path), "token": token})
        return Handle(run.id, rdir.path, worker.pid, worker.pid, worker.create_time, slot, None, launch)

    def _write_launch(self, rdir: RunDir, slot: Slot, pid: int, create_time: Optional[float],
                      extra: dict[str, Any]) -> dict[str, Any]:
        launch = {"pid": pid, "pgid": pid, "backend": self.name, "host": socket.gethostname(),
                  "started_at": time.time(), "device": slot.device, "create_time": create_time, **extra}
        rdir.write_launch(launch)
        return launch

    def alive(self, handle: Handle) -> bool:
        if handle.proc is not None:
            return handle.proc.poll() is None
        if handle.launch.get("token"):
            return worker_alive(handle.launch)
        return pid_alive(handle.pid, handle.create_time)

    def adopt(self, run: RunRecord, launch: dict[str, Any]) -> Optional[Handle]:
        handle = self.adopt_launch(launch)
        if handle is not None:
            handle.run_id, handle.run_dir = run.id, Path(run.run_dir)
        return handle

    def adopt_launch(self, launch: dict[str, Any]) -> Optional[Handle]:
        """A handle on the live process a local `launch.json` describes, else None."""
        pid = launch.get("pid")
        if launch.get("backend", "local") != self.name or not self._launch_alive(launch):
            return None
        return Handle("", Path("."), pid, launch.get("pgid") or pid, launch.get("create_time"), launch=launch)

    def stop(self, handle: Handle, grace_s: float = 5.0) -> None:
        """SIGTERM the run's process group, SIGKILL it after `grace_s` if still there."""
        terminate(lambda sig: os.killpg(handle.pgid, sig), lambda: self.alive(handle), grace_s)


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
