"""Dashboard benchmark: a synthetic workspace of 500 runs x 2000 metric points.

    python benchmarks/bench_tui.py [--runs 500] [--points 2000]

Measures (headless Textual, 160x48): start-up to first paint and to the first full runs table,
UI-thread time per refresh cycle while 30 runs append points, opening a run's curves, and peak
RSS of the dashboard process. Goals: < 2 s, < 100 ms, < 400 MB. As a same-run reference it
times the naive refresh (parse the store and every metrics.json) that the poller avoids.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def build(root: Path, n_runs: int, n_points: int) -> None:
    runs, sweeps = {}, {}
    t0 = 1_767_261_600.0
    for i in range(n_runs):
        sweep = f"sweep-{i % 10}"
        state = "running" if i % 500 < 30 else "queued" if i % 500 < 50 else "done"
        rid = f"{sweep}-scratch-tiny-n{8 << (i % 8)}-lr0.001-s{i % 3}-{i:08x}"
        rdir = root / "runs" / rid
        rdir.mkdir(parents=True)
        npts = 0 if state == "queued" else n_points
        ep = {str(e): {"epoch": e, "train_loss": 10 / e, "val_error": 1 / math.sqrt(e), "lr": 1e-3,
                       "samples_per_s": 900.0, "time_s": 0.5 * e} for e in range(1, npts + 1)}
        (rdir / "metrics.json").write_text(json.dumps({"epochs": ep, "steps": {}}))
        (rdir / "train.log").write_text("".join(f"epoch {e} val {1 / math.sqrt(e):.4f}\n" for e in range(1, 300)))
        (rdir / "config.yaml").write_text("mode: scratch\n")
        runs[str(i + 1)] = {"id": rid, "sweep": sweep, "role": "sweep", "init": ["scratch", "finetune"][i % 2],
                            "model": "tiny", "n_train": 8 << (i % 8), "lr": 1e-3, "seed": i % 3, "state": state,
                            "run_dir": str(rdir), "parent": None, "datasets": [], "device": "cpu",
                            "started_at": None if state == "queued" else t0, "ended_at": t0 + 600 if state == "done" else None,
                            "test_error": 0.1 if state == "done" else None, "best_val_error": 0.1 if state == "done" else None}
        sweeps.setdefault(sweep, {"name": sweep, "experiment": sweep, "run_ids": [], "state": "running"})["run_ids"].append(rid)
    (root / ".sciml").mkdir()
    (root / ".sciml" / "sciml.json").write_text(json.dumps(
        {"runs": runs, "sweeps": {str(i + 1): s for i, s in enumerate(sweeps.values())}, "datasets": {}}))


def naive_refresh(root: Path) -> float:
    t = time.perf_counter()
    data = json.loads((root / ".sciml" / "sciml.json").read_text())
    for rec in data["runs"].values():
        p = Path(rec["run_dir"]) / "metrics.json"
        if p.exists():
            json.loads(p.read_text())
    return time.perf_counter() - t


async def measure(root: Path) -> dict:
    t_start = time.perf_counter()
    from sciml_tui.tui.app import make_app
    from sciml_tui.tui.screens.run_detail import RunDetailScreen
    from sciml_tui.tui.widgets.runs_table import RunsTable

    app = make_app(root, poll_interval=0.25, resources=lambda: [("cpu", " 0%")])
    out: dict = {}
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        out["first_paint_s"] = time.perf_counter() - t_start
        while not (app.screen.query(RunsTable) and app.screen.query_one(RunsTable).row_count == 500):
            await pilot.pause(0.01)
        out["first_full_table_s"] = time.perf_counter() - t_start
        running = [r for r in app.snapshot.records.values() if r["state"] == "running"]
        cycles_before = len(app.refresh_cycles)
        for k in range(8):
            for rec in running:
                p = Path(rec["run_dir"]) / "metrics.json"
                d = json.loads(p.read_text())
                n = len(d["epochs"]) + 1
                d["epochs"][str(n)] = {"epoch": n, "train_loss": 1.0, "val_error": 0.5 / n, "lr": 1e-3, "samples_per_s": 1.0, "time_s": n}
                p.write_text(json.dumps(d))
            seen = len(app.refresh_cycles)
            while len(app.refresh_cycles) == seen:
                await pilot.pause(0.01)
        cyc = app.refresh_cycles[cycles_before:]
        out["refresh_ui_ms_median"] = 1e3 * statistics.median(cyc)
        out["refresh_ui_ms_max"] = 1e3 * max(cyc)
        t = time.perf_counter()
        app.poller.poll(force=True)
        out["poll_worker_ms"] = 1e3 * (time.perf_counter() - t)
        t = time.perf_counter()
        await pilot.press("enter")
        while not (isinstance(app.screen, RunDetailScreen) and app.screen.rid in app.snapshot.metrics):
            await pilot.pause(0.01)
        await pilot.pause()
        out["open_run_2000_points_s"] = time.perf_counter() - t
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=500)
    ap.add_argument("--points", type=int, default=2000)
    ap.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        print(json.dumps(asyncio.run(measure(args.measure))))
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        build(root, args.runs, args.points)
        print(f"workspace: {args.runs} runs x {args.points} points built in {time.perf_counter() - t:.1f} s")
        ref = min(naive_refresh(root) for _ in range(2))
        proc = subprocess.run([sys.executable, __file__, "--measure", str(root)], capture_output=True, text=True)
        if proc.returncode:
            sys.exit(proc.stderr)
        r = json.loads(proc.stdout.strip().splitlines()[-1])
    goals = {"first_full_table_s": 2.0, "refresh_ui_ms_max": 100.0, "peak_rss_mb": 400.0}
    for k, v in r.items():
        g = goals.get(k)
        print(f"{k:26s} {v:10.3f}" + (f"   goal < {g:g}  {'ok' if v < g else 'MISSED'}" if g else ""))
    print(f"{'naive_refresh_ms (ref)':26s} {1e3 * ref:10.3f}   (parse store + every metrics.json)")
    print(f"{'ratio ui refresh / naive':26s} {r['refresh_ui_ms_median'] / (1e3 * ref):10.4f}")
    print(f"{'ratio poll / naive':26s} {r['poll_worker_ms'] / (1e3 * ref):10.4f}")


if __name__ == "__main__":
    main()
