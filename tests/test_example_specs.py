"""Every spec shipped in experiments/ validates and expands into the plan it promises."""

from __future__ import annotations

from pathlib import Path

import pytest

from sciml_tui.launch import plan_sweep

SPECS = sorted((Path(__file__).parent.parent / "experiments").glob("*.yaml"))


def test_specs_are_shipped():
    assert {p.name for p in SPECS} >= {"quickstart.yaml", "ood-poisson.yaml", "mixture-all.yaml",
                                       "model-sizes.yaml"}


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_spec_plans_without_writing(spec, tmp_path):
    plan = plan_sweep(spec, tmp_path)
    assert plan.runs, "a spec without runs"
    assert not any(tmp_path.iterdir()), "a dry plan wrote into the workspace"
    todo = plan.to_run()
    assert todo["generate"] and todo["pretrain"] and todo["points"]


def test_quickstart_is_the_headline_study_scaled_down(tmp_path):
    plan = plan_sweep(SPECS[0].parent / "quickstart.yaml", tmp_path)
    points = [r for r in plan.runs if r.record()["role"] == "sweep"]
    inits = {r.record()["init"] for r in points}
    assert inits == {"scratch", "finetune", "zeroshot"}
    assert len({r.record()["n_train"] for r in points if r.record()["init"] == "scratch"}) >= 5


def test_mixture_finetunes_use_the_union_layout(tmp_path):
    plan = plan_sweep(SPECS[0].parent / "mixture-all.yaml", tmp_path, sweeps=["mix-poisson"])
    recs = [r.record() for r in plan.runs]
    by_id = {r["id"]: r for r in recs}
    mix_ft = [r for r in recs if r["init"] == "finetune" and by_id[r["parent"]]["config"]["layout"] == "union"]
    assert mix_ft and all(r["config"]["layout"] == "union" for r in mix_ft)
    assert all(r["config"]["layout"] == "compact" for r in recs if r["init"] == "scratch")


def test_model_sizes_pair_each_finetune_with_its_own_pretraining(tmp_path):
    plan = plan_sweep(SPECS[0].parent / "model-sizes.yaml", tmp_path, sweeps=["sizes-poisson"])
    recs = {r.record()["id"]: r.record() for r in plan.runs}
    fts = [r for r in recs.values() if r["init"] == "finetune"]
    assert {r["model"] for r in fts} == {"fno-64k", "fno-1m", "fno-17m", "fno-268m"}
    assert all(recs[r["parent"]]["model"] == r["model"] for r in fts)


def _points(spec_text: str, tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(spec_text)
    return [r.record() for r in plan_sweep(spec, tmp_path / "ws").runs if r.record()["role"] == "sweep"]


SUBSET_SPEC = """\
datasets:
  down: {system: poisson, range: [5, 10], n: 16, sizes: {train: 64, val: 8, test: 8}, seed: 2}
sweeps:
  s: {dataset: down, n_train: [8], seeds: [0, 1, 2]%s}
"""


def test_each_seed_draws_its_own_subset_unless_fixed(tmp_path):
    per_seed = _points(SUBSET_SPEC % "", tmp_path)
    assert sorted((r["seed"], r["config"]["subset_offset"]) for r in per_seed) == [(0, 0), (1, 1), (2, 2)]
    fixed = _points(SUBSET_SPEC % ", subsets: fixed", tmp_path)
    assert {r["config"]["subset_offset"] for r in fixed} == {0}
    # seed 0 keeps its id either way: the default offset is not part of the content hash
    assert {r["id"] for r in per_seed if r["seed"] == 0} == {r["id"] for r in fixed if r["seed"] == 0}
