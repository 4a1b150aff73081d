"""Liveness of the processes recorded in a run's `launch.json` (psutil; no signals sent here)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import psutil

# A pid is ours only if its start time matches the one recorded at launch (pids get reused).
CREATE_TIME_SLACK_S = 2.0


def read_launch(run_dir: str | Path) -> Optional[dict[str, Any]]:
    try:
        data = json.loads((Path(run_dir) / "launch.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


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
    """Whether the process a `launch.json` describes still runs (local backend)."""
    if not launch:
        return False
    if launch.get("backend", "local") != "local":
        return False  # other backends report liveness through their own handle
    return pid_alive(launch.get("pid"), launch.get("create_time"))
