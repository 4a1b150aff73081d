"""Validation share and checkpoint traffic of small-N runs, with the seed's rules and the defaults.

    python benchmarks/bench_val_ckpt.py                        # both parts, CPU-sized
    python benchmarks/bench_val_ckpt.py --ckpt-preset fno-67m  # checkpoint part on another preset

1. Validation share: one N = 8 scratch run trained twice on the same data, once validating
   every epoch on the whole split (`val_share: null`, the seed's rule) and once with the
   default cadence; the time spent in validation is measured around the trainer's evaluate.
   The pass counts of the study's size (500 epochs, 4096 validation samples) follow from the
   same rule (`sciml_tui.learning.cadence`).
2. Checkpoints: a 500-epoch N = 8 run of a mid-size preset with the default cadence; every
   write is counted with its bytes. The seed's rule (last.pt every epoch, best.pt at every
   improvement) is not run (it would write hundreds of GB for the large presets): its
   figures are the measured size of each file times the number of epochs and improvements.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import yaml


def _dataset(root: Path, n: int, sizes: dict) -> Path:
    from sciml_tui.physics import generate_dataset

    out = root / f"poisson-{n}-{sizes['val']}"
    generate_dataset("poisson", 1.0, 5.0, n, sizes=sizes, seed=0, out_dir=out)
    return out


def _run(run_dir: Path, data: Path, model: dict, recipe: dict, n_train: int = 8) -> dict:
    from sciml_tui.learning.run import run_in_dir

    run_dir.mkdir(parents=True)
    cfg = {"mode": "scratch", "data": [{"path": str(data)}], "n_train": n_train, "model": model,
           "recipe": {"batch_size": 128, **recipe}, "seed": 0, "device": "cpu", "n_test": 64}
    (run_dir / "config.yaml").write_text(yaml.safe_dump(cfg))
    result = run_in_dir(run_dir)
    assert result["status"] == "done", result
    return result


class _Timed:
    """Wraps the trainer's evaluate to sum the time spent validating during the epochs."""

    def __init__(self) -> None:
        import sciml_tui.learning.trainer as trainer

        self.trainer, self.original, self.calls = trainer, trainer.evaluate, []
        trainer.evaluate = self

    def __call__(self, model, data, *args, **kwargs):
        t0 = time.perf_counter()
        out = self.original(model, data, *args, **kwargs)
        self.calls.append(time.perf_counter() - t0)
        return out

    def restore(self) -> None:
        self.trainer.evaluate = self.original


def validation_share(root: Path, epochs: int, n_val: int) -> None:
    from sciml_tui.learning.cadence import TRAIN_SAMPLE_PASSES, validation_plan

    print(f"== validation share: N = 8, {epochs} epochs, {n_val} validation samples, tiny FNO, 32x32 grid")
    data = _dataset(root, 32, {"train": 64, "val": n_val, "test": 64})
    for label, share in (("seed rule (every epoch, whole split)", None), ("default cadence", 0.1)):
        timer = _Timed()
        t0 = time.perf_counter()
        res = _run(root / f"val-{share}", data, {"preset": "tiny"}, {"epochs": epochs, "val_share": share})
        total = time.perf_counter() - t0
        timer.restore()
        # the last calls measure the best weights (whole validation split when a subset was used, test)
        final = 2 if res["val_samples"] < n_val else 1
        val_time, final_time = sum(timer.calls[:-final]), sum(timer.calls[-final:])
        passes = res["val_epochs"] * res["val_samples"]
        print(f"  {label:<38} {res['val_epochs']:>4} evaluations x {res['val_samples']:>5} samples = "
              f"{passes:>8} passes vs {epochs * 8} trained samples; validation {val_time:6.2f} s of "
              f"{total:6.2f} s ({100 * val_time / total:4.1f}% of the run; final best-weights passes "
              f"{final_time:.2f} s)")
    for label, share in (("seed rule", None), ("default", 0.1)):
        p = validation_plan(500, 8, 4096, batch_size=128, share=share)
        work = 500 * 8 * TRAIN_SAMPLE_PASSES
        print(f"  study size (500 epochs, N=8, 4096 val), {label:<9}: {len(p.epochs)} evaluations x {p.samples} = "
              f"{p.passes} forward passes; validation = {100 * p.passes / (p.passes + work):.1f}% of forward work")


def checkpoint_traffic(root: Path, preset: str, epochs: int) -> None:
    import sciml_tui.learning.checkpoint as ck

    print(f"== checkpoints: {preset}, N = 8, {epochs} epochs, 32x32 grid, default cadences")
    data = _dataset(root, 32, {"train": 16, "val": 64, "test": 64})
    writes: list[tuple[str, int]] = []
    original = ck.save_checkpoint

    def counted(path, payload):
        original(path, payload)
        writes.append((Path(path).name, os.path.getsize(path)))

    ck.save_checkpoint = counted
    t0 = time.perf_counter()
    try:
        res = _run(root / f"ckpt-{preset}", data, {"preset": preset}, {"epochs": epochs})
    finally:
        ck.save_checkpoint = original
    size = {name: b for name, b in writes}
    total = sum(b for _, b in writes)
    print(f"  run: {time.perf_counter() - t0:.1f} s, {res['params']:,} parameters, best epoch {res['best_epoch']}")
    print(f"  default: {len(writes)} writes ({', '.join(n for n, _ in writes)}), {total / 1e6:.1f} MB "
          f"(last.pt {size['last.pt'] / 1e6:.1f} MB, best.pt {size['best.pt'] / 1e6:.1f} MB)")
    from sciml_tui.learning.metrics_log import read_metrics

    # improvements seen on the evaluated epochs only: a lower bound for every-epoch validation
    vals = [r["val_error"] for r in read_metrics(root / f"ckpt-{preset}")["epochs"] if r["val_error"] is not None]
    improvements = sum(1 for i, v in enumerate(vals) if v < min(vals[:i], default=float("inf")))
    seed_bytes = epochs * size["last.pt"] + improvements * size["best.pt"]
    print(f"  seed rule on the same run: at least {epochs + improvements} writes ({epochs} last.pt + "
          f">= {improvements} best.pt), at least {seed_bytes / 1e9:.1f} GB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=500)
    parser.add_argument("--val-epochs", type=int, default=100, help="epochs of the validation-share runs")
    parser.add_argument("--n-val", type=int, default=1024)
    parser.add_argument("--ckpt-preset", default="fno-17m")
    parser.add_argument("--only", choices=["validation", "checkpoints"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.only != "checkpoints":
            validation_share(Path(tmp), args.val_epochs, args.n_val)
        if args.only != "validation":
            checkpoint_traffic(Path(tmp), args.ckpt_preset, args.epochs)


if __name__ == "__main__":
    main()
