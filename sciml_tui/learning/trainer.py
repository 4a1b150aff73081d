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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import torch

from sciml_tui.errors import UserError
from sciml_tui.learning import checkpoint as ck
from sciml_tui.learning.cadence import late_gain, subset_rows, validation_plan
from sciml_tui.learning.config import RunConfig
from sciml_tui.learning.data import FieldSet, channels_for, load_splits, normalize, pool_scales
from sciml_tui.learning.distributed import Dist, all_reduce_sum, barrier, init_distributed, shutdown
from sciml_tui.learning.events import TrainingEvents
from sciml_tui.learning.fno import FNO2d
from sciml_tui.learning.metrics_log import MetricsLog
from sciml_tui.learning.preemption import StopRequest
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


@dataclass
class TrainState:
    """What the epoch loop carries from one epoch to the next (and `last.pt` restores)."""

    epoch: int = 0  # the last finished epoch
    step: int = 0  # optimizer steps so far
    best_val: float = math.inf  # on the evaluated epochs' validation samples
    best_epoch: int = 0  # 0: no epoch validated yet
    elapsed: float = 0.0
    best_weights: dict = field(default_factory=dict)
    best_unsaved: bool = False  # best weights newer than best.pt (written with the next checkpoint)
    partial_steps: int = 0  # steps of epoch `epoch + 1` already taken (a run stopped mid-epoch)
    partial_loss: float = 0.0  # their summed loss


class Trainer:
    def __init__(self, cfg: RunConfig, run_dir: Path, events: Optional[TrainingEvents] = None) -> None:
        self.cfg = cfg
        self.run_dir = Path(run_dir)
        self.events = events or TrainingEvents()
        self.dist, self.device = init_distributed(cfg.device)
        if not self.dist.main:
            self.events = TrainingEvents()
        self.ckpt_dir = self.run_dir / "checkpoints"
        self.checkpoints_written = 0
        self.paused_after: Optional[int] = None  # the epoch `stop_after_epoch` paused the run after

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
        resident = cfg.gpu_data == "auto"
        self.test = normalize(test, cfg.layout, self.scales, self.device, resident)
        self.val = normalize(val, cfg.layout, self.scales, self.device, resident)
        self.train = normalize(self.train_splits, cfg.layout, self.scales, self.device, resident) \
            if self.train_splits else None

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
        self._setup_optimization()
        state = TrainState(best_weights=copy.deepcopy(self.model.state_dict()))
        if resume:
            self._restore(state)
        rec = self.cfg.recipe
        self.stride = self.metrics.step_stride(self.steps_per_epoch * rec.epochs) if self.metrics else 1
        self.events.start({"mode": self.cfg.mode, "epochs": rec.epochs, "start_epoch": state.epoch + 1,
                           "steps_per_epoch": self.steps_per_epoch, "n_train": len(self.train), "batch": self.bs,
                           "params": self.params, "device": str(self.device), "precision": self.cfg.precision,
                           "world_size": self.dist.world, "val_epochs": len(self.val_plan.epochs),
                           "val_samples": self.val_plan.samples})
        stop = None
        epoch = state.epoch
        self.last_checkpoint_t = time.monotonic()
        with StopRequest() as self.stop_request:
            for epoch in range(state.epoch + 1, rec.epochs + 1):
                stop = self._pause_due(epoch, state) or self._run_epoch(epoch, state)
                if stop is not None:
                    break
        if self.metrics:
            self.metrics.flush()
        return self._finish(state, epoch, stop)

    def _setup_optimization(self) -> None:
        """Batch geometry, the (DDP / compiled) training module, optimizer, schedule, validation plan."""
        cfg, rec, dist_info = self.cfg, self.cfg.recipe, self.dist
        n = len(self.train)
        self.bs = min(rec.batch_size, n)
        if self.bs % dist_info.world:
            raise UserError(f"batch {self.bs} does not split over {dist_info.world} processes: choose a multiple")
        self.local_bs = self.bs // dist_info.world
        self.steps_per_epoch = n // self.bs
        self.train_module: torch.nn.Module = self.model
        if dist_info.active:
            self.train_module = torch.nn.parallel.DistributedDataParallel(
                self.model, device_ids=[self.device.index] if self.device.type == "cuda" else None)
        if cfg.compile:
            self.train_module = torch.compile(self.train_module)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=rec.lr, weight_decay=rec.weight_decay)
        self.sched = torch.optim.lr_scheduler.CosineAnnealingLR(self.opt, T_max=rec.epochs, eta_min=0.0) \
            if rec.schedule == "cosine" else None
        self.metrics = MetricsLog(self.run_dir) if dist_info.main else None
        self.val_plan = validation_plan(rec.epochs, n, len(self.val), batch_size=rec.batch_size, share=rec.val_share,
                                        min_evals=rec.val_min_evals, min_samples=rec.val_min_samples,
                                        extra=rec.val_extra_epochs)
        self.val_epochs = set(self.val_plan.epochs)
        self.val_seen = self.val if self.val_plan.samples == len(self.val) else \
            self.val.rows(subset_rows(len(self.val), self.val_plan.samples))

    def _restore(self, state: TrainState) -> None:
        """Continue from checkpoints/last.pt (and best.pt) when there is one."""
        last_path = self.ckpt_dir / "last.pt"
        if not last_path.is_file():
            self.events.message(f"no {last_path} yet: starting from the beginning")
            return
        last = ck.load_checkpoint(last_path)
        ck.check_compatible(last, last_path, arch=dict(self.model.arch), layout=self.cfg.layout,
                            channels=self.channels)
        self.model.load_state_dict(last["model"])
        self.opt.load_state_dict(last["optimizer"])
        if self.sched is not None:
            self.sched.load_state_dict(last["scheduler"])
        state.best_weights = self._best_state_for_resume(state.best_weights)
        state.epoch, state.best_val, state.best_epoch = last["epoch"], last["best_val_error"], last["best_epoch"]
        state.elapsed, state.step = last["elapsed_s"], last["global_step"]
        partial = last.get("partial") or {}
        state.partial_steps, state.partial_loss = partial.get("steps", 0), partial.get("loss_sum", 0.0)
        _set_rng_state(last.get("rng"))
        if self.metrics:
            self.metrics.restore(last.get("metrics_epochs", []), last.get("metrics_steps", []))
        where = f" and {state.partial_steps} steps of epoch {state.epoch + 1}" if state.partial_steps else ""
        self.events.message(f"resumed from {last_path} after epoch {last['epoch']}{where}")

    def _run_epoch(self, epoch: int, state: TrainState) -> Optional[tuple[str, str]]:
        """Train, validate (on the plan's epochs), checkpoint and log one epoch.

        None, or (status, message) when the run must stop: diverged, or preempted (checkpointed)."""
        t0 = time.perf_counter()
        train_loss = self._train_one_epoch(epoch, state)
        if train_loss is None:
            state.elapsed += time.perf_counter() - t0
            self._checkpoint(state)
            return "preempted", (f"stopped by {self.stop_request.signal_name} in epoch {epoch} after step "
                                 f"{state.step}: checkpointed; continue with --resume")
        lr = self.opt.param_groups[0]["lr"]
        if not math.isfinite(train_loss):
            return "diverged", (f"training loss became {train_loss} in epoch {epoch} (lr {lr:.3g}): "
                                "the run diverged; try a lower learning rate")
        train_time = time.perf_counter() - t0
        val_err = None
        if epoch in self.val_epochs:
            val_err = evaluate(self.model, self.val_seen, self.cfg.recipe.batch_size, self.device,
                               self.cfg.precision, self.dist)
            if not math.isfinite(val_err):
                return "diverged", f"validation error became {val_err} in epoch {epoch} (lr {lr:.3g}): the run diverged"
        if self.sched is not None:
            self.sched.step()
        state.epoch = epoch
        state.elapsed += time.perf_counter() - t0
        row = {"epoch": epoch, "train_loss": train_loss, "val_error": val_err, "lr": lr,
               "samples_per_s": self.steps_per_epoch * self.bs / max(train_time, 1e-9), "time_s": state.elapsed}
        if val_err is not None and val_err < state.best_val:
            state.best_val, state.best_epoch, state.best_unsaved = val_err, epoch, True
            state.best_weights = copy.deepcopy(self.model.state_dict())
        if self.metrics:
            self.metrics.add_epoch(row)
        if self._checkpoint_due(epoch):
            self._checkpoint(state)
        self.events.epoch(row)
        return None

    def _pause_due(self, epoch: int, state: TrainState) -> Optional[tuple[str, str]]:
        """Stop as preempted (checkpointed, resumable) before `epoch` when the config's
        `stop_after_epoch` is behind it: the lr search compares runs there."""
        pause = self.cfg.stop_after_epoch
        if pause is None or epoch <= pause:
            return None
        self._checkpoint(state)
        self.paused_after = state.epoch
        return "preempted", f"paused after epoch {state.epoch} for the lr search; continue with --resume"

    def _train_one_epoch(self, epoch: int, state: TrainState) -> Optional[float]:
        """One pass over a fresh (seed, epoch) permutation: the mean training loss over all ranks,
        or None when a stop was requested (the position is kept in `state` for the checkpoint)."""
        cfg, dist_info, bs, local_bs = self.cfg, self.dist, self.bs, self.local_bs
        self.train_module.train()
        perm = torch.randperm(len(self.train), generator=torch.Generator().manual_seed(cfg.seed * 1_000_003 + epoch))
        loss_sum = torch.full((), state.partial_loss, dtype=torch.float64, device=self.device)
        first, state.partial_steps, state.partial_loss = state.partial_steps, 0, 0.0
        for s in range(first, self.steps_per_epoch):
            if self._stop_requested():
                state.partial_steps, state.partial_loss = s, float(loss_sum)
                return None
            idx = perm[s * bs + dist_info.rank * local_bs: s * bs + (dist_info.rank + 1) * local_bs]
            x, y = self.train.batch(idx, self.device)
            with autocast_for(cfg.precision, self.device):
                pred = self.train_module(x)
            loss = (pred.float() - y).pow(2).sum(dim=(1, 2, 3)).mean()
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()
            loss_sum += loss.detach()
            state.step += 1
            recorded = self._record_step(state.step, epoch, loss)
            self.events.step(epoch, s + 1, recorded)
            if recorded is not None and not math.isfinite(recorded) and not dist_info.active:
                break  # the epoch sum is non-finite too: reported as diverged
        return float(all_reduce_sum(loss_sum, dist_info)) / (self.steps_per_epoch * dist_info.world)

    def _stop_requested(self) -> bool:
        """A SIGTERM seen by any rank stops all of them at the same step."""
        if not self.dist.active:
            return self.stop_request.requested
        flag = torch.tensor(int(self.stop_request.requested), device=self.device)
        return bool(all_reduce_sum(flag, self.dist).item())

    def _record_step(self, step: int, epoch: int, loss: torch.Tensor) -> Optional[float]:
        if step % self.stride:
            return None
        recorded = float(loss.detach())  # one host sync per recorded step only
        if self.metrics:
            self.metrics.add_step({"step": step, "epoch": epoch, "loss": recorded})
            self.metrics.maybe_flush()  # a time check; long epochs still show progress
        return recorded

    def _checkpoint_due(self, epoch: int) -> bool:
        rec = self.cfg.recipe
        return (epoch == rec.epochs or bool(rec.checkpoint_every and epoch % rec.checkpoint_every == 0)
                or time.monotonic() - self.last_checkpoint_t >= rec.checkpoint_minutes * 60)

    def _checkpoint(self, state: TrainState) -> None:
        """best.pt (when the best weights changed since it was written), then last.pt: a kill
        between the two leaves a best.pt newer than last.pt, which the replayed epochs reproduce."""
        self.last_checkpoint_t = time.monotonic()
        if not self.dist.main:
            return
        if state.best_unsaved:
            ck.save_checkpoint(self.ckpt_dir / "best.pt", {**self._meta(), "model": state.best_weights,
                                                           "epoch": state.best_epoch, "val_error": state.best_val})
            state.best_unsaved = False
        partial = {"steps": state.partial_steps, "loss_sum": state.partial_loss} if state.partial_steps else None
        ck.save_checkpoint(self.ckpt_dir / "last.pt", {
            **self._meta(), "model": self.model.state_dict(), "epoch": state.epoch, "partial": partial,
            "optimizer": self.opt.state_dict(), "scheduler": self.sched.state_dict() if self.sched else None,
            "best_val_error": state.best_val, "best_epoch": state.best_epoch, "elapsed_s": state.elapsed,
            "global_step": state.step, "rng": _rng_state(), "metrics_epochs": list(self.metrics.epochs),
            "metrics_steps": list(self.metrics.steps)})
        self.checkpoints_written += 1

    def _finish(self, state: TrainState, epochs_run: int, stop: Optional[tuple[str, str]]) -> dict:
        """The result. A finished run reports its best-validation weights: their error on the whole
        validation split (which picks the learning rate) and on the test split."""
        status, message = stop or ("done", None)
        result = {**self._base_result(), "status": status,
                  "best_val_error": state.best_val if state.best_epoch else None, "best_epoch": state.best_epoch,
                  "epochs_run": epochs_run if status != "preempted" else state.epoch, "elapsed_s": state.elapsed,
                  "message": message, "test_error": None, "val_epochs": len(self.val_plan.epochs),
                  "val_samples": self.val_plan.samples, "checkpoints_written": self.checkpoints_written}
        if status == "preempted":
            result["stopped_at"] = {"epoch": state.epoch + 1, "step": state.step,
                                    "signal": self.stop_request.signal_name}
            if self.paused_after is not None:
                result["stopped_at"]["paused_after"] = self.paused_after
        if status == "done":
            rows = self.metrics.epochs if self.metrics is not None else []
            result["late_gain"] = late_gain({r["epoch"]: r["val_error"] for r in rows if r.get("val_error") is not None},
                                            epochs_run)
            self.model.load_state_dict(state.best_weights)
            bs, prec = self.cfg.recipe.batch_size, self.cfg.precision
            if self.val_seen is not self.val:
                result["best_val_error"] = evaluate(self.model, self.val, bs, self.device, prec, self.dist)
            result["test_error"] = evaluate(self.model, self.test, bs, self.device, prec, self.dist)
        else:
            self.events.message(message)
        barrier(self.dist)
        return result
