"""A stand-in for `python -m sciml_tui.learning.entry RUN_DIR [--resume]` with the same files.

Epochs take FAKE_EPOCH_S seconds each; `checkpoints/last.pt` (JSON here) records the epoch so
that --resume continues; `starts.log` gets one line per process start (to count duplicates).
A fine-tune/zero-shot run fails unless its init checkpoint exists (checks the ordering).
"""

import json
import os
import sys
import time
from pathlib import Path

import yaml


def main() -> int:
    run_dir = Path(sys.argv[1])
    resume = "--resume" in sys.argv[2:]
    cfg = yaml.safe_load((run_dir / "config.yaml").read_text())
    epochs = cfg["recipe"]["epochs"] if cfg["mode"] != "zeroshot" else 0
    ckpt = run_dir / "checkpoints" / "last.pt"
    start = json.loads(ckpt.read_text())["epoch"] if resume and ckpt.exists() else 0
    with open(run_dir / "starts.log", "a") as fh:
        fh.write(f"pid={os.getpid()} resume={resume} from={start}\n")
    log = open(run_dir / "train.log", "a")
    init = cfg.get("init_checkpoint")
    if init and not Path(init).exists():
        log.write(f"missing init checkpoint {init}\n")
        log.close()
        (run_dir / "result.json").write_text(json.dumps({"status": "failed", "message": "no init checkpoint"}))
        return 1
    if os.environ.get("FAKE_SIGNAL"):  # dies by this signal before its first epoch
        os.kill(os.getpid(), int(os.environ["FAKE_SIGNAL"]))
    if os.environ.get("FAKE_PREEMPT"):  # the trainer's SIGTERM path: preempted.json, exit 75
        (run_dir / "preempted.json").write_text(json.dumps({"epoch": 2, "step": 7, "signal": "SIGTERM",
                                                            "at": time.time(), "message": "stopped"}))
        return 75
    per_epoch = float(os.environ.get("FAKE_EPOCH_S", "0"))
    for epoch in range(start + 1, epochs + 1):
        time.sleep(per_epoch)
        ckpt.parent.mkdir(parents=True, exist_ok=True)
        tmp = ckpt.with_suffix(".tmp")
        tmp.write_text(json.dumps({"epoch": epoch}))
        os.replace(tmp, ckpt)
        (ckpt.parent / "best.pt").write_text("{}")
        log.write(f"epoch {epoch}/{epochs}\n")
        log.flush()
    n = cfg.get("n_train") or 1
    err = (0.05 if cfg["mode"] == "finetune" else 0.5) * n ** -0.5
    result = {"status": "done", "test_error": err, "best_val_error": err, "best_epoch": epochs,
              "epochs_run": epochs, "elapsed_s": 0.0, "n_train": n, "params": 1, "message": ""}
    tmp = run_dir / "result.json.tmp"
    tmp.write_text(json.dumps(result))
    os.replace(tmp, run_dir / "result.json")
    log.write("done\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
