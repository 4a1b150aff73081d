"""Names from spec files become file names: only after this validation, and only under a root."""

from __future__ import annotations

import re
from pathlib import Path

from sciml_tui.errors import UserError

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$"
_NAME = re.compile(NAME_PATTERN)  # used with fullmatch: `$` alone lets a trailing newline through
# Run and dataset ids join a spec name (<= 80) with init, preset, N, lr, seed and a hash: up to
# ~150 characters, well inside the 255-byte file-name limit of common filesystems.
MAX_ID = 200
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,%d}" % (MAX_ID - 1))


def is_valid_name(name: object, pattern: re.Pattern[str] = _NAME) -> bool:
    return isinstance(name, str) and bool(pattern.fullmatch(name)) and ".." not in name


def check_name(name: object, what: str = "name") -> str:
    if not is_valid_name(name):
        raise UserError(
            f"invalid {what} {name!r}: use 1-80 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return name  # type: ignore[return-value]


def safe_child(root: str | Path, name: str) -> Path:
    """`root/name` for a validated run or dataset id, checked to stay inside `root`."""
    if not is_valid_name(name, _ID):
        raise UserError(f"invalid id {name!r}: use 1-{MAX_ID} letters, digits, '.', '_' or '-', "
                        "starting with a letter or digit")
    root = Path(root).absolute()
    child = (root / name).resolve()
    if root.resolve() not in child.parents:
        raise UserError(f"{name!r} would leave {root}")
    return root / name
