"""The GPU check behind benchmarks/device_check.sh: one JSON record of what this device does.

    python benchmarks/device_check.py [--dry] [--out DIR] [--budget-s 450]

Sections, each recorded (or recorded as skipped, with why):
  env         device, torch, CUDA, which optional packages are importable
  throughput  training-step throughput of our FNO vs neuraloperator's (same width and modes)
              per preset in fp32 / tf32 / bf16
  resident    training steps with the data resident on the device vs batches copied from
              pinned host memory (what `learning.data.normalize` falls back to)
  warm        one short run as a fresh process (`learning.entry`: imports, CUDA init, data)
              vs the same run again in a warm process: what a warm worker would save per run
  headline    a reduced headline sweep (64x64, fno-1m, N up to 2048) through the CLI, with the
              dry run's cost estimate (after --calibrate) next to the wall time it took, the
              error-vs-N table and the data-efficiency factor
--dry: CPU, tiny sizes, seconds (the CI check that the script works end to end).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE)]

FULL = {
    "device": "cuda", "grid": 128, "batch": 64, "repeats": 5, "rounds": 3,
    "presets": ["fno-1m", "fno-17m", "fno-67m"], "precisions": ["fp32", "tf32", "bf16"],
    "resident": {"preset": "fno-1m", "grid": 64, "batch": 128, "pool": 4096, "steps": 30},
    "warm": {"preset": "fno-1m", "grid": 64, "n_train": 256, "epochs": 3},
    "headline": {"grid": 64, "model": "fno-1m", "pool": 2048, "pre_pool": 4096, "val": 256, "test": 512,
                 "n_train": [32, 64, 128, 256, 512, 1024, 2048], "lr": [1e-3, 3e-3], "seeds": [0],
                 "epochs": 100, "pre_epochs": 100, "per_gpu": 4},
}
DRY = {
    "device": "cpu", "grid": 16, "batch": 4, "repeats": 1, "rounds": 1,
    "presets": ["tiny"], "precisions": ["fp32", "bf16"],
    "resident": {"preset": "tiny", "grid": 16, "batch": 4, "pool": 16, "steps": 2},
    "warm": {"preset": "tiny", "grid": 16, "n_train": 8, "epochs": 1},
    "headline": {"grid": 16, "model": "tiny", "pool": 32, "pre_pool": 32, "val": 8, "test": 8,
                 "n_train": [8, 16], "lr": [1e-3], "seeds": [0], "epochs": 2, "pre_epochs": 2, "per_gpu": 1},
}


def _env() -> dict:
    """This environment with the repository first on PYTHONPATH (the package need not be installed)."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}


def _have(module: str) -> bool:
    try:
        __import__(module)
        return True
    except Exception:
        return False


def env_section(cfg: dict) -> dict:
    import torch

    cuda = torch.cuda.is_available()
    return {"device": torch.cuda.get_device_name(0) if cfg["device"] == "cuda" and cuda else f"cpu {platform.processor() or platform.machine()}",
            "torch": torch.__version__, "cuda": torch.version.cuda, "cuda_available": cuda,
            "gpus": torch.cuda.device_count() if cuda else 0, "python": platform.python_version(),
            "packages": {m: _have(m) for m in ("pydantic", "tinydb", "textual", "neuralop", "h5py")}}


def throughput_section(cfg: dict) -> dict:
    import torch

    import bench_fno
    from sciml_tui.learning.presets import preset_dims
    from sciml_tui.learning.trainer import set_precision

    dev = torch.device(cfg["device"])
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    x = torch.randn(cfg["batch"], 4, cfg["grid"], cfg["grid"], device=dev)
    y = torch.randn(cfg["batch"], 1, cfg["grid"], cfg["grid"], device=dev)
    rows, note = [], None
    for preset in cfg["presets"]:
        width, modes = preset_dims(preset)
        models = bench_fno.build_models(width, modes)
        note = models.pop("_neuralop_error", None) or note
        for precision in cfg["precisions"]:
            set_precision(precision)
            for name, model in models.items():
                row = {"preset": preset, "model": name, "precision": precision, "grid": cfg["grid"], "batch": cfg["batch"]}
                try:
                    step = bench_fno.make_step(model.to(dev), x, y, precision)
                    s = bench_fno.time_steps({name: step}, cfg["repeats"], cfg["rounds"], sync)[name]
                    row.update(step_s=s, samples_per_s=cfg["batch"] / s)
                except Exception as exc:  # e.g. an FFT size a precision does not support
                    row["error"] = f"{type(exc).__name__}: {exc}"[:300]
                rows.append(row)
        set_precision("fp32")
    return {"rows": rows, "neuralop": "compared" if note is None else f"not available ({note})"}


def resident_section(cfg: dict) -> dict:
    import torch

    from sciml_tui.learning.data import FieldSet
    from sciml_tui.learning.fno import FNO2d
    from sciml_tui.learning.presets import preset_dims

    c = cfg["resident"]
    dev = torch.device(cfg["device"])
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    f, coef, u = torch.randn(c["pool"], 1, c["grid"], c["grid"]), torch.randn(c["pool"], 3), torch.randn(c["pool"], 1, c["grid"], c["grid"])
    width, modes = preset_dims(c["preset"])
    out = {"preset": c["preset"], "grid": c["grid"], "batch": c["batch"]}
    for where in ("resident", "host"):
        if where == "resident":
            data = FieldSet(f.to(dev), coef.to(dev), u.to(dev))
        else:
            pin = dev.type == "cuda"
            data = FieldSet(*(t.pin_memory() if pin else t for t in (f, coef, u)))
        model = FNO2d(4, width, modes).to(dev)
        opt = torch.optim.Adam(model.parameters(), lr=1e-4)
        perm = torch.randperm(c["pool"])

        def step(i: int) -> None:
            xb, yb = data.batch(perm[(i * c["batch"]) % c["pool"]:][: c["batch"]], dev)
            loss = (model(xb) - yb).pow(2).sum(dim=(1, 2, 3)).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        step(0)
        sync()
        t0 = time.perf_counter()
        for i in range(c["steps"]):
            step(i)
        sync()
        out[f"{where}_step_s"] = (time.perf_counter() - t0) / c["steps"]
    out["host_over_resident"] = out["host_step_s"] / out["resident_step_s"]
    return out


def _dataset(root: Path, name: str, grid: int, pool: int, val: int, test: int, lo: float, hi: float, seed: int) -> Path:
    from sciml_tui.physics import generate_dataset

    out = root / "data" / name
    if not (out / "test.h5").exists():
        generate_dataset("poisson", lo, hi, grid, sizes={"train": pool, "val": val, "test": test}, seed=seed, out_dir=out)
    return out


def warm_section(cfg: dict, work: Path) -> dict:
    from sciml_tui.learning.config import RunConfig
    from sciml_tui.learning.run import run_in_dir
    from sciml_tui.rundir import RunDir

    c = cfg["warm"]
    data = _dataset(work, "warm", c["grid"], c["n_train"], 32, 32, 1.0, 5.0, 7)
    rc = RunConfig(mode="scratch", data=[{"path": str(data)}], n_train=c["n_train"], model={"preset": c["preset"]},
                   recipe={"epochs": c["epochs"], "batch_size": 128}, device=cfg["device"])
    dirs = [work / "runs" / f"warm-{k}" for k in ("cold", "warm1", "warm2")]
    for d in dirs:
        RunDir(d).write_config(rc.model_dump(mode="json"))
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "sciml_tui.learning.entry", str(dirs[0])], env=_env(), check=True,
                   capture_output=True, timeout=300)
    cold = time.perf_counter() - t0
    timings = []
    for d in dirs[1:]:  # the first in-process run pays the imports and CUDA init once
        t0 = time.perf_counter()
        run_in_dir(d)
        timings.append(time.perf_counter() - t0)
    trained = json.loads((dirs[0] / "result.json").read_text()).get("elapsed_s")
    return {"preset": c["preset"], "grid": c["grid"], "n_train": c["n_train"], "epochs": c["epochs"],
            "fresh_process_s": cold, "warm_process_s": timings[-1], "first_in_process_s": timings[0],
            "trainer_elapsed_s": trained, "saved_per_run_s": cold - timings[-1]}


def _headline_spec(c: dict) -> str:
    return f"""# written by benchmarks/device_check.py: the headline study, reduced
datasets:
  pre: {{system: poisson, range: [1, 5], n: {c['grid']}, sizes: {{train: {c['pre_pool']}, val: {c['val']}, test: {c['test']}}}, seed: 1}}
  down: {{system: poisson, range: [5, 10], n: {c['grid']}, sizes: {{train: {c['pool']}, val: {c['val']}, test: {c['test']}}}, seed: 2}}
pretrain:
  pre: {{model: {c['model']}, data: pre, recipe: {{epochs: {c['pre_epochs']}, batch_size: 64}}}}
sweeps:
  headline:
    dataset: down
    n_train: {json.dumps(c['n_train'])}
    lr: {json.dumps(c['lr'])}
    seeds: {json.dumps(c['seeds'])}
    models: [{c['model']}]
    inits: [scratch, {{finetune: pre}}, {{zeroshot: pre}}]
    recipe: {{epochs: {c['epochs']}, batch_size: 64}}
"""


def _cli(args: list[str], timeout: float) -> dict:
    out = subprocess.run([sys.executable, "-m", "sciml_tui.cli", *args], env=_env(), capture_output=True, text=True,
                         timeout=max(1.0, timeout))
    if out.returncode != 0:
        raise RuntimeError(f"sciml {' '.join(args[:2])} exited {out.returncode}: {(out.stderr or out.stdout)[-500:]}")
    return json.loads(out.stdout)


def _run_span(ws: Path) -> float:
    runs = json.loads((ws / ".sciml" / "sciml.json").read_text()).get("runs", {}).values()
    starts = [r["started_at"] for r in runs if r.get("started_at")]
    ends = [r["ended_at"] for r in runs if r.get("ended_at")]
    return max(ends) - min(starts) if starts and ends else float("nan")


def headline_section(cfg: dict, work: Path, seconds_left: Callable[[], float]) -> dict:
    c = cfg["headline"]
    ws = work / "headline"
    spec = ws / "experiments" / "headline.yaml"
    spec.parent.mkdir(parents=True, exist_ok=True)
    spec.write_text(_headline_spec(c))
    slots = ["--per-gpu", str(c["per_gpu"])] if cfg["device"] == "cuda" else ["--max-parallel", "2"]
    plan = _cli(["run", "sweep", str(spec), "-w", str(ws), "--dry-run", "--json", "--calibrate", *slots], seconds_left())
    t0 = time.perf_counter()
    out = {"spec": _headline_spec(c), "estimate": plan["cost"]}
    try:
        out["launch"] = _cli(["run", "sweep", str(spec), "-w", str(ws), "--json", "--yes", *slots], seconds_left() - 30)
    except subprocess.TimeoutExpired:
        out["launch"] = {"timed_out": True}  # the table below is then partial
        subprocess.run([sys.executable, "-m", "sciml_tui.cli", "cancel", "headline", "-w", str(ws)],
                       capture_output=True, timeout=60, env=_env())
    out["wall_s"] = time.perf_counter() - t0
    out["training_span_s"] = _run_span(ws)  # first run start to last run end (without data generation)
    res = _cli(["results", "headline", "-w", str(ws), "--json"], 20)
    out["table"] = [{"curve": cur["label"], "n": p["n"], "error": p["error"], "lr": p["lr"]}
                    for cur in res["curves"] for p in cur["points"]]
    out["efficiency"] = res["efficiency"]
    out["counts"] = res["counts"]
    return out


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()[:40]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dry", action="store_true", help="CPU, tiny sizes, seconds")
    p.add_argument("--out", type=Path, default=HERE / "results", help="folder for the JSON record")
    p.add_argument("--budget-s", type=float, default=450.0, help="stop starting sections after this")
    p.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temporary one)")
    args = p.parse_args()
    cfg = DRY if args.dry else FULL
    deadline = time.monotonic() + args.budget_s
    left = lambda: deadline - time.monotonic()  # noqa: E731
    record: dict[str, Any] = {"date": time.strftime("%Y-%m-%d"), "mode": "dry" if args.dry else "full", "config": cfg}
    record["env"] = env_section(cfg)
    if cfg["device"] == "cuda" and not record["env"]["cuda_available"]:
        raise SystemExit("device_check: CUDA is not available here (use --dry for the CPU check)")
    missing = [m for m in ("pydantic", "tinydb") if not record["env"]["packages"][m]]
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"device-check-{record['date']}-{_slug(record['env']['device'])}{'-dry' if args.dry else ''}.json"
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        sections = {"throughput": lambda: throughput_section(cfg), "resident": lambda: resident_section(cfg),
                    "warm": lambda: warm_section(cfg, work), "headline": lambda: headline_section(cfg, work, left)}
        for name, fn in sections.items():
            if missing:
                record[name] = {"skipped": f"missing {', '.join(missing)}: carry their wheels in .whl/ (see device_check.sh)"}
            elif left() < 10:
                record[name] = {"skipped": "out of time (--budget-s)"}
            else:
                t0 = time.perf_counter()
                try:
                    record[name] = fn()
                except Exception as exc:
                    record[name] = {"error": f"{type(exc).__name__}: {exc}"[:1000]}
                record[name]["section_s"] = time.perf_counter() - t0
            print(f"{name}: {json.dumps(record[name])[:400]}", flush=True)
            _save(record, path)  # after every section: a check cut short keeps what it measured
    print(f"recorded {path}")


def _save(record: dict, path: Path) -> None:
    tmp_path = path.with_suffix(".json.tmp")
    tmp_path.write_text(json.dumps(record, indent=1, default=str))
    os.replace(tmp_path, path)


if __name__ == "__main__":
    main()
