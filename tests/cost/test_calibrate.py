"""The step-time calibration cache: keyed by device and torch version, written atomically."""

from __future__ import annotations

import json

import pytest

from sciml_tui.errors import UserError
from sciml_tui.learning import calibrate as cal
from sciml_tui.specs.cost import RunWork

DEVICE = cal.DeviceInfo("cpu", "cpu test", 2)
WORK = RunWork(id="r", role="sweep", model="tiny", width=8, modes=4, layers=4, in_channels=4, grid=16,
               n_train=8, batch=8, epochs=1, n_val=8, n_test=8, eval_batch=8)


def test_device_key_names_the_device_threads_and_torch():
    assert DEVICE.label == "cpu test (1 thread per run)"
    assert DEVICE.key.endswith(f"| torch {cal.torch_version()}")
    assert cal.DeviceInfo("cuda", "NVIDIA H200", 4, gpu="0").label == "NVIDIA H200"


def test_device_for_slots_reads_gpu_or_threads():
    class Slot:
        def __init__(self, gpu=None, threads=None):
            self.gpu, self.threads = gpu, threads

    cpu = cal.device_for_slots([Slot(threads=2), Slot(threads=2)])
    assert cpu.kind == "cpu" and cpu.slots == 2 and cpu.threads == 2
    gpu = cal.device_for_slots([Slot(gpu="1"), Slot(gpu="2")])
    assert gpu.kind == "cuda" and gpu.slots == 2 and gpu.gpu == "1"


def test_calibrate_measures_the_missing_startup_even_when_steps_are_cached(tmp_path, monkeypatch):
    path = tmp_path / cal.CALIBRATION_FILE
    path.parent.mkdir(parents=True)
    entry = {"width": 8, "modes": 4, "layers": 4, "in_channels": 4, "grid": 16,
             "points": [{"batch": 1, "train_s": 0.01, "eval_s": 0.002}]}
    path.write_text(json.dumps({"devices": {DEVICE.key: {"entries": {"tiny@16": entry}}}}))
    monkeypatch.setattr(cal, "measure_startup", lambda device: 1.5)
    assert cal.calibrate(tmp_path, DEVICE, [WORK]) == ["startup"]
    table = cal.device_table(tmp_path, DEVICE)
    assert table["startup_s"] == 1.5 and table["entries"]["tiny@16"] == entry
    assert cal.calibrate(tmp_path, DEVICE, [WORK]) == []


def test_calibration_batches_stay_small_for_slow_cpu_steps():
    assert cal.calibration_batches("cpu", 128, 0.004) == [1, 125]
    assert cal.calibration_batches("cpu", 128, 2.0) == [1, 2]
    assert cal.calibration_batches("cuda", 128, 2.0) == [1, 128]


def test_a_torn_or_missing_cache_reads_as_empty(tmp_path):
    assert cal.read_calibration(tmp_path) == {"devices": {}}
    (tmp_path / ".sciml").mkdir()
    (tmp_path / cal.CALIBRATION_FILE).write_text('{"devices": ')
    assert cal.device_table(tmp_path, DEVICE) == {}


def test_limit_from_settings_and_override(tmp_path):
    assert cal.limit_hours(tmp_path) is None
    (tmp_path / ".sciml").mkdir()
    (tmp_path / cal.SETTINGS_FILE).write_text(json.dumps({"max_device_hours": 100}))
    assert cal.limit_hours(tmp_path) == 100.0 and cal.limit_hours(tmp_path, 5.0) == 5.0
    (tmp_path / cal.SETTINGS_FILE).write_text(json.dumps({"max_device_hours": -1}))
    with pytest.raises(UserError, match="max_device_hours"):
        cal.limit_hours(tmp_path)
