"""Checkpoints: atomic writes, `weights_only=True` loads, compatibility checks.

A checkpoint is a plain dict (loadable with weights_only=True):
  format, arch {in_channels, width, modes, layers, out_channels}, layout, channels,
  systems, scales {f, coef}, config (the run's RunConfig as JSON), model (state dict),
  epoch; `best.pt` adds val_error; `last.pt` adds optimizer, scheduler, best_val_error,
  best_epoch, elapsed_s, global_step, rng, metrics rows and `partial` (the steps and summed
  loss of an epoch stopped midway by SIGTERM, else None): with best.pt, everything an exact
  resume needs.
"""

from __future__ import annotations

from pathlib import Path

import torch

from sciml_tui.atomic import atomic_path
from sciml_tui.errors import UserError

FORMAT = "sciml-fno/1"


def save_checkpoint(path: str | Path, payload: dict) -> None:
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load_checkpoint(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"checkpoint not found: {path}")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds for a damaged or foreign file
        raise UserError(f"{path} is not a readable checkpoint ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT or "model" not in ckpt:
        raise UserError(f"{path} is not a checkpoint written by this tool (format {FORMAT})")
    return ckpt


def check_compatible(ckpt: dict, path: str | Path, *, arch: dict | None, layout: str, channels: list[str]) -> None:
    """Refuse a checkpoint whose architecture or input layout differs from this run's."""
    if ckpt.get("layout") != layout:
        raise UserError(f"{path} was trained in the {ckpt.get('layout')} channel layout, this run uses {layout}: "
                        f"set layout: {ckpt.get('layout')}")
    if list(ckpt.get("channels", [])) != list(channels):
        raise UserError(f"{path} expects input channels {ckpt.get('channels')}, this run's data gives {channels}")
    if arch is not None:
        theirs = {k: ckpt["arch"].get(k) for k in arch}
        if theirs != arch:
            raise UserError(f"{path} holds a model {theirs}, this run asks for {arch}")


def checkpoint_arch(path: str | Path) -> dict:
    """The `arch` of a checkpoint, read without loading its weights (memory-mapped)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"checkpoint not found: {path}")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception:  # not in the zip format mmap needs, or damaged: the full load says which
        ckpt = load_checkpoint(path)
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT or not isinstance(ckpt.get("arch"), dict):
        raise UserError(f"{path} is not a checkpoint written by this tool (format {FORMAT})")
    return dict(ckpt["arch"])


def init_model(model: dict | None, init_checkpoint: str) -> dict:
    """The `model` section a fine-tune or zero-shot run trains: the checkpoint's architecture
    (named by its preset when one matches) when `model` is None, else `model` itself, which
    must then describe that architecture: training silently on the checkpoint's while the
    run says another preset would record a model the run never trained."""
    from sciml_tui.learning.presets import PRESETS, resolve_model

    arch = checkpoint_arch(init_checkpoint)
    theirs = (arch.get("width"), arch.get("modes"), arch.get("layers"))
    named = next((name for name, wm in PRESETS.items() if wm + (4,) == theirs), None)
    if model is None:
        return {"preset": named, "width": None if named else theirs[0], "modes": None if named else theirs[1],
                "layers": theirs[2]}
    width, modes = resolve_model(model.get("preset"), model.get("width"), model.get("modes"))
    ours = (width, modes, model.get("layers", 4))
    if ours != theirs:
        asked = model.get("preset") or f"width {width}, modes {modes}"
        held = named or f"width {theirs[0]}, modes {theirs[1]}"
        raise UserError(f"the config asks for model {asked} (width {ours[0]}, modes {ours[1]}, {ours[2]} layers) but "
                        f"{init_checkpoint} holds a model of {held} (width {theirs[0]}, modes {theirs[1]}, {theirs[2]} layers): "
                        f"name {held} or leave model out to take the checkpoint's")
    return model
