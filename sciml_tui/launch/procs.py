"""Processes on this machine: whether a recorded pid is still ours, and stopping one (psutil)."""

from __future__ import annotations

import json
import os
import signal
import time
from typing import Any, Callable, Optional

import psutil

from sciml_tui.errors import UserError

# A pid is ours only if its start time matches the one recorded at launch (pids get reused).
CREATE_TIME_SLACK_S = 2.0
KILL_WAIT_S = 2.0


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


def create_time_of(pid: int) -> Optional[float]:
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def own_create_time() -> Optional[float]:
    return create_time_of(os.getpid())


def terminate(send: Callable[[int], None], alive: Callable[[], bool], grace_s: float) -> None:
    """SIGTERM through `send`, then SIGKILL after `grace_s` if `alive()` still says so."""
    if not alive():
        return
    for sig, wait in ((signal.SIGTERM, grace_s), (signal.SIGKILL, KILL_WAIT_S)):
        try:
            send(sig)
        except (ProcessLookupError, PermissionError):
            return
        deadline = time.time() + wait
        while time.time() < deadline:
            if not alive():
                return
            time.sleep(0.05)


def argv_from_env(var: str) -> Optional[list[str]]:
    """A command prefix given as a JSON list of strings in the environment variable `var`."""
    override = os.environ.get(var)
    if not override:
        return None
    try:
        argv = json.loads(override)
    except ValueError:
        argv = None
    if not (isinstance(argv, list) and argv and all(isinstance(a, str) for a in argv)):
        raise UserError(f"{var} must be a JSON list of strings, like '[\"python\", \"-m\", "
                        f"\"sciml_tui.learning.entry\"]', got {override[:60]!r}: fix or unset it")
    return argv
