"""The README's promises that a test can hold: its commands and its spec example."""

from __future__ import annotations

from pathlib import Path

from sciml_tui.launch import plan_sweep

README = (Path(__file__).parent.parent / "README.md").read_text()


def test_the_two_fresh_machine_commands_are_there():
    assert "pip install torch==2.13.0 && pip install -e '.[dev]' && sciml run sweep experiments/quickstart.yaml" in README
    assert "python -m pytest -q" in README
    ci = (Path(__file__).parent.parent / ".ci" / "run").read_text()
    assert "torch==2.13.0" in ci and "-e '.[dev]'" in ci and "python -m pytest -q" in ci


def test_the_spec_example_is_a_valid_spec(tmp_path):
    block = README.split("### Spec files")[1].split("```yaml")[1].split("```")[0]
    spec = tmp_path / "example.yaml"
    spec.write_text(block)
    plan = plan_sweep(spec, tmp_path / "ws")
    assert list(plan.sweeps) == ["headline"]
