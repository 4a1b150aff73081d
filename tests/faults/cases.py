"""The hostile-user and bad-day cases: one line each (see harness.py for what "handled" means).

Setup steps below prepare files or inject faults; add a case by adding a line to CASES.
"""

from __future__ import annotations

import errno
import os
from collections import namedtuple
from pathlib import Path
from typing import Any

from .harness import Case, case

SMALL = "--n 16 --train 8 --val 4 --test 4"
GEN = "data generate poisson " + SMALL + " --out {tmp}/ds"
DS = "d: {system: poisson, range: [1, 5], n: 16, sizes: {train: 64, val: 8, test: 8}}"


# -- setup steps -------------------------------------------------------------------------------
def file(name: str, content: str | bytes = "x"):
    def step(tmp: Path, mp: Any) -> None:
        (tmp / name).parent.mkdir(parents=True, exist_ok=True)
        data = content if isinstance(content, bytes) else content.encode()
        (tmp / name).write_bytes(data)
    return step


def spec(body: str):
    return file("spec.yaml", body)


def h5(name: str = "f.h5", tensor_width: int = 3, tensor: Any = None, **attrs: Any):
    def step(tmp: Path, mp: Any) -> None:
        import h5py
        import numpy as np

        with h5py.File(tmp / name, "w") as fh:
            fh["fields"] = np.zeros((4, 2, 8, 8), np.float32)
            fh["tensor"] = np.ones((4, tensor_width), np.float32) if tensor is None else tensor
            for k, v in attrs.items():
                fh.attrs[k] = v
    return step


def free_disk(nbytes: int):
    def step(tmp: Path, mp: Any) -> None:
        usage = namedtuple("usage", "total used free")
        mp.setattr("sciml_tui.physics.limits.shutil.disk_usage", lambda p: usage(nbytes * 2, nbytes, nbytes))
    return step


def write_fails(code: int, after_blocks: int = 1):
    def step(tmp: Path, mp: Any) -> None:
        from sciml_tui.physics.h5io import SplitWriter

        real, calls = SplitWriter.write, []

        def write(self, start, arrays):
            calls.append(start)
            if len(calls) > after_blocks:
                raise OSError(code, os.strerror(code))
            return real(self, start, arrays)
        mp.setattr(SplitWriter, "write", write)
    return step


def memory(nbytes: int):
    def step(tmp: Path, mp: Any) -> None:
        mp.setattr("sciml_tui.physics.generate.available_memory", lambda: nbytes)
    return step


def checkpoint(name: str, preset: str):
    """A checkpoint file of `preset`'s architecture (weights are not needed for the check)."""
    def step(tmp: Path, mp: Any) -> None:
        import torch

        from sciml_tui.learning.checkpoint import FORMAT
        from sciml_tui.learning.presets import PRESETS

        width, modes = PRESETS[preset]
        arch = {"in_channels": 4, "width": width, "modes": modes, "layers": 4, "out_channels": 1}
        torch.save({"format": FORMAT, "arch": arch, "model": {}, "layout": "compact"}, tmp / name)
    return step


def np_array(*values: Any) -> Any:
    import numpy as np

    return np.array(values)


def _ft_config(model: str) -> str:
    return ("mode: finetune\ndata: [{path: '{tmp}/data'}]\ninit_checkpoint: '{tmp}/pre.pt'\n"
            f"model: {{preset: {model}}}\n")


def ft_config(model: str):
    def step(tmp: Path, mp: Any) -> None:
        (tmp / "ft.yaml").write_text(_ft_config(model).replace("{tmp}", str(tmp)))
    return step


# -- store and launch setups ------------------------------------------------------------------------
SWEEP_SPEC = ("datasets:\n  d: {system: poisson, range: [1, 5], n: 16, sizes: {train: 32, val: 8, test: 8}}\n"
              "sweeps:\n  s: {dataset: d, n_train: [4, 8], lr: [1e-3], seeds: [0], models: [tiny], "
              "recipe: {epochs: 1}}\n")
SPEC_ARGS = "{tmp}/experiments/s.yaml -w {tmp} --yes"
GOOD_STORE = '{"sweeps": {"1": {"name": "s", "run_ids": [], "state": "done"}}}'


def store(text: str, bak: str = GOOD_STORE):
    """The workspace store file (and a good `.bak`) as given."""
    def step(tmp: Path, mp: Any) -> None:
        (tmp / ".sciml").mkdir(parents=True, exist_ok=True)
        (tmp / ".sciml" / "sciml.json").write_text(text)
        if bak is not None:
            (tmp / ".sciml" / "sciml.json.bak").write_text(bak)
    return step


def sweep_spec(tmp: Path, mp: Any) -> None:
    (tmp / "experiments").mkdir(parents=True, exist_ok=True)
    (tmp / "experiments" / "s.yaml").write_text(SWEEP_SPEC)


def finished_sweep(tmp: Path, mp: Any) -> None:
    """Sweep `s` recorded with its dataset present and every run done (result.json written)."""
    import json

    from sciml_tui.launch import plan_sweep, record_plan
    from sciml_tui.store import WorkspaceStore

    sweep_spec(tmp, mp)
    ws = WorkspaceStore(tmp)
    plan = plan_sweep(tmp / "experiments" / "s.yaml", ws)
    for d in plan.datasets:
        d.path.mkdir(parents=True, exist_ok=True)
        for k in ("train", "val", "test"):
            (d.path / f"{k}.h5").write_bytes(b"data")
    record_plan(ws, plan)
    for r in plan.runs:
        r.run_dir.mkdir(parents=True, exist_ok=True)
        (r.run_dir / "result.json").write_text(json.dumps({"status": "done", "test_error": 0.1}))
        ws.update_run(r.id, state="done", test_error=0.1)


def live_scheduler(tmp: Path, mp: Any) -> None:
    """This very process, recorded as the live scheduler of sweep `s`."""
    from sciml_tui.launch.procs import own_create_time
    from sciml_tui.store import WorkspaceStore

    WorkspaceStore(tmp).update_sweep("s", scheduler_pid=os.getpid(), scheduler_create_time=own_create_time(),
                                     state="running")


HELD_LOCKS: list[Any] = []


def store_locked(tmp: Path, mp: Any) -> None:
    """Another holder of the store lock, past a (shortened) timeout."""
    from filelock import FileLock

    mp.setattr("sciml_tui.store.workspace.LOCK_TIMEOUT_S", 0.2)
    lock = FileLock(str(tmp / ".sciml" / "sciml.json.lock"))
    lock.acquire()
    HELD_LOCKS.append(lock)  # held until the process ends; the folder is the case's own


def store_write_fails(code: int):
    def step(tmp: Path, mp: Any) -> None:
        def fail(path: Any, text: str) -> None:
            raise OSError(code, os.strerror(code), str(path))
        mp.setattr("sciml_tui.store.workspace.write_text", fail)
    return step


def env(name: str, value: str):
    def step(tmp: Path, mp: Any) -> None:
        mp.setenv(name, value)
    return step


# -- the cases ---------------------------------------------------------------------------------
CASES: list[Case] = [
    # data generate: sizes and bounds
    case("generate-n-1e9", "data generate poisson --n 1000000000 --out {tmp}/ds"),
    case("generate-n-4096", "data generate poisson --n 4096 --train 8 --val 4 --test 4 --out {tmp}/ds"),
    case("generate-n-odd", "data generate poisson --n 15 --out {tmp}/ds"),
    case("generate-train-1e11", "data generate poisson --train 100000000000 --out {tmp}/ds"),
    case("generate-train-zero", "data generate poisson --train 0 --out {tmp}/ds"),
    case("generate-poisson-range-0", "data generate poisson --range 0:5 " + SMALL + " --out {tmp}/ds"),
    case("generate-range-nan", "data generate poisson --range nan:5 " + SMALL + " --out {tmp}/ds"),
    case("generate-range-reversed", "data generate poisson --range 5:1 " + SMALL + " --out {tmp}/ds"),
    case("generate-range-text", "data generate poisson --range a:b " + SMALL + " --out {tmp}/ds"),
    case("generate-unknown-system", "data generate heat " + SMALL + " --out {tmp}/ds"),
    case("generate-workers-0", GEN + " --workers 0"),
    case("generate-seed-negative", GEN + " --seed -1"),
    case("generate-helmholtz-no-integer", "data generate helmholtz --range 1.2:1.8 --omega int " + SMALL +
         " --out {tmp}/ds"),
    case("generate-omega-bogus", "data generate helmholtz --omega maybe " + SMALL + " --out {tmp}/ds"),
    case("generate-out-is-file", "data generate poisson " + SMALL + " --out {tmp}/ds", file("ds")),
    case("generate-out-under-file", "data generate poisson " + SMALL + " --out {tmp}/f/ds", file("f")),
    case("generate-exists-no-overwrite", GEN, file("ds/train.h5", "precious")),
    # data generate: a bad day
    case("generate-disk-too-small", GEN, free_disk(1000)),
    case("generate-disk-full-halfway", GEN, write_fails(errno.ENOSPC)),
    case("generate-read-only-halfway", GEN, write_fails(errno.EROFS)),
    case("generate-quota-halfway", GEN, write_fails(errno.EDQUOT)),
    case("generate-overwrite-disk-full", GEN + " --overwrite", file("ds/train.h5", "old"), write_fails(errno.ENOSPC)),
    case("generate-no-memory", GEN, memory(1 << 20)),
    # data info: missing, foreign and crafted files
    case("info-missing", "data info {tmp}/none.h5"),
    case("info-folder", "data info {tmp}"),
    case("info-not-hdf5", "data info {tmp}/f.h5", file("f.h5", "not hdf5")),
    case("info-system-array", "data info {tmp}/f.h5", h5(system=np_array(1, 2))),
    case("info-sizes-bad-json", "data info {tmp}/f.h5", h5(system="poisson", sizes="{oops")),
    case("info-rejections-list", "data info {tmp}/f.h5", h5(tensor_width=2, system="helmholtz", rejections="[1]",
                                                            range_lo=1.0, range_hi=2.0)),
    case("info-range-lo-text", "data info {tmp}/f.h5", h5(system="poisson", range_lo="abc", range_hi=5.0)),
    case("info-range-hi-missing", "data info {tmp}/f.h5", h5(system="poisson", range_lo=1.0)),
    case("info-system-not-utf8", "data info {tmp}/f.h5", h5(system=np_array(b"\xff\xfe")[0])),
    case("info-tensor-text", "data info {tmp}/f.h5", h5(tensor=np_array(*[[b"a"] * 3] * 4))),
    case("info-verify-range-array", "data info --verify {tmp}/f.h5",
         h5(system="poisson", range_lo=np_array(1.0, 2.0), range_hi=5.0)),
    # train: workspace, run dir and config
    case("train-workspace-is-file", "train {tmp}/c.yaml --workspace {tmp}/ws", file("ws"),
         file("c.yaml", "mode: scratch\ndata: [{path: nowhere}]\n")),
    case("train-run-dir-is-file", "train {tmp}/c.yaml --run-dir {tmp}/r", file("r"),
         file("c.yaml", "mode: scratch\ndata: [{path: nowhere}]\n")),
    case("train-config-missing", "train {tmp}/none.yaml --workspace {tmp}"),
    case("train-config-not-mapping", "train {tmp}/c.yaml --workspace {tmp}", file("c.yaml", "- 1\n- 2\n")),
    case("train-set-without-value", "train {tmp}/c.yaml --set recipe.lr --workspace {tmp}",
         file("c.yaml", "mode: scratch\ndata: [{path: nowhere}]\n")),
    case("train-resume-without-run-dir", "train {tmp}/c.yaml --resume --workspace {tmp}",
         file("c.yaml", "mode: scratch\ndata: [{path: nowhere}]\n")),
    case("train-finetune-other-preset", "train {tmp}/ft.yaml --workspace {tmp}", checkpoint("pre.pt", "fno-1m"),
         ft_config("tiny")),
    # spec validation (dry run writes nothing)
    case("spec-duplicate-key", "run sweep {tmp}/spec.yaml -w {tmp} --dry-run",
         spec(f"datasets:\n  {DS}\nsweeps:\n  s:\n    dataset: d\n    n_train: [8]\n    n_train: [16]\n")),
    case("spec-n-train-true", "run sweep {tmp}/spec.yaml -w {tmp} --dry-run",
         spec(f"datasets:\n  {DS}\nsweeps:\n  s: {{dataset: d, n_train: [true]}}\n")),
    case("spec-n-train-above-pool", "run sweep {tmp}/spec.yaml -w {tmp} --dry-run",
         spec(f"datasets:\n  {DS}\nsweeps:\n  s: {{dataset: d, n_train: [8, 128]}}\n")),
    case("spec-poisson-range-0", "run sweep {tmp}/spec.yaml -w {tmp} --dry-run",
         spec("datasets:\n  d: {system: poisson, range: [0, 5], n: 16, sizes: {train: 8, val: 8, test: 8}}\n")),
    case("spec-n-val-above-pool", "run sweep {tmp}/spec.yaml -w {tmp} --dry-run",
         spec(f"datasets:\n  {DS}\nsweeps:\n  s: {{dataset: d, n_train: [8], n_val: 9}}\n")),
    case("spec-yes-as-seed", "run sweep {tmp}/spec.yaml -w {tmp} --dry-run",
         spec(f"datasets:\n  {DS}\nsweeps:\n  s: {{dataset: d, n_train: [8], seeds: [yes]}}\n")),
    case("spec-not-utf8", "run sweep {tmp}/spec.yaml -w {tmp} --dry-run", file("spec.yaml", b"\xff\xfe")),
    case("spec-missing", "run sweep {tmp}/none.yaml -w {tmp} --dry-run"),
    case("spec-n-4096", "run sweep {tmp}/spec.yaml -w {tmp} --dry-run",
         spec("datasets:\n  d: {system: poisson, range: [1, 5], n: 4096, sizes: {train: 8, val: 8, test: 8}}\n")),
    # store / launch
    case("status-workspace-missing", "status --workspace {tmp}/none"),
    case("status-store-empty", "status -w {tmp}", store(""), says="sciml.json.bak"),
    case("status-store-whitespace", "status -w {tmp}", store("  \n"), says="sciml.json.bak"),
    case("status-store-list", "status -w {tmp}", store("[]"), says="corrupt"),
    case("status-store-table-list", "status -w {tmp}", store('{"runs": []}'), says="corrupt"),
    case("status-store-row-number", "status -w {tmp}", store('{"runs": {"1": 5}}'), says="corrupt"),
    case("status-store-state-bogus", "status -w {tmp}", store('{"runs": {"1": {"id": "a", "state": "exploded"}}}'),
         says="corrupt"),
    case("status-store-empty-no-bak", "status -w {tmp}", store("", bak=None), says="corrupt"),
    case("status-sweep-run-ids-numbers", "status --sweep s -w {tmp}",
         store('{"sweeps": {"1": {"name": "s", "run_ids": [1, 2]}}}'), says="corrupt"),
    case("results-run-ids-numbers", "results s -w {tmp}",
         store('{"sweeps": {"1": {"name": "s", "run_ids": [1, 2]}}}'), says="corrupt"),
    case("logs-run-without-run-dir", "logs a -w {tmp}", store('{"runs": {"1": {"id": "a", "state": "done"}}}'),
         says="run_dir"),
    case("resume-run-without-run-dir", "resume s -w {tmp}",
         store('{"sweeps": {"1": {"name": "s", "run_ids": ["a"]}}, "runs": {"1": {"id": "a", "sweep": "s"}}}'),
         says="run_dir"),
    case("cancel-store-empty", "cancel s -w {tmp}", store(""), says="sciml.json.bak"),
    case("run-sweep-store-empty", "run sweep " + SPEC_ARGS, sweep_spec, store(""), says="sciml.json.bak"),
    case("rerun-live-scheduler", "run sweep --rerun " + SPEC_ARGS, finished_sweep, live_scheduler,
         says="already being run"),
    case("rerun-store-locked", "run sweep --rerun " + SPEC_ARGS, finished_sweep, store_locked, says="locked"),
    case("run-sweep-disk-too-small", "run sweep " + SPEC_ARGS, sweep_spec, free_disk(1000), says="free"),
    case("resume-store-disk-full", "resume s -w {tmp}", finished_sweep, store_write_fails(errno.ENOSPC),
         says="No space left"),
    case("resume-store-read-only", "resume s -w {tmp}", finished_sweep, store_write_fails(errno.EROFS),
         says="Read-only"),
    case("run-sweep-train-entry-not-json", "run sweep " + SPEC_ARGS, finished_sweep,
         env("SCIML_TRAIN_ENTRY", "python -m x"), says="SCIML_TRAIN_ENTRY"),
    case("run-sweep-train-entry-not-list", "run sweep " + SPEC_ARGS, finished_sweep,
         env("SCIML_TRAIN_ENTRY", '{"a": 1}'), says="SCIML_TRAIN_ENTRY"),
    case("slurm-opt-array-abbreviated", "run sweep --backend slurm --slurm-opt arr=0-3 " + SPEC_ARGS, sweep_spec,
         says="array"),
    case("slurm-opt-dependency-abbreviated", "run sweep --backend slurm --slurm-opt dep=afterok:1 " + SPEC_ARGS,
         sweep_spec, says="dependency"),
    case("slurm-opt-output-abbreviated", "run sweep --backend slurm --slurm-opt out=x " + SPEC_ARGS, sweep_spec,
         says="output"),
]
