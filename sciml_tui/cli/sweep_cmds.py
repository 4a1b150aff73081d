"""`sciml run sweep`, `sciml resume`, `sciml cancel`, `sciml status`, `sciml logs`.

Light on purpose: the bodies import the engine lazily and never import torch.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from sciml_tui.cli.app import app, run_app
from sciml_tui.cli.common import (JsonOpt, WorkspaceOpt, is_tty, print_json, print_results, require_sweep,
                                   workspace_dir)
from sciml_tui.errors import ConfigError
from sciml_tui.store.records import FINISHED

DetachOpt = Annotated[bool, typer.Option("--detach", help="Run the scheduler in the background and return at once.")]
MaxParOpt = Annotated[Optional[int], typer.Option("--max-parallel", min=1, help="At most K runs at a time.")]
GpusOpt = Annotated[Optional[str], typer.Option("--gpus", help="GPU indices to use, e.g. 0,1 (default: all visible).")]
PerGpuOpt = Annotated[int, typer.Option("--per-gpu", min=1, help="Runs per GPU at once.")]
WorkersOpt = Annotated[Optional[str], typer.Option(
    "--workers", help="warm: one training process per slot runs run after run (default); fresh: a new process per run.")]
PrecisionOpt = Annotated[str, typer.Option(
    "--precision", help="fp32 (the reference), tf32 (GPU matmuls in TF32) or bf16 (autocast; FFTs stay float32).")]
CompileOpt = Annotated[bool, typer.Option("--compile", help="torch.compile the model's pointwise layers.")]
GpuDataOpt = Annotated[str, typer.Option(
    "--gpu-data", help="auto: training data resident on the GPU when it fits; host: pinned host memory.")]
BackendOpt = Annotated[str, typer.Option("--backend", help="local (processes on this machine) or slurm (job arrays).")]
PartitionOpt = Annotated[Optional[str], typer.Option("--partition", help="Slurm partition (--backend slurm).")]
ArrayLimitOpt = Annotated[Optional[int], typer.Option("--array-limit", help="At most K array tasks at once (%K; --backend slurm).")]
SlurmOptOpt = Annotated[Optional[list[str]], typer.Option("--slurm-opt", help="Extra sbatch option KEY=VALUE, e.g. time=01:00:00 (repeatable).")]
MaxRequeuesOpt = Annotated[Optional[int], typer.Option("--max-requeues", help="Requeue a preempted array task at most N times (default 10; 0: never; --backend slurm).")]


def _slurm_options(partition: Optional[str], array_limit: Optional[int], slurm_opt: Optional[list[str]],
                   max_requeues: Optional[int] = None) -> Any:
    from sciml_tui.launch.slurm import SlurmOptions

    return SlurmOptions(partition=partition, array_limit=array_limit, opts=list(slurm_opt or []),
                        max_requeues=max_requeues)


def _echo_submitted(out: dict[str, Any]) -> None:
    jobs = ", ".join(f"{k} array {v}" for k, v in out["jobs"].items() if v)
    if out["submitted"]:
        typer.echo(f"submitted {len(out['submitted'])} run(s) to Slurm ({jobs})")
    else:
        typer.echo("nothing to submit: every run is finished or still in Slurm")
    if out.get("skipped"):
        typer.echo(f"{len(out['skipped'])} run(s) wait on a pre-training that runs locally; resume them later")
    if out.get("lr_search"):
        typer.echo(f"lr search: it advances one step on each `sciml resume {out['sweeps'][0]} --backend slurm` "
                   "(a submit without --detach follows it to the end)")


def _spec_errors(exc: ConfigError) -> None:
    for line in str(exc).splitlines():
        typer.echo(f"error: {line}", err=True)
    raise typer.Exit(2)


def _engine(precision: str, compile_model: bool, gpu_data: str) -> dict[str, Any]:
    """The engine flags every run of the launch gets (precision and compile are part of run ids)."""
    from sciml_tui.errors import UserError

    if precision not in ("fp32", "tf32", "bf16"):
        raise UserError(f"--precision {precision!r}: use fp32, tf32 or bf16")
    if gpu_data not in ("auto", "host"):
        raise UserError(f"--gpu-data {gpu_data!r}: use auto or host")
    return {"precision": precision, "compile": compile_model, "gpu_data": gpu_data}


def _gpus(value: Optional[str]) -> Optional[list[str]]:
    if value is None:
        return None
    gpus = [g.strip() for g in value.split(",") if g.strip()]
    from sciml_tui.errors import UserError

    if not all(g.isdigit() for g in gpus):
        raise UserError(f"--gpus takes GPU indices like 0,1; got {value!r}")
    return gpus


def _estimate(ws: Any, plan: Any, slots: Any, limit: Optional[float], calibrate: bool, rerun: bool,
              warm_workers: bool = True) -> Any:
    """The plan's cost on the devices `slots` would use, measuring step times first if asked."""
    from sciml_tui.learning.calibrate import device_for_slots
    from sciml_tui.specs.cost import estimate_in_workspace, plan_works

    device = device_for_slots(slots)
    if calibrate:
        from sciml_tui.learning.calibrate import calibrate as measure

        done = measure(ws.root, device, plan_works(plan, pending_only=not rerun),
                       progress=lambda line: typer.echo(line, err=True))
        if not done:
            typer.echo(f"already calibrated on {device.label} (delete .sciml/calibration.json to measure again)",
                       err=True)
    return estimate_in_workspace(plan, ws.root, device, limit, pending_only=not rerun, warm_workers=warm_workers)


def _confirm_cost(est: Any, yes: bool, interactive: bool) -> None:
    """Above the limit: ask on a terminal, else refuse with one error line (unless --yes)."""
    if not est.over_limit or yes:
        return
    from sciml_tui.errors import UserError
    from sciml_tui.specs.cost import warning_line

    if interactive:
        typer.echo(warning_line(est), err=True)
        if typer.confirm("launch anyway?", default=False):
            return
        typer.echo("not launched", err=True)
        raise typer.Exit(1)
    raise UserError(f"the estimate is about {est.device_hours:,.1f} device-hours, above the limit of "
                    f"{est.limit_hours:g}: check it with --dry-run, then pass --yes to launch anyway "
                    "or raise --max-device-hours (or max_device_hours in .sciml/settings.json)")


class _Progress:
    """Foreground progress: a Rich bar on a TTY, one plain line per event otherwise."""

    def __init__(self, total: int, tty: bool) -> None:
        self.total, self.done, self.tty = total, 0, tty
        self.bar = None
        if tty and total:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
            self.task = self.bar.add_task("sweep", total=total)
            self.bar.start()

    def __call__(self, kind: str, p: dict[str, Any]) -> None:
        if kind == "end":
            self.done += 1
        elif kind == "add":  # a run the lr search added: one more to wait for
            self.total += 1
        line = self.line(kind, p)
        if self.bar is not None:
            self.bar.console.print(line, highlight=False, markup=False)
            self.bar.update(self.task, completed=self.done, total=self.total, description=f"{kind} {p.get('id', '')}"[:40])
        else:
            typer.echo(line)

    def line(self, kind: str, p: dict[str, Any]) -> str:
        err = p.get("test_error")
        extra = f" test_error={err:.4g}" if isinstance(err, float) else ""
        if kind == "dataset":
            return f"dataset {p['id']}: {p['state']}"
        if kind == "end":
            return f"[{self.done}/{self.total}] {p['id']}: {p.get('state')}{extra}"
        if kind == "add":
            return f"added {p['id']}: lr={p['lr']:.3g} (the adaptive lr grid grows past the chosen edge)"
        if kind == "pause":
            return f"pause {p['id']} after epoch {p['epoch']} (lr halving rung)"
        if kind == "rung":
            kept = ", ".join(f"{x:.3g}" for x in p["kept"])
            return f"rung {p['sweep']} {p['init']} {p['model']} N={p['n']} at epoch {p['epoch']}: keeps lr {kept}"
        if kind == "lr_search":
            return f"lr search {p['id']}: {p['message']}"
        return f"{kind} {p['id']}" + (f" on {p['device']}" if p.get("device") else "") + (" (resume)" if p.get("resume") else "")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def _print_results(ws: Any, sweeps: list[str]) -> None:
    from sciml_tui.results import sweep_results

    for name in sweeps:
        target = (ws.sweep(name) or {}).get("target") or 1e-2
        print_results(sweep_results(ws.runs(sweep=name), name, target=target))
        if target != 1e-2:
            typer.echo(f"(data efficiency at the sweep's target {target:g}; `sciml results {name} --target EPS` for another)")


def _foreground(ws: Any, names: list[str], start: Any, todo: Optional[int] = None) -> None:
    if todo is None:
        todo = sum(1 for n in names for r in ws.runs(sweep=n) if r.state not in FINISHED)
    progress = _Progress(todo, is_tty())
    t0 = time.time()
    try:
        out = start(progress)
    except KeyboardInterrupt:
        progress.close()
        typer.echo(f"interrupted: running trainings go on; `sciml resume {names[0]}` adopts them", err=True)
        raise typer.Exit(130)
    finally:
        progress.close()
    counts = out["counts"]
    summary = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
    typer.echo(f"sweep {', '.join(names)}: {summary} ({time.time() - t0:.1f} s)")
    _print_results(ws, names)


@run_app.command("sweep", examples=[
    "sciml run sweep experiments/quickstart.yaml --dry-run",
    "sciml run sweep experiments/quickstart.yaml --detach --gpus 0,1",
    "sciml run sweep experiments/model-sizes.yaml --backend slurm --partition gpu",
])
def run_sweep(
    spec: Annotated[Path, typer.Argument(help="Experiment spec file (experiments/*.yaml).")],
    workspace: WorkspaceOpt = Path("."),
    sweep: Annotated[Optional[list[str]], typer.Option("--sweep", help="Only this sweep of the spec (repeatable).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan; run and record nothing.")] = False,
    detach: DetachOpt = False,
    rerun: Annotated[bool, typer.Option("--rerun", help="Run every point again, even finished ones.")] = False,
    max_parallel: MaxParOpt = None,
    gpus: GpusOpt = None,
    per_gpu: PerGpuOpt = 1,
    workers: WorkersOpt = None,
    precision: PrecisionOpt = "fp32",
    compile_model: CompileOpt = False,
    gpu_data: GpuDataOpt = "auto",
    backend: BackendOpt = "local",
    partition: PartitionOpt = None,
    array_limit: ArrayLimitOpt = None,
    slurm_opt: SlurmOptOpt = None,
    max_requeues: MaxRequeuesOpt = None,
    json_out: JsonOpt = False,
    calibrate: Annotated[bool, typer.Option("--calibrate", help="First measure step times of the plan's models on this machine (cached in .sciml/calibration.json).")] = False,
    max_hours: Annotated[Optional[float], typer.Option("--max-device-hours", min=0.0, help="Ask (or refuse without a terminal) above this estimate; default: max_device_hours in .sciml/settings.json, else 24.")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Launch even above --max-device-hours.")] = False,
) -> None:
    """Generate missing datasets, pre-train, then run the sweep points of SPEC.

    The plan carries a cost estimate (sample-passes, disk, device time); above the limit the
    launch asks first. With --backend slurm the runs go to Slurm as job arrays (pre-training
    first, the points depending on it); --detach returns right after submission.
    """
    from sciml_tui.launch import plan_sweep
    from sciml_tui.launch.backend import make_slots
    from sciml_tui.launch.worker import check_mode
    from sciml_tui.store import WorkspaceStore

    ws = WorkspaceStore(workspace)
    engine = _engine(precision, compile_model, gpu_data)
    check_mode(workers)
    try:
        plan = plan_sweep(spec, ws, sweep or None, engine)
    except ConfigError as exc:
        _spec_errors(exc)
    gpu_list = _gpus(gpus)
    plan.cost = _estimate(ws, plan, make_slots(gpu_list, per_gpu, max_parallel), max_hours, calibrate, rerun,
                          warm_workers=backend == "local" and workers != "fresh")
    if dry_run:
        _print_plan(plan, json_out)
        return
    _confirm_cost(plan.cost, yes, is_tty() and not json_out)
    launch = dict(sweeps=list(plan.sweeps), rerun=rerun, max_parallel=max_parallel, gpus=gpu_list, per_gpu=per_gpu,
                  backend=backend, slurm=_slurm_options(partition, array_limit, slurm_opt, max_requeues), workers=workers,
                  engine=engine)
    todo = len(plan.runs) if rerun else sum(r.pending for r in plan.runs)
    _launch(ws, spec, launch, detach, json_out, todo)


def _print_plan(plan: Any, json_out: bool) -> None:
    if json_out:
        print_json(plan.to_dict())
    else:
        typer.echo("\n".join(plan.summary_lines()))


def _launch(ws: Any, spec: Path, launch: dict[str, Any], detach: bool, json_out: bool, todo: int) -> None:
    """Launch a planned sweep: detached (print what was started) or followed in the foreground."""
    from sciml_tui.launch import launch_sweep

    if detach:
        out = launch_sweep(ws, spec, detach=True, **launch)
        if json_out:
            print_json(out)
            return
        if launch["backend"] == "slurm":
            _echo_submitted(out)
        else:
            typer.echo(f"scheduler pid {out['scheduler_pid']} runs {', '.join(launch['sweeps'])}; log: {out['log']}")
        typer.echo("follow it with `sciml status --watch`")
        return

    def start(ev: Any = None) -> dict[str, Any]:
        return launch_sweep(ws, spec, detach=False, on_event=ev, **launch)

    if json_out:
        print_json(start())
        return
    _foreground(ws, launch["sweeps"], start, todo)


@app.command("resume", examples=["sciml resume quickstart", "sciml resume quickstart --detach --json"])
def resume_cmd(
    sweep: Annotated[str, typer.Argument(help="Sweep name.")],
    workspace: WorkspaceOpt = Path("."),
    detach: DetachOpt = False,
    max_parallel: MaxParOpt = None,
    gpus: GpusOpt = None,
    per_gpu: PerGpuOpt = 1,
    workers: WorkersOpt = None,
    backend: BackendOpt = "local",
    partition: PartitionOpt = None,
    array_limit: ArrayLimitOpt = None,
    slurm_opt: SlurmOptOpt = None,
    max_requeues: MaxRequeuesOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Run what is missing, failed or cancelled in SWEEP; adopt runs that still run."""
    from sciml_tui.launch import resume
    from sciml_tui.store import WorkspaceStore

    ws = WorkspaceStore(workspace)
    gpu_list = _gpus(gpus)
    from sciml_tui.launch.worker import check_mode

    check_mode(workers)
    sopts = _slurm_options(partition, array_limit, slurm_opt, max_requeues)
    if detach:
        out = resume(ws, sweep, detach=True, max_parallel=max_parallel, gpus=gpu_list, per_gpu=per_gpu,
                     backend=backend, slurm=sopts, workers=workers)
        if json_out:
            print_json(out)
        elif backend == "slurm":
            _echo_submitted(out)
        else:
            typer.echo(f"scheduler pid {out['scheduler_pid']} resumes {sweep}; log: {out['log']}")
        return
    def start(ev: Any = None) -> dict[str, Any]:
        return resume(ws, sweep, detach=False, max_parallel=max_parallel, gpus=gpu_list, per_gpu=per_gpu,
                      on_event=ev, backend=backend, slurm=sopts, workers=workers)

    if json_out:
        print_json(start())
        return
    _foreground(ws, [sweep], start)


@app.command("cancel", examples=["sciml cancel quickstart", "sciml cancel RUN_ID --json"])
def cancel_cmd(
    target: Annotated[str, typer.Argument(help="A run id or a sweep name.")],
    workspace: WorkspaceOpt = Path("."),
    json_out: JsonOpt = False,
) -> None:
    """Stop a run, or a sweep's scheduler and all its runs."""
    from sciml_tui.launch import cancel
    from sciml_tui.store import WorkspaceStore

    ids = cancel(WorkspaceStore(workspace), target)
    if json_out:
        print_json({"cancelled": list(ids)})
    else:
        typer.echo(f"cancelled {len(ids)} run(s)")


def _columns() -> int:
    import shutil

    return shutil.get_terminal_size((120, 24)).columns


@app.command("status", examples=["sciml status", "sciml status --sweep quickstart --watch",
                                 "sciml status --sweep quickstart --json"])
def status_cmd(
    workspace: WorkspaceOpt = Path("."),
    sweep: Annotated[Optional[str], typer.Option("--sweep", help="Show every run of this sweep.")] = None,
    json_out: JsonOpt = False,
    watch: Annotated[bool, typer.Option("--watch", help="Refresh every 2 s until Ctrl-C.")] = False,
) -> None:
    """Sweeps and runs: state, progress, device, elapsed time, best validation error so far."""
    from sciml_tui.launch.backend import LAUNCHES
    from sciml_tui.launch.sweeps import scheduler_alive
    from sciml_tui.store import WorkspaceStore
    from sciml_tui.store.status import collect, render_text

    ws = WorkspaceStore(workspace_dir(workspace, must_exist=True))
    if sweep is not None:
        require_sweep(ws, sweep)
    if json_out:
        print_json(collect(ws, sweep, LAUNCHES, scheduler_alive))
        return
    if not watch:
        typer.echo(render_text(collect(ws, sweep, LAUNCHES, scheduler_alive), _columns()))
        return
    try:
        while True:
            text = render_text(collect(ws, sweep, LAUNCHES, scheduler_alive), _columns())
            typer.echo("\x1b[2J\x1b[H" + text if is_tty() else text)
            time.sleep(2.0)
    except KeyboardInterrupt:
        pass


@app.command("logs", examples=["sciml logs RUN_ID -n 100", "sciml logs RUN_ID --follow"])
def logs_cmd(
    run: Annotated[str, typer.Argument(help="Run id.")],
    workspace: WorkspaceOpt = Path("."),
    lines: Annotated[int, typer.Option("-n", "--lines", min=1, help="Lines from the end.")] = 40,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new lines.")] = False,
) -> None:
    """Print the end of a run's log (train.log, else its captured output)."""
    from sciml_tui.errors import UserError
    from sciml_tui.rundir import RunDir
    from sciml_tui.store import WorkspaceStore

    ws = WorkspaceStore(workspace)
    rec = ws.run(run)
    if rec is None:
        raise UserError(f"no run {run!r} in {ws.path}")
    if not rec.run_dir:
        raise ws.corrupt(f"run {run} has no run_dir")
    rdir = RunDir(rec.run_dir)
    run_dir, path = rdir.path, rdir.log_path()
    text = rdir.log_tail(lines)
    pos = path.stat().st_size if path.exists() else 0
    if text:
        typer.echo(text)
    elif not follow:
        typer.echo(f"(no log yet in {run_dir})", err=True)
    if not follow:
        return
    try:
        while True:
            if path.exists() and path.stat().st_size > pos:
                with open(path, "r", encoding="utf-8", errors="replace") as fh:
                    fh.seek(pos)
                    chunk = fh.read()
                    pos = fh.tell()
                typer.echo(chunk, nl=False)
            elif rdir.result() is not None:
                break  # finished and fully printed
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
