"""Checkpoints by wall clock and SIGTERM preemption: a resume ends like an uninterrupted run."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from sciml_tui.learning.events import TrainingEvents
from sciml_tui.learning.metrics_log import read_metrics, read_result
from sciml_tui.learning.preemption import EXIT_PREEMPTED
from sciml_tui.rundir import PREEMPTED_FILE
from sciml_tui.learning.run import run_in_dir
from sciml_tui.learning.runtime_env import training_env

from .conftest import base_config, write_run

EPOCHS = 60


def _cfg(data, **recipe):
    return base_config(data, mode="pretrain", recipe={"epochs": EPOCHS, "batch_size": 4, **recipe})


@pytest.fixture(scope="module")
def reference(poisson_data, tmp_path_factory):
    run = write_run(tmp_path_factory.mktemp("ref") / "ref", _cfg(poisson_data))
    result = run_in_dir(run)
    assert result["status"] == "done"
    return run, result


def _assert_same_outcome(run, reference):
    ref_dir, ref = reference
    res = read_result(run)
    assert res["status"] == "done"
    assert res["test_error"] == pytest.approx(ref["test_error"], rel=1e-6, abs=1e-9)
    assert res["best_val_error"] == pytest.approx(ref["best_val_error"], rel=1e-6, abs=1e-9)
    assert res["best_epoch"] == ref["best_epoch"]
    mine, theirs = read_metrics(run), read_metrics(ref_dir)
    assert [r["epoch"] for r in mine["epochs"]] == list(range(1, EPOCHS + 1))
    for a, b in zip(mine["epochs"], theirs["epochs"]):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-6)
        assert a["val_error"] == pytest.approx(b["val_error"], rel=1e-6)
    assert [s["loss"] for s in mine["steps"]] == pytest.approx([s["loss"] for s in theirs["steps"]], rel=1e-6)


def test_a_short_run_writes_one_checkpoint_at_the_end(reference):
    _, ref = reference
    assert ref["checkpoints_written"] == 1


class _SigtermAt(TrainingEvents):
    """Sends this process a real SIGTERM after a given optimizer step (mid-epoch)."""

    def __init__(self, epoch, step):
        self.at = (epoch, step)

    def step(self, epoch, step, loss):
        if (epoch, step) == self.at:
            os.kill(os.getpid(), signal.SIGTERM)


def test_sigterm_mid_epoch_checkpoints_then_resume_matches(poisson_data, tmp_path, reference):
    run = write_run(tmp_path / "term", _cfg(poisson_data))
    stopped = run_in_dir(run, events=_SigtermAt(epoch=4, step=3))
    assert stopped["status"] == "preempted"
    assert read_result(run) is None, "a preempted run is not finished"
    marker = json.loads((run / PREEMPTED_FILE).read_text())
    assert marker["signal"] == "SIGTERM" and marker["epoch"] == 4 and marker["step"] == 3 * 8 + 3
    last = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    assert last["epoch"] == 3 and last["partial"]["steps"] == 3

    resumed = run_in_dir(run, resume=True)
    assert resumed["status"] == "done"
    assert not (run / PREEMPTED_FILE).exists()
    assert "and 3 steps of epoch 4" in (run / "train.log").read_text()
    _assert_same_outcome(run, reference)


class _KillAfterEpoch(TrainingEvents):
    """A hard stop (nothing saved on the way out) once an epoch is logged."""

    def __init__(self, epoch):
        self.at = epoch

    def epoch(self, row):
        if row["epoch"] == self.at:
            raise KeyboardInterrupt


def test_resume_from_a_wall_clock_checkpoint_matches(poisson_data, tmp_path, reference):
    # a cadence shorter than any epoch: every checkpoint before the stop comes from the clock
    run = write_run(tmp_path / "clock", _cfg(poisson_data, checkpoint_minutes=1e-7))
    with pytest.raises(KeyboardInterrupt):
        run_in_dir(run, events=_KillAfterEpoch(7))
    last = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    assert last["epoch"] == 7 and last["partial"] is None
    assert read_result(run) is None
    run_in_dir(run, resume=True)
    _assert_same_outcome(run, reference)


def test_sigterm_to_the_entry_point_exits_75_and_resumes(poisson_data, tmp_path, reference):
    run = write_run(tmp_path / "entry", _cfg(poisson_data))
    env = training_env(dict(os.environ), threads=1)
    proc = subprocess.Popen([sys.executable, "-m", "sciml_tui.learning.entry", str(run)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    log = run / "train.log"
    deadline = time.monotonic() + 300
    while proc.poll() is None and time.monotonic() < deadline:
        if log.exists() and f"epoch 3/{EPOCHS} " in log.read_text():
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == EXIT_PREEMPTED, stderr
    assert "preempted:" in stderr and "--resume" in stderr
    assert (run / PREEMPTED_FILE).is_file() and read_result(run) is None
    assert (run / "checkpoints" / "last.pt").is_file()

    done = subprocess.run([sys.executable, "-m", "sciml_tui.learning.entry", str(run), "--resume"], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    _assert_same_outcome(run, reference)
