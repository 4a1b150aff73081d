"""SIGTERM / SIGINT during generation: always stop, never lose the signal, never half-commit.

A handler that only raises KeyboardInterrupt can lose the signal: when it lands while Python
runs a weakref callback or a ``__del__`` (the thread pool has both), the exception is printed
as "ignored" and discarded, and generation runs on. So the handler also records the signal,
and the generation loop checks the record after every block. While the finished splits are
renamed into place the signal is only recorded, so the three files appear together or not at all.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Any, Iterator, Optional

SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StopRequest:
    def __init__(self) -> None:
        self.signum: Optional[int] = None
        self._deferring = False

    def _handler(self, signum: int, frame: Any) -> None:
        self.signum = signum
        if not self._deferring:
            raise KeyboardInterrupt

    @property
    def requested(self) -> bool:
        return self.signum is not None

    def check(self) -> None:
        """Raise KeyboardInterrupt when a signal came (even if its first raise was swallowed)."""
        if self.signum is not None:
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        """Record signals without raising for the duration (renames, clean-up)."""
        before, self._deferring = self._deferring, True
        try:
            yield
        finally:
            self._deferring = before

    @classmethod
    @contextlib.contextmanager
    def installed(cls) -> Iterator["StopRequest"]:
        """Handle SIGTERM and SIGINT with a new StopRequest (main thread only; elsewhere the
        request only works through `check` of signals recorded by other means)."""
        stop = cls()
        previous = {}
        if threading.current_thread() is threading.main_thread():
            for sig in SIGNALS:
                previous[sig] = signal.signal(sig, stop._handler)
        try:
            yield stop
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)
