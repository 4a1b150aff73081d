import subprocess
import sys

import pytest

from sciml_tui.learning.runtime_env import training_env


def test_training_env_sets_allocator_and_threads_without_touching_the_input():
    base = {"PATH": "/bin", "OMP_NUM_THREADS": "64"}
    env = training_env(base, threads=2)
    assert env["MALLOC_MMAP_MAX_"] == "0" and int(env["MALLOC_TRIM_THRESHOLD_"]) >= 1 << 30
    assert env["OMP_NUM_THREADS"] == env["MKL_NUM_THREADS"] == "2" and env["PATH"] == "/bin"
    assert base == {"PATH": "/bin", "OMP_NUM_THREADS": "64"}
    assert training_env(base, None)["OMP_NUM_THREADS"] == "64"
    with pytest.raises(ValueError):
        training_env(base, 0)


def test_readers_for_other_rooms_do_not_import_torch():
    code = ("import sys; import sciml_tui.learning.metrics_log, sciml_tui.learning.runtime_env, "
            "sciml_tui.learning.presets, sciml_tui.learning.config; "
            "from sciml_tui.learning.presets import preset_table; preset_table(); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
