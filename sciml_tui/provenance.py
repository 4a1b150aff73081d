"""What reproduces a run: package versions, device, host, dataset content hashes, git state.

Torch-free at import (the dashboard and exports read what it wrote through `RunDir`); the
training process calls `write_provenance` once at start, after it picked its device. `git` runs
with a short timeout, and a machine without git or a workspace outside a repository records
`git: null`.
"""

from __future__ import annotations

import platform
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Optional

from sciml_tui.rundir import RunDir

GIT_TIMEOUT_S = 5.0
SPLITS = ("train", "val", "test")


def _git(cwd: Path, *args: str) -> Optional[str]:
    try:
        out = subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, text=True,
                             timeout=GIT_TIMEOUT_S, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.returncode == 0 else None


def git_state(path: str | Path) -> Optional[dict[str, Any]]:
    """{"commit", "dirty"} of the git repository holding `path`, else None. Untracked files do not
    make it dirty (run folders and datasets inside the workspace are untracked output)."""
    commit = _git(Path(path), "rev-parse", "HEAD")
    if not commit:
        return None
    status = _git(Path(path), "status", "--porcelain", "--untracked-files=no")
    return {"commit": commit.strip(), "dirty": None if status is None else bool(status.strip())}


def _split_hash(path: Path) -> Optional[str]:
    try:
        import h5py

        with h5py.File(path, "r") as h:
            value = h.attrs.get("content_sha256")
    except (OSError, ValueError):
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return str(value) if value is not None else None


def dataset_hashes(paths: list[str]) -> list[dict[str, Any]]:
    """Each dataset folder with the content hash of each split (None: the seed's files carry none)."""
    return [{"path": p, "content_sha256": {s: _split_hash(Path(p) / f"{s}.h5") for s in SPLITS}} for p in paths]


def _versions() -> dict[str, Optional[str]]:
    import numpy

    import sciml_tui

    out: dict[str, Optional[str]] = {"sciml-tui": sciml_tui.__version__, "python": platform.python_version(),
                                     "numpy": numpy.__version__, "torch": None, "cuda": None, "cudnn": None}
    torch = sys.modules.get("torch")  # only the training process has it; never imported here
    if torch is not None:
        out["torch"] = str(torch.__version__)
        out["cuda"] = torch.version.cuda
        cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
        out["cudnn"] = str(cudnn) if cudnn else None
    return out


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "cpu"


def device_info(device: Any) -> dict[str, Optional[str]]:
    """{"kind", "name"} of a torch device (or its text: 'cpu', 'cuda:0')."""
    kind = str(getattr(device, "type", device)).split(":")[0]
    torch = sys.modules.get("torch")
    if kind == "cuda" and torch is not None and torch.cuda.is_available():
        return {"kind": "cuda", "name": torch.cuda.get_device_name(device)}
    return {"kind": kind, "name": _cpu_name() if kind == "cpu" else kind}


def collect_provenance(data_paths: list[str], run_dir: str | Path, device: Any) -> dict[str, Any]:
    return {"versions": _versions(), "device": device_info(device), "host": socket.gethostname(),
            "platform": platform.platform(), "datasets": dataset_hashes(data_paths),
            "git": git_state(run_dir), "recorded_at": time.time()}


def write_provenance(config: Any, run_dir: str | Path, device: Any) -> dict[str, Any]:
    """Collect and write `provenance.json`; a failure to write is not the run's failure."""
    prov = collect_provenance([d.path for d in config.data], run_dir, device)
    try:
        RunDir(run_dir).write_provenance(prov)
    except OSError:
        pass
    return prov


def provenance_line(prov: Optional[dict[str, Any]]) -> str:
    """One line for tables and CSV: versions; device on host; git commit (dirty)."""
    if not isinstance(prov, dict):
        return ""
    versions = prov.get("versions") or {}
    names = ("sciml-tui", "torch", "numpy", "cuda", "cudnn")
    parts = [", ".join(f"{k} {versions.get(k) or '-'}" for k in names)]
    device = prov.get("device") or {}
    parts.append(f"{device.get('name') or device.get('kind') or '?'} on {prov.get('host') or '?'}")
    git = prov.get("git")
    if isinstance(git, dict) and git.get("commit"):
        parts.append(f"git {str(git['commit'])[:12]}{' (dirty)' if git.get('dirty') else ''}")
    return "; ".join(parts)


def dataset_lines(prov: Optional[dict[str, Any]]) -> list[str]:
    """'PATH  train abcd1234.. val .. test ..' per dataset of a run."""
    out = []
    for d in (prov or {}).get("datasets") or []:
        hashes = d.get("content_sha256") or {}
        out.append(f"{d.get('path')}  " + "  ".join(f"{s} {(hashes.get(s) or '-')[:16]}" for s in SPLITS))
    return out
