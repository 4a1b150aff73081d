"""Every spec shipped in experiments/ validates and expands into the plan it promises."""

from __future__ import annotations

from pathlib import Path

import pytest

from sciml_tui.launch import plan_sweep

SPECS = sorted((Path(__file__).parent.parent / "experiments").glob("*.yaml"))
EXPERIMENTS = SPECS[0].parent
# the four studies at CPU scale; they reuse the quickstart's runs, so they must plan the same ids
CPU_STUDIES = ["cpu-n-scaling.yaml", "cpu-model-size.yaml", "cpu-physics-shift.yaml", "cpu-mixture.yaml"]


def test_specs_are_shipped():
    assert {p.name for p in SPECS} >= {"quickstart.yaml", "ood-poisson.yaml", "mixture-all.yaml",
                                       "model-sizes.yaml", *CPU_STUDIES}


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


def _plan(name: str, tmp_path):
    return plan_sweep(EXPERIMENTS / name, tmp_path)


def _ids(plan) -> dict[str, str]:
    """Dataset and pre-training ids by name (a pre-training's name is its id less the hash)."""
    out = {d.name: d.id for d in plan.datasets}
    out.update({r.id.rsplit("-", 1)[0]: r.id for r in plan.runs if r.role == "pretrain"})
    return out


def test_cpu_studies_reuse_the_quickstart_and_each_other(tmp_path):
    # the reports compare sweeps across spec files only when they share dataset and pre-training
    # runs: a changed definition in one file would silently break the comparison
    plans = {name: _ids(_plan(name, tmp_path)) for name in ["quickstart.yaml", *CPU_STUDIES]}
    seen: dict[str, str] = {}
    for ids in plans.values():
        for name, id_ in ids.items():
            assert seen.setdefault(name, id_) == id_, f"{name} is defined differently in two specs"
    assert "pre-1-5-tiny" in plans["cpu-physics-shift.yaml"]
    assert {"poisson-5-10", "advdiff-1-2"} <= set(plans["cpu-mixture.yaml"])
    assert "poisson-5-10" in plans["cpu-model-size.yaml"]


def _sweep_points(plan) -> list[dict]:
    return [r.record() for r in plan.runs if r.role == "sweep"]


def test_cpu_studies_share_one_recipe_and_bracketing_lr_grid(tmp_path):
    # a factor compared across sweeps must come from the same training budget per N
    recipes, grids = set(), []
    for name in ["quickstart.yaml", *CPU_STUDIES]:
        plan = _plan(name, tmp_path)
        for r in _sweep_points(plan):
            if r["init"] != "zeroshot":
                rec = r["config"]["recipe"]
                recipes.add((rec["epochs"], rec["batch_size"], rec["schedule"]))
        grids += [sorted({r["lr"] for r in _sweep_points(plan) if r["lr"]})]
    assert len(recipes) == 1
    assert all(len(g) >= 3 and g[-1] / g[0] >= 10 for g in grids)


def test_cpu_physics_shift_starts_in_distribution_and_moves_out(tmp_path):
    plans = [_plan("cpu-physics-shift.yaml", tmp_path), _plan("quickstart.yaml", tmp_path)]
    pre = next(d.range for d in plans[0].datasets if d.name == "poisson-1-5")
    down = {d.name: d.range for p in plans for d in p.datasets if d.name != "poisson-1-5"}
    ranges = sorted(down.values())
    assert len(ranges) >= 3
    assert pre[0] <= ranges[0][0] and ranges[0][1] <= pre[1], "the first range is in distribution"
    assert all(b[0] >= a[1] or b[1] > a[1] for a, b in zip(ranges, ranges[1:]))
    assert ranges[-1][0] > pre[1]


def test_cpu_model_size_covers_three_sizes_with_their_own_pretraining(tmp_path):
    points = _sweep_points(_plan("cpu-model-size.yaml", tmp_path)) + _sweep_points(_plan("quickstart.yaml", tmp_path))
    fts = [r for r in points if r["init"] == "finetune"]
    assert len({r["model"] for r in fts}) >= 3
    plan = _plan("cpu-model-size.yaml", tmp_path)
    recs = {r.id: r.record() for r in plan.runs}
    assert all(recs[r["parent"]]["model"] == r["model"] for r in _sweep_points(plan) if r["init"] == "finetune")


def test_cpu_mixture_finetunes_each_system_from_the_mixture_and_a_single_system(tmp_path):
    plans = [_plan(n, tmp_path) for n in ("cpu-mixture.yaml", "quickstart.yaml", "cpu-n-scaling.yaml")]
    systems = {d.id: d.system for p in plans for d in p.datasets}
    arms: dict[str, set] = {}
    for plan in plans:
        recs = {r.id: r.record() for r in plan.runs}
        for r in _sweep_points(plan):
            if r["init"] == "finetune":
                kind = "mixture" if recs[r["parent"]]["mixture"] else "single"
                arms.setdefault(systems[r["datasets"][0]], set()).add(kind)
    assert arms == {s: {"mixture", "single"} for s in ("poisson", "advdiff", "helmholtz")}
