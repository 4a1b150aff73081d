"""Planning an lr search: spec forms, errors, run ids, rung epochs in the recipe, the dry run."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from sciml_tui.cli import app
from sciml_tui.learning.cadence import validation_epochs
from sciml_tui.specs.plan import plan_from_file

BASE = """\
datasets:
  down: {system: poisson, range: [5, 10], n: 16, sizes: {train: 32, val: 8, test: 8}, seed: 2}
sweeps:
  s:
    dataset: down
    n_train: [4, 8]
    seeds: [0, 1]
    recipe: {epochs: 40}
"""


def _spec(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(BASE + extra)
    return path


def _ids(tmp_path: Path, extra: str) -> list[str]:
    plan = plan_from_file(_spec(tmp_path, extra), tmp_path)
    return sorted(r.id for r in plan.runs)


def test_the_grid_form_without_halving_keeps_the_run_ids_of_the_plain_list(tmp_path):
    plain = _ids(tmp_path, "    lr: [3.0e-3, 1.0e-2]\n")
    adaptive = _ids(tmp_path, "    lr: {grid: [3.0e-3, 1.0e-2], adaptive: true, bounds: [1.0e-4, 0.1]}\n")
    assert plain == adaptive and len(plain) == 8
    halving = _ids(tmp_path, "    lr: [3.0e-3, 1.0e-2]\n    lr_search: {halving: {rungs: [0.25, 0.5]}}\n")
    assert not set(halving) & set(plain)  # the rung epochs are validated: other runs


def test_halving_puts_the_rung_epochs_in_the_recipe_and_the_cadence_validates_them(tmp_path):
    plan = plan_from_file(_spec(tmp_path, "    lr: [3.0e-3, 1.0e-2]\n    lr_search: {halving: {rungs: [0.3, 0.5]}}\n"), tmp_path)
    recipe = plan.runs[0].config["recipe"]
    assert recipe["val_extra_epochs"] == [12, 20]
    assert plan.lr_search == {"s": {"halving": {"rungs": [0.3, 0.5], "keep": 0.5}}}
    epochs = validation_epochs(40, 4, 8, batch_size=4, share=0.1, min_evals=3, min_samples=8)
    assert 12 not in epochs
    assert {12, 20} <= set(validation_epochs(40, 4, 8, batch_size=4, share=0.1, min_evals=3, min_samples=8,
                                             extra=[12, 20, 99]))
    assert any("compared at epoch(s) 12, 20 of 40" in line for line in plan.summary_lines())
    # one lr: nothing to halve, the runs are the plain ones
    one = plan_from_file(_spec(tmp_path, "    lr: [1.0e-2]\n    lr_search: {halving: {}}\n"), tmp_path)
    assert "val_extra_epochs" not in one.runs[0].config["recipe"] or not one.runs[0].config["recipe"]["val_extra_epochs"]
    assert one.lr_search == {"s": {}}


def test_the_dry_run_says_what_an_adaptive_grid_may_add(tmp_path):
    spec = _spec(tmp_path, "    lr: {grid: [1.0e-3, 1.0e-2], adaptive: true, bounds: [1.0e-5, 1.0]}\n")
    out = CliRunner().invoke(app, ["run", "sweep", str(spec), "--dry-run", "--workspace", str(tmp_path / "w")])
    assert out.exit_code == 0, out.output
    assert "may add below: 0.0001, 1e-05; above: 0.1, 1" in out.output


@pytest.mark.parametrize("extra, message", [
    ("    lr: {grid: [1.0e-3, 1.0e-2], adaptive: true}\n    lr_search: {halving: {}}\n", "cannot be combined"),
    ("    lr: {grid: [1.0e-2], adaptive: true}\n", "two or more lrs"),
    ("    lr: {grid: [1.0e-3, 1.0e-2], adaptive: true, bounds: [1.0e-3, 5.0e-3]}\n", "outside the bounds"),
    ("    lr: {grid: [1.0e-3, 1.0e-2], bounds: [0.1, 0.01]}\n", "lo < hi"),
    ("    lr: [1.0e-3, 1.0e-2]\n    lr_search: {halving: {keep: 1.0}}\n", "less than 1"),
    ("    lr: [true, 1.0e-2]\n", "true/false"),
])
def test_bad_lr_search_specs_are_one_error_line_each(tmp_path, extra, message):
    spec = _spec(tmp_path, extra)
    out = CliRunner().invoke(app, ["run", "sweep", str(spec), "--dry-run", "--workspace", str(tmp_path / "w")])
    assert out.exit_code == 2
    lines = [line for line in out.output.splitlines() if line.strip()]
    assert message in out.output and "Traceback" not in out.output
    assert sum("sweeps.s" in line for line in lines) == 1, out.output
