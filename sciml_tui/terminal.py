"""What the terminal can show, shared by the command line and the dashboard."""

from __future__ import annotations

import os
import sys
from typing import Any


def ascii_only(stream: Any = None) -> bool:
    """True when the terminal cannot show box drawing or '±': the stream's encoding is not
    UTF, or the locale (LC_ALL, LC_CTYPE, LANG, first one set) names none (LANG=C, POSIX)."""
    enc = (getattr(stream or sys.stdout, "encoding", None) or "utf-8").lower().replace("-", "")
    if not enc.startswith("utf"):
        return True
    for var in ("LC_ALL", "LC_CTYPE", "LANG"):
        value = os.environ.get(var)
        if var == "LC_CTYPE" and value == "C.UTF-8" and sys.flags.utf8_mode:
            continue  # set by Python itself when it started under the C locale (PEP 538)
        if value:
            return "utf8" not in value.lower().replace("-", "")
    return False
