"""A warm worker trains each run to the same numbers as a fresh process (no state leaks between runs)."""

import os
import subprocess
import sys

from sciml_tui.learning.metrics_log import read_result
from sciml_tui.workerdir import WorkerDir

from tests.sweep.conftest import wait_until

from .conftest import base_config, write_run


def _env() -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}


def test_consecutive_runs_in_one_worker_match_fresh_processes(poisson_data, tmp_path):
    # the first run changes process state (bf16 autocast, 2 threads) that must not reach the second
    configs = {"a": base_config(poisson_data, seed=3, precision="bf16", threads=2, recipe={"epochs": 2}),
               "b": base_config(poisson_data, seed=1, n_train=16, recipe={"epochs": 3})}
    fresh, warm = {}, {}
    for name, cfg in configs.items():
        run = write_run(tmp_path / "fresh" / name, cfg)
        subprocess.run([sys.executable, "-m", "sciml_tui.learning.entry", str(run)], env=_env(), check=True,
                       stdout=subprocess.DEVNULL)
        fresh[name] = read_result(run)
    wd = WorkerDir(tmp_path / "worker")
    proc = subprocess.Popen([sys.executable, "-m", "sciml_tui.learning.worker_entry", str(wd.path)], env=_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        for name, cfg in configs.items():
            run = write_run(tmp_path / "warm" / name, cfg)
            wd.put({"run_dir": str(run), "resume": False, "token": name})
            assert wait_until(lambda: wd.idle() and read_result(run) is not None, timeout=240), name
            warm[name] = read_result(run)
            assert (run / "stdout.log").read_text().strip()  # the run's output went to its own log
        wd.put({"exit": True})
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    for name in configs:
        assert warm[name]["status"] == fresh[name]["status"] == "done"
        for key in ("test_error", "best_val_error"):
            assert abs(warm[name][key] - fresh[name][key]) <= 1e-6, (name, key, warm[name][key], fresh[name][key])
        assert warm[name]["best_epoch"] == fresh[name]["best_epoch"]
