"""HDF5 dataset files in the seed's layout, streamed in blocks, with a content hash.

Layout (one file per split):
- ``fields`` (N, 2, n, n) float32: channel 0 = f, channel 1 = u; axis -2 = y, axis -1 = x;
- ``tensor`` (N, T) float32: the coefficients (poisson 3, advdiff 5, helmholtz 2);
- ``other`` (N, 1) float32: realized psi (advdiff only);
- ``psi_target`` (N, 1) float32: the drawn psi target (advdiff only; not in seed files);
- attributes: ``system``, ``parameter``, ``range_lo``, ``range_hi``, ``n``, ``seed``, ``split``,
  ``sizes`` (JSON), ``count``, ``generator_version``, ``paired_sources``, ``omega_integer``,
  ``vf_blocks`` (JSON), ``rejections`` (JSON, helmholtz), ``sha256_<dataset>`` per array and
  ``content_sha256`` over them.

Files written by the seed itself (only ``fields`` / ``tensor`` [/ ``other``], no attributes)
are read as well: the system is inferred from T.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from sciml_tui.errors import UserError
from sciml_tui.physics.systems import TENSOR_WIDTH

SYSTEM_OF_WIDTH = {w: s for s, w in TENSOR_WIDTH.items()}
JSON_ATTRS = ("sizes", "vf_blocks", "rejections")
DERIVED = ("f_measure",)  # recomputable from `fields`: not part of the content hash


def f_measure(f: np.ndarray) -> np.ndarray:
    """||f_i||_2 dx dy on the unit square for (N, n, n) sources, in float64: (N,)."""
    n1, n2 = f.shape[-2:]
    return np.linalg.norm(f.reshape(f.shape[0], -1).astype(np.float64), axis=1) / (n1 * n2)


def content_hash(array_hashes: dict[str, str]) -> str:
    """sha256 over the per-dataset sha256 digests, in dataset-name order."""
    text = "".join(f"{k}:{array_hashes[k]}\n" for k in sorted(array_hashes))
    return hashlib.sha256(text.encode()).hexdigest()


class SplitWriter:
    """Writes one split block by block into an open HDF5 file, hashing as it goes.

    Blocks must arrive in order; the file's arrays are C-contiguous along N, so hashing the
    blocks' bytes in order equals hashing each whole array.
    """

    def __init__(self, path: Path, count: int, n: int, width: int, with_psi: bool, reserve: int = 0) -> None:
        self.path = Path(path)
        self.dsets: dict[str, h5py.Dataset] = {}
        self.f_measure: h5py.Dataset | None = None
        self.file = h5py.File(path, "w")
        try:
            self.reserved = reserve_disk(self.path, reserve) if reserve else False
        except OSError:
            self.close()
            raise
        self.count = count
        self.done = 0
        shapes = {"fields": (count, 2, n, n), "tensor": (count, width)}
        if with_psi:
            shapes.update(other=(count, 1), psi_target=(count, 1))
        self.dsets = {k: self.file.create_dataset(k, shape=s, dtype="<f4") for k, s in shapes.items()}
        self.hashers = {k: hashlib.sha256() for k in shapes}
        # ||f_i||_2 dx dy of the stored float32 source: normalization needs it for the whole
        # training pool, and reading every field back for it would cost a pass over the file
        self.f_measure = self.file.create_dataset("f_measure", shape=(count,), dtype="<f8")

    def write(self, start: int, arrays: dict[str, np.ndarray]) -> None:
        if start != self.done:
            raise RuntimeError(f"blocks out of order: expected {self.done}, got {start}")
        size = arrays["fields"].shape[0]
        for name, dset in self.dsets.items():
            a = np.ascontiguousarray(arrays[name], dtype="<f4")
            dset[start : start + size] = a
            self.hashers[name].update(memoryview(a).cast("B"))
            if name == "fields":
                self.f_measure[start : start + size] = f_measure(a[:, 0])
        self.done += size

    def finish(self, attrs: dict[str, Any]) -> dict[str, str]:
        if self.done != self.count:
            raise RuntimeError(f"split incomplete: {self.done} of {self.count}")
        hashes = {k: h.hexdigest() for k, h in self.hashers.items()}
        for k, v in attrs.items():
            self.file.attrs[k] = json.dumps(v) if k in JSON_ATTRS else v
        for k, v in hashes.items():
            self.file.attrs[f"sha256_{k}"] = v
        self.file.attrs["content_sha256"] = content_hash(hashes)
        try:
            self.file.flush()  # a full disk fails here, while HDF5 can still close the file
        except RuntimeError as exc:  # h5py reports some failed writes as RuntimeError
            raise as_os_error(exc) from None
        self.close()
        if self.reserved:
            release_reserve(self.path)
        return hashes

    def close(self) -> None:
        # drop the dataset handles first: HDF5 left holding them after a failed write can crash
        # the interpreter when they are collected later (seen as SIGBUS on a full tmpfs)
        self.dsets.clear()
        self.f_measure = None
        try:
            self.file.close()
        except Exception:  # closing after a failure: the temp file is discarded anyway
            pass


FALLOC_FL_KEEP_SIZE = 1


def reserve_disk(path: Path, nbytes: int) -> bool:
    """Allocate `nbytes` of disk to `path` without changing its size (Linux fallocate), so the
    HDF5 library never meets a full disk halfway: after a failed write it can leave the
    process to crash at exit. Raises OSError when the space is not there; False when this
    system or filesystem cannot reserve (the free-space check made before still holds)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        fallocate = libc.fallocate
    except (OSError, AttributeError):
        return False
    fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long]
    fd = os.open(path, os.O_WRONLY)
    try:
        if fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, nbytes) != 0:
            err = ctypes.get_errno()
            if err in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
                raise OSError(err, os.strerror(err), str(path))
            return False
    finally:
        os.close(fd)
    return True


def release_reserve(path: Path) -> None:
    """Give back reserved blocks past the end of the file (a shrinking truncate frees them)."""
    size = path.stat().st_size
    os.truncate(path, size + 1)
    os.truncate(path, size)


def as_os_error(exc: Exception) -> OSError:
    """h5py's RuntimeError for a failed write, as an OSError with the errno HDF5 reported."""
    found = re.search(r"errno = (\d+)", str(exc))
    code = int(found.group(1)) if found else errno.EIO
    return OSError(code, os.strerror(code))


def _open(path: str | Path) -> h5py.File:
    p = Path(path)
    if not p.exists():
        raise UserError(f"{p}: no such file")
    if not p.is_file():
        raise UserError(f"{p}: not a file")
    try:
        return h5py.File(p, "r")
    except OSError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"{p}: not a readable HDF5 file (truncated or foreign?): {first}") from None


JSON_TYPES = {"sizes": dict, "vf_blocks": list, "rejections": dict}
TEXT_ATTRS = ("system", "parameter", "split", "generator_version", "content_sha256")
NUMBER_ATTRS = ("range_lo", "range_hi", "n", "seed", "count")
FLAG_ATTRS = ("paired_sources", "omega_integer")


def _attr_value(h: h5py.File, key: str, path: Path) -> Any:
    """One attribute as a plain Python value; UserError for values this layout never holds."""
    try:
        v = h.attrs[key]
    except (OSError, TypeError, ValueError) as exc:
        raise UserError(f"{path}: attribute {key!r} cannot be read ({type(exc).__name__})") from None
    if isinstance(v, bytes):
        try:
            v = v.decode()
        except UnicodeDecodeError:
            raise UserError(f"{path}: attribute {key!r} is not UTF-8 text") from None
    if isinstance(v, np.generic):
        v = v.item()
    if key in JSON_TYPES:
        try:
            v = json.loads(v) if isinstance(v, str) else None
        except ValueError:
            v = None
        if not isinstance(v, JSON_TYPES[key]):
            raise UserError(f"{path}: attribute {key!r} is not a JSON {JSON_TYPES[key].__name__}")
    wrong = ((key in TEXT_ATTRS and not isinstance(v, str))
             or (key in NUMBER_ATTRS and (isinstance(v, bool) or not isinstance(v, (int, float))))
             or (key in FLAG_ATTRS and v not in (True, False, 0, 1)))
    if wrong:
        raise UserError(f"{path}: attribute {key!r} has an unexpected value {str(v)[:40]!r}: "
                        "the file was not written by this tool or its seed")
    return v


def _read_attrs(h: h5py.File, path: Path) -> dict[str, Any]:
    attrs = {k: _attr_value(h, k, path) for k in h.attrs.keys()}
    if ("range_lo" in attrs) != ("range_hi" in attrs):
        raise UserError(f"{path}: attributes range_lo and range_hi must come together")
    return attrs


def _describe(h: h5py.File, path: Path) -> dict[str, Any]:
    """Validate the layout and return normalized attributes (system inferred for seed files)."""
    for key in ("fields", "tensor"):
        if key not in h or not isinstance(h[key], h5py.Dataset):
            raise UserError(f"{path}: not a PDE dataset (no '{key}' array)")
    fshape, tshape = h["fields"].shape, h["tensor"].shape
    if len(fshape) != 4 or fshape[1] != 2 or fshape[2] != fshape[3]:
        raise UserError(f"{path}: 'fields' has shape {fshape}, expected (N, 2, n, n)")
    if len(tshape) != 2 or tshape[0] != fshape[0]:
        raise UserError(f"{path}: 'tensor' has shape {tshape}, expected ({fshape[0]}, T)")
    for key in ("fields", "tensor"):
        if h[key].dtype.kind not in "fiu":
            raise UserError(f"{path}: '{key}' holds {h[key].dtype} values, expected numbers")
    attrs = _read_attrs(h, path)
    width = tshape[1]
    if "system" not in attrs:
        if width not in SYSTEM_OF_WIDTH:
            raise UserError(f"{path}: 'tensor' has {width} columns; expected 3, 5 or 2")
        attrs["system"] = SYSTEM_OF_WIDTH[width]
        attrs["origin"] = "seed"
    else:
        attrs["origin"] = "sciml-tui"
        if TENSOR_WIDTH.get(attrs["system"]) != width:
            raise UserError(f"{path}: system {attrs['system']!r} does not match {width} coefficient columns")
    attrs["count"] = int(fshape[0])
    attrs["n"] = int(fshape[2])
    return attrs


def read_dataset(
    path: str | Path, rows: slice | np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, dict[str, Any]]:
    """Load (fields (N,2,n,n), tensor (N,T), other (N,1) or None, attrs) as float32 arrays.

    ``rows`` selects samples (a slice or sorted index array) without loading the rest.
    """
    path = Path(path)
    with _open(path) as h:
        attrs = _describe(h, path)
        sel = slice(None) if rows is None else rows
        try:
            fields = h["fields"][sel]
            tensor = h["tensor"][sel]
            other = h["other"][sel] if "other" in h else None
        except OSError as exc:
            raise UserError(f"{path}: cannot read the arrays (truncated file?): {exc}") from None
    return fields, tensor, other, attrs


def verify_hash(path: str | Path, block: int = 256) -> bool:
    """Recompute the content hash and compare with the stored one (False if none stored)."""
    path = Path(path)
    with _open(path) as h:
        stored = h.attrs.get("content_sha256")
        if stored is None:
            return False
        hashes = {}
        for name in (k for k in h if isinstance(h[k], h5py.Dataset) and k not in DERIVED):
            d, hs = h[name], hashlib.sha256()
            try:
                for i in range(0, d.shape[0], block):
                    hs.update(np.ascontiguousarray(d[i : i + block], dtype="<f4").tobytes())
            except OSError as exc:
                raise UserError(f"{path}: cannot read '{name}' (truncated file?): {exc}") from None
            hashes[name] = hs.hexdigest()
    stored = stored.decode() if isinstance(stored, bytes) else stored
    return content_hash(hashes) == stored
