"""The dashboard's only door to the engine rooms (store, launch, results) and to run dirs.

Every function here may block on disk or processes: call them from worker threads, never from
the UI thread. Engine modules are imported lazily so the dashboard starts fast; nothing here
imports torch.
"""

from __future__ import annotations

import os
from pathlib import Path
from sciml_tui.errors import UserError
from sciml_tui.rundir import RunDir

STORE_REL = Path(".sciml") / "sciml.json"


def store_path(root: Path) -> Path:
    return Path(root) / STORE_REL


def load_store(root: Path) -> dict[str, list[dict]]:
    """Read the workspace store in one read: {"sweeps", "runs", "datasets"} lists of records.

    A missing store gives empty lists; a corrupt one (bad JSON, or a record with wrong types)
    raises UserError (reads take no lock). Records come as their stored dicts.
    """
    from sciml_tui.store import WorkspaceStore

    tables = WorkspaceStore(Path(root)).tables()
    return {"sweeps": [s.to_dict() for s in tables.sweeps], "runs": [r.to_dict() for r in tables.runs],
            "datasets": [d.to_dict() for d in tables.datasets]}


def run_dir(root: Path, rec: dict) -> RunDir:
    d = rec.get("run_dir") or str(Path("runs") / str(rec.get("id")))
    p = Path(d)
    return RunDir(p if p.is_absolute() else Path(root) / p)


def list_specs(root: Path) -> list[Path]:
    d = Path(root) / "experiments"
    return sorted(p for p in d.glob("*.y*ml") if p.is_file()) if d.is_dir() else []


# --- results -------------------------------------------------------------------------------

def sweep_results(runs: list[dict], sweep: str, target: float) -> dict:
    from sciml_tui.results import sweep_results as compute

    return compute(runs, sweep, target)


def export_results(res: dict, path: Path) -> None:
    from sciml_tui import results as R

    exporter = {".csv": R.export_csv, ".json": R.export_json, ".png": R.export_plot, ".svg": R.export_plot}
    if path.suffix not in exporter:
        raise UserError(f"cannot export to {path.name}: use .csv, .json, .png or .svg")
    exporter[path.suffix](res, path)


# --- launch ----------------------------------------------------------------------------------

def _store(root: Path):
    from sciml_tui.store import WorkspaceStore

    return WorkspaceStore(Path(root))


def plan_text(root: Path, spec: Path) -> str:
    """The printable dry-run plan of `spec` in workspace `root` (writes nothing)."""
    from sciml_tui.launch import plan_sweep

    plan = plan_sweep(Path(spec), _store(root))
    text = "\n".join(plan.summary_lines())
    return text.replace(str(Path(root).resolve()) + os.sep, "")  # paths relative to the workspace


def launch_sweep(root: Path, spec: Path) -> str:
    """Record and start the sweeps of `spec` under a detached scheduler (survives the app)."""
    from sciml_tui.launch import launch_sweep as launch

    out = launch(_store(root), Path(spec), detach=True)
    sweeps = ", ".join(out.get("sweeps") or []) if isinstance(out, dict) else ""
    pid = out.get("scheduler_pid") if isinstance(out, dict) else None
    return f"launched {sweeps or Path(spec).name}" + (f" (scheduler pid {pid})" if pid else "")


def resume_sweep(root: Path, sweep: str) -> str:
    from sciml_tui.launch import resume

    out = resume(_store(root), sweep, detach=True)
    pid = out.get("scheduler_pid") if isinstance(out, dict) else None
    return f"resumed {sweep}" + (f" (scheduler pid {pid})" if pid else "")


def cancel(root: Path, target: str) -> str:
    """Cancel a run or a whole sweep (SIGTERM, then SIGKILL its process group)."""
    from sciml_tui.launch import cancel as cancel_

    ids = cancel_(_store(root), target)
    return f"cancelled {len(ids)} run(s) of {target}" if ids else f"nothing to cancel in {target}"


def resources_sample() -> list[tuple[str, str]]:
    """(label, value) pairs: GPU util/memory per device through NVML if present, else CPU/mem."""
    out: list[tuple[str, str]] = []
    try:
        import pynvml  # type: ignore[import-not-found]

        pynvml.nvmlInit()
        for i in range(pynvml.nvmlDeviceGetCount()):
            h = pynvml.nvmlDeviceGetHandleByIndex(i)
            util = pynvml.nvmlDeviceGetUtilizationRates(h).gpu
            mem = pynvml.nvmlDeviceGetMemoryInfo(h).used / 2**30
            out.append((f"gpu{i}", f"{util:>3d}% {mem:.0f}G"))
    except Exception:  # no NVML, no driver or no GPU: fall back to the CPU view
        out = []
    try:
        import psutil

        out.append(("cpu", f"{psutil.cpu_percent(interval=None):>3.0f}%"))
        vm = psutil.virtual_memory()
        out.append(("mem", f"{vm.used / 2**30:.1f}/{vm.total / 2**30:.0f}G"))
    except Exception:
        pass
    return out
