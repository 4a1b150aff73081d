"""What a plan will cost before it runs: sample-passes, bytes on disk and device time.

Pure arithmetic over a `Plan` and a calibration table (seconds per step measured by
`sciml_tui.learning.calibrate`); no torch, no files. Step time is modelled per
(model, grid) as t(batch) = overhead + per_sample * batch, fitted to the measured points;
a (model, grid) without its own measurement is scaled by FLOPs from the nearest measured
one, and with nothing measured on the device a nominal rate is used. Both are labelled
guesses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional

from sciml_tui.learning.cadence import ValidationPlan, validation_plan
from sciml_tui.learning.param_count import count_params
from sciml_tui.learning.presets import resolve_model
from sciml_tui.physics.systems import TENSOR_WIDTH  # coefficient channels stored per system

UNION_CHANNELS = 7  # f, D11, D22, D12, a1, a2, omega (learning.data.UNION_CHANNELS)
TRAIN_OVER_FORWARD = 3.0  # forward + backward + Adam step ~ 3 forward passes
# Nominal rates for a device with no measurement at all (labelled a guess): FLOP/s, s/step.
NOMINAL = {"cpu": (2e9, 2e-3), "cuda": (1.5e13, 4e-3)}
NOMINAL_STARTUP_S = 5.0  # a fresh process: imports, device init, data reads (guess when not measured)
# a run in a warm worker: its own data reads, model set-up and final evaluation outside the timed
# training (measured: median 0.30 s, 90th percentile 0.46 s over the quickstart's 167 runs, 2 CPU cores)
WARM_RUN_OVERHEAD_S = 0.3
DEFAULT_LIMIT_HOURS = 24.0


# ---- the cadence rules: the trainer's own (`learning/cadence.py`), so estimate and run agree ----
def validation_passes(epochs: int, n_train: int, n_val: int, batch_size: int, recipe: dict[str, Any]) -> ValidationPlan:
    """The validation plan the trainer follows for these shapes and recipe keys."""
    return validation_plan(epochs, n_train, n_val, batch_size=batch_size, share=recipe.get("val_share", 0.1),
                           min_evals=recipe.get("val_min_evals", 10), min_samples=recipe.get("val_min_samples", 128))


def checkpoint_writes(epochs: int, validations: int, checkpoint_every: Optional[int], seconds: float = 0.0,
                      checkpoint_minutes: float = 10.0) -> tuple[int, int]:
    """(best.pt writes at most, last.pt writes) of a run of `seconds`: both are written together
    every `checkpoint_minutes` of wall time, every `checkpoint_every` epochs when set, and at the
    end; best.pt only when a validation improved since the last write."""
    last = 1 + int(seconds // (checkpoint_minutes * 60))
    if checkpoint_every:
        last += (epochs - 1) // checkpoint_every  # epoch multiples before the last (the end writes anyway)
    return min(validations, last), last


# ---- per-run work ----------------------------------------------------------------------------
def fno_forward_flops(width: int, modes: int, layers: int, in_channels: int, grid: int) -> float:
    """Approximate FLOPs of one FNO2d forward pass on one sample (lift, Fourier layers, head)."""
    n2 = grid * grid
    fft = 5.0 * n2 * math.log2(max(n2, 2)) * width  # rfft2 + irfft2 of every channel
    spectral = 8.0 * width * width * 2 * modes * modes  # complex multiply-add on the kept modes
    pointwise = 2.0 * n2 * width * width
    lift = 2.0 * n2 * in_channels * width
    head = 2.0 * n2 * (2 * width * width + 2 * width)
    return lift + layers * (fft + spectral + pointwise) + head


@dataclass(frozen=True)
class RunWork:
    """What one run computes: shapes, passes and checkpoint writes."""

    id: str
    role: str
    model: str  # preset name, or w<width>-m<modes>-l<layers>
    width: int
    modes: int
    layers: int
    in_channels: int
    grid: int
    n_train: int  # 0 for zero-shot
    batch: int
    epochs: int  # 0 for zero-shot
    n_val: int
    n_test: int
    eval_batch: int
    checkpoint_every: Optional[int] = None
    checkpoint_minutes: float = 10.0
    recipe: dict[str, Any] = field(default_factory=dict, compare=False)  # the validation cadence keys

    @property
    def key(self) -> str:
        return f"{self.model}@{self.grid}"

    @property
    def train_steps(self) -> int:
        return self.epochs * (self.n_train // self.batch) if self.n_train else 0

    @property
    def train_passes(self) -> int:
        return self.train_steps * self.batch

    @property
    def val_plan(self) -> ValidationPlan:
        """Epochs validated during training and samples per validation (zero-shot: one full pass)."""
        if not self.epochs:
            return ValidationPlan([0], self.n_val)
        return validation_passes(self.epochs, self.n_train, self.n_val, self.batch, self.recipe)

    @property
    def validations(self) -> int:
        return len(self.val_plan.epochs)

    @property
    def final_val_passes(self) -> int:
        """A run validated on a subset measures its best weights once on the whole split."""
        return self.n_val if self.epochs and self.val_plan.samples < self.n_val else 0

    @property
    def eval_passes(self) -> int:
        return self.val_plan.passes + self.final_val_passes + self.n_test

    def eval_batches(self) -> int:
        chunks = lambda n: math.ceil(n / self.eval_batch)  # noqa: E731
        plan = self.val_plan
        return len(plan.epochs) * chunks(plan.samples) + chunks(self.final_val_passes) + chunks(self.n_test)

    @property
    def params(self) -> int:
        return count_params(self.in_channels, self.width, self.modes, self.layers)

    @property
    def flops(self) -> float:
        return fno_forward_flops(self.width, self.modes, self.layers, self.in_channels, self.grid)

    def checkpoint_bytes(self, seconds: float = 0.0) -> tuple[int, int]:
        """(bytes on disk when done, bytes written at most in a run of `seconds`): best = weights,
        last = weights + Adam."""
        if not self.epochs:
            return 0, 0
        weights = 4 * self.params
        best, last = checkpoint_writes(self.epochs, self.validations, self.checkpoint_every, seconds,
                                       self.checkpoint_minutes)
        return weights + 3 * weights, best * weights + last * 3 * weights


def _pool(units: list[Any], split: str, weights: Optional[list[float]] = None) -> int:
    sizes = [int(d.sizes[split]) for d in units]
    if split != "train" or len(sizes) == 1:
        return sum(sizes)
    w = weights or [1.0] * len(sizes)
    return int(min(p * sum(w) / wi for p, wi in zip(sizes, w)))  # the mixture the pools allow


def run_work(run: Any, datasets: dict[str, Any]) -> RunWork:
    """The work of one `RunUnit`, given the plan's `DatasetUnit`s by id."""
    cfg = run.config
    rec, m = cfg["recipe"], cfg["model"]
    units = [datasets[i] for i in run.datasets]
    width, modes = resolve_model(m.get("preset"), m.get("width"), m.get("modes"))
    name = m.get("preset") if not (m.get("width") or m.get("modes")) else f"w{width}-m{modes}-l{m['layers']}"
    in_ch = UNION_CHANNELS if cfg["layout"] == "union" else 1 + TENSOR_WIDTH.get(units[0].system, 3)
    zeroshot = cfg["mode"] == "zeroshot"
    n_train = 0 if zeroshot else int(cfg.get("n_train") or _pool(units, "train", [d["weight"] for d in cfg["data"]]))
    n_val = int(cfg.get("n_val") or _pool(units, "val"))
    return RunWork(id=run.id, role=run.role, model=str(name), width=width, modes=modes, layers=int(m["layers"]),
                   in_channels=in_ch, grid=int(units[0].n), n_train=n_train,
                   batch=max(1, min(int(rec["batch_size"]), n_train or 1)), epochs=0 if zeroshot else int(rec["epochs"]),
                   n_val=n_val, n_test=int(cfg.get("n_test") or _pool(units, "test")),
                   eval_batch=max(1, min(int(rec["batch_size"]), n_val)),
                   checkpoint_every=rec.get("checkpoint_every"),
                   checkpoint_minutes=float(rec.get("checkpoint_minutes") or 10.0),
                   recipe={k: rec[k] for k in ("val_share", "val_min_evals", "val_min_samples") if k in rec})


def dataset_bytes(system: str, grid: int, count: int) -> int:
    """Bytes of a split's arrays: fields (f, u) float32, tensor float32, f_measure float64."""
    per = 2 * grid * grid * 4 + TENSOR_WIDTH.get(system, 3) * 4 + 8 + (8 if system == "advdiff" else 0)
    return per * count


# ---- step times ------------------------------------------------------------------------------
@dataclass(frozen=True)
class StepModel:
    """Seconds per step at batch b: overhead + per_sample * b (train and eval apart)."""

    train: tuple[float, float]
    eval: tuple[float, float]
    source: str  # "measured", or why it is a guess
    guess: bool

    def train_s(self, batch: int) -> float:
        return self.train[0] + self.train[1] * batch

    def eval_s(self, batch: int) -> float:
        return self.eval[0] + self.eval[1] * batch


def fit_line(points: list[tuple[float, float]]) -> tuple[float, float]:
    """(overhead, slope) of t = a + c b by least squares; one point (or one batch): a = 0."""
    xs = [p[0] for p in points]
    if len(set(xs)) < 2:
        b, t = max(points)
        return 0.0, t / b
    mx = sum(xs) / len(xs)
    my = sum(p[1] for p in points) / len(points)
    c = sum((x - mx) * (t - my) for x, t in points) / sum((x - mx) ** 2 for x in xs)
    c = max(c, 1e-12)
    return max(0.0, my - c * mx), c


def _measured(entry: dict[str, Any]) -> StepModel:
    pts = entry["points"]
    return StepModel(fit_line([(p["batch"], p["train_s"]) for p in pts]),
                     fit_line([(p["batch"], p["eval_s"]) for p in pts]), "measured", False)


def step_model(work: RunWork, table: dict[str, Any], kind: str) -> StepModel:
    """The step time of `work` from the device's table: measured, scaled by FLOPs, or nominal."""
    entries = table.get("entries", {})
    if work.key in entries:
        return _measured(entries[work.key])
    if entries:
        ref_key, ref = min(entries.items(), key=lambda kv: abs(math.log(work.flops / _entry_flops(kv[1]))))
        base, scale = _measured(ref), work.flops / _entry_flops(ref)
        return StepModel((base.train[0], base.train[1] * scale), (base.eval[0], base.eval[1] * scale),
                         f"scaled by FLOPs from {ref_key}", True)
    rate, overhead = NOMINAL.get(kind, NOMINAL["cpu"])
    per = work.flops / rate
    return StepModel((overhead, per * TRAIN_OVER_FORWARD), (overhead / 2, per), "nominal rate, not calibrated", True)


def _entry_flops(entry: dict[str, Any]) -> float:
    return fno_forward_flops(entry["width"], entry["modes"], entry["layers"], entry["in_channels"], entry["grid"])


def run_seconds(work: RunWork, model: StepModel, startup_s: float = 0.0) -> float:
    """Device seconds of one run: its process start, training steps and evaluation steps."""
    return (startup_s + work.train_steps * model.train_s(work.batch)
            + work.eval_batches() * model.eval_s(work.eval_batch))


# ---- the estimate of a plan ------------------------------------------------------------------
@dataclass
class CostEstimate:
    device: str
    slots: int
    warm_workers: bool = False  # one process per slot that runs one run after another
    runs: int = 0
    finished: int = 0
    train_passes: int = 0
    eval_passes: int = 0
    dataset_bytes_new: int = 0
    dataset_bytes_all: int = 0
    checkpoint_bytes: int = 0
    checkpoint_write_bytes: int = 0
    device_seconds: float = 0.0
    wall_seconds: float = 0.0
    guesses: dict[str, str] = field(default_factory=dict)  # model@grid -> why its time is a guess
    limit_hours: float = DEFAULT_LIMIT_HOURS

    @property
    def device_hours(self) -> float:
        return self.device_seconds / 3600.0

    @property
    def over_limit(self) -> bool:
        return self.device_hours > self.limit_hours

    def to_dict(self) -> dict[str, Any]:
        return {"device": self.device, "slots": self.slots, "warm_workers": self.warm_workers,
                "runs": self.runs, "finished": self.finished,
                "train_sample_passes": self.train_passes, "eval_sample_passes": self.eval_passes,
                "dataset_bytes_new": self.dataset_bytes_new, "dataset_bytes_all": self.dataset_bytes_all,
                "checkpoint_bytes": self.checkpoint_bytes, "checkpoint_write_bytes": self.checkpoint_write_bytes,
                "device_hours": self.device_hours, "wall_hours": self.wall_seconds / 3600.0,
                "guess": bool(self.guesses), "guesses": dict(self.guesses),
                "limit_hours": self.limit_hours, "over_limit": self.over_limit}

    def lines(self) -> list[str]:
        slots = f"{self.slots} slot{'s' if self.slots != 1 else ''}"
        slots += ", warm workers" if self.warm_workers else ", a process per run"
        out = [f"cost estimate: {self.runs} run(s) to run ({self.finished} finished skipped) on {self.device}, {slots}",
               f"  training    {self.train_passes:,} sample-passes; validation+test {self.eval_passes:,} forward passes",
               f"  disk        datasets {human_bytes(self.dataset_bytes_new)} to generate "
               f"({human_bytes(self.dataset_bytes_all)} in all); checkpoints {human_bytes(self.checkpoint_bytes)} "
               f"when done, up to {human_bytes(self.checkpoint_write_bytes)} written",
               f"  time        {human_hours(self.device_seconds)} device time, {human_hours(self.wall_seconds)} wall"]
        if self.guesses:
            which = ", ".join(f"{k} ({v})" for k, v in sorted(self.guesses.items()))
            out.append(f"  (a guess for {which}; measure with --calibrate)")
        if self.over_limit:
            out.append(warning_line(self))
        return out


def warning_line(est: CostEstimate) -> str:
    return (f"warning: about {est.device_hours:,.1f} device-hours, above the limit of {est.limit_hours:g} "
            "(--max-device-hours, or max_device_hours in .sciml/settings.json)")


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024.0
    return f"{n:.1f} TiB"


def human_hours(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:,.1f} h"


def estimate(plan: Any, table: dict[str, Any], device: str, kind: str = "cpu", slots: int = 1,
             limit_hours: Optional[float] = None, pending_only: bool = True,
             warm_workers: bool = False) -> CostEstimate:
    """The cost of launching `plan` (its pending units; every unit with `pending_only=False`).

    A process per run (`warm_workers=False`, and every Slurm array task) pays the measured
    start-up for each run; warm workers pay it once per slot used and `WARM_RUN_OVERHEAD_S` per run.
    """
    est = CostEstimate(device=device, slots=max(1, slots), warm_workers=warm_workers,
                       limit_hours=DEFAULT_LIMIT_HOURS if limit_hours is None else limit_hours)
    by_id = {d.id: d for d in plan.datasets}
    for d in plan.datasets:
        nbytes = sum(dataset_bytes(d.system, d.n, int(c)) for c in d.sizes.values())
        est.dataset_bytes_all += nbytes
        est.dataset_bytes_new += 0 if d.exists else nbytes
    stage = {"pretrain": [0.0, 0.0, 0], "sweep": [0.0, 0.0, 0]}  # device s, longest s, runs
    startup = float(table.get("startup_s", NOMINAL_STARTUP_S))
    for r in plan.runs:
        if pending_only and not r.pending:
            est.finished += 1
            continue
        work = run_work(r, by_id)
        model = step_model(work, table, kind)
        if model.guess:
            est.guesses[work.key] = model.source
        secs = run_seconds(work, model, WARM_RUN_OVERHEAD_S if warm_workers else startup)
        keep, written = work.checkpoint_bytes(secs)
        est.runs += 1
        est.train_passes += work.train_passes
        est.eval_passes += work.eval_passes
        est.checkpoint_bytes += keep
        est.checkpoint_write_bytes += written
        est.device_seconds += secs
        s = stage["pretrain" if r.role == "pretrain" else "sweep"]
        s[0], s[1], s[2] = s[0] + secs, max(s[1], secs), s[2] + 1
    if est.runs and "startup_s" not in table:
        est.guesses["run start-up"] = "not measured"
    # pre-training runs before the points that need it; each stage spreads over the slots
    est.wall_seconds = sum(max(s[0] / min(est.slots, max(1, s[2])), s[1]) for s in stage.values())
    if warm_workers and est.runs:  # the workers start together, once
        est.device_seconds += startup * min(est.slots, est.runs)
        est.wall_seconds += startup
    return est


def estimate_in_workspace(plan: Any, root: Any, device: Any, limit_override: Optional[float] = None,
                          pending_only: bool = True, warm_workers: bool = True) -> CostEstimate:
    """`estimate` with the workspace's calibration for `device` (a calibrate.DeviceInfo) and its limit;
    warm workers unless told otherwise (the local backend's default)."""
    from sciml_tui.learning.calibrate import device_table, limit_hours

    return estimate(plan, device_table(root, device), device.label, device.kind, device.slots,
                    limit_hours(root, limit_override), pending_only, warm_workers)


def plan_works(plan: Any, pending_only: bool = True) -> list[RunWork]:
    """The work of each (pending) run of `plan`: what a calibration measures."""
    by_id = {d.id: d for d in plan.datasets}
    return [run_work(r, by_id) for r in plan.runs if r.pending or not pending_only]
