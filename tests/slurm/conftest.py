from __future__ import annotations

import shutil
import subprocess

import pytest

# the fake trainer, the small spec and their fixtures are the local backend tests' own
from sweep.conftest import SPEC, fake_datasets, fake_entry, spec_file, wait_until  # noqa: F401

from sciml_tui.launch import slurm as procs


def slurm_reason() -> str | None:
    """Why the real-Slurm tests cannot run here, or None when they can."""
    if shutil.which("sbatch") is None:
        return "sbatch not on PATH (bring Slurm up with .ci/slurm-up.sh)"
    try:
        out = subprocess.run(["sinfo", "--noheader", "--format", "%T"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"sinfo does not answer: {exc}"
    states = out.stdout.split()
    if out.returncode != 0 or not any(s.rstrip("*~#") in ("idle", "mixed", "allocated", "completing") for s in states):
        return f"no usable Slurm node (sinfo: {out.stdout.strip() or out.stderr.strip()})"
    return None


needs_slurm = pytest.mark.skipif(slurm_reason() is not None, reason=str(slurm_reason()))


@pytest.fixture(autouse=True)
def fresh_squeue():
    """No squeue answer is reused across tests."""
    procs._squeue_cache = (0.0, None)
    yield
    procs._squeue_cache = (0.0, None)


def wait_for(pred, timeout=60.0, poll=0.2):
    """`wait_until` polling less often: the predicates ask squeue."""
    return wait_until(pred, timeout, poll)
