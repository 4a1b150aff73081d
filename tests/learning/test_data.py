import h5py
import numpy as np
import pytest
import torch

from sciml_tui.errors import UserError
from sciml_tui.learning.data import (
    UNION_CHANNELS, channels_for, compute_scales, f_measure, layout_coefficients, load_splits, mixture_counts,
    normalize, read_split, strided_indices,
)

from .conftest import make_dataset, write_split


def test_strided_subset_keeps_vf_blocks_balanced():
    idx = strided_indices(32768, 8)
    blocks = np.bincount(idx // (32768 // 4), minlength=4)
    assert blocks.tolist() == [2, 2, 2, 2]
    idx = strided_indices(400, 100)
    assert np.bincount(idx // 100).tolist() == [25, 25, 25, 25]
    assert strided_indices(10, None).tolist() == list(range(10))


@pytest.mark.parametrize("pool,n", [(32768, 8), (400, 100), (12, 5), (4096, 64)])
def test_shifted_subsets_stay_balanced_and_differ_per_offset(pool, n):
    base = strided_indices(pool, n)
    stride = pool // n
    seen = set(base.tolist())
    for offset in range(1, 4):
        idx = strided_indices(pool, n, offset)
        assert len(idx) == n and idx.max() < pool and len(set(idx.tolist())) == n
        if pool % n == 0:  # each index stays in its stride window, so in its vf block
            np.testing.assert_array_equal(idx // (pool // 4), base // (pool // 4))
        if stride > offset:
            assert not seen & set(idx.tolist()), "a shifted subset reuses samples of the unshifted one"
    if pool % n == 0:
        np.testing.assert_array_equal(strided_indices(pool, n, stride), base)  # the shift wraps


def test_read_split_infers_system_from_coefficient_count(tmp_path):
    for system, t in (("poisson", 3), ("advdiff", 5), ("helmholtz", 2)):
        path = tmp_path / f"{system}.h5"
        write_split(path, system, 4, 8, 0, 1, 5, attrs=False)
        split = read_split(path)
        assert split.system == system and split.coef.shape == (4, t) and split.f.shape == (4, 8, 8)


def test_read_split_strided_subset_picks_the_expected_rows(tmp_path):
    path = tmp_path / "a.h5"
    write_split(path, "poisson", 12, 8, 0, 1, 5)
    with h5py.File(path) as fh:
        full = fh["tensor"][...]
    np.testing.assert_array_equal(read_split(path, 4).coef, full[[0, 3, 6, 9]])
    np.testing.assert_array_equal(read_split(path, 5).coef, full[strided_indices(12, 5)])
    np.testing.assert_array_equal(read_split(path, 4, offset=1).coef, full[[1, 4, 7, 10]])
    np.testing.assert_array_equal(read_split(path, 5, offset=1).coef, full[strided_indices(12, 5, 1)])
    with pytest.raises(UserError, match="asked for 20 samples"):
        read_split(path, 20)


def test_bad_files_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="not found"):
        read_split(tmp_path / "missing.h5")
    with h5py.File(tmp_path / "foreign.h5", "w") as fh:
        fh.create_dataset("x", data=np.zeros(3))
    with pytest.raises(UserError, match="not a dataset file"):
        read_split(tmp_path / "foreign.h5")
    (tmp_path / "junk.h5").write_bytes(b"not hdf5 at all")
    with pytest.raises(UserError, match="unreadable"):
        read_split(tmp_path / "junk.h5")
    with h5py.File(tmp_path / "t4.h5", "w") as fh:
        fh.create_dataset("fields", data=np.zeros((2, 2, 4, 4), np.float32))
        fh.create_dataset("tensor", data=np.zeros((2, 4), np.float32))
    with pytest.raises(UserError, match="cannot infer"):
        read_split(tmp_path / "t4.h5")


def test_normalization_is_the_seed_formula(tmp_path):
    path = tmp_path / "a.h5"
    write_split(path, "poisson", 6, 8, 0, 1, 5)
    split = read_split(path)
    scales = compute_scales([split.f], [split.coef])
    meas = np.linalg.norm(split.f.reshape(6, -1), axis=1) / 64
    assert scales["f"] == pytest.approx(np.median(meas))
    assert scales["coef"] == pytest.approx(np.median(np.abs(split.coef), axis=0).tolist())
    fs = normalize([split], "compact", scales, torch.device("cpu"))
    x, y = fs.batch(torch.arange(6), torch.device("cpu"))
    s = meas / np.median(meas)
    i = 2
    np.testing.assert_allclose(x[i, 0].numpy(), split.f[i] / s[i], rtol=1e-5)
    np.testing.assert_allclose(x[i, 1:, 3, 5].numpy(), split.coef[i] / s[i] / np.asarray(scales["coef"]), rtol=1e-5)
    assert torch.equal(y[:, 0], torch.from_numpy(split.u))  # the target is not normalized
    assert x.shape == (6, 4, 8, 8)


def test_per_instance_normalization_removes_the_source_amplitude(tmp_path):
    path = tmp_path / "a.h5"
    write_split(path, "poisson", 4, 8, 0, 1, 5)
    split = read_split(path)
    scales = compute_scales([split.f], [split.coef])
    a = normalize([split], "compact", scales, torch.device("cpu")).batch(torch.arange(4), torch.device("cpu"))[0]
    split.f = split.f * 10
    b = normalize([split], "compact", scales, torch.device("cpu")).batch(torch.arange(4), torch.device("cpu"))[0]
    torch.testing.assert_close(b[:, 0], a[:, 0])
    torch.testing.assert_close(b[:, 1:] * 10, a[:, 1:])


def test_union_layout_maps_each_system(tmp_path):
    splits = {}
    for system in ("poisson", "advdiff", "helmholtz"):
        write_split(tmp_path / f"{system}.h5", system, 3, 8, 1, 2, 6)
        splits[system] = read_split(tmp_path / f"{system}.h5")
    p, a, h = (layout_coefficients(splits[s], "union") for s in ("poisson", "advdiff", "helmholtz"))
    assert p.shape == (3, len(UNION_CHANNELS) - 1)
    np.testing.assert_array_equal(p[:, :3], splits["poisson"].coef)
    assert not p[:, 3:].any()
    np.testing.assert_array_equal(a[:, :5], splits["advdiff"].coef)
    assert not a[:, 5].any()
    hc = splits["helmholtz"].coef
    np.testing.assert_array_equal(h[:, 0], hc[:, 0])
    np.testing.assert_array_equal(h[:, 1], hc[:, 0])
    np.testing.assert_array_equal(h[:, 5], hc[:, 1])
    assert not h[:, [2, 3, 4]].any()
    assert channels_for("union", ["poisson", "helmholtz"]) == UNION_CHANNELS
    assert channels_for("compact", ["helmholtz"]) == ["f", "c", "omega"]
    with pytest.raises(UserError, match="layout: union"):
        channels_for("compact", ["poisson", "helmholtz"])


def test_union_scales_ignore_zero_entries():
    coefs = [np.array([[2.0, 0.0], [4.0, 0.0], [6.0, 0.0]]), np.array([[0.0, 3.0]])]
    scales = compute_scales([np.ones((3, 4, 4)), np.ones((1, 4, 4))], coefs)
    assert scales["coef"] == [4.0, 3.0]
    assert compute_scales([np.ones((1, 4, 4))], [np.zeros((1, 1))])["coef"] == [1.0]


def test_mixture_counts_follow_weights():
    assert mixture_counts([100, 100], [1, 1], 50) == [25, 25]
    assert mixture_counts([100, 100, 100], [2, 1, 1], 40) == [20, 10, 10]
    assert mixture_counts([100, 40], [1, 1], None) == [40, 40]
    with pytest.raises(UserError, match="lower n_train"):
        mixture_counts([10, 100], [1, 1], 40)


def test_load_mixture_reads_each_dataset(tmp_path):
    a = make_dataset(tmp_path / "a", "poisson", n=8, sizes=(8, 4, 4))
    b = make_dataset(tmp_path / "b", "helmholtz", n=8, sizes=(8, 4, 4), lo=1, hi=3)
    splits = load_splits([a, b], "train", [3, 1], 8)
    assert [s.system for s in splits] == ["poisson", "helmholtz"]
    assert [len(s.f) for s in splits] == [6, 2]


def test_f_measure_units():
    f = np.ones((1, 4, 4))
    assert f_measure(f)[0] == pytest.approx(4 / 16)  # ||1||_2 = 4 over 16 points, dx dy = 1/16


def test_pool_scales_cover_the_whole_training_pool(tmp_path):
    from sciml_tui.learning.data import pool_scales

    seed_layout = make_dataset(tmp_path / "seed", sizes=(40, 4, 4), attrs=False)
    full = read_split(seed_layout / "train.h5")
    expected = compute_scales([full.f], [full.coef])
    assert pool_scales([seed_layout], "compact") == pytest.approx(expected)
    sub = read_split(seed_layout / "train.h5", 8)
    assert compute_scales([sub.f], [sub.coef]) != pytest.approx(expected)  # a subset alone would differ


def test_generated_files_carry_the_source_measure(tmp_path):
    from sciml_tui.learning.data import pool_scales
    from sciml_tui.physics import generate_dataset

    out = tmp_path / "gen"
    generate_dataset("poisson", 1, 5, 16, sizes={"train": 24, "val": 4, "test": 4}, seed=3, out_dir=out)
    with h5py.File(out / "train.h5") as fh:
        stored = fh["f_measure"][...]
        np.testing.assert_allclose(stored, f_measure(fh["fields"][:, 0]), rtol=1e-12)
    full = read_split(out / "train.h5")
    assert pool_scales([out], "compact") == pytest.approx(compute_scales([full.f], [full.coef]))
