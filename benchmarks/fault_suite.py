"""Run the hostile-user and bad-day cases of tests/faults/cases.py and print the figure.

    python benchmarks/fault_suite.py [-v]

Prints "N cases tried, M handled, K lost something" (and each case not handled); exits 1
when a case that is not a known gap fails.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.faults.cases import CASES  # noqa: E402
from tests.faults.harness import patcher, run_case  # noqa: E402


def main(verbose: bool = False) -> int:
    t0 = time.perf_counter()
    handled = lost = unexpected = 0
    with tempfile.TemporaryDirectory(prefix="sciml-faults-") as root:
        for i, c in enumerate(CASES):
            with patcher() as mp:
                out = run_case(c, Path(root) / f"{i:03d}-{c.id}", mp)
            handled += out.handled
            lost += bool(out.lost)
            if not out.handled:
                unexpected += c.known_gap is None
                tag = f"known gap: {c.known_gap}" if c.known_gap else "NOT HANDLED"
                print(f"  {c.id}: {tag}: {'; '.join(out.problems + out.lost)}")
            elif verbose:
                print(f"  {c.id}: ok")
    print(f"{len(CASES)} cases tried, {handled} handled, {lost} lost something "
          f"({time.perf_counter() - t0:.1f} s)")
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(main("-v" in sys.argv[1:]))
