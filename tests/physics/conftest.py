"""Small generated datasets shared by the physics tests (session scope, fixed seeds)."""

from __future__ import annotations

import pytest

from sciml_tui.physics import generate_dataset

SMALL = {"train": 96, "val": 8, "test": 8}  # 96 > one block of 64: exercises block seams
CASES = {"poisson": (1.0, 5.0, 64), "advdiff": (0.2, 1.0, 64), "helmholtz": (1.0, 10.0, 32)}


@pytest.fixture(scope="session")
def datasets(tmp_path_factory):
    """system -> (out_dir, summary)"""
    out = {}
    for system, (lo, hi, n) in CASES.items():
        d = tmp_path_factory.mktemp(system)
        out[system] = (d, generate_dataset(system, lo, hi, n, dict(SMALL), 7, d))
    return out
