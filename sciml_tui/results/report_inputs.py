"""What `sciml report` needs from a workspace, read once: each sweep's results, its run records
(sweep points and the pre-trainings they start from), the dataset records, and the run
directories' `result.json` / `launch.json` (device, world size, host).

Records are read only through `field_of`, so a move from dicts to typed records touches one
place. Everything after `load_report_input` is pure (`report_data`, `report`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from sciml_tui.atomic import read_json_object


def field_of(rec: Any, name: str, default: Any = None) -> Any:
    """A record's field, whether the record is a dict or an object with attributes."""
    if rec is None:
        return default
    if isinstance(rec, dict):
        value = rec.get(name, default)
    else:
        value = getattr(rec, name, default)
    return default if value is None else value


@dataclass(eq=False)  # identity: a sweep input is one sweep, used as a dict key
class SweepInput:
    """One sweep as the report sees it."""

    name: str
    res: dict
    runs: list = field(default_factory=list)
    sweep: Any = None
    datasets: dict = field(default_factory=dict)  # dataset id -> record
    run_files: dict = field(default_factory=dict)  # run id -> {"result": {...}, "launch": {...}}


def run_dir_of(root: Path, rec: Any) -> Optional[Path]:
    d = field_of(rec, "run_dir")
    if d:
        p = Path(str(d))
        return p if p.is_absolute() else root / p
    rid = field_of(rec, "id")
    return root / "runs" / str(rid) if rid else None


def run_files(root: Path, runs: list) -> dict:
    """result.json and launch.json of each run that has them (missing files: empty dicts)."""
    out = {}
    for rec in runs:
        d = run_dir_of(root, rec)
        if d is None:
            continue
        out[str(field_of(rec, "id"))] = {"result": read_json_object(d / "result.json") or {},
                                         "launch": read_json_object(d / "launch.json") or {}}
    return out


def load_report_input(ws: Any, name: str, runs: list, target: Optional[float] = None) -> SweepInput:
    """The sweep's results at `target` (default: the sweep's own, else 1e-2) with its records."""
    from sciml_tui.results.curves import sweep_results

    sweep = ws.sweep(name)
    if target is None:
        target = float(field_of(sweep, "target", 1e-2))
    datasets = {str(field_of(d, "id")): d for d in ws.datasets()}
    return SweepInput(name=name, res=sweep_results(runs, name, target=target), runs=list(runs),
                      sweep=sweep, datasets=datasets, run_files=run_files(Path(ws.root), runs))
