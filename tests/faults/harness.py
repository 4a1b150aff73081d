"""Drive one hostile case through the CLI and judge it: handled means exit 2, exactly one
`error:` line, last (progress lines may come before it), no traceback, no temp file left, and every file that was there before unchanged.

A case is one line in `cases.py`: an id, the argv (``{tmp}`` is the case's own folder) and
optional `setup` steps that prepare files or inject a fault (they get the folder and pytest's
`monkeypatch`).
"""

from __future__ import annotations

import contextlib
import hashlib
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from typer.testing import CliRunner

Setup = Callable[[Path, Any], None]


@dataclass(frozen=True)
class Case:
    id: str
    argv: str
    setup: tuple[Setup, ...] = ()
    exit_code: int = 2
    known_gap: Optional[str] = None  # not handled yet: why, and which room owns it
    says: Optional[str] = None  # a word the error line must contain (the right refusal, not any)


def case(id: str, argv: str, *setup: Setup, exit_code: int = 2, known_gap: Optional[str] = None,
         says: Optional[str] = None) -> Case:
    return Case(id, argv, tuple(setup), exit_code, known_gap, says)


@dataclass
class Outcome:
    case: Case
    problems: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    output: str = ""

    @property
    def handled(self) -> bool:
        return not self.problems and not self.lost


def _snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def run_case(c: Case, tmp: Path, monkeypatch: Any) -> Outcome:
    from sciml_tui.cli import app

    tmp.mkdir(parents=True, exist_ok=True)
    for step in c.setup:
        step(tmp, monkeypatch)
    before = _snapshot(tmp)
    argv = [a.replace("{tmp}", str(tmp)) for a in shlex.split(c.argv)]
    result = CliRunner().invoke(app, argv)
    out = Outcome(c, output=result.output)
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    if result.exit_code != c.exit_code:
        out.problems.append(f"exit {result.exit_code}, expected {c.exit_code}")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        out.problems.append(f"raised {type(result.exception).__name__}: {result.exception}")
    errors = [ln for ln in lines if ln.startswith("error: ")]
    if c.exit_code == 2 and (len(errors) != 1 or lines[-1] != errors[0]):
        out.problems.append(f"expected one `error:` line, last, got {len(errors)} among {len(lines)} line(s)")
    if c.says and not any(c.says.lower() in ln.lower() for ln in errors):
        out.problems.append(f"the error line does not say {c.says!r}")
    if "Traceback" in result.output:
        out.problems.append("printed a traceback")
    after = _snapshot(tmp)
    out.lost = [f"{name} changed or removed" for name, digest in before.items() if after.get(name) != digest]
    out.lost += [f"left {name}" for name in after if name not in before and name.endswith(".tmp")]
    return out


def patcher() -> contextlib.AbstractContextManager[Any]:
    """pytest's monkeypatch outside a test (for the benchmark script)."""
    import pytest

    return pytest.MonkeyPatch.context()
