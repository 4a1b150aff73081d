"""The dashboard App: one factory (`make_app`) for the entry point, the tests and the benchmark."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Callable, Iterable, Optional

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.worker import get_current_worker

from sciml_tui.terminal import ascii_only
from sciml_tui.tui.alerts import bell_reasons
from sciml_tui.tui.format import Glyphs, glyphs_for
from sciml_tui.tui.jobs import JobsMixin
from sciml_tui.tui.messages import Polled
from sciml_tui.tui.poller import Poller, Snapshot


class SciMLApp(JobsMixin, App):
    CSS_PATH = "sciml.tcss"
    TITLE = "sciml-tui"
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help", key_display="?"),
    ]

    def __init__(self, workspace: Path, *, clock: Callable[[], float] = time.time, poll_interval: float = 1.0,
                 resources: Optional[Callable[[], list[tuple[str, str]]]] = None, poll: bool = True,
                 label: Optional[str] = None) -> None:
        # Textual draws on stderr: ASCII symbols when it (or the locale) cannot show more, chosen
        # once, before Textual reads the CSS variables (`get_css_variables`: the border kinds)
        self.glyphs: Glyphs = glyphs_for(ascii_only(sys.__stderr__) or ascii_only())
        super().__init__()
        self.workspace = Path(workspace).resolve()
        self.workspace_label = label
        self.clock = clock
        self.poll_interval = poll_interval
        self.poller = Poller(self.workspace, clock=clock, resources=resources, glyphs=self.glyphs)
        self.snapshot: Optional[Snapshot] = None
        self._wake = threading.Event()
        self._stopping = False
        self._poll_enabled = poll
        self.refresh_cycles: list[float] = []  # UI-thread seconds per applied snapshot (benchmark)

    def get_css_variables(self) -> dict[str, str]:
        """`$frame` / `$frame-thick`: the panels' border kinds, and `$tab-underline`: the tabs'
        underline bar; ASCII borders and no bar on an ASCII-only terminal."""
        plain = self.glyphs.ascii
        return {**super().get_css_variables(), "frame": "ascii" if plain else "round",
                "frame-thick": "ascii" if plain else "thick", "tab-underline": "none" if plain else "block"}

    def on_mount(self) -> None:
        from sciml_tui.tui.screens.overview import OverviewScreen

        self.push_screen(OverviewScreen())
        if self._poll_enabled:
            self._poll_loop()

    def on_unmount(self) -> None:
        self._stopping = True
        self._wake.set()

    def wake_poller(self) -> None:
        self._wake.set()

    @work(thread=True, exclusive=True, group="poll", exit_on_error=False)
    def _poll_loop(self) -> None:
        worker = get_current_worker()
        while not (worker.is_cancelled or self._stopping):
            try:
                snap = self.poller.poll()
            except Exception as exc:  # keep polling: a bad file must not end live updates
                self.call_from_thread(self.notify, f"refresh failed: {exc!r}", severity="error")
                snap = None
            if snap is not None:
                self.post_message(Polled(snap))
            self._wake.wait(self.poll_interval)
            self._wake.clear()

    def poll_once(self) -> None:
        """Poll synchronously in the calling thread (tests, benchmark)."""
        snap = self.poller.poll(force=True)
        if snap is not None:
            self.post_message(Polled(snap))

    def on_polled(self, message: Polled) -> None:
        t0 = time.perf_counter()
        if bell_reasons(self.snapshot, message.snapshot):
            self.bell()
        self.snapshot = message.snapshot
        for screen in self.screen_stack:
            apply = getattr(screen, "apply_snapshot", None)
            if apply is not None and screen.is_mounted:
                try:
                    apply(message.snapshot)
                except NoMatches:  # not composed yet; it applies app.snapshot on mount
                    pass
        self.refresh_cycles.append(time.perf_counter() - t0)

    def get_key_display(self, binding: Binding) -> str:
        return self.glyphs.text(super().get_key_display(binding))  # '⏎' is 'enter' in ASCII

    def notify(self, message: str, *, title: str = "", **kw) -> None:  # type: ignore[override]
        super().notify(self.glyphs.text(str(message)), title=self.glyphs.text(title), **kw)

    def action_help(self) -> None:
        from sciml_tui.tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_toggle_theme(self) -> None:
        self.theme = "textual-light" if self.theme == "textual-dark" else "textual-dark"

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Textual's commands, then the current screen's own keys, each title once."""
        seen: set[str] = set()
        for cmd in super().get_system_commands(screen):
            if cmd.title not in seen:
                seen.add(cmd.title)
                yield cmd
        for binding in getattr(screen, "BINDINGS", []):
            if isinstance(binding, Binding) and binding.description and binding.description not in seen:
                seen.add(binding.description)
                key = binding.key_display or binding.key.split(",")[0]
                yield SystemCommand(binding.description, f"key {key}",
                                    lambda a=binding.action, s=screen: self.call_later(s.run_action, a))
        for title, help_text, callback in (("Help", "All keys (?)", self.action_help),
                                           ("Toggle light/dark", "Switch between the light and dark theme",
                                            self.action_toggle_theme)):
            if title not in seen:
                seen.add(title)
                yield SystemCommand(title, help_text, callback)


def make_app(workspace: Path | str, *, clock: Optional[Callable[[], float]] = None, poll_interval: float = 1.0,
             resources: Optional[Callable[[], list[tuple[str, str]]]] = None, poll: bool = True,
             label: Optional[str] = None) -> SciMLApp:
    """Build the dashboard for `workspace`.

    clock: seconds since the epoch (frozen in tests); poll_interval: seconds between store and
    run-dir polls; resources: a sampler of (label, value) pairs for the top bar (NVML or psutil
    by default); poll: start the polling worker (tests may drive `poll_once` instead);
    label: how the top bar names the workspace (default: its path, ~ for home).
    """
    return SciMLApp(Path(workspace), clock=clock or time.time, poll_interval=poll_interval,
                    resources=resources, poll=poll, label=label)
