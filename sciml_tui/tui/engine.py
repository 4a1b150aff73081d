"""The dashboard's only door to the engine rooms (store, launch, results) and to run dirs.

Every function here may block on disk or processes: call them from worker threads, never from
the UI thread. Engine modules are imported lazily so the dashboard starts fast and keeps
working (read-only) where a room is missing; nothing here imports torch.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Optional

from sciml_tui.errors import UserError

STORE_REL = Path(".sciml") / "sciml.json"


def store_path(root: Path) -> Path:
    return Path(root) / STORE_REL


def _table(data: dict, name: str) -> list[dict]:
    rows = data.get(name) or {}
    if not isinstance(rows, dict):
        raise UserError(f"table {name!r} is not a JSON object")
    return [dict(r) for _, r in sorted(rows.items(), key=lambda kv: int(kv[0]) if kv[0].isdigit() else 0)]


def load_store(root: Path) -> dict[str, list[dict]]:
    """Read the workspace store: {"sweeps", "runs", "datasets"} lists of records.

    Uses the store room's `WorkspaceStore` when present (its reads take no lock), else reads the
    TinyDB JSON file directly. A missing store gives empty lists; a corrupt one raises UserError.
    """
    root = Path(root)
    try:
        from sciml_tui.store import WorkspaceStore  # type: ignore[attr-defined]
    except ImportError:
        WorkspaceStore = None  # noqa: N806
    if WorkspaceStore is not None:
        ws = WorkspaceStore(root)
        if hasattr(ws, "snapshot"):  # all tables from one read
            snap = ws.snapshot()  # raw TinyDB tables: {doc_id: record}
            return {k: _table(snap, k) for k in ("sweeps", "runs", "datasets")}
        return {"sweeps": list(ws.sweeps()), "runs": list(ws.runs()), "datasets": list(ws.datasets())}
    path = store_path(root)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {"sweeps": [], "runs": [], "datasets": []}
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}") from None
    if not text.strip():
        return {"sweeps": [], "runs": [], "datasets": []}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"{path} is corrupt (line {exc.lineno}: {exc.msg}); restore it from {path.name}.bak") from None
    if not isinstance(data, dict):
        raise UserError(f"{path} is corrupt (not an object of tables)")
    return {name: _table(data, name) for name in ("sweeps", "runs", "datasets")}


def run_dir(root: Path, rec: dict) -> Path:
    d = rec.get("run_dir") or str(Path("runs") / str(rec.get("id")))
    p = Path(d)
    return p if p.is_absolute() else Path(root) / p


def read_metrics(rdir: Path) -> dict[str, list[dict]]:
    """The `epochs` and `steps` tables of `rdir/metrics.json`, sorted; empty when absent.

    Read here rather than through the learning room so the dashboard never imports torch.
    """
    path = Path(rdir) / "metrics.json"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {"epochs": [], "steps": []}
    try:
        data = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError:
        raise UserError(f"{path} is corrupt (not valid JSON)") from None
    out = {}
    for name, key in (("epochs", "epoch"), ("steps", "step")):
        rows = data.get(name) or {}
        vals = list(rows.values()) if isinstance(rows, dict) else []
        out[name] = sorted((r for r in vals if isinstance(r, dict)), key=lambda r: r.get(key) or 0)
    return out


def read_json(path: Path) -> Optional[dict]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OSError, json.JSONDecodeError):
        return {"status": "unreadable", "message": f"{path} is unreadable"}
    return data if isinstance(data, dict) else None


def read_text(path: Path, limit: int = 200_000) -> Optional[str]:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - limit))
            return fh.read().decode("utf-8", errors="replace")
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        return f"(cannot read {path}: {exc.strerror})"


def log_tail(rdir: Path, lines: int = 200) -> list[str]:
    text = read_text(Path(rdir) / "train.log", limit=64_000)
    return [] if text is None else text.splitlines()[-lines:]


def list_specs(root: Path) -> list[Path]:
    d = Path(root) / "experiments"
    return sorted(p for p in d.glob("*.y*ml") if p.is_file()) if d.is_dir() else []


# --- results -------------------------------------------------------------------------------

def sweep_results(runs: list[dict], sweep: str, target: float) -> dict:
    try:
        from sciml_tui.results import sweep_results as real  # type: ignore[attr-defined]
    except ImportError:
        return _fallback_results(runs, sweep, target)
    return real(runs, sweep, target)


def _fallback_results(runs: list[dict], sweep: str, target: float) -> dict:
    """Means over seeds at the best-val lr; used only until the results room is installed."""
    import statistics as st

    groups: dict[tuple, dict[float, list[dict]]] = {}
    for r in runs:
        if r.get("sweep") != sweep or r.get("state") != "done" or r.get("test_error") is None:
            continue
        key = (r.get("init"), r.get("model"), r.get("n_train") if r.get("init") != "zeroshot" else None)
        groups.setdefault(key, {}).setdefault(r.get("lr"), []).append(r)
    curves: dict[tuple, dict] = {}
    for (init, model, n), by_lr in sorted(groups.items(), key=lambda kv: (str(kv[0][0]), str(kv[0][1]), kv[0][2] or 0)):
        lr, rs = min(by_lr.items(), key=lambda kv: (st.mean(x.get("best_val_error") or 1e9 for x in kv[1]), kv[0] or 0))
        errs = [x["test_error"] for x in rs]
        pt = {"n": n, "error": st.mean(errs), "error_std": st.pstdev(errs) if len(errs) > 1 else 0.0,
              "seeds": len(errs), "lr": lr}
        curves.setdefault((init, model), {"init": init, "model": model, "points": []})["points"].append(pt)
    return {"sweep": sweep, "curves": list(curves.values()), "efficiency": {"target": target, "factor": None}}


def export_results(res: dict, path: Path) -> None:
    from sciml_tui import results as R

    fn = {".csv": "export_csv", ".json": "export_json", ".png": "export_plot", ".svg": "export_plot"}[path.suffix]
    if not hasattr(R, fn):
        if path.suffix == ".json":
            from sciml_tui.atomic import write_json

            write_json(path, res)
            return
        raise UserError(f"exporting {path.suffix} needs the results module ({fn} is not available)")
    getattr(R, fn)(res, path)


# --- launch ----------------------------------------------------------------------------------

def _store(root: Path):
    try:
        from sciml_tui.store import WorkspaceStore  # type: ignore[attr-defined]
    except ImportError:
        raise UserError("the workspace store engine is not installed") from None
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
