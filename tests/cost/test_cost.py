"""The cost estimate of a plan: sample-passes, bytes and device time (pure, no torch)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml

from sciml_tui.learning.calibrate import DeviceInfo
from sciml_tui.specs import cost
from sciml_tui.specs.plan import plan_from_file

ROOT = Path(__file__).resolve().parents[2]
SPECS = sorted((ROOT / "experiments").glob("*.yaml"))


def _ood_epochs_times_n() -> int:
    """Sum over the runs of ood-poisson.yaml of epochs x N, read straight from the YAML."""
    spec = yaml.safe_load((ROOT / "experiments" / "ood-poisson.yaml").read_text())
    total = 0
    for p in spec["pretrain"].values():
        total += p["recipe"]["epochs"] * spec["datasets"][p["data"]]["sizes"]["train"]
    for sw in spec["sweeps"].values():
        trained = [i for i in sw["inits"] if i == "scratch" or (isinstance(i, dict) and "finetune" in i)]
        runs_per_n = len(sw["lr"]) * len(sw["seeds"]) * len(sw["models"]) * len(trained)
        total += sw["recipe"]["epochs"] * runs_per_n * sum(sw["n_train"])
    return total


def test_ood_poisson_training_passes_match_epochs_times_n(tmp_path):
    plan = plan_from_file(ROOT / "experiments" / "ood-poisson.yaml", tmp_path)
    est = cost.estimate(plan, {}, "cpu test")
    expected = _ood_epochs_times_n()
    assert expected > 3e9  # the brief's "about 4 billion"
    assert abs(est.train_passes - expected) / expected < 0.05
    assert est.runs == len(plan.runs) == 1 + 4 * (13 * 5 * 3 * 2 + 1)


def test_train_passes_drop_the_incomplete_last_batch():
    work = cost.RunWork(id="r", role="sweep", model="tiny", width=8, modes=4, layers=4, in_channels=4, grid=16,
                        n_train=100, batch=32, epochs=10, n_val=8, n_test=8, eval_batch=8)
    assert work.train_steps == 10 * 3
    assert work.train_passes == 10 * 96
    # the trainer's cadence: a 10% share of 10 x 96 x 3 passes allows 36 evaluations of 8
    # samples, capped at one per epoch
    assert work.validations == 10
    assert work.eval_passes == 10 * 8 + 8


def test_validation_follows_the_trainers_cadence_not_every_epoch():
    work = cost.RunWork(id="r", role="sweep", model="tiny", width=8, modes=4, layers=4, in_channels=4, grid=16,
                        n_train=8, batch=8, epochs=500, n_val=1000, n_test=100, eval_batch=8)
    # W = 500 x 8 x 3 = 12000 passes, 10% = 1200: 10 evaluations (the minimum) of 128 samples
    assert work.validations == 10
    assert work.val_plan.samples == 128
    assert work.eval_passes == 10 * 128 + 1000 + 100  # + the best weights on the whole split, + test
    every = cost.RunWork(**{**work.__dict__, "recipe": {"val_share": None}})
    assert every.validations == 500 and every.eval_passes == 500 * 1000 + 100


def test_checkpoint_writes_follow_the_clock_and_the_epoch_option():
    assert cost.checkpoint_writes(10, 10, None) == (1, 1)  # only at the end
    assert cost.checkpoint_writes(10, 10, None, seconds=25 * 60) == (3, 3)  # + every 10 min
    assert cost.checkpoint_writes(10, 10, 3) == (4, 4)  # epochs 3, 6, 9 and the last
    assert cost.checkpoint_writes(10, 2, 1) == (2, 10)  # best.pt only after an improved validation


def test_checkpoint_bytes_are_weights_plus_adam_state():
    work = cost.RunWork(id="r", role="sweep", model="fno-1m", width=32, modes=8, layers=4, in_channels=4,
                        grid=64, n_train=64, batch=32, epochs=5, n_val=8, n_test=8, eval_batch=8,
                        checkpoint_every=1)
    keep, written = work.checkpoint_bytes()
    assert keep == 16 * work.params  # best.pt weights + last.pt weights and two Adam moments
    assert written == 5 * 4 * work.params + 5 * 12 * work.params
    by_clock = cost.RunWork(**{**work.__dict__, "checkpoint_every": None})  # the default: both at the end
    assert by_clock.checkpoint_bytes()[1] == 1 * 4 * work.params + 1 * 12 * work.params
    zeroshot = cost.RunWork(**{**work.__dict__, "epochs": 0, "n_train": 0})
    assert zeroshot.checkpoint_bytes() == (0, 0)


def test_fit_line_recovers_overhead_and_per_sample_time():
    a, c = cost.fit_line([(1, 0.002 + 0.01), (4, 0.002 + 0.04), (16, 0.002 + 0.16)])
    assert a == pytest.approx(0.002) and c == pytest.approx(0.01)
    assert cost.fit_line([(8, 0.8)]) == (0.0, pytest.approx(0.1))


def _entry(width, modes, grid, points):
    return {"width": width, "modes": modes, "layers": 4, "in_channels": 4, "grid": grid, "points": points}


def test_step_model_measured_scaled_or_nominal():
    work = cost.RunWork(id="r", role="sweep", model="fno-1m", width=32, modes=8, layers=4, in_channels=4,
                        grid=64, n_train=64, batch=32, epochs=5, n_val=8, n_test=8, eval_batch=8)
    pts = [{"batch": 1, "train_s": 0.011, "eval_s": 0.004}, {"batch": 3, "train_s": 0.031, "eval_s": 0.010}]
    measured = cost.step_model(work, {"entries": {"fno-1m@64": _entry(32, 8, 64, pts)}}, "cpu")
    assert not measured.guess and measured.train_s(32) == pytest.approx(0.001 + 0.01 * 32)
    other = {"entries": {"tiny@64": _entry(8, 4, 64, pts)}}
    scaled = cost.step_model(work, other, "cpu")
    ratio = work.flops / cost.fno_forward_flops(8, 4, 4, 4, 64)
    assert scaled.guess and "tiny@64" in scaled.source
    assert scaled.train[1] == pytest.approx(0.01 * ratio)
    nominal = cost.step_model(work, {}, "cuda")
    assert nominal.guess and "not calibrated" in nominal.source


def test_wall_time_runs_pretraining_before_the_points(tmp_path):
    plan = plan_from_file(ROOT / "experiments" / "quickstart.yaml", tmp_path)
    one = cost.estimate(plan, {}, "cpu", slots=1)
    many = cost.estimate(plan, {}, "cpu", slots=1000)
    assert one.wall_seconds == pytest.approx(one.device_seconds)
    pre = [r for r in plan.runs if r.role == "pretrain"]
    by_id = {d.id: d for d in plan.datasets}

    def secs(r):
        work = cost.run_work(r, by_id)
        return cost.run_seconds(work, cost.step_model(work, {}, "cpu"), cost.NOMINAL_STARTUP_S)

    longest = max(secs(r) for r in plan.runs if r.role == "sweep")
    pre_s = sum(secs(r) for r in pre)
    assert many.wall_seconds == pytest.approx(pre_s + longest)


def test_measured_startup_is_charged_once_per_run(tmp_path):
    plan = plan_from_file(ROOT / "experiments" / "quickstart.yaml", tmp_path)
    base = cost.estimate(plan, {"startup_s": 0.0}, "cpu")
    slow = cost.estimate(plan, {"startup_s": 10.0}, "cpu")
    assert slow.device_seconds == pytest.approx(base.device_seconds + 10.0 * len(plan.runs))
    assert "run start-up" not in slow.guesses and "run start-up" in cost.estimate(plan, {}, "cpu").guesses


def test_warm_workers_pay_the_startup_once_per_slot(tmp_path):
    """A warm worker starts once per slot; each run then costs only its own set-up."""
    plan = plan_from_file(ROOT / "experiments" / "quickstart.yaml", tmp_path)
    n = len(plan.runs)
    base = cost.estimate(plan, {"startup_s": 0.0}, "cpu", slots=2, warm_workers=True)
    warm = cost.estimate(plan, {"startup_s": 10.0}, "cpu", slots=2, warm_workers=True)
    fresh = cost.estimate(plan, {"startup_s": 10.0}, "cpu", slots=2)
    assert warm.device_seconds == pytest.approx(base.device_seconds + 2 * 10.0)
    assert base.device_seconds == pytest.approx(cost.estimate(plan, {"startup_s": 0.0}, "cpu", slots=2).device_seconds
                                                + cost.WARM_RUN_OVERHEAD_S * n)
    assert warm.wall_seconds == pytest.approx(base.wall_seconds + 10.0)
    assert fresh.device_seconds > warm.device_seconds + 10.0 * (n - 2) - cost.WARM_RUN_OVERHEAD_S * n - 1e-6
    assert "warm workers" in warm.lines()[0] and "a process per run" in fresh.lines()[0]


def test_finished_runs_and_existing_datasets_cost_nothing(tmp_path):
    plan = plan_from_file(ROOT / "experiments" / "quickstart.yaml", tmp_path)
    full = cost.estimate(plan, {}, "cpu")
    plan.runs[0].state = "done"
    plan.datasets[0].exists = True
    less = cost.estimate(plan, {}, "cpu")
    assert less.runs == full.runs - 1 and less.finished == 1
    assert less.train_passes < full.train_passes
    assert less.dataset_bytes_new < less.dataset_bytes_all == full.dataset_bytes_all
    assert cost.estimate(plan, {}, "cpu", pending_only=False).train_passes == full.train_passes


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_every_shipped_spec_has_an_estimate(spec, tmp_path):
    plan = plan_from_file(spec, tmp_path)
    plan.cost = cost.estimate_in_workspace(plan, tmp_path, DeviceInfo("cpu", "cpu test", 2))
    text = "\n".join(plan.summary_lines())
    assert "cost estimate:" in text and "sample-passes" in text and "device time" in text
    d = plan.to_dict()["cost"]
    assert d["train_sample_passes"] > 0 and d["checkpoint_bytes"] > 0 and d["dataset_bytes_new"] > 0
    assert d["guess"] is True and math.isfinite(d["device_hours"])


def test_warning_line_only_above_the_limit(tmp_path):
    plan = plan_from_file(ROOT / "experiments" / "quickstart.yaml", tmp_path)
    low = cost.estimate(plan, {}, "cpu", limit_hours=1e-6)
    high = cost.estimate(plan, {}, "cpu", limit_hours=1e6)
    assert low.over_limit and low.lines()[-1].startswith("warning: ")
    assert not high.over_limit and not any(line.startswith("warning") for line in high.lines())


def test_dataset_bytes_match_a_generated_file(tmp_path):
    from sciml_tui.physics import generate_dataset

    sizes = {"train": 64, "val": 16, "test": 16}
    generate_dataset("poisson", 1.0, 5.0, 32, sizes=sizes, seed=0, out_dir=tmp_path / "d")
    on_disk = sum((tmp_path / "d" / f"{k}.h5").stat().st_size for k in sizes)
    expected = sum(cost.dataset_bytes("poisson", 32, c) for c in sizes.values())
    assert abs(on_disk - expected) / expected < 0.1
