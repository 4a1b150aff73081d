"""Scheduler, slot pool and launch backends; plain functions for the CLI and the dashboard."""

from sciml_tui.launch.api import cancel, launch_sweep, plan_sweep, record_plan, resume, run_scheduler
from sciml_tui.launch.backend import LAUNCHES, Backend, Handle, LocalBackend, Slot, backend_named, make_slots
from sciml_tui.launch.scheduler import Scheduler

__all__ = ["plan_sweep", "record_plan", "launch_sweep", "resume", "cancel", "run_scheduler",
           "Backend", "Handle", "LocalBackend", "Slot", "make_slots", "Scheduler", "LAUNCHES", "backend_named"]
