"""A warm worker's folder: the files through which a scheduler hands it runs, one at a time.

No torch here: the scheduler (launch room) writes the inbox, the worker process (learning
room) takes from it, and liveness checks read it. Every file is written atomically.

- `inbox.json`: the next job, `{"run_dir", "resume", "token"}`, or `{"exit": true}`; written by
  the scheduler only while the worker is idle, removed by the worker when it takes the job.
- `current.json`: `{"run_dir", "token"}` of the job the worker is on, `{}` while idle. The worker
  writes it *before* removing the inbox, so a dispatched token is always in one of the two.

A run given to a worker is alive while the worker process lives and one of the two files
holds the run's token (`holds`): a worker that moved on, or died, no longer runs it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional

from sciml_tui.atomic import read_json_object, write_json

INBOX_FILE = "inbox.json"
CURRENT_FILE = "current.json"
WORKER_LOG = "worker.log"


class WorkerDir:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def file(self, name: str) -> Path:
        return self.path / name

    def put(self, job: dict[str, Any]) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        write_json(self.file(INBOX_FILE), job)

    def inbox(self) -> Optional[dict[str, Any]]:
        return read_json_object(self.file(INBOX_FILE))

    def current(self) -> Optional[dict[str, Any]]:
        """The job the worker is on ({} idle), None before the worker first wrote it."""
        return read_json_object(self.file(CURRENT_FILE))

    def take(self) -> Optional[dict[str, Any]]:
        """The inbox's job, now marked current (the worker's side); None when there is none."""
        job = self.inbox()
        if job is None:
            return None
        if not job.get("exit"):
            self.set_current(job)
        self.file(INBOX_FILE).unlink(missing_ok=True)
        return job

    def set_current(self, job: Optional[dict[str, Any]]) -> None:
        write_json(self.file(CURRENT_FILE), {"run_dir": job["run_dir"], "token": job["token"]} if job else {})

    def idle(self) -> bool:
        """Ready for a job: it wrote an empty current.json and nothing waits in its inbox."""
        return self.current() == {} and not self.file(INBOX_FILE).exists()

    def holds(self, token: Any) -> bool:
        """True while the job with `token` waits in the inbox or is the worker's current one."""
        if not token:
            return False
        # the inbox first: the worker writes current.json before it removes the inbox
        return any((doc or {}).get("token") == token for doc in (self.inbox(), self.current()))
