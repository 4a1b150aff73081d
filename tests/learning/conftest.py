"""Small synthetic datasets in the seed's HDF5 layout, solved exactly in Fourier space.

These stand in for the data engine in unit tests (the science check uses the real one).
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml


def _solve(system: str, f: np.ndarray, coef: np.ndarray) -> np.ndarray:
    n = f.shape[-1]
    k = np.fft.fftfreq(n, 1.0 / n)
    kx, ky = np.meshgrid(k, k, indexing="ij")
    fh = np.fft.fft2(f)
    if system == "poisson":
        k11, k22, k12 = coef
        sym = (2 * np.pi) ** 2 * (k11 * kx * kx + k22 * ky * ky + 2 * k12 * kx * ky)
    elif system == "advdiff":
        k11, k22, k12, a1, a2 = coef
        sym = (2 * np.pi) ** 2 * (k11 * kx * kx + k22 * ky * ky + 2 * k12 * kx * ky) + 2j * np.pi * (a1 * kx + a2 * ky)
    else:
        c, omega = coef
        sym = (2 * np.pi) ** 2 * c * (kx * kx + ky * ky) - omega
    sym = np.where(np.abs(sym) < 1e-12, np.inf, sym)
    return np.real(np.fft.ifft2(fh / sym))


def write_split(path: Path, system: str, count: int, n: int, seed: int, lo: float, hi: float,
                attrs: bool = True) -> None:
    rng = np.random.default_rng(seed)
    x = (np.arange(n) + 0.5) / n
    fields = np.zeros((count, 2, n, n), np.float32)
    t = {"poisson": 3, "advdiff": 5, "helmholtz": 2}[system]
    tensor = np.zeros((count, t), np.float32)
    for i in range(count):
        f = np.zeros((n, n))
        for _ in range(4):
            cx, cy = rng.uniform(0.2, 0.8, 2)
            f += rng.uniform(0.1, 1) * np.exp(-((x[:, None] - cx) ** 2 + (x[None, :] - cy) ** 2) / (2 * 0.06**2))
        f /= f.max()
        if system != "helmholtz":
            f -= f.mean()
        e = rng.uniform(lo, hi)
        th = rng.uniform(0, 2 * np.pi)
        c, s = np.cos(th), np.sin(th)
        k11, k22, k12 = 0.01 * (c * c + e * s * s), 0.01 * (s * s + e * c * c), 0.01 * (e - 1) * c * s
        if system == "poisson":
            coef = (k11, k22, k12)
        elif system == "advdiff":
            lam, ph = rng.uniform(0.2, 0.5), rng.uniform(0, 2 * np.pi)
            coef = ((1 - lam) * k11, (1 - lam) * k22, (1 - lam) * k12, lam * np.cos(ph), lam * np.sin(ph))
        else:
            coef = (0.01, float(rng.integers(int(lo), int(hi) + 1)))
        fields[i, 0] = f
        fields[i, 1] = _solve(system, f, coef)
        tensor[i] = coef
    with h5py.File(path, "w") as fh:
        fh.create_dataset("fields", data=fields)
        fh.create_dataset("tensor", data=tensor)
        if attrs:
            fh.attrs["system"] = system


def make_dataset(out: Path, system: str = "poisson", n: int = 16, sizes=(32, 8, 8), seed: int = 0,
                 lo: float = 1.0, hi: float = 5.0, attrs: bool = True) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    for j, (split, count) in enumerate(zip(("train", "val", "test"), sizes)):
        write_split(out / f"{split}.h5", system, count, n, seed * 10 + j, lo, hi, attrs)
    return out


@pytest.fixture(scope="session")
def poisson_data(tmp_path_factory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("data") / "poisson", sizes=(32, 8, 8))


def write_run(run_dir: Path, cfg: dict) -> Path:
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.yaml").write_text(yaml.safe_dump(cfg))
    return run_dir


def base_config(data: Path, **over) -> dict:
    cfg = {"mode": "scratch", "data": [{"path": str(data)}], "model": {"width": 6, "modes": 3},
           "recipe": {"epochs": 3, "batch_size": 8}, "seed": 1, "device": "cpu", "threads": 1}
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(cfg.get(k), dict):
            cfg[k] = {**cfg[k], **v}
        else:
            cfg[k] = v
    return cfg
