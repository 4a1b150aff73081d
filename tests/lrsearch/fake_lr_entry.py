"""A stand-in trainer for the lr-search tests, with the real entry point's files and exits.

The validation error at epoch e is (1 + 4 (log10 lr - log10 FAKE_BEST_LR)^2) / e (scaled by the
seed, N and init a little), so the best lr is FAKE_BEST_LR; an lr above FAKE_DIVERGE_LR diverges.
It honours `stop_after_epoch` (checkpoint, preempted.json with `paused_after`, exit 75) and
--resume; `epochs.log` gets one line per epoch trained (to count the compute).
"""

import json
import math
import os
import sys
from pathlib import Path

import yaml


def val_error(cfg: dict, epoch: int) -> float:
    lr = cfg["recipe"]["lr"]
    best = float(os.environ.get("FAKE_BEST_LR", "1e-2"))
    scale = (1 + 0.01 * cfg["seed"]) * (0.5 if cfg["mode"] == "finetune" else 1.0) * (cfg.get("n_train") or 1) ** -0.5
    return scale * (1 + 4 * (math.log10(lr) - math.log10(best)) ** 2) / epoch


def write(path: Path, obj) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(obj))
    os.replace(tmp, path)


def main() -> int:
    run_dir = Path(sys.argv[1])
    resume = "--resume" in sys.argv[2:]
    cfg = yaml.safe_load((run_dir / "config.yaml").read_text())
    epochs, pause = cfg["recipe"]["epochs"], cfg.get("stop_after_epoch")
    ckpt = run_dir / "checkpoints" / "last.pt"
    ckpt.parent.mkdir(parents=True, exist_ok=True)
    metrics_path = run_dir / "metrics.json"
    start = json.loads(ckpt.read_text())["epoch"] if resume and ckpt.exists() else 0
    rows = json.loads(metrics_path.read_text())["epochs"] if resume and metrics_path.exists() else {}
    rows = {k: v for k, v in rows.items() if v["epoch"] <= start}
    if cfg["recipe"]["lr"] > float(os.environ.get("FAKE_DIVERGE_LR", "1e9")):
        write(run_dir / "result.json", {"status": "diverged", "message": "diverged", "epochs_run": 1})
        return 3
    for epoch in range(start + 1, epochs + 1):
        if pause is not None and epoch > pause:
            write(run_dir / "preempted.json", {"epoch": epoch, "step": 0, "signal": None,
                                               "paused_after": epoch - 1, "message": "paused"})
            return 75
        with open(run_dir / "epochs.log", "a") as fh:
            fh.write(f"{epoch}\n")
        validated = epoch in cfg["recipe"].get("val_extra_epochs", []) or epoch % 4 == 0 or epoch == epochs
        rows[str(len(rows) + 1)] = {"epoch": epoch, "train_loss": 1.0, "lr": cfg["recipe"]["lr"],
                                    "val_error": val_error(cfg, epoch) if validated else None}
        write(metrics_path, {"epochs": rows, "steps": {}})
        write(ckpt, {"epoch": epoch})
    err = val_error(cfg, epochs)
    write(run_dir / "result.json", {"status": "done", "test_error": err, "best_val_error": err,
                                    "best_epoch": epochs, "epochs_run": epochs, "elapsed_s": 0.0,
                                    "n_train": cfg.get("n_train"), "params": 1, "message": ""})
    return 0


if __name__ == "__main__":
    sys.exit(main())
