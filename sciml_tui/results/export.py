"""Exports of `sweep_results` output: CSV, JSON and a log-log plot (PNG or SVG).

Every file is written atomically (temp file + rename): an interrupted export never leaves a
half-written file over a good one.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any, Optional

from sciml_tui.atomic import write_text
from sciml_tui.errors import UserError
from sciml_tui.results.caveats import CSV_CAVEAT_COLUMNS, csv_caveat_cells
from sciml_tui.provenance import provenance_line
from sciml_tui.results.figures import PLOT_SUFFIXES, build_error_figure, save_figure
from sciml_tui.results.report_inputs import field_of, run_dir_of
from sciml_tui.rundir import RunDir
from sciml_tui.store.records import worse_than_zero

CSV_COLUMNS = ("sweep", "model", "init", "source", "n", "error", "error_std", "seeds", "lr",
               "val_error", "failed", "diverged", "errors", *CSV_CAVEAT_COLUMNS, "worse_than_zero")


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(v)  # shortest string that reads back to the same float
    return str(v)


def run_provenance(root: str | Path, runs: list) -> dict[str, dict]:
    """Run id -> its `provenance.json`, for the runs that recorded one."""
    out = {}
    for rec in runs:
        d = run_dir_of(Path(root), rec)
        prov = RunDir(d).provenance() if d is not None else None
        if prov is not None:
            out[str(field_of(rec, "id"))] = prov
    return out


def _point_provenance(point: dict, provenance: dict[str, dict]) -> str:
    lines = [provenance_line(provenance.get(str(rid))) for rid in point.get("run_ids") or []]
    return " | ".join(dict.fromkeys(line for line in lines if line))


def to_csv(res: dict, provenance: Optional[dict[str, dict]] = None) -> str:
    """One row per point (zero-shot: one row with an empty `n`); `errors` per seed, ';'-joined;
    then the caveat columns (see `caveats.csv_caveat_cells`), `worse_than_zero` (true when
    the error is above 1) and, given `run_provenance`, `provenance` (each distinct
    `provenance_line` of the point's runs, ' | '-joined)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS + (("provenance",) if provenance is not None else ()))
    for c in res["curves"]:
        for p in c["points"]:
            w.writerow([_cell(res["sweep"]), _cell(c["model"]), c["init"], _cell(c["source"]),
                        _cell(p["n"]), _cell(p["error"]), _cell(p["error_std"]),
                        _cell(p["seeds"]), _cell(p["lr"]), _cell(p.get("val_error")),
                        _cell(p.get("failed", 0)), _cell(p.get("diverged", 0)),
                        ";".join(repr(float(e)) for e in p.get("errors", [])),
                        *csv_caveat_cells(res, c, p), "true" if worse_than_zero(p["error"]) else "false",
                        *([_point_provenance(p, provenance)] if provenance is not None else [])])
    return buf.getvalue()


def to_json(res: dict, provenance: Optional[dict[str, dict]] = None) -> str:
    """`res`, plus `"provenance": {run id: provenance.json}` when given."""
    return json.dumps(res if provenance is None else {**res, "provenance": provenance}, indent=2) + "\n"


def export_csv(res: dict, path: str | Path) -> Path:
    write_text(path, to_csv(res))
    return Path(path)


def export_json(res: dict, path: str | Path) -> Path:
    write_text(path, to_json(res))
    return Path(path)


def export_plot(res: dict, path: str | Path) -> Path:
    """Log-log error vs N, one panel per model (see `figures.build_error_figure`); the suffix
    picks the format (.png or .svg)."""
    path = Path(path)
    if path.suffix.lower() not in PLOT_SUFFIXES:
        raise UserError(f"plot file {path} must end in .png or .svg")
    return save_figure(build_error_figure(res), path)
