"""Reading the seed's own files, and clear errors for truncated or foreign ones."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from sciml_tui.errors import UserError
from sciml_tui.physics import dataset_info, generate_dataset, read_dataset, verify_hash


def seed_file(path, width, n=16, count=6, other=False):
    """A file as the seed's create_hdf5 wrote it: fields/tensor (+other), no attributes."""
    rng = np.random.default_rng(0)
    with h5py.File(path, "w") as h:
        h.create_dataset("fields", data=rng.random((count, 2, n, n)), dtype="<f4")
        t = rng.random((count, width))
        if width == 2:
            t[:, 0], t[:, 1] = 0.01, [1, 3, 3, 5, 10, 10][:count]
        h.create_dataset("tensor", data=t, dtype="<f4")
        if other:
            h.create_dataset("other", data=rng.random((count, 1)), dtype="<f4")
    return path


@pytest.mark.parametrize("width,system", [(3, "poisson"), (5, "advdiff"), (2, "helmholtz")])
def test_seed_files_are_read_and_described(tmp_path, width, system):
    p = seed_file(tmp_path / "seed.h5", width, other=width == 5)
    fields, tensor, other, attrs = read_dataset(p)
    assert fields.shape == (6, 2, 16, 16) and tensor.shape == (6, width)
    assert attrs["system"] == system and attrs["origin"] == "seed"
    assert (other is not None) == (width == 5)
    info = dataset_info(p)
    assert info["system"] == system and info["range"] is None and info["count"] == 6
    assert info["shape"] == [6, 2, 16, 16]
    if system == "helmholtz":
        assert info["omega_histogram"] == {"1": 1, "3": 2, "5": 1, "10": 2}
        assert info["rejections"] is None
    assert verify_hash(p) is False  # nothing stored to compare with


def test_rows_selects_without_loading_everything(tmp_path):
    generate_dataset("poisson", 1, 5, 16, {"train": 10, "val": 1, "test": 1}, 0, tmp_path)
    full = read_dataset(tmp_path / "train.h5")
    part = read_dataset(tmp_path / "train.h5", rows=np.array([1, 4, 7]))
    np.testing.assert_array_equal(part[0], full[0][[1, 4, 7]])
    np.testing.assert_array_equal(part[1], full[1][[1, 4, 7]])


def test_truncated_file_gives_a_clear_error(tmp_path):
    generate_dataset("poisson", 1, 5, 32, {"train": 64, "val": 1, "test": 1}, 0, tmp_path)
    p = tmp_path / "train.h5"
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match="truncated"):
        read_dataset(p)


@pytest.mark.parametrize("content", [b"hello, not hdf5\n", b""])
def test_foreign_file_gives_a_clear_error(tmp_path, content):
    p = tmp_path / "x.h5"
    p.write_bytes(content)
    with pytest.raises(UserError, match="not a readable HDF5 file"):
        dataset_info(p)


def test_hdf5_without_our_arrays_is_rejected(tmp_path):
    p = tmp_path / "other.h5"
    with h5py.File(p, "w") as h:
        h.create_dataset("images", data=np.zeros((3, 4)))
    with pytest.raises(UserError, match="no 'fields' array"):
        read_dataset(p)


def test_wrong_shapes_are_rejected(tmp_path):
    p = tmp_path / "bad.h5"
    with h5py.File(p, "w") as h:
        h.create_dataset("fields", data=np.zeros((3, 2, 8, 8), "f4"))
        h.create_dataset("tensor", data=np.zeros((3, 4), "f4"))
    with pytest.raises(UserError, match="4 columns"):
        dataset_info(p)


def test_missing_file(tmp_path):
    with pytest.raises(UserError, match="no such file"):
        dataset_info(tmp_path / "nope.h5")


def test_tampered_arrays_fail_the_hash(tmp_path):
    generate_dataset("poisson", 1, 5, 16, {"train": 4, "val": 1, "test": 1}, 0, tmp_path)
    p = tmp_path / "train.h5"
    assert verify_hash(p)
    with h5py.File(p, "r+") as h:
        h["fields"][0, 0, 0, 0] += 1.0
    assert not verify_hash(p)
