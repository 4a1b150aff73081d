"""Step-time calibration for cost estimates, cached per device in the workspace.

`WORKSPACE/.sciml/calibration.json` holds, per device (name, threads, torch version), the
seconds a fresh training process takes to start (`startup_s`), and of a training step
(forward + backward + Adam) and an evaluation step at a few batch sizes for each (model, grid)
measured: `{"devices": {KEY: {"device", "kind", "torch", "startup_s", "entries": {"fno-1m@64": {"width", "modes", "layers", "in_channels", "grid", "points":
[{"batch", "train_s", "eval_s"}], "measured_at"}}}}}`. Reading it needs no torch; measuring does.
`WORKSPACE/.sciml/settings.json` may hold `{"max_device_hours": H}`, the launch threshold.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

from sciml_tui.atomic import read_json_object, write_json
from sciml_tui.errors import UserError

CALIBRATION_FILE = Path(".sciml") / "calibration.json"
SETTINGS_FILE = Path(".sciml") / "settings.json"
CPU_STEP_S = 0.5  # CPU steps of the large presets take seconds each: time small batches there
STEPS = 3


@dataclass(frozen=True)
class DeviceInfo:
    """The device a sweep's runs would use here: kind, name, runs at once, threads per run."""

    kind: str  # cpu | cuda
    name: str
    slots: int
    threads: int = 1
    gpu: Optional[str] = None  # CUDA index of the first slot

    @property
    def label(self) -> str:
        if self.kind == "cpu":
            return f"{self.name} ({self.threads} thread{'s' if self.threads != 1 else ''} per run)"
        return self.name

    @property
    def key(self) -> str:
        return f"{self.label} | torch {torch_version()}"


def torch_version() -> str:
    try:
        return metadata.version("torch")
    except metadata.PackageNotFoundError:
        return "none"


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return "cpu " + line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "cpu " + (platform.processor() or platform.machine() or "unknown")


def gpu_name(index: str) -> str:
    """The name nvidia-smi gives GPU `index` (as torch.cuda.get_device_name does), without torch."""
    if shutil.which("nvidia-smi"):
        try:
            out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader", "-i", str(index)],
                                 capture_output=True, text=True, timeout=10).stdout.strip()
            if out:
                return out.splitlines()[0].strip()
        except (OSError, subprocess.SubprocessError):
            pass
    return f"cuda:{index}"


def device_for_slots(slots: list[Any]) -> DeviceInfo:
    """Describe launch slots (objects with `gpu` and `threads`) as one device."""
    first = slots[0] if slots else None
    if first is not None and getattr(first, "gpu", None) is not None:
        return DeviceInfo("cuda", gpu_name(first.gpu), len(slots), gpu=str(first.gpu))
    threads = int(getattr(first, "threads", None) or 1)
    return DeviceInfo("cpu", cpu_name(), max(1, len(slots)), threads)


# ---- the cache and the settings -----------------------------------------------------------
def read_calibration(root: Path) -> dict[str, Any]:
    data = read_json_object(Path(root) / CALIBRATION_FILE)
    return data if isinstance(data, dict) and isinstance(data.get("devices"), dict) else {"devices": {}}


def device_table(root: Path, device: DeviceInfo) -> dict[str, Any]:
    return read_calibration(root)["devices"].get(device.key, {})


def limit_hours(root: Path, override: Optional[float] = None) -> Optional[float]:
    """The launch threshold: `override`, else settings.json's max_device_hours, else None (default)."""
    if override is not None:
        return override
    data = read_json_object(Path(root) / SETTINGS_FILE) or {}
    value = data.get("max_device_hours")
    if value is None:
        return None
    if not isinstance(value, (int, float)) or value <= 0:
        raise UserError(f"{Path(root) / SETTINGS_FILE}: max_device_hours must be a positive number of hours")
    return float(value)


# ---- measuring (needs torch) ----------------------------------------------------------------
def time_steps(width: int, modes: int, layers: int, in_channels: int, grid: int, batch: int,
               device: str = "cpu", steps: int = STEPS) -> tuple[float, float]:
    """(train step s, eval step s) at `batch`: median of `steps` after one warm-up step."""
    import torch

    from sciml_tui.learning.fno import FNO2d

    dev = torch.device(device)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    torch.manual_seed(0)
    model = FNO2d(in_channels, width, modes, layers).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    x = torch.randn(batch, in_channels, grid, grid, device=dev)
    y = torch.randn(batch, 1, grid, grid, device=dev)

    def train() -> None:
        loss = (model(x) - y).pow(2).sum(dim=(1, 2, 3)).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def evaluate() -> None:
        with torch.no_grad():
            model(x)

    out = []
    for fn in (train, evaluate):
        fn()
        sync()
        times = []
        for _ in range(steps):
            t0 = time.perf_counter()
            fn()
            sync()
            times.append(time.perf_counter() - t0)
        out.append(sorted(times)[len(times) // 2])
    return out[0], out[1]


def measure_startup(device: DeviceInfo) -> float:
    """Seconds a fresh training process takes to import torch and the trainer and reach the device."""
    where = f"cuda:{device.gpu}" if device.kind == "cuda" else "cpu"
    code = f"import torch, sciml_tui.learning.trainer; torch.zeros(1, device={where!r}).sum().item()"
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, timeout=600)
    return time.perf_counter() - t0


def calibration_batches(kind: str, largest: int, one_step_s: float) -> list[int]:
    """Batch sizes to fit overhead + per-sample time: 1 and the largest used; on CPU only as
    large as keeps a step near CPU_STEP_S (CPU time grows linearly with the batch anyway)."""
    top = largest
    if kind == "cpu":
        top = min(largest, max(2, int(CPU_STEP_S / max(one_step_s, 1e-6))))
    return sorted({1, max(1, top)})


def calibrate(root: Path, device: DeviceInfo, works: Iterable[Any], force: bool = False,
              progress: Optional[Callable[[str], None]] = None) -> list[str]:
    """Measure each (model, grid) of `works` (RunWork-like) not yet in the cache; return the keys measured."""
    import torch

    largest: dict[str, Any] = {}
    for w in works:
        if w.key not in largest or w.batch > largest[w.key][1]:
            largest[w.key] = (w, max(w.batch, w.eval_batch))
    data = read_calibration(root)
    table = data["devices"].setdefault(device.key, {"device": device.label, "kind": device.kind,
                                                    "torch": torch_version(), "entries": {}})
    if device.kind == "cpu":
        torch.set_num_threads(device.threads)
    where = f"cuda:{device.gpu}" if device.kind == "cuda" else "cpu"
    done = []
    if "startup_s" not in table or force:
        if progress:
            progress(f"timing the start of a training process on {device.label}")
        table["startup_s"] = measure_startup(device)
        write_json(Path(root) / CALIBRATION_FILE, data)
        done.append("startup")
    for key, (w, top) in sorted(largest.items()):
        if key in table["entries"] and not force:
            continue
        if progress:
            progress(f"calibrating {key} on {device.label}")
        points: list[dict[str, Any]] = []
        for b in (1, None):  # batch 1 first: its time decides how large a CPU batch to time
            b = b or calibration_batches(device.kind, top, points[0]["train_s"])[-1]
            if b == 1 and points:
                break
            train_s, eval_s = time_steps(w.width, w.modes, w.layers, w.in_channels, w.grid, b, where)
            points.append({"batch": b, "train_s": train_s, "eval_s": eval_s})
        table["entries"][key] = {"width": w.width, "modes": w.modes, "layers": w.layers,
                                 "in_channels": w.in_channels, "grid": w.grid, "points": points,
                                 "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S")}
        write_json(Path(root) / CALIBRATION_FILE, data)  # each measurement kept as soon as it is made
        done.append(key)
    return done
