"""Generation on a bad day: full or read-only disks, too little memory, oversized options, signals.

Each failure is one UserError (or KeyboardInterrupt for a signal) and leaves no file behind.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
from collections import namedtuple
from pathlib import Path

import pytest

import sciml_tui.physics.generate as gen
import sciml_tui.physics.limits as limits
from sciml_tui.errors import UserError
from sciml_tui.physics import generate_dataset
from sciml_tui.physics.h5io import SplitWriter
from sciml_tui.physics.stop import StopRequest

TINY = {"train": 8, "val": 4, "test": 4}


def _generate(out: Path, **kw):
    args = dict(system="poisson", lo=1.0, hi=5.0, n=16, sizes=dict(TINY), seed=0, out_dir=out)
    args.update(kw)
    return generate_dataset(**args)


def _left(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir()) if out.exists() else []


@pytest.mark.parametrize("kw, words", [
    ({"n": 4096}, "above the limit of 1024"),
    ({"n": 1_000_000_000}, "above the limit"),
    ({"sizes": {"train": 100_000_000_000, "val": 4, "test": 4}}, "train size 100000000000 is above the limit"),
    ({"lo": 0.0}, "must be positive"),
])
def test_oversized_or_invalid_options_are_refused_before_any_work(tmp_path, kw, words):
    with pytest.raises(UserError, match=words):
        _generate(tmp_path / "ds", **kw)
    assert not (tmp_path / "ds").exists()


def test_too_little_free_disk_is_refused_with_the_sizes(tmp_path, monkeypatch):
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(limits.shutil, "disk_usage", lambda p: usage(10**6, 10**6 - 1000, 1000))
    with pytest.raises(UserError, match=r"needs about .* which has 1000 B free"):
        _generate(tmp_path / "ds")
    assert not (tmp_path / "ds").exists()


@pytest.mark.parametrize("code, words", [(errno.ENOSPC, "No space left on device"),
                                         (errno.EROFS, "Read-only file system"),
                                         (errno.EDQUOT, "quota")])
def test_a_failed_write_halfway_is_one_line_and_keeps_nothing(tmp_path, monkeypatch, code, words):
    real = SplitWriter.write
    calls = []

    def write(self, start, arrays):
        calls.append(start)
        if len(calls) == 2:  # the second split: the first one's temp file is complete by now
            raise OSError(code, os.strerror(code))
        return real(self, start, arrays)

    monkeypatch.setattr(SplitWriter, "write", write)
    out = tmp_path / "ds"
    with pytest.raises(UserError, match=words):
        _generate(out)
    assert _left(out) == []


def test_an_unwritable_folder_at_temp_creation_is_one_line(tmp_path, monkeypatch):
    def mkstemp(*a, **k):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(gen.tempfile, "mkstemp", mkstemp)
    with pytest.raises(UserError, match="Read-only file system"):
        _generate(tmp_path / "ds")


def test_hdf5_runtime_error_at_the_final_flush_is_a_disk_error(tmp_path, monkeypatch):
    import h5py

    def flush(self):
        raise RuntimeError("Can't flush cache (file write failed: errno = 28, error message = 'No space left')")

    monkeypatch.setattr(h5py.File, "flush", flush)
    out = tmp_path / "ds"
    with pytest.raises(UserError, match="No space left on device"):
        _generate(out)
    assert _left(out) == []


def test_reservation_failure_is_reported_before_any_sample(tmp_path, monkeypatch):
    def reserve(path, nbytes):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr("sciml_tui.physics.h5io.reserve_disk", reserve)
    out = tmp_path / "ds"
    with pytest.raises(UserError, match="No space left"):
        _generate(out, progress=lambda d, t: pytest.fail("no block should be computed"))
    assert _left(out) == []


def test_workers_shrink_to_fit_memory_and_none_fitting_is_refused(tmp_path, monkeypatch):
    per_worker = 2 * limits.block_bytes(16)
    assert limits.workers_that_fit(16, 8, 3 * per_worker) == 3
    assert limits.workers_that_fit(16, 8, None) == 8
    monkeypatch.setattr(gen, "available_memory", lambda: per_worker - 1)
    with pytest.raises(UserError, match="not enough memory to generate at n=16"):
        _generate(tmp_path / "ds")
    assert not (tmp_path / "ds").exists()


def test_a_signal_whose_interrupt_was_swallowed_still_stops_generation(tmp_path):
    stop = StopRequest()

    def progress(done, total):
        try:  # the handler raising where Python discards exceptions (a weakref callback)
            stop._handler(signal.SIGTERM, None)
        except KeyboardInterrupt:
            pass

    out = tmp_path / "ds"
    with pytest.raises(KeyboardInterrupt):
        _generate(out, sizes={"train": 200, "val": 4, "test": 4}, progress=progress, stop=stop)
    assert _left(out) == []


def test_a_signal_while_hdf5_sets_up_a_file_stops_at_the_next_block_with_nothing_open(tmp_path, monkeypatch):
    """The handler only records; the loop raises between blocks, never inside h5py (here: the
    writer's set-up), where a stopped generation in the scheduler now and then crashed at exit."""
    import gc

    import h5py

    import sciml_tui.physics.h5io as h5io

    stop, raised_inside = StopRequest(), []
    real = h5io.reserve_disk

    def reserve(path, nbytes):
        try:
            stop._handler(signal.SIGTERM, None)  # the signal lands inside SplitWriter.__init__
        except KeyboardInterrupt:
            raised_inside.append(path)
            raise
        return real(path, nbytes)

    monkeypatch.setattr(h5io, "reserve_disk", reserve)
    out = tmp_path / "ds"
    with pytest.raises(KeyboardInterrupt):
        _generate(out, stop=stop)
    gc.collect()
    assert raised_inside == []  # acted on by the generation loop, not inside h5py
    assert _left(out) == [] and stop.requested
    assert h5py.h5f.get_obj_ids(h5py.h5f.OBJ_ALL, h5py.h5f.OBJ_FILE) == []


def test_a_signal_during_the_renames_is_recorded_and_the_files_stay_whole(tmp_path, monkeypatch):
    stop = StopRequest()
    real = gen._commit

    def commit(temps, out_dir):
        stop._handler(signal.SIGTERM, None)  # must not raise here
        real(temps, out_dir)

    monkeypatch.setattr(gen, "_commit", commit)
    out = tmp_path / "ds"
    _generate(out, stop=stop)
    assert stop.requested and _left(out) == ["test.h5", "train.h5", "val.h5"]


@pytest.fixture
def small_tmpfs(tmp_path):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    if shutil.which("mount") is None or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root and mount(8)")
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], capture_output=True).returncode:
        pytest.skip("this machine does not allow mounting a tmpfs")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sciml_tui.cli", "data", "generate", "poisson", *args],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("left_kib", [0, 4, 100])
def test_real_full_tmpfs_is_one_line_and_no_crash(small_tmpfs, left_kib):
    (small_tmpfs / "fill").write_bytes(b"\0" * ((1 << 20) - left_kib * 1024 - 8192))
    r = _cli("--n", "16", "--train", "8", "--val", "4", "--test", "4", "--out", str(small_tmpfs / "ds"))
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith("error: ") and len(r.stderr.strip().splitlines()) == 1
    assert _left(small_tmpfs / "ds") == []


def test_real_full_tmpfs_past_the_free_space_check_is_one_line_and_no_crash(small_tmpfs):
    """The disk filling between the check and the writes: the reservation catches it."""
    code = ("import sys, sciml_tui.physics.generate as g\n"
            "from sciml_tui.cli import main\n"
            "g.disk_problem = lambda *a: None\n"
            "sys.argv = ['sciml', 'data', 'generate', 'poisson', '--n', '64', '--train', '200', '--out', sys.argv[1]]\n"
            "main()\n")
    r = subprocess.run([sys.executable, "-c", code, str(small_tmpfs / "ds")], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith("error: cannot write the dataset") and "No space left" in r.stderr
    assert _left(small_tmpfs / "ds") == []


def test_real_read_only_filesystem_is_one_line(small_tmpfs):
    if subprocess.run(["mount", "-o", "remount,ro", str(small_tmpfs)], capture_output=True).returncode:
        pytest.skip("cannot remount read-only")
    r = _cli("--n", "16", "--train", "8", "--val", "4", "--test", "4", "--out", str(small_tmpfs / "ds"))
    assert r.returncode == 2 and r.stderr.startswith("error: ") and "Traceback" not in r.stderr, r.stderr
