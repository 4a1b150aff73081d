"""Atomic writes: the old file survives a failed write, and new files get the umask's mode."""

from __future__ import annotations

import os
import stat

import pytest

from sciml_tui.atomic import atomic_path, write_json, write_text


def test_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "store.json"
    write_text(target, "old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed mid-write")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["store.json"]


def test_new_files_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        import importlib

        import sciml_tui.atomic as atomic

        importlib.reload(atomic)
        atomic.write_json(tmp_path / "a.json", {"x": 1})
    finally:
        os.umask(old)
        importlib.reload(atomic)
    assert stat.S_IMODE(os.stat(tmp_path / "a.json").st_mode) == 0o644


def test_write_json_roundtrip(tmp_path):
    write_json(tmp_path / "r.json", {"b": 2, "a": [1.5]})
    assert (tmp_path / "r.json").read_text().startswith("{")


def test_read_json_object_is_none_for_missing_torn_or_foreign_files(tmp_path):
    from sciml_tui.atomic import read_json_object

    assert read_json_object(tmp_path / "none.json") is None
    (tmp_path / "torn.json").write_text('{"status": "do')
    assert read_json_object(tmp_path / "torn.json") is None
    (tmp_path / "list.json").write_text("[1, 2]")
    assert read_json_object(tmp_path / "list.json") is None
    write_json(tmp_path / "ok.json", {"status": "done"})
    assert read_json_object(tmp_path / "ok.json") == {"status": "done"}
