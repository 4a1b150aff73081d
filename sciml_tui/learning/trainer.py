"""The training engine: pre-train, fine-tune, scratch and zero-shot for one RunConfig.

Recipe (the seed's): Adam (lr 1e-3, no weight decay), cosine schedule to 0 over the epochs,
stepped once per epoch; batch min(batch_size, N), incomplete last batch dropped; loss = sum
over pixels of the squared error, mean over the batch; metric = per-sample relative L2
error averaged over samples; keep the best-validation weights and report their test error.
Shuffling: a fresh permutation each epoch from a generator seeded by (seed, epoch), so a
resumed run sees exactly the batches an uninterrupted one would.
Under torchrun each rank takes its slice of every global batch (DDP averages the gradients,
which equals the single-process mean); rank 0 alone writes files.
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
from pathlib import Path
from typing import Optional

import torch

from sciml_tui.errors import UserError
from sciml_tui.learning import checkpoint as ck
from sciml_tui.learning.config import RunConfig
from sciml_tui.learning.data import FieldSet, channels_for, load_splits, normalize, pool_scales
from sciml_tui.learning.distributed import Dist, all_reduce_sum, barrier, init_distributed, shutdown
from sciml_tui.learning.events import TrainingEvents
from sciml_tui.learning.fno import FNO2d
from sciml_tui.learning.metrics_log import MetricsLog
from sciml_tui.learning.presets import resolve_model


def set_precision(precision: str) -> None:
    """fp32 is the reference; tf32 lets CUDA matmuls/convs use TF32 (no effect on CPU)."""
    tf32 = precision == "tf32"
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32


def autocast_for(precision: str, device: torch.device):
    """bf16 autocast for the pointwise layers; the spectral convs switch it off for the FFTs."""
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def relative_l2(pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-sample sqrt(sum (pred-y)^2 / sum y^2): (B,)."""
    num = (pred - y).pow(2).sum(dim=(1, 2, 3))
    den = y.pow(2).sum(dim=(1, 2, 3)).clamp_min(1e-30)
    return (num / den).sqrt()


@torch.no_grad()
def evaluate(model: torch.nn.Module, data: FieldSet, batch: int, device: torch.device, precision: str,
             dist_info: Dist = Dist()) -> float:
    """Mean per-sample relative L2 error over `data` (sharded over ranks, summed)."""
    was_training = model.training
    model.eval()
    total = torch.zeros((), dtype=torch.float64, device=device)
    idx = torch.arange(dist_info.rank, len(data), dist_info.world)
    for chunk in idx.split(batch):
        x, y = data.batch(chunk, device)
        with autocast_for(precision, device):
            pred = model(x)
        total += relative_l2(pred.float(), y).double().sum()
    model.train(was_training)
    total = all_reduce_sum(total, dist_info)
    return float(total) / max(1, len(data))


def _rng_state() -> dict:
    """Global RNG states (the recipe draws nothing from them after init; kept for exactness)."""
    state = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: Optional[dict]) -> None:
    if not state:
        return
    torch.set_rng_state(state["cpu"])
    if "cuda" in state and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state["cuda"])


class Trainer:
    def __init__(self, cfg: RunConfig, run_dir: Path, events: Optional[TrainingEvents] = None) -> None:
        self.cfg = cfg
        self.run_dir = Path(run_dir)
        self.events = events or TrainingEvents()
        self.dist, self.device = init_distributed(cfg.device)
        if not self.dist.main:
            self.events = TrainingEvents()
        self.ckpt_dir = self.run_dir / "checkpoints"

    # ---- setup -------------------------------------------------------------------------
    def _prepare(self) -> None:
        cfg = self.cfg
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        set_precision(cfg.precision)
        torch.manual_seed(cfg.seed)
        paths = [Path(d.path) for d in cfg.data]
        weights = [d.weight for d in cfg.data]
        init = ck.load_checkpoint(cfg.init_checkpoint) if cfg.init_checkpoint else None

        test = load_splits(paths, "test", weights, cfg.n_test)
        self.systems = sorted({s.system for s in test})
        self.channels = channels_for(cfg.layout, [s.system for s in test])
        arch = self._arch(init, len(self.channels))
        if init is not None:
            ck.check_compatible(init, cfg.init_checkpoint, arch=arch, layout=cfg.layout, channels=self.channels)
            self.scales = init["scales"]
        self.train_splits = None
        if cfg.mode != "zeroshot":
            self.train_splits = load_splits(paths, "train", weights, cfg.n_train, cfg.subset_offset)
            if init is None:
                self.scales = pool_scales(paths, cfg.layout)
        val = load_splits(paths, "val", weights, cfg.n_val)
        self.test = normalize(test, cfg.layout, self.scales, self.device)
        self.val = normalize(val, cfg.layout, self.scales, self.device)
        self.train = normalize(self.train_splits, cfg.layout, self.scales, self.device) if self.train_splits else None

        self.model = FNO2d(arch["in_channels"], arch["width"], arch["modes"], arch["layers"]).to(self.device)
        self.model.spectral[0].check_grid(*self.test.grid)
        if init is not None:
            self.model.load_state_dict(init["model"])
        self.params = sum(p.numel() for p in self.model.parameters())

    def _arch(self, init: Optional[dict], in_channels: int) -> dict:
        m = self.cfg.model
        if init is not None and (m == RunConfig.model_fields["model"].default or "model" not in self.cfg.model_fields_set):
            # a fine-tune / zero-shot config that leaves the model at its default takes the checkpoint's
            return dict(init["arch"])
        width, modes = resolve_model(m.preset, m.width, m.modes)
        return {"in_channels": in_channels, "width": width, "modes": modes, "layers": m.layers, "out_channels": 1}

    def _best_state_for_resume(self, fallback: dict) -> dict:
        """Weights of best.pt. It may be newer than last.pt (killed in between); the replayed
        epochs then reproduce it exactly, so the final best weights are the same either way."""
        path = self.ckpt_dir / "best.pt"
        if not path.is_file():
            return fallback
        return ck.load_checkpoint(path)["model"]

    def _meta(self) -> dict:
        return {"format": ck.FORMAT, "arch": dict(self.model.arch), "layout": self.cfg.layout,
                "channels": list(self.channels), "systems": list(self.systems), "scales": self.scales,
                "config": self.cfg.model_dump(mode="json")}

    # ---- public ------------------------------------------------------------------------
    def run(self, resume: bool = False) -> dict:
        try:
            self._prepare()
            if self.cfg.mode == "zeroshot":
                return self._zeroshot()
            return self._fit(resume)
        finally:
            shutdown(self.dist)

    def _base_result(self) -> dict:
        return {"n_train": len(self.train) if self.train is not None else None, "params": self.params,
                "device": str(self.device), "world_size": self.dist.world}

    def _zeroshot(self) -> dict:
        cfg = self.cfg
        self.events.start({"mode": cfg.mode, "epochs": 0, "params": self.params, "device": str(self.device)})
        bs = cfg.recipe.batch_size
        val_err = evaluate(self.model, self.val, bs, self.device, cfg.precision, self.dist)
        test_err = evaluate(self.model, self.test, bs, self.device, cfg.precision, self.dist)
        if self.dist.main:
            MetricsLog(self.run_dir).flush()
        return {**self._base_result(), "status": "done", "test_error": test_err, "best_val_error": val_err,
                "best_epoch": 0, "epochs_run": 0, "message": "zero-shot evaluation of " + str(cfg.init_checkpoint)}

    def _fit(self, resume: bool) -> dict:
        cfg, rec, dist_info = self.cfg, self.cfg.recipe, self.dist
        n = len(self.train)
        bs = min(rec.batch_size, n)
        if bs % dist_info.world:
            raise UserError(f"batch {bs} does not split over {dist_info.world} processes: choose a multiple")
        local_bs = bs // dist_info.world
        steps_per_epoch = n // bs
        core = self.model
        model: torch.nn.Module = core
        if dist_info.active:
            model = torch.nn.parallel.DistributedDataParallel(
                core, device_ids=[self.device.index] if self.device.type == "cuda" else None)
        if cfg.compile:
            model = torch.compile(model)
        opt = torch.optim.Adam(core.parameters(), lr=rec.lr, weight_decay=rec.weight_decay)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=rec.epochs, eta_min=0.0) \
            if rec.schedule == "cosine" else None

        metrics = MetricsLog(self.run_dir) if dist_info.main else None
        start_epoch, best_val, best_epoch, elapsed, step = 1, math.inf, 0, 0.0, 0
        best_state = copy.deepcopy(core.state_dict())
        last_path = self.ckpt_dir / "last.pt"
        if resume and last_path.is_file():
            last = ck.load_checkpoint(last_path)
            ck.check_compatible(last, last_path, arch=dict(core.arch), layout=cfg.layout, channels=self.channels)
            core.load_state_dict(last["model"])
            opt.load_state_dict(last["optimizer"])
            if sched is not None:
                sched.load_state_dict(last["scheduler"])
            best_state = self._best_state_for_resume(best_state)
            start_epoch, best_val, best_epoch = last["epoch"] + 1, last["best_val_error"], last["best_epoch"]
            elapsed, step = last["elapsed_s"], last["global_step"]
            _set_rng_state(last.get("rng"))
            if metrics:
                metrics.restore(last.get("metrics_epochs", []), last.get("metrics_steps", []))
            self.events.message(f"resumed from {last_path} after epoch {last['epoch']}")
        elif resume:
            self.events.message(f"no {last_path} yet: starting from the beginning")

        stride = metrics.step_stride(steps_per_epoch * rec.epochs) if metrics else 1
        self.events.start({"mode": cfg.mode, "epochs": rec.epochs, "start_epoch": start_epoch,
                           "steps_per_epoch": steps_per_epoch, "n_train": n, "batch": bs, "params": self.params,
                           "device": str(self.device), "precision": cfg.precision, "world_size": dist_info.world})
        status, message = "done", None
        epoch = start_epoch - 1
        for epoch in range(start_epoch, rec.epochs + 1):
            t0 = time.perf_counter()
            model.train()
            perm = torch.randperm(n, generator=torch.Generator().manual_seed(cfg.seed * 1_000_003 + epoch))
            loss_sum = torch.zeros((), dtype=torch.float64, device=self.device)
            for s in range(steps_per_epoch):
                idx = perm[s * bs + dist_info.rank * local_bs: s * bs + (dist_info.rank + 1) * local_bs]
                x, y = self.train.batch(idx, self.device)
                with autocast_for(cfg.precision, self.device):
                    pred = model(x)
                loss = (pred.float() - y).pow(2).sum(dim=(1, 2, 3)).mean()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                loss_sum += loss.detach()
                step += 1
                recorded = None
                if step % stride == 0:
                    recorded = float(loss.detach())  # one host sync per recorded step only
                    if metrics:
                        metrics.add_step({"step": step, "epoch": epoch, "loss": recorded})
                        metrics.maybe_flush()  # a time check; long epochs still show progress
                self.events.step(epoch, s + 1, recorded)
                if recorded is not None and not math.isfinite(recorded) and not dist_info.active:
                    break  # the epoch sum is non-finite too: reported as diverged below
            train_loss = float(all_reduce_sum(loss_sum, dist_info)) / (steps_per_epoch * dist_info.world)
            lr = opt.param_groups[0]["lr"]
            if not math.isfinite(train_loss):
                status = "diverged"
                message = (f"training loss became {train_loss} in epoch {epoch} (lr {lr:.3g}): "
                           "the run diverged; try a lower learning rate")
                break
            train_time = time.perf_counter() - t0
            val_err = evaluate(core, self.val, rec.batch_size, self.device, cfg.precision, dist_info)
            if not math.isfinite(val_err):
                status = "diverged"
                message = f"validation error became {val_err} in epoch {epoch} (lr {lr:.3g}): the run diverged"
                break
            if sched is not None:
                sched.step()
            elapsed += time.perf_counter() - t0
            row = {"epoch": epoch, "train_loss": train_loss, "val_error": val_err, "lr": lr,
                   "samples_per_s": steps_per_epoch * bs / max(train_time, 1e-9), "time_s": elapsed}
            if val_err < best_val:
                best_val, best_epoch = val_err, epoch
                best_state = copy.deepcopy(core.state_dict())
                if dist_info.main:
                    ck.save_checkpoint(self.ckpt_dir / "best.pt",
                                       {**self._meta(), "model": best_state, "epoch": epoch, "val_error": val_err})
            if dist_info.main and (epoch % rec.checkpoint_every == 0 or epoch == rec.epochs):
                ck.save_checkpoint(last_path, {
                    **self._meta(), "model": core.state_dict(), "epoch": epoch, "optimizer": opt.state_dict(),
                    "scheduler": sched.state_dict() if sched is not None else None, "best_val_error": best_val,
                    "best_epoch": best_epoch, "elapsed_s": elapsed, "global_step": step, "rng": _rng_state(),
                    "metrics_epochs": list(metrics.epochs) + [row], "metrics_steps": list(metrics.steps)})
            if metrics:
                metrics.add_epoch(row)
            self.events.epoch(row)
        if metrics:
            metrics.flush()
        result = {**self._base_result(), "status": status, "best_val_error": best_val if best_epoch else None,
                  "best_epoch": best_epoch, "epochs_run": epoch, "elapsed_s": elapsed, "message": message,
                  "test_error": None}
        if status == "done":
            core.load_state_dict(best_state)
            result["test_error"] = evaluate(core, self.test, rec.batch_size, self.device, cfg.precision, dist_info)
        else:
            self.events.message(message)
        barrier(dist_info)
        return result
