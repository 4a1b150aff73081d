"""A run's metrics file (`metrics.json`, TinyDB JSON format) and its result file.

No torch here: the dashboard and the store read these without importing the trainer.
Tables: `epochs` rows {epoch, train_loss, val_error, lr, samples_per_s, time_s};
`steps` rows {step, epoch, loss}, thinned. The file is rewritten atomically at most every
`flush_s` seconds (and when the run ends), never per step.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

from sciml_tui.rundir import METRICS_FILE, RunDir
from sciml_tui.tinydb_atomic import AtomicJSONStorage


def _table(rows: list[dict]) -> dict:
    return {str(i + 1): row for i, row in enumerate(rows)}


class MetricsLog:
    """Buffers rows in memory and rewrites metrics.json atomically now and then."""

    def __init__(self, run_dir: str | Path, flush_s: float = 5.0, max_steps: int = 2000) -> None:
        self.run_dir = RunDir(run_dir)
        self.storage = AtomicJSONStorage(Path(run_dir) / METRICS_FILE)
        self.flush_s = flush_s
        self.max_steps = max_steps
        self.epochs: list[dict] = []
        self.steps: list[dict] = []
        self._last_flush = time.monotonic()
        self._dirty = False

    def restore(self, epochs: list[dict], steps: list[dict]) -> None:
        """Rows saved in the last checkpoint (a resumed run continues from exactly those)."""
        self.epochs = [dict(r) for r in epochs]
        self.steps = [dict(r) for r in steps]
        self._dirty = True

    def step_stride(self, total_steps: int) -> int:
        return max(1, total_steps // self.max_steps)

    def add_step(self, row: dict) -> None:
        self.steps.append(row)
        self._dirty = True

    def add_epoch(self, row: dict) -> None:
        self.epochs.append(row)
        self._dirty = True
        self.maybe_flush()

    def maybe_flush(self) -> None:
        if time.monotonic() - self._last_flush < self.flush_s:
            return
        if self._dirty:
            self.flush()
        else:  # nothing new to write: still a sign of life
            self.run_dir.beat()
            self._last_flush = time.monotonic()

    def flush(self) -> None:
        self.storage.write({"epochs": _table(self.epochs), "steps": _table(self.steps)})
        self.run_dir.beat()  # the sign of life `sciml status` compares with the clock
        self._last_flush = time.monotonic()
        self._dirty = False


def read_metrics(run_dir: str | Path) -> dict:
    """{"epochs": [...], "steps": [...]} in order; empty lists if the file is missing or torn."""
    return RunDir(run_dir).metrics()


def read_result(run_dir: str | Path) -> Optional[dict]:
    """The run's result.json as a dict, or None while the run has not finished."""
    return RunDir(run_dir).result()
