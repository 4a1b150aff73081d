"""docs/architecture.md's may-import table is true: every import a room's modules make (at the top
or inside a function) of another room, of a project module, or of a third-party package is listed
in that room's row."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "sciml_tui"
SHARED = {"errors", "atomic", "rundir", "tinydb_atomic", "terminal", "provenance"}  # shared helpers: any room
ROOMS = ("physics", "learning", "specs", "store", "launch", "results", "cli", "tui")
DIST_NAMES = {"pyyaml": "yaml", "nvidia-ml-py": "pynvml"}


def table() -> dict[str, set[str]]:
    rows = {}
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    for m in re.finditer(r"^\| `sciml_tui/(\w+)/` \|[^|]*\| ([^|]*) \|$", text, re.M):
        cell = re.sub(r"\([^)]*\)", "", m.group(2))
        rows[m.group(1)] = {DIST_NAMES.get(t.strip(), t.strip()) for t in cell.split(",") if t.strip()}
    return rows


def allowed(room: str, rows: dict[str, set[str]]) -> set[str]:
    out = set(rows[room])
    if "everything above" in out:  # the UI shells: every core room
        out |= set(ROOMS[:6]) | rows["learning"] | rows["results"] | rows["launch"]
    return out


def imports_of(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def violations(room: str, rows: dict[str, set[str]]) -> list[str]:
    ok = allowed(room, rows)
    bad = []
    for path in sorted((PKG / room).rglob("*.py")):
        for name in imports_of(path):
            parts = name.split(".")
            if parts[0] == "sciml_tui":
                target = parts[1] if len(parts) > 1 else ""
                if target in (room, "") or target in SHARED:
                    continue
                if target not in ok and ".".join(parts[1:3]) not in ok:
                    bad.append(f"{path.relative_to(ROOT)} imports {name}")
            elif parts[0] not in sys.stdlib_module_names and parts[0] not in ok and parts[0] != "__future__":
                bad.append(f"{path.relative_to(ROOT)} imports {parts[0]}")
    return bad


def test_the_table_names_every_room():
    assert set(table()) == set(ROOMS)


def test_every_room_imports_only_what_its_row_allows():
    rows = table()
    bad = [v for room in ROOMS for v in violations(room, rows)]
    assert not bad, "imports missing from docs/architecture.md's may-import table:\n" + "\n".join(bad)


def test_the_check_catches_an_import_the_table_does_not_allow():
    rows = table()
    rows["store"] = rows["store"] - {"filelock"}
    assert any("filelock" in v for v in violations("store", rows))
