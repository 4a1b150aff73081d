"""How the training engine reports progress: a small callback interface, no UI imports.

The CLI renders these as a Rich progress bar or plain lines; the entry point writes them
to `train.log`. Every method is optional (the base class does nothing).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Optional, TextIO


class TrainingEvents:
    def start(self, info: dict) -> None:
        """info: mode, epochs, start_epoch, steps_per_epoch, n_train, params, device, ..."""

    def step(self, epoch: int, step: int, loss: Optional[float]) -> None:
        """After each optimizer step; `loss` is given only on the (thinned) recorded steps."""

    def epoch(self, row: dict) -> None:
        """After each epoch: {epoch, train_loss, val_error, lr, samples_per_s, time_s}; val_error
        is None on epochs the validation cadence skips."""

    def message(self, text: str) -> None:
        """A line worth logging (setup facts, warnings, divergence)."""

    def end(self, result: dict) -> None:
        """The final result (as written to result.json)."""


class Fanout(TrainingEvents):
    def __init__(self, *sinks: TrainingEvents) -> None:
        self.sinks = [s for s in sinks if s is not None]

    def start(self, info: dict) -> None:
        for s in self.sinks:
            s.start(info)

    def step(self, epoch: int, step: int, loss: Optional[float]) -> None:
        for s in self.sinks:
            s.step(epoch, step, loss)

    def epoch(self, row: dict) -> None:
        for s in self.sinks:
            s.epoch(row)

    def message(self, text: str) -> None:
        for s in self.sinks:
            s.message(text)

    def end(self, result: dict) -> None:
        for s in self.sinks:
            s.end(result)


def format_epoch(row: dict, epochs: Optional[int] = None) -> str:
    of = f"/{epochs}" if epochs else ""
    val = "-" if row.get("val_error") is None else f"{row['val_error']:.4g}"  # not a validation epoch
    return (f"epoch {row['epoch']}{of} train_loss {row['train_loss']:.4g} val_error {val} "
            f"lr {row['lr']:.3g} {row['samples_per_s']:.1f} samples/s")


def format_result(result: dict) -> str:
    te = result.get("test_error")
    parts = [f"status {result.get('status')}"]
    if te is not None:
        parts.append(f"test_error {te:.4g}")
    if result.get("best_val_error") is not None:
        parts.append(f"best_val_error {result['best_val_error']:.4g} (epoch {result.get('best_epoch')})")
    if result.get("message"):
        parts.append(str(result["message"]))
    return " ".join(parts)


class LineEvents(TrainingEvents):
    """Plain timestamped lines to a stream (train.log, or stdout when it is not a terminal)."""

    def __init__(self, stream: TextIO, every: int = 1) -> None:
        self.stream = stream
        self.every = every
        self.epochs: Optional[int] = None

    def _line(self, text: str) -> None:
        self.stream.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {text}\n")
        self.stream.flush()

    def start(self, info: dict) -> None:
        self.epochs = info.get("epochs")
        self._line("start " + " ".join(f"{k}={v}" for k, v in info.items()))

    def epoch(self, row: dict) -> None:
        if row["epoch"] % self.every == 0 or row["epoch"] == self.epochs:
            self._line(format_epoch(row, self.epochs))

    def message(self, text: str) -> None:
        self._line(text)

    def end(self, result: dict) -> None:
        self._line("end " + format_result(result))


class LogFileEvents(LineEvents):
    """Appends to RUN_DIR/train.log, line-buffered (what was logged survives a kill)."""

    def __init__(self, path: str | Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        super().__init__(open(path, "a", encoding="utf-8", buffering=1))


def stdout_lines(every: int = 1) -> LineEvents:
    return LineEvents(sys.stdout, every)
