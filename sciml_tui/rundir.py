"""A run directory: the one place its file names are known and its files are read.

No torch here: the trainer writes through it, and the store, the launchers and the dashboard
read through it. Every file but `launch.json` is written only by the run's training process,
each atomically, so a reader sees an old file or a new one: a missing or unreadable file means
"not there yet" (None, or empty tables for the metrics), never an exception.
"""

from __future__ import annotations

import json
import os
import time
from collections import deque
from pathlib import Path
from typing import Any, Optional

import yaml

from sciml_tui.atomic import read_json_object, write_json, write_text

CONFIG_FILE = "config.yaml"
LAUNCH_FILE = "launch.json"
METRICS_FILE = "metrics.json"
RESULT_FILE = "result.json"
PROVENANCE_FILE = "provenance.json"  # versions, device, host, dataset hashes, git state
HEARTBEAT_FILE = "heartbeat"  # {"at", "pid"}: rewritten by the training process while it lives
PREEMPTED_FILE = "preempted.json"  # instead of result.json when SIGTERM stopped the run (resumable)
CANCELLED_FILE = "cancelled.json"  # `sciml cancel` asked this run to stop: a launcher must not restart it
TRAIN_LOG = "train.log"
STDOUT_LOG = "stdout.log"  # the process's captured output (launchers append to it)
LAST_CHECKPOINT = "checkpoints/last.pt"
BEST_CHECKPOINT = "checkpoints/best.pt"
LOG_TAIL_LINES = 30
TAIL_BYTES = 64_000

Stamp = Optional[tuple[float, int]]


def file_stamp(path: Path) -> Stamp:
    """(mtime, size) of a file, None when it is not there: re-read it only when this moved."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime, st.st_size)


def write_heartbeat(path: Path, **info: Any) -> None:
    """`{"at": now, "pid": ..., **info}`, atomically: a sign of life others compare with the clock."""
    write_json(path, {"at": time.time(), "pid": os.getpid(), **info})


def last_sign_of_life(paths: list[Path]) -> Optional[float]:
    """The newest modification time among `paths` (epoch s), None when none exists."""
    stamps = [st[0] for st in map(file_stamp, paths) if st is not None]
    return max(stamps) if stamps else None


def _table_rows(table: Any) -> list[dict]:
    """A TinyDB table's rows in insertion (document id) order."""
    if not isinstance(table, dict):
        return []
    items = sorted(table.items(), key=lambda kv: int(kv[0]) if str(kv[0]).isdigit() else 0)
    return [row for _, row in items if isinstance(row, dict)]


class RunDir:
    """The files of one run, by name; `RunDir(path)` touches nothing."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    def file(self, name: str) -> Path:
        return self.path / name

    # -- config --------------------------------------------------------------------------
    def write_config(self, config: dict[str, Any]) -> Path:
        """Write the resolved run config (a JSON-able dict) as `config.yaml`."""
        path = self.file(CONFIG_FILE)
        write_text(path, yaml.safe_dump(config, sort_keys=False))
        return path

    def config_text(self) -> Optional[str]:
        return self._tail_text(self.file(CONFIG_FILE), 200_000)

    # -- launch (written by the launcher) ------------------------------------------------
    def launch(self) -> Optional[dict[str, Any]]:
        return read_json_object(self.file(LAUNCH_FILE))

    def write_launch(self, info: dict[str, Any]) -> None:
        write_json(self.file(LAUNCH_FILE), info)

    def launched(self) -> bool:
        return self.file(LAUNCH_FILE).exists()

    # -- provenance (written once at the start of each attempt) --------------------------------
    def provenance(self) -> Optional[dict[str, Any]]:
        return read_json_object(self.file(PROVENANCE_FILE))

    def write_provenance(self, info: dict[str, Any]) -> None:
        write_json(self.file(PROVENANCE_FILE), info)

    # -- result ----------------------------------------------------------------------------
    def result(self) -> Optional[dict[str, Any]]:
        """`result.json`, or None while the run has not finished."""
        return read_json_object(self.file(RESULT_FILE))

    def clear_result(self) -> None:
        """Remove the outcome of an earlier attempt, finished or preempted (a new attempt resumes
        from its checkpoint)."""
        for name in (RESULT_FILE, PREEMPTED_FILE):
            self.file(name).unlink(missing_ok=True)

    def preempted(self) -> Optional[dict[str, Any]]:
        """`preempted.json` (epoch, step, signal, at, message) of a run SIGTERM stopped, else None."""
        return read_json_object(self.file(PREEMPTED_FILE))

    def can_resume(self) -> bool:
        return self.file(LAST_CHECKPOINT).exists()

    # -- cancel marker (written by `sciml cancel`, read by the Slurm task script) ------------
    def mark_cancelled(self) -> None:
        """Record that the user cancelled the run, before its backend is told to stop it: a Slurm
        task that then exits preempted is not requeued."""
        write_json(self.file(CANCELLED_FILE), {"at": time.time()})

    def cancelled(self) -> bool:
        return self.file(CANCELLED_FILE).exists()

    def clear_cancelled(self) -> None:
        """A new launch of the run (its earlier cancel no longer holds)."""
        self.file(CANCELLED_FILE).unlink(missing_ok=True)

    # -- liveness --------------------------------------------------------------------------
    def beat(self) -> None:
        """Write the heartbeat (the trainer does, whenever it flushes its metrics)."""
        write_heartbeat(self.file(HEARTBEAT_FILE))

    def last_sign_of_life(self) -> Optional[float]:
        """When the run last wrote anything it writes while it lives (heartbeat, metrics, logs,
        launch), epoch seconds; None when it wrote nothing yet."""
        return last_sign_of_life([self.file(n) for n in (HEARTBEAT_FILE, METRICS_FILE, TRAIN_LOG, STDOUT_LOG,
                                                          LAUNCH_FILE)])

    # -- metrics ---------------------------------------------------------------------------
    def metrics(self) -> dict[str, list[dict]]:
        """`{"epochs": [...], "steps": [...]}` in order; empty lists when missing or unreadable."""
        try:
            data = json.loads(self.file(METRICS_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = None
        if not isinstance(data, dict):
            return {"epochs": [], "steps": []}
        return {"epochs": _table_rows(data.get("epochs")), "steps": _table_rows(data.get("steps"))}

    def last_epoch(self) -> Optional[dict]:
        epochs = self.metrics()["epochs"]
        return epochs[-1] if epochs else None

    # -- logs --------------------------------------------------------------------------------
    def log_path(self) -> Path:
        """`train.log`, or the captured output while the trainer has not opened its log."""
        train = self.file(TRAIN_LOG)
        return train if train.exists() else self.file(STDOUT_LOG)

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        """The last `lines` lines of the log ("" when there is none)."""
        for name in (TRAIN_LOG, STDOUT_LOG):
            text = self._tail_text(self.file(name), TAIL_BYTES)
            if text:
                return "\n".join(deque(text.rstrip("\n").splitlines(), maxlen=lines))
        return ""

    @staticmethod
    def _tail_text(path: Path, limit: int) -> Optional[str]:
        try:
            with open(path, "rb") as fh:
                fh.seek(0, os.SEEK_END)
                fh.seek(max(0, fh.tell() - limit))
                return fh.read().decode("utf-8", errors="replace")
        except OSError:
            return None

    # -- change stamps (mtime, size): re-read a file only when its stamp moved ----------------
    def metrics_stamp(self) -> Stamp:
        return file_stamp(self.file(METRICS_FILE))

    def stamp(self) -> tuple[Stamp, Stamp, Stamp]:
        """Stamps of the files a run's detail view shows: metrics, log, result."""
        return (self.metrics_stamp(), file_stamp(self.file(TRAIN_LOG)), file_stamp(self.file(RESULT_FILE)))
