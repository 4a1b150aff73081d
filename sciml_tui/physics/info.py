"""`dataset_info`: what a dataset file holds, read from its attributes and coefficients only."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from sciml_tui.errors import UserError
from sciml_tui.physics.blocks import omega_key, omega_sort_key
from sciml_tui.physics.systems import DIFF_SCALE, PARAMETER


def realized_parameters(system: str, tensor: np.ndarray, other: np.ndarray | None) -> dict[str, np.ndarray]:
    """Recover the per-sample physical parameters from stored coefficients.

    poisson: trace(K) = 0.01 (1 + e); advdiff: lam = |lam v| and trace = (1-lam) 0.01 (1 + e),
    psi from ``other``; helmholtz: omega = tensor[:, 1].
    """
    t = np.asarray(tensor, dtype=np.float64)
    if system == "poisson":
        return {"e": (t[:, 0] + t[:, 1]) / DIFF_SCALE - 1.0}
    if system == "advdiff":
        lam = np.hypot(t[:, 3], t[:, 4])
        out = {"lam": lam, "e": (t[:, 0] + t[:, 1]) / ((1.0 - lam) * DIFF_SCALE) - 1.0}
        if other is not None:
            out = {"psi": np.asarray(other, dtype=np.float64).reshape(-1), **out}
        return out
    if system == "helmholtz":
        return {"omega": t[:, 1]}
    raise ValueError(f"unknown system {system!r}")


def _stats(a: np.ndarray) -> dict[str, float]:
    if a.size == 0:
        return {}
    return {"min": float(a.min()), "max": float(a.max()), "mean": float(a.mean()), "std": float(a.std())}


def dataset_info(path: str | Path) -> dict[str, Any]:
    """A JSON-able description: shape, system, ranges, realized parameter statistics and,
    for helmholtz, the omega histogram and the recorded rejections."""
    from sciml_tui.physics.h5io import _describe, _open

    path = Path(path)
    with _open(path) as h:
        attrs = _describe(h, path)
        try:
            tensor = h["tensor"][...]
            other = h["other"][...] if "other" in h else None
        except OSError as exc:
            raise UserError(f"{path}: cannot read 'tensor' (truncated file?): {exc}") from None
        fshape = tuple(int(x) for x in h["fields"].shape)
        fdtype = str(h["fields"].dtype)
    system = attrs["system"]
    params = realized_parameters(system, tensor, other)
    main = params[PARAMETER[system]] if PARAMETER[system] in params else None
    info: dict[str, Any] = {
        "path": str(path),
        "origin": attrs["origin"],
        "system": system,
        "parameter": PARAMETER[system],
        "shape": list(fshape),
        "dtype": fdtype,
        "count": attrs["count"],
        "n": attrs["n"],
        "coefficients": int(tensor.shape[1]),
        "range": [attrs["range_lo"], attrs["range_hi"]] if "range_lo" in attrs else None,
        "realized_range": [float(main.min()), float(main.max())] if main is not None and main.size else None,
    }
    for key in ("seed", "split", "sizes", "generator_version", "paired_sources", "vf_blocks",
                "content_sha256", "omega_integer", "e_range"):
        if key in attrs:
            info[key] = attrs[key]
    info["realized"] = {k: _stats(v) for k, v in params.items()}
    if system == "helmholtz":
        integer = bool(attrs.get("omega_integer", np.allclose(params["omega"], np.round(params["omega"]))))
        hist = Counter(omega_key(w, integer) for w in params["omega"])
        info["omega_histogram"] = dict(sorted(hist.items(), key=lambda kv: omega_sort_key(kv[0])))
        info["rejections"] = attrs.get("rejections")  # None: not recorded (seed file)
    return info
