"""Datasets for training: HDF5 splits -> normalized tensors held in memory.

File layout (the seed's): `fields` float32 (N, 2, n, n) with channel 0 = f and 1 = u;
`tensor` float32 (N, T) per-sample constant coefficients; optional attrs (`system`). The
system is read from attrs or, for the seed's own files, inferred from T.

Model input channels: f plus one constant plane per coefficient. Two layouts:
- compact: [f, <the system's T coefficients>] (SYS-1: 4 channels, SYS-2: 6, SYS-3: 3);
- union: [f, D11, D22, D12, a1, a2, omega] for every system (absent terms are 0), as needed
  to mix systems in one pre-training set.
The constant planes are never materialized per sample in memory: a sample is stored as its
f plane and its coefficient vector, and `FieldSet.batch` expands the planes on the fly.

Normalization (the seed's, per instance): s_i = ||f_i||_2 dx dy / median_train(||f||_2 dx dy);
every input channel of sample i is divided by s_i, then each coefficient plane by the
training-set median of |coefficient| (taken over its non-zero entries, 1 if there are none,
so that a union column that is 0 for most systems still gets a meaningful scale).
The target u is not normalized.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from sciml_tui.errors import UserError
from sciml_tui.physics.generate import ALIASES as _SYSTEM_ALIASES
from sciml_tui.physics.h5io import SYSTEM_OF_WIDTH as SYSTEM_BY_T
from sciml_tui.physics.h5io import f_measure
from sciml_tui.physics.systems import TENSOR_WIDTH as T_BY_SYSTEM

COMPACT_CHANNELS = {
    "poisson": ["f", "K11", "K22", "K12"],
    "advdiff": ["f", "D11", "D22", "D12", "a1", "a2"],
    "helmholtz": ["f", "c", "omega"],
}
UNION_CHANNELS = ["f", "D11", "D22", "D12", "a1", "a2", "omega"]


@dataclass
class Split:
    """One HDF5 split read into memory (numpy float32)."""

    path: Path
    system: str
    f: np.ndarray  # (N, n, n)
    u: np.ndarray  # (N, n, n)
    coef: np.ndarray  # (N, T) as stored


def strided_indices(pool: int, n: Optional[int], offset: int = 0) -> np.ndarray:
    """n indices spread evenly over a pool of `pool` samples (all of them when n is None).

    The seed stores the 4 vf blocks one after another, so an even stride keeps them balanced.
    `offset` shifts every index within its own stride window (modulo the window's width), so
    each offset picks a different subset with the same balance; offset 0 is the seed's subset.
    """
    if n is None or n >= pool:
        return np.arange(pool)
    starts = (np.arange(n + 1, dtype=np.int64) * pool) // n
    return starts[:-1] + offset % np.diff(starts)


def _system_of(path: Path, attrs, t: int) -> str:
    raw = attrs.get("system")
    if raw is not None:
        name = raw.decode() if isinstance(raw, bytes) else str(raw)
        system = _SYSTEM_ALIASES.get(name.strip().lower())
        if system is None:
            raise UserError(f"{path}: unknown system {name!r} in its attributes")
        if T_BY_SYSTEM[system] != t:
            raise UserError(f"{path}: system {system} should have {T_BY_SYSTEM[system]} coefficients, file has {t}")
        return system
    if t not in SYSTEM_BY_T:
        raise UserError(f"{path}: cannot infer the PDE system from {t} coefficients per sample (expected 2, 3 or 5)")
    return SYSTEM_BY_T[t]


def read_split(path: str | Path, n: Optional[int] = None, offset: int = 0) -> Split:
    """Read `n` strided samples (all if None) of one split file, shifted by `offset`."""
    import h5py

    path = Path(path)
    if not path.is_file():
        raise UserError(f"dataset file not found: {path}")
    try:
        with h5py.File(path, "r") as fh:
            if "fields" not in fh or "tensor" not in fh:
                raise UserError(f"{path}: not a dataset file (needs datasets 'fields' and 'tensor')")
            fields, tensor = fh["fields"], fh["tensor"]
            if fields.ndim != 4 or fields.shape[1] != 2 or tensor.ndim != 2 or tensor.shape[0] != fields.shape[0]:
                raise UserError(f"{path}: unexpected shapes fields {fields.shape}, tensor {tensor.shape}")
            system = _system_of(path, fh.attrs, tensor.shape[1])
            pool = fields.shape[0]
            if n is not None and n > pool:
                raise UserError(f"{path}: asked for {n} samples but the file holds {pool}")
            idx = strided_indices(pool, n, offset)
            if len(idx) == pool:
                data, coef = fields[...], tensor[...]
            elif pool % len(idx) == 0:
                step = pool // len(idx)
                data, coef = fields[idx[0]::step], tensor[idx[0]::step]
            else:
                data, coef = fields[idx], tensor[idx]
    except UserError:
        raise
    except (OSError, KeyError, ValueError) as exc:
        raise UserError(f"{path}: unreadable dataset file ({exc})") from None
    data = np.asarray(data, dtype=np.float32)
    return Split(path=path, system=system, f=data[:, 0], u=data[:, 1], coef=np.asarray(coef, dtype=np.float32))


def channels_for(layout: str, systems: list[str]) -> list[str]:
    """Input channel names of a layout for the given systems."""
    if layout == "union":
        return list(UNION_CHANNELS)
    kinds = sorted(set(systems))
    if len(kinds) != 1:
        raise UserError(f"the compact layout holds one system, got {', '.join(kinds)}: use layout: union")
    return list(COMPACT_CHANNELS[kinds[0]])


def layout_coefficients(split: Split, layout: str) -> np.ndarray:
    """(N, C-1) coefficient columns of the layout (compact: as stored; union: mapped)."""
    return _layout_coef(split.system, split.coef, layout)


def _layout_coef(system: str, c: np.ndarray, layout: str) -> np.ndarray:
    if layout == "compact":
        return c
    out = np.zeros((c.shape[0], len(UNION_CHANNELS) - 1), dtype=np.float32)  # D11 D22 D12 a1 a2 omega
    if system == "poisson":
        out[:, 0:3] = c
    elif system == "advdiff":
        out[:, 0:5] = c
    else:  # helmholtz: -c lap u - omega u = f, i.e. D = c I
        out[:, 0] = c[:, 0]
        out[:, 1] = c[:, 0]
        out[:, 5] = c[:, 1]
    return out


def compute_scales(fs: list[np.ndarray], coefs: list[np.ndarray]) -> dict:
    """Training-set normalization scales: {"f": float, "coef": [float per coefficient column]}."""
    return _scales(np.concatenate([f_measure(f) for f in fs]), coefs)


def pool_scales(paths: list[Path], layout: str) -> dict:
    """The scales of the whole training pool of each dataset, as the seed computed them once
    per dataset: a run on a subset of N examples normalizes like any other run on that data.

    Uses the generator's stored `f_measure`; files without it (the seed's own) are read once,
    in chunks, for their sources.
    """
    import h5py

    measures, coefs = [], []
    for path in paths:
        fpath = Path(path) / "train.h5"
        split = read_split(fpath, n=1)  # validates the file and names its system
        try:
            with h5py.File(fpath, "r") as fh:
                coefs.append(_layout_coef(split.system, np.asarray(fh["tensor"][...], np.float32), layout))
                if "f_measure" in fh:
                    measures.append(np.asarray(fh["f_measure"][...], np.float64))
                else:
                    fields, step = fh["fields"], 1024
                    measures.append(np.concatenate([f_measure(np.asarray(fields[i:i + step, 0], np.float32))
                                                    for i in range(0, fields.shape[0], step)]))
        except (OSError, KeyError, ValueError) as exc:
            raise UserError(f"{fpath}: unreadable dataset file ({exc})") from None
    return _scales(np.concatenate(measures), coefs)


def _scales(meas: np.ndarray, coefs: list[np.ndarray]) -> dict:
    f_scale = float(np.median(meas))
    if not np.isfinite(f_scale) or f_scale <= 0:
        raise UserError("training set has all-zero sources: cannot compute the normalization scale")
    allc = np.abs(np.concatenate(coefs).astype(np.float64))
    coef_scale = []
    for col in allc.T:
        nz = col[col > 0]
        coef_scale.append(float(np.median(nz)) if nz.size else 1.0)
    return {"f": f_scale, "coef": coef_scale}


class FieldSet:
    """Normalized samples on one device. Batches: x (B, C, n, n), y (B, 1, n, n)."""

    def __init__(self, f: torch.Tensor, coef: torch.Tensor, u: torch.Tensor) -> None:
        self.f, self.coef, self.u = f, coef, u

    def __len__(self) -> int:
        return self.f.shape[0]

    @property
    def grid(self) -> tuple[int, int]:
        return tuple(self.f.shape[-2:])  # type: ignore[return-value]

    @property
    def in_channels(self) -> int:
        return 1 + self.coef.shape[1]

    def rows(self, idx: list[int]) -> "FieldSet":
        """The samples at `idx` (a copy)."""
        sel = torch.as_tensor(idx, dtype=torch.long, device=self.f.device)
        return FieldSet(self.f.index_select(0, sel), self.coef.index_select(0, sel), self.u.index_select(0, sel))

    def batch(self, idx: torch.Tensor, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        idx = idx.to(self.f.device)
        f = self.f.index_select(0, idx)
        c = self.coef.index_select(0, idx)
        b, _, h, w = f.shape
        x = torch.cat((f, c[:, :, None, None].expand(b, c.shape[1], h, w)), dim=1)
        y = self.u.index_select(0, idx)
        return x.to(device, non_blocking=True), y.to(device, non_blocking=True)


def _cat(arrays: list[np.ndarray]) -> np.ndarray:
    return arrays[0] if len(arrays) == 1 else np.concatenate(arrays)  # no copy of a 4 GiB split


def normalize(splits: list[Split], layout: str, scales: dict, device: torch.device, resident: bool = True) -> FieldSet:
    """Apply the scales to the splits (concatenated) and place the tensors on `device`: on a GPU
    only when `resident` and they fit, else in pinned host memory, copied batch by batch."""
    f = _cat([s.f for s in splits])
    coef = _cat([layout_coefficients(s, layout) for s in splits])
    if coef.shape[1] != len(scales["coef"]):
        raise UserError(f"data has {coef.shape[1]} coefficient channels, the normalization has {len(scales['coef'])}")
    s = (f_measure(f) / scales["f"]).astype(np.float32)
    s[s == 0] = 1.0
    f_n = f / s[:, None, None]
    coef_n = coef / s[:, None] / np.asarray(scales["coef"], dtype=np.float32)[None, :]
    u = _cat([sp.u for sp in splits])
    bytes_needed = f_n.nbytes + u.nbytes
    host = device.type == "cuda" and not (resident and _fits_on_gpu(device, bytes_needed))
    where = torch.device("cpu") if host else device
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).to(where)  # noqa: E731
    fs = FieldSet(t(f_n)[:, None], t(coef_n), t(u)[:, None])
    if host:
        fs.f, fs.coef, fs.u = fs.f.pin_memory(), fs.coef.pin_memory(), fs.u.pin_memory()
    return fs


def _fits_on_gpu(device: torch.device, nbytes: int) -> bool:
    free, _ = torch.cuda.mem_get_info(device)
    return nbytes < 0.5 * free  # leave room for the model, activations and the optimizer


def mixture_counts(pools: list[int], weights: list[float], total: Optional[int]) -> list[int]:
    """Samples to take from each dataset so the mixture follows the weights.

    total None: the largest mixture the pools allow at those weights.
    """
    wsum = float(sum(weights))
    if total is None:
        total = int(min(p * wsum / w for p, w in zip(pools, weights)))
    counts = [max(1, int(round(total * w / wsum))) for w in weights]
    for p, c, w in zip(pools, counts, weights):
        if c > p:
            raise UserError(f"the mixture needs {c} samples from a pool of {p} (weight {w}): lower n_train")
    return counts


def load_splits(paths: list[Path], split: str, weights: list[float], total: Optional[int],
                offset: int = 0) -> list[Split]:
    """Read `split` (train/val/test) of each dataset folder.

    Training sets are mixed by the weights; val/test sets are evaluation sets, so they are
    taken whole (or, with a cap, in equal shares per dataset). `offset` shifts the strided
    subsets (see `strided_indices`).
    """
    files = [Path(p) / f"{split}.h5" for p in paths]
    if len(files) == 1:
        return [read_split(files[0], total, offset)]
    import h5py

    pools = []
    for fpath in files:
        if not fpath.is_file():
            raise UserError(f"dataset file not found: {fpath}")
        with h5py.File(fpath, "r") as fh:
            pools.append(int(fh["fields"].shape[0]) if "fields" in fh else 0)
    if split != "train":
        if total is None:
            return [read_split(fpath) for fpath in files]
        weights = [1.0] * len(files)
    counts = mixture_counts(pools, weights, total)
    return [read_split(fpath, c, offset) for fpath, c in zip(files, counts)]
