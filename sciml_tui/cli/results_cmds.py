"""`sciml results SWEEP`: error-vs-N tables, data-efficiency factor, CSV/JSON/plot exports."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Optional

import typer

from sciml_tui.cli.app import app
from sciml_tui.cli.common import JsonOpt, WorkspaceOpt, print_json, print_results, require_sweep
from sciml_tui.errors import UserError


@app.command("results", examples=[
    "sciml results quickstart",
    "sciml results quickstart --target 0.05 --plot quickstart.svg",
    "sciml results quickstart --json -o quickstart.json",
])
def results_cmd(
    sweep: Annotated[str, typer.Argument(help="Sweep name (see `sciml status`).")],
    workspace: WorkspaceOpt = Path("."),
    json_out: JsonOpt = False,
    csv_out: Annotated[bool, typer.Option("--csv", help="Print the curves as CSV.")] = False,
    out: Annotated[Optional[Path], typer.Option(
        "--out", "-o", help="Write the --json / --csv output to FILE instead of stdout.")] = None,
    plot: Annotated[Optional[Path], typer.Option(
        "--plot", help="Also draw the log-log error-vs-N plot to FILE (.png or .svg).")] = None,
    target: Annotated[Optional[float], typer.Option(
        "--target", help="Target test error eps for the data-efficiency factor "
                         "(default: the sweep's `target`, else 1e-2).", show_default=False)] = None,
) -> None:
    """Error-vs-N tables per (init, model), lr chosen by validation, fits and data efficiency.

    Mean and spread over seeds, power-law fits, and N_scratch(eps) / N_finetuned(eps).
    """
    from sciml_tui.results import export_plot, sweep_results, to_csv, to_json
    from sciml_tui.store import WorkspaceStore

    if json_out and csv_out:
        raise UserError("choose one of --json and --csv")
    if target is not None and not (math.isfinite(target) and target > 0):
        raise UserError(f"--target must be a positive number, got {target:g}")
    if plot is not None and plot.suffix.lower() not in (".png", ".svg"):
        raise UserError(f"--plot file {plot} must end in .png or .svg")
    if out is not None and not (json_out or csv_out):
        if out.suffix.lower() not in (".json", ".csv"):
            raise UserError(f"--out {out}: add --json or --csv (or name a .json / .csv file)")
        json_out, csv_out = out.suffix.lower() == ".json", out.suffix.lower() == ".csv"

    ws = WorkspaceStore(workspace)
    runs = require_sweep(ws, sweep)
    if target is None:
        target = float((ws.sweep(sweep) or {}).get("target") or 1e-2)
    res = sweep_results(runs, sweep, target=target)

    data_on_stdout = out is None and (json_out or csv_out)  # then notes go to stderr
    if json_out or csv_out:
        from sciml_tui.results.export import run_provenance

        provenance = run_provenance(ws.root, runs)
        text = to_json(res, provenance) if json_out else to_csv(res, provenance)
        if out is None:
            typer.echo(text, nl=False)
        else:
            from sciml_tui.atomic import write_text

            write_text(out, text)
    else:
        print_results(res)
    if out is not None:
        typer.echo(f"wrote {out}")
    if plot is not None:
        export_plot(res, plot)
        typer.echo(f"wrote {plot}", err=data_on_stdout)


@app.command("report", examples=[
    "sciml report quickstart --out reports/quickstart",
    "sciml report ood-1-2.5 ood-2.5-7.5 ood-5-10 ood-10-20 --out reports/ood",
    "sciml report mix-poisson mix-advdiff mix-helmholtz --out reports/mixture --json",
])
def report_cmd(
    sweeps: Annotated[list[str], typer.Argument(help="Sweep names (see `sciml status`).", show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the report into (created).",
                                      show_default=False)],
    workspace: WorkspaceOpt = Path("."),
    json_out: JsonOpt = False,
    target: Annotated[Optional[float], typer.Option(
        "--target", help="Target test error eps for every sweep (default: each sweep's own `target`, "
                         "else 1e-2).", show_default=False)] = None,
) -> None:
    """A self-contained report of one or more sweeps: report.md, report.html (figures embedded),
    figures/*.svg|png and results.json.

    Error vs N per sweep with seed bands and power-law fits; the data-efficiency factor against
    model size, physics shift, and mixture vs single-system pre-training where the sweeps cover
    them; the tables, warnings and methods (grid, seeds, recipe, data, hardware, time).
    """
    from sciml_tui.results.report import write_report
    from sciml_tui.results.report_inputs import load_report_input
    from sciml_tui.store import WorkspaceStore

    if target is not None and not (math.isfinite(target) and target > 0):
        raise UserError(f"--target must be a positive number, got {target:g}")
    if len(set(sweeps)) != len(sweeps):
        raise UserError("a sweep is named twice; name each sweep once")
    ws = WorkspaceStore(workspace)
    inputs = [load_report_input(ws, name, require_sweep(ws, name), target) for name in sweeps]
    written = write_report(inputs, out)
    if json_out:
        print_json(written)
    else:
        typer.echo(f"wrote {out / 'report.html'} and {out / 'report.md'} "
                   f"({len(written['figures'])} figures in {out / 'figures'}, data in {out / 'results.json'})")
