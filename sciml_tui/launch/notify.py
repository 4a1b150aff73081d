"""Sweep alerts: a command hook and a plain webhook, told when a run fails or diverges and when
a sweep finishes.

Settings come from the sweep spec's `notify` key (`{command: [...], webhook: URL, events: [finished,
failed, diverged], timeout_s: 10}`), recorded on the sweep record. Each event is one JSON object:
`{"event", "sweep", "workspace", "at", ...}` plus `run`, `state`, `message` for a run, `state`,
`counts` for a finished sweep. The command gets it on stdin; the webhook gets it as a POST body
(`Content-Type: application/json`). Delivery runs on its own thread with a bounded timeout; a
hook that fails, hangs or is missing is logged and never fails or stalls the sweep.
"""

from __future__ import annotations

import json
import logging
import subprocess
import threading
import time
import urllib.request
from typing import Any, Optional

from sciml_tui.store.records import RunState

log = logging.getLogger(__name__)

RUN_EVENTS = {RunState.FAILED: "failed", RunState.DIVERGED: "diverged"}
FLUSH_S = 30.0  # the most the scheduler waits at its end for deliveries still under way


def deliver(settings: dict[str, Any], event: dict[str, Any]) -> list[str]:
    """Send `event` to the command and the webhook of `settings`; return the problems (logged)."""
    body = json.dumps(event).encode("utf-8")
    timeout = float(settings.get("timeout_s") or 10.0)
    problems = []
    if settings.get("command"):
        try:
            done = subprocess.run(list(settings["command"]), input=body, capture_output=True, timeout=timeout)
            if done.returncode != 0:
                problems.append(f"command exited {done.returncode}: {done.stderr.decode(errors='replace')[-200:]}")
        except (OSError, subprocess.SubprocessError) as exc:
            problems.append(f"command {settings['command'][0]!r}: {exc}")
    if settings.get("webhook"):
        req = urllib.request.Request(settings["webhook"], data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                resp.read(1024)
        except (OSError, ValueError) as exc:  # URLError and HTTPError are OSErrors
            problems.append(f"webhook {settings['webhook']}: {exc}")
    for p in problems:
        log.warning("notify (%s, sweep %s): %s", event.get("event"), event.get("sweep"), p)
    return problems


class Notifier:
    """Watches one scheduler's events for the sweeps that asked for alerts."""

    def __init__(self, ws: Any, sweeps: list[str]) -> None:
        self.ws = ws
        self.targets: dict[str, tuple[dict[str, Any], set[str]]] = {}
        for name in sweeps:
            rec = ws.sweep(name)
            settings = rec.get("notify") if rec is not None else None
            if isinstance(settings, dict) and (settings.get("command") or settings.get("webhook")):
                self.targets[name] = (settings, set(rec.get("run_ids") or []))
        self.threads: list[threading.Thread] = []

    def _send(self, settings: dict[str, Any], event: dict[str, Any]) -> None:
        if event["event"] not in (settings.get("events") or ("finished", "failed", "diverged")):
            return
        event = {**event, "workspace": str(self.ws.root), "at": time.time()}
        thread = threading.Thread(target=deliver, args=(settings, event), daemon=True, name="sciml-notify")
        thread.start()
        self.threads.append(thread)

    def on_event(self, kind: str, payload: dict[str, Any]) -> None:
        """A scheduler event: an `end` in a failed or diverged state alerts its sweeps."""
        kind_of_run = RUN_EVENTS.get(payload.get("state")) if kind == "end" else None
        if kind_of_run is None:
            return
        for name, (settings, run_ids) in self.targets.items():
            if payload.get("id") in run_ids:
                self._send(settings, {"event": kind_of_run, "sweep": name, "run": payload.get("id"),
                                      "state": str(payload.get("state")), "message": payload.get("message")})

    def settled(self) -> None:
        """After the scheduler settled its sweeps: `finished` for each that is no longer running."""
        for name, (settings, run_ids) in self.targets.items():
            rec = self.ws.sweep(name)
            state = str(rec.get("state")) if rec is not None else None
            if state in (None, "running"):
                continue
            counts: dict[str, int] = {}
            for r in self.ws.runs(sweep=name):
                counts[str(r.state)] = counts.get(str(r.state), 0) + 1
            self._send(settings, {"event": "finished", "sweep": name, "state": state, "counts": counts})

    def flush(self, timeout: float = FLUSH_S) -> None:
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))


def with_notifier(notifier: Notifier, emit: Any) -> Any:
    """An event callback that tells `notifier` and then `emit`."""
    def both(kind: str, payload: dict[str, Any]) -> None:
        notifier.on_event(kind, payload)
        emit(kind, payload)

    return both
