"""Messages from worker threads to the UI (posted, never widget calls from threads)."""

from __future__ import annotations

from textual.message import Message

from sciml_tui.tui.poller import Snapshot


class Polled(Message):
    """A new complete snapshot of the workspace. Only the newest matters, so a queued one is
    replaced rather than processed (a slow UI never falls behind the poller)."""

    def __init__(self, snapshot: Snapshot) -> None:
        super().__init__()
        self.snapshot = snapshot

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, Polled)


class PlanReady(Message):
    def __init__(self, spec: str, text: str, ok: bool) -> None:
        super().__init__()
        self.spec, self.text, self.ok = spec, text, ok
