"""Liveness of the processes recorded in a run's `launch.json` (psutil, or `squeue` for Slurm
array tasks; no signals sent here)."""

from __future__ import annotations

import getpass
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any, Optional

import psutil

from sciml_tui.atomic import read_json_object

# A pid is ours only if its start time matches the one recorded at launch (pids get reused).
CREATE_TIME_SLACK_S = 2.0


def read_launch(run_dir: str | Path) -> Optional[dict[str, Any]]:
    return read_json_object(Path(run_dir) / "launch.json")


def pid_alive(pid: Any, create_time: Any = None) -> bool:
    """True if `pid` runs (not a zombie) and, when given, started at `create_time` (epoch s)."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        if isinstance(create_time, (int, float)) and abs(proc.create_time() - create_time) > CREATE_TIME_SLACK_S:
            return False
        return True
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False


def launch_alive(launch: Optional[dict[str, Any]]) -> bool:
    """Whether the process a `launch.json` describes still runs (local or Slurm backend).

    A Slurm task counts as alive while `squeue` lists it (pending or running), and also when
    `squeue` cannot be asked: a run is never declared dead on a machine that cannot see Slurm.
    """
    if not launch:
        return False
    backend = launch.get("backend", "local")
    if backend == "slurm":
        return slurm_task_state(launch.get("slurm_job_id")) != "GONE"
    if backend != "local":
        return False  # other backends report liveness through their own handle
    return pid_alive(launch.get("pid"), launch.get("create_time"))


# squeue snapshot shared by the many runs of one reconcile pass (Slurm answers in ~10 ms,
# but a sweep has hundreds of runs)
SQUEUE_TTL_S = 1.0
_squeue_cache: tuple[float, Optional[dict[str, str]]] = (0.0, None)


def squeue_tasks(timeout_s: float = 20.0) -> Optional[dict[str, str]]:
    """`{"<array>_<task>": STATE}` for this user's jobs in `squeue` (one line per array task),
    or None when `squeue` is missing or fails. No accounting database is needed."""
    if shutil.which("squeue") is None:
        return None
    try:
        out = subprocess.run(["squeue", "--noheader", "--array", "--user", getpass.getuser(),
                              "--format", "%i|%T"], capture_output=True, text=True, timeout=timeout_s)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    tasks: dict[str, str] = {}
    for line in out.stdout.splitlines():
        job, _, state = line.strip().partition("|")
        if job:
            tasks[job] = state
    return tasks


def squeue_snapshot(max_age_s: float = SQUEUE_TTL_S) -> Optional[dict[str, str]]:
    """`squeue_tasks()`, reused for `max_age_s` seconds (0 forces a fresh query)."""
    global _squeue_cache
    at, tasks = _squeue_cache
    now = time.monotonic()
    if tasks is None or now - at > max_age_s:
        tasks = squeue_tasks()
        _squeue_cache = (now, tasks)
    return tasks


def slurm_task_state(job_id: Any) -> str:
    """Slurm state of one array task (`PENDING`, `RUNNING`, ...), `GONE` when `squeue` no longer
    lists it, `UNKNOWN` when `squeue` cannot be asked."""
    if not isinstance(job_id, str) or not job_id:
        return "GONE"
    tasks = squeue_snapshot()
    if tasks is None:
        return "UNKNOWN"
    return tasks.get(job_id, "GONE")
