"""`sciml data generate` / `sciml data info` through the real Typer app."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from sciml_tui.cli import app

runner = CliRunner()
SMALL = ["--n", "16", "--train", "8", "--val", "4", "--test", "4"]


def run(*args: str):
    return runner.invoke(app, list(args))


def test_generate_then_info_json(tmp_path):
    out = tmp_path / "ds"
    r = run("data", "generate", "helmholtz", "--range", "1:10", *SMALL, "--seed", "3", "--out", str(out), "--json")
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    assert summary["system"] == "helmholtz" and summary["range"] == [1.0, 10.0]
    assert sorted(p.name for p in out.iterdir()) == ["test.h5", "train.h5", "val.h5"]
    r = run("data", "info", str(out / "train.h5"), "--json", "--verify")
    assert r.exit_code == 0, r.output
    info = json.loads(r.stdout)
    assert info["count"] == 8 and info["hash_ok"] is True and "omega_histogram" in info
    assert info["content_sha256"] == summary["splits"]["train"]["content_sha256"]


def test_generate_plain_summary(tmp_path):
    r = run("data", "generate", "poisson", "--range", "1.5:2.5", *SMALL, "--out", str(tmp_path / "d"))
    assert r.exit_code == 0, r.output
    assert "poisson: e in [1.5, 2.5]" in r.stdout and "train.h5" in r.stdout
    r = run("data", "info", str(tmp_path / "d" / "val.h5"))
    assert r.exit_code == 0 and "poisson" in r.stdout and "[1.5, 2.5]" in r.stdout


BAD = [
    (["heat", "--range", "1:5"], "unknown system"),
    (["poisson", "--range", "5:1"], "reversed"),
    (["poisson", "--range", "1-5"], "LO:HI"),
    (["poisson", "--range", "a:b"], "two numbers"),
    (["poisson", "--range", "0:5"], "positive"),
    (["poisson", "--train", "0"], "train size"),
    (["poisson", "--val", "-2"], "val size"),
    (["poisson", "--n", "15"], "must be even"),
    (["poisson", "--n", "6"], "even integer"),
    (["helmholtz", "--range", "1.5:1.9", "--omega", "int"], "integer"),
    (["poisson", "--seed", "-1"], "seed"),
]


@pytest.mark.parametrize("args,msg", BAD)
def test_bad_input_is_one_line_exit_2_and_no_file(tmp_path, args, msg):
    out = tmp_path / "ds"
    base = ["--n", "16", "--train", "8", "--val", "4", "--test", "4"]
    r = run("data", "generate", args[0], *base, *args[1:], "--out", str(out))
    assert r.exit_code == 2, r.output
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and msg in lines[0], r.stderr
    assert not out.exists()


def test_existing_output_needs_overwrite(tmp_path):
    out = tmp_path / "ds"
    assert run("data", "generate", "poisson", *SMALL, "--out", str(out)).exit_code == 0
    before = (out / "train.h5").read_bytes()
    r = run("data", "generate", "poisson", *SMALL, "--seed", "1", "--out", str(out))
    assert r.exit_code == 2 and "already exists" in r.stderr and "--overwrite" in r.stderr
    assert (out / "train.h5").read_bytes() == before
    r = run("data", "generate", "poisson", *SMALL, "--seed", "1", "--out", str(out), "--overwrite")
    assert r.exit_code == 0 and (out / "train.h5").read_bytes() != before


def test_unwritable_output(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = run("data", "generate", "poisson", *SMALL, "--out", str(blocker / "ds"))
    assert r.exit_code == 2 and r.stderr.count("\n") == 1 and "is a file" in r.stderr
    r = run("data", "generate", "poisson", *SMALL, "--out", str(blocker))
    assert r.exit_code == 2 and "not a folder" in r.stderr


def test_info_on_foreign_file(tmp_path):
    p = tmp_path / "notes.h5"
    p.write_text("not hdf5")
    r = run("data", "info", str(p))
    assert r.exit_code == 2 and r.stderr.startswith("error:") and r.stderr.count("\n") == 1


def test_help_lists_the_commands():
    r = run("data", "--help")
    assert r.exit_code == 0 and "generate" in r.stdout and "info" in r.stdout


def test_info_on_the_generated_folder_describes_each_split(tmp_path):
    out = tmp_path / "ds"
    r = run("data", "generate", "poisson", "--range", "1:5", *SMALL, "--out", str(out))
    assert r.exit_code == 0, r.output
    r = run("data", "info", str(out), "--json", "--verify")
    assert r.exit_code == 0, r.output
    info = json.loads(r.stdout)
    assert info["path"] == str(out) and info["system"] == "poisson" and info["range"] == [1.0, 5.0]
    assert [s["split"] for s in info["splits"]] == ["train", "val", "test"]
    assert [s["count"] for s in info["splits"]] == [8, 4, 4]
    assert all(s["hash_ok"] is True for s in info["splits"])
    plain = run("data", "info", str(out))
    assert plain.exit_code == 0, plain.output
    assert "not a file" not in plain.output
    for split in ("train.h5", "val.h5", "test.h5"):
        assert split in plain.stdout
    (out / "val.h5").unlink()
    gone = run("data", "info", str(out))
    assert gone.exit_code == 2 and "val.h5" in gone.stderr and gone.stderr.count("\n") == 1
    empty = tmp_path / "empty"
    empty.mkdir()
    r = run("data", "info", str(empty))
    assert r.exit_code == 2 and "train.h5" in r.stderr
