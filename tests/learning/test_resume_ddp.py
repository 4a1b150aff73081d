"""Exact resume after a real SIGKILL, and DDP over 2 CPU processes matching one process."""

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from sciml_tui.learning.metrics_log import read_metrics, read_result
from sciml_tui.learning.run import run_in_dir
from sciml_tui.learning.runtime_env import training_env

from .conftest import base_config, write_run


def _env():
    return training_env(dict(os.environ), threads=1)


def test_resume_after_sigkill_ends_like_an_uninterrupted_run(poisson_data, tmp_path):
    cfg = base_config(poisson_data, mode="pretrain", recipe={"epochs": 80, "batch_size": 4, "checkpoint_every": 1},
                      model={"width": 8, "modes": 4})
    ref = run_in_dir(write_run(tmp_path / "ref", cfg))
    assert ref["status"] == "done"

    run = write_run(tmp_path / "killed", cfg)
    proc = subprocess.Popen([sys.executable, "-m", "sciml_tui.learning.entry", str(run)], env=_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    # kill once epoch 3 is logged (last.pt is saved before the epoch line): mid-run on a
    # fast or a busy machine alike, with no timing guess
    log = run / "train.log"
    deadline = time.monotonic() + 300
    while proc.poll() is None and time.monotonic() < deadline:
        if log.exists() and "epoch 3/80 " in log.read_text():
            break
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()
    assert read_result(run) is None, "the run finished before it could be killed: make it longer"
    assert (run / "checkpoints" / "last.pt").exists(), "no checkpoint before the kill (timed out)"

    done = subprocess.run([sys.executable, "-m", "sciml_tui.learning.entry", str(run), "--resume"], env=_env(),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "resumed from" in (run / "train.log").read_text()
    res = read_result(run)
    assert res["test_error"] == pytest.approx(ref["test_error"], rel=1e-6, abs=1e-9)
    assert res["best_val_error"] == pytest.approx(ref["best_val_error"], rel=1e-6, abs=1e-9)
    assert res["best_epoch"] == ref["best_epoch"]
    epochs = [r["epoch"] for r in read_metrics(run)["epochs"]]
    assert epochs == list(range(1, 81))


def test_ddp_two_cpu_processes_match_one_process(poisson_data, tmp_path):
    cfg = base_config(poisson_data, mode="pretrain", recipe={"epochs": 4, "batch_size": 8})
    single = run_in_dir(write_run(tmp_path / "single", cfg))
    run = write_run(tmp_path / "ddp", cfg)
    env = _env()
    env.pop("RANK", None)
    env.pop("WORLD_SIZE", None)
    proc = subprocess.Popen([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                             "-m", "sciml_tui.learning.entry", str(run)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _, stderr = proc.communicate(timeout=300)
    finally:  # a hung rendezvous must not leave workers behind (they run in sessions of their own)
        if proc.poll() is None:
            for child in psutil.Process(proc.pid).children(recursive=True):
                child.kill()
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, stderr[-3000:]
    res = read_result(run)
    assert res["status"] == "done" and res["world_size"] == 2
    assert res["test_error"] == pytest.approx(single["test_error"], rel=1e-5)
    ddp_rows, one_rows = read_metrics(run)["epochs"], read_metrics(tmp_path / "single")["epochs"]
    for a, b in zip(ddp_rows, one_rows):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-5)
        assert a["val_error"] == pytest.approx(b["val_error"], rel=1e-5)
