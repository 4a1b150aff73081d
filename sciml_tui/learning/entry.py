"""Training entry point: `python -m sciml_tui.learning.entry RUN_DIR [--resume]`.

Runs the config in RUN_DIR (also under torchrun for DDP). Exit codes: 0 done,
3 diverged, 1 failed (result.json says why), 2 bad usage, 75 preempted (SIGTERM: checkpointed,
preempted.json written, no result.json; continue with --resume).
"""

from __future__ import annotations

import argparse
import sys

from sciml_tui.learning.events import stdout_lines
from sciml_tui.learning.run import EXIT_CODES, run_in_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sciml_tui.learning.entry", description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", help="run directory holding config.yaml")
    parser.add_argument("--resume", action="store_true", help="continue from checkpoints/last.pt")
    args = parser.parse_args(argv)
    result = run_in_dir(args.run_dir, resume=args.resume, events=stdout_lines())
    if result["status"] == "preempted":
        print(f"preempted: {result.get('message')}", file=sys.stderr)
    elif result["status"] != "done":
        print(f"error: {result.get('message')}", file=sys.stderr)
    return EXIT_CODES.get(result["status"], 1)


if __name__ == "__main__":
    sys.exit(main())
