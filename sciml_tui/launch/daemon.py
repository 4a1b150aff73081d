"""The detached scheduler process: `python -m sciml_tui.launch.daemon WORKSPACE SWEEP... [opts]`."""

from __future__ import annotations

import argparse
import sys

from sciml_tui.errors import UserError
from sciml_tui.launch.api import run_scheduler
from sciml_tui.launch.worker import DEFAULT_WORKERS, WORKER_MODES
from sciml_tui.store import WorkspaceStore


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="sciml-scheduler")
    ap.add_argument("workspace")
    ap.add_argument("sweeps", nargs="+")
    ap.add_argument("--max-parallel", type=int, default=None)
    ap.add_argument("--gpus", default=None)
    ap.add_argument("--per-gpu", type=int, default=1)
    ap.add_argument("--workers", choices=WORKER_MODES, default=DEFAULT_WORKERS)
    args = ap.parse_args(argv)
    gpus = [g for g in args.gpus.split(",") if g] if args.gpus is not None else None

    def log(kind: str, payload: dict) -> None:
        print(kind, " ".join(f"{k}={v}" for k, v in payload.items() if k != "log_tail"), flush=True)

    try:
        counts = run_scheduler(WorkspaceStore(args.workspace), args.sweeps, max_parallel=args.max_parallel,
                               gpus=gpus, per_gpu=args.per_gpu, on_event=log,
                               workers=args.workers)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 2
    print("finished", counts, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
