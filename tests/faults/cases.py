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
]
