"""Same options -> identical arrays and hash; ranges, systems, seeds and splits never share
sources unless asked; interrupts leave no file behind."""

from __future__ import annotations

import numpy as np
import pytest

from sciml_tui.physics import generate_dataset, read_dataset

SIZES = {"train": 70, "val": 4, "test": 4}


def gen(tmp_path, name, system="poisson", lo=1, hi=5, n=16, seed=0, **kw):
    out = tmp_path / name
    return out, generate_dataset(system, lo, hi, n, dict(SIZES), seed, out, **kw)


def fields(out, split="train"):
    return read_dataset(out / f"{split}.h5")[0]


@pytest.mark.parametrize("system", ["poisson", "advdiff", "helmholtz"])
def test_same_options_same_bytes_whatever_the_threads(tmp_path, system):
    a, sa = gen(tmp_path, "a", system, 1, 3, workers=1)
    b, sb = gen(tmp_path, "b", system, 1, 3, workers=3)
    for split in SIZES:
        assert sa["splits"][split]["content_sha256"] == sb["splits"][split]["content_sha256"]
        ra, rb = read_dataset(a / f"{split}.h5"), read_dataset(b / f"{split}.h5")
        np.testing.assert_array_equal(ra[0], rb[0])
        np.testing.assert_array_equal(ra[1], rb[1])


def test_different_ranges_do_not_share_sources(tmp_path):
    a, _ = gen(tmp_path, "a", lo=1, hi=5)
    b, _ = gen(tmp_path, "b", lo=5, hi=10)
    fa, fb = fields(a), fields(b)
    assert not np.any(np.all(fa[:, 0] == fb[:, 0], axis=(1, 2)))


def test_paired_sources_share_sources_across_ranges_and_systems(tmp_path):
    a, _ = gen(tmp_path, "a", lo=1, hi=5, paired_sources=True)
    b, _ = gen(tmp_path, "b", lo=5, hi=10, paired_sources=True)
    c, _ = gen(tmp_path, "c", "advdiff", 0.2, 1, paired_sources=True)
    fa, fb, fc = fields(a), fields(b), fields(c)
    np.testing.assert_array_equal(fa[:, 0], fb[:, 0])
    np.testing.assert_array_equal(fa[:, 0], fc[:, 0])
    assert not np.array_equal(fa[:, 1], fb[:, 1])  # same sources, different physics


def test_seeds_and_splits_differ(tmp_path):
    a, sa = gen(tmp_path, "a", seed=0)
    b, sb = gen(tmp_path, "b", seed=1)
    assert sa["splits"]["train"]["content_sha256"] != sb["splits"]["train"]["content_sha256"]
    assert not np.array_equal(fields(a)[:4, 0], fields(a, "val")[:, 0])
    assert not np.array_equal(fields(a)[:, 0], fields(b)[:, 0])


def test_same_seed_other_resolution_samples_the_same_sources(tmp_path):
    a, _ = gen(tmp_path, "a", n=16)
    b, _ = gen(tmp_path, "b", n=32)
    # same bumps and amplitudes; only the max/mean normalization sees the grid
    fa, fb = fields(a)[:, 0].reshape(70, -1), fields(b)[:, 0, ::2, ::2].reshape(70, -1)
    corr = [np.corrcoef(x, y)[0, 1] for x, y in zip(fa, fb)]
    assert min(corr) > 0.999


class Interrupt:
    def __init__(self, after: int, exc: type[BaseException] = KeyboardInterrupt) -> None:
        self.after, self.exc, self.calls = after, exc, 0

    def __call__(self, done: int, total: int) -> None:
        self.calls += 1
        if self.calls > self.after:
            raise self.exc


@pytest.mark.parametrize("after", [0, 1, 3])
def test_interrupted_generation_leaves_no_file(tmp_path, after):
    out = tmp_path / "d"
    with pytest.raises(KeyboardInterrupt):
        generate_dataset("poisson", 1, 5, 16, dict(SIZES), 0, out, progress=Interrupt(after))
    assert list(out.iterdir()) == []


def test_interrupted_overwrite_keeps_the_old_files(tmp_path):
    out, s = gen(tmp_path, "d", seed=0)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(RuntimeError):
        generate_dataset("poisson", 1, 5, 16, dict(SIZES), 9, out, overwrite=True,
                         progress=Interrupt(2, RuntimeError))
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    _, s2 = gen(tmp_path, "d", seed=9, overwrite=True)
    assert s2["splits"]["train"]["content_sha256"] != s["splits"]["train"]["content_sha256"]


def test_progress_reports_every_sample(tmp_path):
    seen = []
    gen(tmp_path, "d", progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (78, 78) and [d for d, _ in seen] == sorted(d for d, _ in seen)
