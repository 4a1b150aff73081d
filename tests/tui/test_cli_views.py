"""The command line's conventions and views, on the dashboard's fixture workspace."""

from __future__ import annotations

import json
import subprocess
import sys

from typer.testing import CliRunner

from sciml_tui import __version__
from sciml_tui.cli import app

runner = CliRunner()


def sciml(*args: str):
    return runner.invoke(app, list(args))


def test_short_help_version_and_completion():
    short, long = sciml("-h"), sciml("--help")
    assert short.exit_code == 0 and short.output == long.output
    assert "--install-completion" in long.output and "Examples:" in long.output
    assert sciml("status", "-h").exit_code == 0
    version = sciml("--version")
    assert version.exit_code == 0 and version.output.strip() == f"sciml {__version__}"


def test_help_shows_examples_and_no_bool_placeholder():
    for cmd in (["results"], ["status"], ["run", "sweep"]):
        out = sciml(*cmd, "--help").output
        assert "Examples:" in out, cmd
        assert "<bool>" not in out and "╭" not in out, cmd


def test_usage_errors_are_one_error_line():
    for args in (["status", "--bogus"], ["results"], ["status", "--sweep"], ["results", "q", "--target", "x"]):
        res = sciml(*args)
        assert res.exit_code == 2, args
        assert res.output.startswith("error: ") and res.output.count("\n") == 1, (args, res.output)


def test_status_of_an_unknown_sweep_is_an_error(workspace):
    res = sciml("status", "-w", str(workspace), "--sweep", "nosuch")
    assert res.exit_code == 2 and res.output.startswith("error: unknown sweep 'nosuch'")
    assert "quickstart" in res.output


def test_cancel_and_resume_speak_json(workspace):
    res = sciml("cancel", "qs-scratch-n64-s1", "-w", str(workspace), "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.output) == {"cancelled": ["qs-scratch-n64-s1"]}
    assert "--json" in sciml("resume", "-h").output


def test_module_entry_point_accepts_short_help():
    out = subprocess.run([sys.executable, "-m", "sciml_tui.cli", "-h"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("Usage:")


def _sciml_process(workspace, *args: str, **env: str) -> subprocess.CompletedProcess:
    import os

    base = {k: v for k, v in os.environ.items() if k not in ("LC_ALL", "LC_CTYPE", "LANG", "PYTHONIOENCODING")}
    return subprocess.run([sys.executable, "-m", "sciml_tui.cli", *args, "-w", str(workspace)],
                          capture_output=True, env={**base, **env})


def test_results_fall_back_to_ascii_when_the_terminal_cannot_show_symbols(workspace):
    for env in ({"PYTHONIOENCODING": "ascii", "LANG": "C.UTF-8"}, {"LANG": "C"}):
        out = _sciml_process(workspace, "results", "quickstart", **env)
        assert out.returncode == 0, (env, out.stderr)
        text = out.stdout.decode("ascii")  # fails on any byte above 127
        assert "0.431+-0.015 (lr 1e-3)" in text and "+----" in text, env
    utf = _sciml_process(workspace, "results", "quickstart", LANG="C.UTF-8").stdout.decode("utf-8")
    assert "0.431±0.015" in utf and "┃" in utf
