"""A TinyDB storage whose every write lands atomically (temp file, fsync, rename).

TinyDB rewrites its whole file on each write and is not safe across processes; with this
storage a concurrent reader sees either the previous file or the new one, never a torn one.
Cross-process writers must still serialize themselves (the workspace store holds a file lock).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict, Optional

from tinydb.storages import Storage

from sciml_tui.atomic import write_text
from sciml_tui.errors import UserError


class AtomicJSONStorage(Storage):
    def __init__(self, path: str | os.PathLike[str], create_dirs: bool = True, **_: Any) -> None:
        self.path = Path(path)
        if create_dirs:
            self.path.parent.mkdir(parents=True, exist_ok=True)

    def read(self) -> Optional[Dict[str, Dict[str, Any]]]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        if not text.strip():
            return None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UserError(f"{self.path} is corrupt (not valid JSON: {exc.msg} at line {exc.lineno})") from None
        if not isinstance(data, dict):
            raise UserError(f"{self.path} is corrupt (expected a JSON object of tables)")
        return data

    def write(self, data: Dict[str, Dict[str, Any]]) -> None:
        write_text(self.path, json.dumps(data, separators=(",", ":"), default=str))

    def close(self) -> None:
        pass
