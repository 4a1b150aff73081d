"""CLI and scheduler speed: `sciml --help`, `sciml status`, 1000-point plans, scheduler overhead.

    python benchmarks/bench_cli.py [--repeats 5] [--points 1000]

Timings on a shared machine are noisy, so each figure is shown next to a reference measured in
the same run (`python -c pass` for process start-up). Goals: --help and status < 0.5 s and
without torch; expanding + recording 1000 points < 2 s; status with 1000 runs < 1 s; scheduler
overhead between one run ending and the next starting < 1 s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FAKE_ENTRY = """\
import json, os, sys
run = sys.argv[1]
tmp = os.path.join(run, "result.json.tmp")
with open(tmp, "w") as fh:
    json.dump({"status": "done", "test_error": 0.1, "best_val_error": 0.1}, fh)
os.replace(tmp, os.path.join(run, "result.json"))
"""


def wall(cmd: list[str], repeats: int, env: dict | None = None) -> tuple[float, float]:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, env=env)
        times.append(time.perf_counter() - t)
    return statistics.median(times), min(times)


def spec_text(points: int) -> str:
    seeds = max(1, points // (2 * 10 * 5))
    return f"""\
datasets:
  pre: {{system: poisson, range: [1, 5], n: 32, sizes: {{train: 64, val: 8, test: 8}}, seed: 1}}
  down: {{system: poisson, range: [5, 10], n: 32, sizes: {{train: 64, val: 8, test: 8}}, seed: 2}}
pretrain:
  p: {{model: tiny, data: pre, recipe: {{epochs: 1}}}}
sweeps:
  big:
    dataset: down
    n_train: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    lr: [1.0e-5, 5.0e-5, 1.0e-4, 5.0e-4, 1.0e-3]
    seeds: {list(range(seeds))}
    inits: [scratch, {{finetune: p}}]
    recipe: {{epochs: 1}}
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--points", type=int, default=1000)
    ap.add_argument("--sched-runs", type=int, default=20)
    args = ap.parse_args()
    py = sys.executable
    tmp = Path(tempfile.mkdtemp(prefix="bench-cli-"))
    ws_root = tmp / "ws"
    (ws_root / "experiments").mkdir(parents=True)

    ref, _ = wall([py, "-c", "pass"], args.repeats)
    print(f"reference `python -c pass`: {ref * 1000:.0f} ms (median of {args.repeats})")
    for name, cmd in (("sciml --help", ["--help"]), ("sciml status (empty)", ["status", "-w", str(ws_root)])):
        med, best = wall([py, "-m", "sciml_tui.cli", *cmd], args.repeats)
        print(f"{name:<28} median {med * 1000:6.0f} ms  min {best * 1000:6.0f} ms  ({med / ref:.1f}x python start-up)")
    probe = ("import sys; from typer.testing import CliRunner; from sciml_tui.cli import app; "
             f"CliRunner().invoke(app, ['status', '-w', {str(ws_root)!r}]); "
             "CliRunner().invoke(app, ['--help']); print('torch' in sys.modules)")
    imported = subprocess.run([py, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()
    print(f"torch imported by --help/status: {imported}")

    # -- expanding and recording a large sweep (in-process, what `sciml run sweep` does first)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from sciml_tui.launch import plan_sweep, record_plan
    from sciml_tui.store import WorkspaceStore

    spec = ws_root / "experiments" / "big.yaml"
    spec.write_text(spec_text(args.points))
    ws = WorkspaceStore(ws_root)
    t = time.perf_counter()
    plan = plan_sweep(spec, ws)
    t_plan = time.perf_counter() - t
    t = time.perf_counter()
    record_plan(ws, plan)
    t_rec = time.perf_counter() - t
    n = len(plan.runs)
    size = ws.path.stat().st_size
    print(f"expand {n} runs: {t_plan * 1000:.0f} ms; record them: {t_rec * 1000:.0f} ms; "
          f"total {(t_plan + t_rec):.2f} s (store {size / 1e6:.1f} MB)")
    t = time.perf_counter()
    plan2 = plan_sweep(spec, ws)
    record_plan(ws, plan2)
    print(f"re-plan the same spec (all found recorded): {(time.perf_counter() - t) * 1000:.0f} ms")

    for name, cmd in ((f"sciml status ({n} runs)", ["status", "-w", str(ws_root)]),
                      (f"sciml status --sweep big ({n} rows)", ["status", "-w", str(ws_root), "--sweep", "big"]),
                      (f"sciml status --json ({n} runs)", ["status", "-w", str(ws_root), "--json"])):
        med, best = wall([py, "-m", "sciml_tui.cli", *cmd], args.repeats)
        print(f"{name:<36} median {med * 1000:6.0f} ms  min {best * 1000:6.0f} ms  ({med / ref:.1f}x python start-up)")

    # -- scheduler overhead with an instant fake training
    fake = tmp / "fake_entry.py"
    fake.write_text(FAKE_ENTRY)
    sws_root = tmp / "sched"
    (sws_root / "experiments").mkdir(parents=True)
    sspec = sws_root / "experiments" / "s.yaml"
    sspec.write_text(spec_text(args.sched_runs).replace("n_train: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]", "n_train: [1]")
                     .replace("[1.0e-5, 5.0e-5, 1.0e-4, 5.0e-4, 1.0e-3]", str([round(1e-4 * (i + 1), 6) for i in range(args.sched_runs)]))
                     .replace("seeds: [0]", "seeds: [0]").replace("inits: [scratch, {finetune: p}]", "inits: [scratch]"))
    sws = WorkspaceStore(sws_root)
    splan = plan_sweep(sspec, sws)
    for d in splan.datasets:
        d.path.mkdir(parents=True, exist_ok=True)
        for k in ("train", "val", "test"):
            (d.path / f"{k}.h5").write_bytes(b"")
        d.exists = True
    record_plan(sws, splan)
    os.environ["SCIML_TRAIN_ENTRY"] = json.dumps([py, str(fake)])
    from sciml_tui.launch import run_scheduler
    from sciml_tui.launch.backend import Slot

    t = time.perf_counter()
    run_scheduler(sws, ["big"], slots=[Slot("cpu0", threads=1)])
    total = time.perf_counter() - t
    rows = []
    for r in sws.runs(sweep="big"):
        rd = Path(r["run_dir"])
        launch = json.loads((rd / "launch.json").read_text())
        rows.append((launch["started_at"], (rd / "result.json").stat().st_mtime))
    rows.sort()
    gaps = [nxt[0] - cur[1] for cur, nxt in zip(rows, rows[1:])]
    life = [end - start for start, end in rows]
    print(f"scheduler, {len(rows)} instant runs on one slot: {total:.2f} s total; "
          f"gap from one run's result to the next launch: median {statistics.median(gaps) * 1000:.0f} ms, "
          f"max {max(gaps) * 1000:.0f} ms (a run's own life, python start-up included: "
          f"median {statistics.median(life) * 1000:.0f} ms)")


if __name__ == "__main__":
    main()
