"""The `sciml-tui` dashboard (Textual)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="sciml-tui", description="Dashboard for sciml sweeps: launch, watch, compare.")
    parser.add_argument("--workspace", "-w", default=os.environ.get("SCIML_WORKSPACE", "."),
                        help="workspace folder (default: $SCIML_WORKSPACE or the current folder)")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between refreshes (default 1)")
    args = parser.parse_args(argv)
    ws = Path(args.workspace).expanduser()
    if not ws.is_dir():
        print(f"error: workspace {ws} is not a folder", file=sys.stderr)
        raise SystemExit(2)
    if args.interval <= 0:
        print("error: --interval must be positive", file=sys.stderr)
        raise SystemExit(2)
    from sciml_tui.tui.app import make_app

    make_app(ws, poll_interval=args.interval).run()
