"""SIGTERM as a request to checkpoint and stop (Slurm's `--signal`, spot instances, `sciml cancel`).

The handler only sets a flag; the training loop looks at it before every optimizer step,
writes `last.pt` at that exact position (mid-epoch included) and returns a `preempted` result.
The entry point then exits with `EXIT_PREEMPTED` and leaves `preempted.json` instead of
`result.json`: the run is unfinished and `--resume` continues it exactly.
"""

from __future__ import annotations

import signal
import threading
from typing import Optional

EXIT_PREEMPTED = 75  # EX_TEMPFAIL: not finished, try again (resume)


class StopRequest:
    """While entered (in the main thread), SIGTERM sets `signal_name` instead of killing."""

    def __init__(self) -> None:
        self.signal_name: Optional[str] = None
        self._previous = None

    @property
    def requested(self) -> bool:
        return self.signal_name is not None

    def _handle(self, signum, frame) -> None:
        self.signal_name = signal.Signals(signum).name

    def __enter__(self) -> "StopRequest":
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGTERM, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)
            self._previous = None
