"""Engine calls the dashboard starts (launch, cancel, resume, export, plan), each in a thread
worker so the UI never blocks; they report back with `call_from_thread` / `post_message`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual import work

from sciml_tui.errors import UserError
from sciml_tui.tui import engine
from sciml_tui.tui.messages import PlanReady

if TYPE_CHECKING:
    from textual.screen import Screen


EXPORT_SUFFIX = {"csv": ".csv", "json": ".json", "png": ".png"}


class JobsMixin:
    """Mixed into the App: `self.workspace` (Path), `self.wake_poller()`."""

    def _report(self, text: str, error: bool = False) -> None:
        self.call_from_thread(self.notify, text, severity="error" if error else "information",
                              timeout=6 if error else 4)
        self.call_from_thread(self.wake_poller)

    def _guard(self, fn, *args) -> None:
        try:
            self._report(fn(*args))
        except UserError as exc:
            self._report(str(exc), error=True)
        except Exception as exc:  # an engine bug is shown, not allowed to kill the dashboard
            self._report(f"{type(exc).__name__}: {exc}", error=True)

    @work(thread=True, group="jobs")
    def job_plan(self, spec: str, screen: "Screen") -> None:
        try:
            text, ok = engine.plan_text(self.workspace, self.workspace / "experiments" / spec), True
        except UserError as exc:
            text, ok = str(exc), False
        except Exception as exc:
            text, ok = f"{type(exc).__name__}: {exc}", False
        screen.post_message(PlanReady(spec, text, ok))

    @work(thread=True, group="jobs")
    def job_launch(self, spec: str) -> None:
        self._guard(engine.launch_sweep, self.workspace, self.workspace / "experiments" / spec)

    @work(thread=True, group="jobs")
    def job_cancel(self, target: str) -> None:
        self._guard(engine.cancel, self.workspace, target)

    @work(thread=True, group="jobs")
    def job_resume(self, sweep: str) -> None:
        self._guard(engine.resume_sweep, self.workspace, sweep)

    @work(thread=True, group="jobs")
    def job_export(self, sweep: str, target: float, records: list[dict], paths: list[Path]) -> None:
        done = []
        try:
            res = engine.sweep_results(records, sweep, target)
            for p in paths:
                engine.export_results(res, p)
                done.append(str(p.relative_to(self.workspace)) if p.is_relative_to(self.workspace) else str(p))
        except UserError as exc:
            self._report(str(exc), error=True)
            return
        except Exception as exc:
            self._report(f"export failed: {type(exc).__name__}: {exc}", error=True)
            return
        self._report("exported " + ", ".join(done))

    def export_paths(self, sweep: str, kinds: list[str]) -> list[Path]:
        return [self.workspace / "exports" / f"{sweep}{EXPORT_SUFFIX[k]}" for k in kinds]
