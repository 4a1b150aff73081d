"""`sciml data generate` and `sciml data info`: thin shells over `sciml_tui.physics`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from sciml_tui.cli.app import data_app
from sciml_tui.cli.common import JsonOpt, is_tty, print_json
from sciml_tui.errors import UserError

SPLITS = ("train", "val", "test")

DEFAULT_RANGES = {"poisson": (1.0, 5.0), "advdiff": (0.2, 1.0), "helmholtz": (1.0, 10.0)}


def parse_range(text: str) -> tuple[float, float]:
    parts = text.split(":")
    if len(parts) != 2:
        raise UserError(f"--range must look like LO:HI (e.g. 1:5), got {text!r}")
    try:
        lo, hi = float(parts[0]), float(parts[1])
    except ValueError:
        raise UserError(f"--range must hold two numbers LO:HI, got {text!r}") from None
    return lo, hi


class _PlainProgress:
    def __init__(self) -> None:
        self.last = -1

    def __call__(self, done: int, total: int) -> None:
        pct = int(100 * done / total) // 10 * 10
        if pct != self.last:
            self.last = pct
            print(f"generated {done}/{total} samples ({pct}%)", file=sys.stderr, flush=True)


@data_app.command("generate")
def generate(
    system: Annotated[str, typer.Argument(help="poisson (SYS-1, e) | advdiff (SYS-2, psi) | helmholtz (SYS-3, omega)")],
    out: Annotated[Path, typer.Option("--out", help="Output folder: writes train.h5, val.h5, test.h5.")],
    range_: Annotated[Optional[str], typer.Option("--range", help="Parameter range LO:HI (e, psi or omega). Default: the pre-training range.", show_default=False)] = None,
    n: Annotated[int, typer.Option("--n", help="Grid size n x n (even, >= 8).")] = 128,
    train: Annotated[int, typer.Option("--train", help="Training samples.")] = 32768,
    val: Annotated[int, typer.Option("--val", help="Validation samples.")] = 4096,
    test: Annotated[int, typer.Option("--test", help="Test samples.")] = 4096,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (>= 0).")] = 0,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace existing files.")] = False,
    paired_sources: Annotated[bool, typer.Option("--paired-sources", help="Share source functions with other ranges/systems of the same seed.")] = False,
    omega: Annotated[str, typer.Option("--omega", help="helmholtz: int | float | auto (int when both ends are integers).")] = "auto",
    workers: Annotated[Optional[int], typer.Option("--workers", help="Worker threads (default: the CPU cores, at most 8).", show_default=False)] = None,
    json_: JsonOpt = False,
) -> None:
    """Generate a dataset of one PDE system and parameter range (HDF5, the seed's layout)."""
    from sciml_tui.physics.generate import generate_dataset, normalize_system

    canonical = normalize_system(system)
    lo, hi = parse_range(range_) if range_ is not None else DEFAULT_RANGES[canonical]
    if omega not in ("auto", "int", "float"):
        raise UserError(f"--omega must be int, float or auto, got {omega!r}")
    if workers is not None and workers < 1:
        raise UserError(f"--workers must be >= 1, got {workers}")
    omega_integer = None if omega == "auto" else omega == "int"
    if canonical == "helmholtz" and omega_integer and not (lo.is_integer() and hi.is_integer()):
        raise UserError(f"--omega int needs integer range ends, got {lo:g}:{hi:g}")
    sizes = {"train": train, "val": val, "test": test}
    from sciml_tui.physics.stop import StopRequest

    with StopRequest.installed() as stop:
        kwargs = dict(system=canonical, lo=lo, hi=hi, n=n, sizes=sizes, seed=seed, out_dir=out,
                      overwrite=overwrite, paired_sources=paired_sources,
                      omega_integer=omega_integer, workers=workers, stop=stop)
        try:
            if json_ or not is_tty():
                summary = generate_dataset(progress=None if json_ else _PlainProgress(), **kwargs)
            else:
                summary = _with_rich_progress(generate_dataset, kwargs)
        except KeyboardInterrupt:
            typer.echo("error: interrupted; no dataset file was written", err=True)
            raise typer.Exit(130) from None
    if stop.requested:  # the signal came while the finished files were being renamed
        typer.echo(f"error: interrupted after the dataset was complete; it is kept in {out}", err=True)
        raise typer.Exit(130)
    if json_:
        print_json(summary)
    else:
        _print_summary(summary)


def _with_rich_progress(fn: Any, kwargs: dict) -> dict:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("[bold]generating"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, transient=True) as bar:
        task = bar.add_task("generate", total=None)
        return fn(progress=lambda done, total: bar.update(task, completed=done, total=total), **kwargs)


def _print_summary(s: dict) -> None:
    lo, hi = s["range"]
    typer.echo(f"{s['system']}: {s['parameter']} in [{lo:g}, {hi:g}], n={s['n']}, seed {s['seed']}"
               f"{', paired sources' if s['paired_sources'] else ''} -> {s['out_dir']}")
    for split, e in s["splits"].items():
        typer.echo(f"  {split + '.h5':9s} {e['count']:7d} samples  sha256 {e['content_sha256'][:16]}")
        if e.get("rejections"):
            rej = ", ".join(f"omega {k}: {v}" for k, v in e["rejections"].items())
            typer.echo(f"            rejected (max|u| > 2): {rej}")
    total = sum(e["count"] for e in s["splits"].values())
    typer.echo(f"  {total} samples in {s['elapsed_s']:.1f} s ({s['samples_per_s']:.0f} samples/s)")


@data_app.command("info")
def info(
    path: Annotated[Path, typer.Argument(help="A dataset folder ({train,val,test}.h5) or one file (.h5), ours or the seed's.")],
    verify: Annotated[bool, typer.Option("--verify", help="Recompute the content hash.")] = False,
    json_: JsonOpt = False,
) -> None:
    """Describe a dataset (each split of a folder) or one file: shape, system, ranges,
    realized parameters, rejections."""
    if path.is_dir():
        d = _folder_info(path, verify)
        splits = d["splits"]
    else:
        d = _file_info(path, verify)
        splits = [d]
    if json_:
        print_json(d)
    else:
        for i, split in enumerate(splits):
            if i:
                typer.echo("")
            _print_info(split)
    if any(s.get("hash_ok") is False for s in splits):
        raise typer.Exit(1)


def _file_info(path: Path, verify: bool) -> dict:
    from sciml_tui.physics import dataset_info, verify_hash

    d = dataset_info(path)
    if verify:
        d["hash_ok"] = verify_hash(path) if d.get("content_sha256") else None
    return d


def _folder_info(folder: Path, verify: bool) -> dict:
    """The dataset a folder holds: the first split's system and range, then every split."""
    files = [folder / f"{split}.h5" for split in SPLITS]
    missing = [f.name for f in files if not f.is_file()]
    if missing:
        raise UserError(f"{folder}: not a dataset folder (no {', '.join(missing)}): "
                        f"give the folder `sciml data generate --out` wrote, or one .h5 file")
    splits = [{**_file_info(f, verify), "split": split} for split, f in zip(SPLITS, files)]
    first = splits[0]
    return {"path": str(folder), "system": first["system"], "range": first["range"],
            "n": first["n"], "splits": splits}


def _print_info(d: dict) -> None:
    rng = d["range"]
    typer.echo(f"{d['path']}  ({'written by the seed, no attributes' if d['origin'] == 'seed' else d.get('generator_version', '')})")
    typer.echo(f"  system      {d['system']} (parameter {d['parameter']})")
    typer.echo(f"  shape       fields {tuple(d['shape'])} {d['dtype']}, {d['coefficients']} coefficients")
    if rng is not None:
        typer.echo(f"  range       [{rng[0]:g}, {rng[1]:g}]   seed {d.get('seed')}   split {d.get('split')}"
                   f"{'   paired sources' if d.get('paired_sources') else ''}")
    for name, st in d["realized"].items():
        if st:
            typer.echo(f"  {name:11s} min {st['min']:.4g}  max {st['max']:.4g}  mean {st['mean']:.4g}  std {st['std']:.4g}")
    if "omega_histogram" in d:
        typer.echo("  omega       " + "  ".join(f"{k}:{v}" for k, v in d["omega_histogram"].items()))
        rej = d.get("rejections")
        typer.echo("  rejected    " + ("not recorded" if rej is None else
                                       ("none" if not rej else "  ".join(f"{k}:{v}" for k, v in rej.items()))))
    if d.get("content_sha256"):
        typer.echo(f"  sha256      {d['content_sha256']}")
    if "hash_ok" in d:
        typer.echo("  hash        " + {True: "ok", False: "MISMATCH", None: "none stored"}[d["hash_ok"]])
