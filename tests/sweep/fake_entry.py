"""A stand-in for `python -m sciml_tui.learning.entry RUN_DIR [--resume]` with the same files
(and, as `train`, for the trainer a warm worker runs).

Epochs take FAKE_EPOCH_S seconds each; `checkpoints/last.pt` (JSON here) records the epoch so
that --resume continues; `starts.log` gets one line per process start (to count duplicates).
A fine-tune/zero-shot run fails unless its init checkpoint exists (checks the ordering).
With FAKE_HONOUR_TERM set, SIGTERM stops it as the trainer's does: at once, `last.pt` at the
last finished epoch, `preempted.json`, exit 75; `epochs.log` then gets one line per epoch
finished (a resumed run that continues exactly lists each epoch once).
"""

import json
import os
import signal
import sys
import time
from pathlib import Path

import yaml


def main() -> int:
    return train(sys.argv[1], "--resume" in sys.argv[2:])


def train(run_dir: str, resume: bool) -> int:
    """One run; also the `--runner` of a warm worker (tests/sweep/fake_entry.py:train).
    FAKE_CRASH names a run directory whose training kills its process (a crash)."""
    run_dir = Path(run_dir)
    if os.environ.get("FAKE_CRASH") and os.environ["FAKE_CRASH"] in run_dir.name:
        os.kill(os.getpid(), 9)
    cfg = yaml.safe_load((run_dir / "config.yaml").read_text())
    epochs = cfg["recipe"]["epochs"] if cfg["mode"] != "zeroshot" else 0
    ckpt = run_dir / "checkpoints" / "last.pt"
    start = json.loads(ckpt.read_text())["epoch"] if resume and ckpt.exists() else 0
    (run_dir / "preempted.json").unlink(missing_ok=True)  # as the entry point: a new attempt
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
    stop = _stop_request() if os.environ.get("FAKE_HONOUR_TERM") else None
    for epoch in range(start + 1, epochs + 1):
        if _sleep(per_epoch, stop):
            return _preempted(run_dir, epoch, stop[0])
        ckpt.parent.mkdir(parents=True, exist_ok=True)
        tmp = ckpt.with_suffix(".tmp")
        tmp.write_text(json.dumps({"epoch": epoch}))
        os.replace(tmp, ckpt)
        (ckpt.parent / "best.pt").write_text("{}")
        log.write(f"epoch {epoch}/{epochs}\n")
        log.flush()
        if stop is not None:
            with open(run_dir / "epochs.log", "a") as fh:
                fh.write(f"{epoch}\n")
    n = cfg.get("n_train") or 1
    err = (0.05 if cfg["mode"] == "finetune" else 0.5) * n ** -0.5
    result = {"status": "done", "test_error": err, "best_val_error": err, "best_epoch": epochs,
              "epochs_run": epochs, "elapsed_s": 0.0, "n_train": n, "params": 1, "message": ""}
    tmp = run_dir / "result.json.tmp"
    tmp.write_text(json.dumps(result))
    os.replace(tmp, run_dir / "result.json")
    log.write("done\n")
    return 0


def _stop_request() -> list:
    """A list that SIGTERM appends the signal's name to (the trainer's StopRequest)."""
    got: list = []
    signal.signal(signal.SIGTERM, lambda signum, frame: got.append(signal.Signals(signum).name))
    return got


def _sleep(seconds: float, stop) -> bool:
    """One epoch's sleep; True when a SIGTERM cut it short (the epoch is lost, as a step would be)."""
    deadline = time.time() + seconds
    while time.time() < deadline and not stop:
        time.sleep(min(0.05, max(0.0, deadline - time.time())))
    return bool(stop)


def _preempted(run_dir: Path, epoch: int, signame: str) -> int:
    tmp = run_dir / "preempted.json.tmp"
    tmp.write_text(json.dumps({"epoch": epoch, "step": 0, "signal": signame, "at": time.time(),
                               "message": f"stopped by {signame} before epoch {epoch}"}))
    os.replace(tmp, run_dir / "preempted.json")
    return 75


if __name__ == "__main__":
    sys.exit(main())
