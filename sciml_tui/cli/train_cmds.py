"""`sciml models` and `sciml train`: the training engine in the foreground.

Heavy modules (torch) are imported inside the command bodies.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from sciml_tui.cli.app import app
from sciml_tui.cli.common import JsonOpt, WorkspaceOpt, is_tty, print_json, workspace_dir
from sciml_tui.errors import UserError


@app.command("models", examples=["sciml models", "sciml models --json"])
def models_cmd(as_json: JsonOpt = False) -> None:
    """List the FNO size presets (parameters counted for 4 input channels)."""
    from sciml_tui.learning.presets import preset_table

    rows = preset_table()
    if as_json:
        print_json(rows)
        return
    typer.echo(f"{'name':<10} {'width':>5} {'modes':>5} {'params':>13}")
    for r in rows:
        typer.echo(f"{r['name']:<10} {r['width']:>5} {r['modes']:>5} {r['params']:>13,}")


class _RichEvents:
    """Rich progress on a terminal: one bar over all steps, the last epoch's numbers beside it."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeRemainingColumn(), TextColumn("{task.fields[info]}"), transient=False)
        self.task = None
        self.epochs = 0

    def start(self, info: dict) -> None:
        self.epochs = info.get("epochs") or 0
        self.progress.start()
        total = max(1, self.epochs * (info.get("steps_per_epoch") or 1))
        done = (info.get("start_epoch", 1) - 1) * (info.get("steps_per_epoch") or 1)
        self.task = self.progress.add_task(f"{info.get('mode')} on {info.get('device')}", total=total,
                                           completed=done, info="")

    def step(self, epoch: int, step: int, loss: Optional[float]) -> None:
        if self.task is not None:
            self.progress.advance(self.task)

    def epoch(self, row: dict) -> None:
        if self.task is not None:
            self.progress.update(self.task, info=f"epoch {row['epoch']}/{self.epochs} loss {row['train_loss']:.3g} "
                                                 f"val {'-' if row['val_error'] is None else format(row['val_error'], '.3g')}")

    def message(self, text: str) -> None:
        self.progress.console.print(text)

    def end(self, result: dict) -> None:
        self.progress.stop()


def _default_run_dir(workspace: Path, config: Path) -> Path:
    return workspace / "runs" / f"{config.stem}-{time.strftime('%Y%m%d-%H%M%S')}"


@app.command("train", examples=[
    "sciml train experiments/quick.yaml",
    "sciml train quick.yaml --set recipe.lr=5e-4 --set n_train=16",
    "sciml train quick.yaml --run-dir runs/quick-1 --resume",
])
def train_cmd(
    config: Annotated[Path, typer.Argument(help="Run config (YAML): mode, data (dataset names or folders), model (preset), recipe, ...")],
    run_dir: Annotated[Optional[Path], typer.Option("--run-dir", help="Run directory (default WORKSPACE/runs/<config>-<time>).")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the run in --run-dir from its last checkpoint.")] = False,
    sets: Annotated[Optional[list[str]], typer.Option("--set", help="Override a config key, e.g. recipe.lr=1e-4.")] = None,
    workspace: WorkspaceOpt = None,  # type: ignore[assignment]
    as_json: JsonOpt = False,
) -> None:
    """Train one run in the foreground (pre-train, fine-tune, scratch or zero-shot), recorded in
    the workspace store under the sweep `train-<config name>`."""
    from sciml_tui.launch.foreground import finish_train_run, record_train_run
    from sciml_tui.learning.events import TrainingEvents, format_result, stdout_lines
    from sciml_tui.learning.run import EXIT_CODES, run_in_dir, with_init_model
    from sciml_tui.rundir import RunDir
    from sciml_tui.specs.train_config import load_train_config
    from sciml_tui.store import WorkspaceStore

    ws = WorkspaceStore(workspace_dir(workspace))
    loaded = load_train_config(config, sets or [], ws.datasets(), ws.root)
    cfg = with_init_model(loaded.config, loaded.model_given)
    if resume and run_dir is None:
        raise UserError("--resume needs --run-dir (the run to continue)")
    run_dir = run_dir or _default_run_dir(ws.root, config)
    if run_dir.exists() and not run_dir.is_dir():
        raise UserError(f"--run-dir {run_dir} is a file, not a folder")
    if not resume and ((run_dir / "checkpoints").exists() or (run_dir / "result.json").exists()):
        raise UserError(f"{run_dir} already holds a run: use --resume to continue it, or another --run-dir")
    try:
        RunDir(run_dir).write_config(cfg.model_dump(mode="json"))
    except OSError as exc:
        raise UserError(f"cannot write {run_dir / 'config.yaml'}: {exc.strerror or exc}") from None
    rid = record_train_run(ws, config, run_dir, cfg, loaded.datasets)
    events: Any = TrainingEvents() if as_json else (_RichEvents() if is_tty() else stdout_lines())
    if not as_json:
        typer.echo(f"run {rid} (sweep train-{config.stem}), run dir: {run_dir}")
    try:
        result = run_in_dir(run_dir, resume=resume, events=events)
    except KeyboardInterrupt:
        finish_train_run(ws, config, rid, {"status": "interrupted"})
        raise
    finish_train_run(ws, config, rid, result)
    if as_json:
        print_json({"run_dir": str(run_dir), "id": rid, **result})
    else:
        typer.echo(format_result(result))
        if result["status"] == "failed":
            typer.echo(f"error: {result.get('message')}", err=True)
    code = EXIT_CODES.get(result["status"], 1)
    if code:
        raise typer.Exit(code)
