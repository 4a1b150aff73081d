"""The resolved configuration of one training run (saved as `config.yaml` in its run dir).

This is the contract between the sweep planner (which writes it), the training entry point
(which reads it) and the dashboard (which shows it). Unknown keys are errors.
"""

from __future__ import annotations

from typing import Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator

Mode = Literal["pretrain", "finetune", "scratch", "zeroshot"]
Layout = Literal["compact", "union"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DatasetRef(_Strict):
    """A dataset folder holding train.h5, val.h5 and test.h5, with a mixture weight."""

    path: str
    weight: float = Field(1.0, gt=0)


class ModelConfig(_Strict):
    preset: Optional[str] = None  # a name from `sciml models`; width/modes win if given
    width: Optional[int] = Field(None, ge=1)
    modes: Optional[int] = Field(None, ge=1)
    layers: int = Field(4, ge=1)


class RecipeConfig(_Strict):
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    epochs: int = Field(500, ge=1)
    batch_size: int = Field(128, ge=1)  # effective batch is min(batch_size, n_train)
    schedule: Literal["cosine", "constant"] = "cosine"
    # checkpoints (never change the numbers: a resume is exact from any of them)
    checkpoint_minutes: float = Field(10.0, gt=0)  # wall-clock cadence; also at the end and on SIGTERM
    checkpoint_every: Optional[int] = Field(None, ge=1)  # and every K epochs when set
    # validation cadence (sciml_tui/learning/cadence.py); val_share None: every epoch, whole split
    val_share: Optional[float] = Field(0.1, gt=0)
    val_min_evals: int = Field(10, ge=1)
    val_min_samples: int = Field(128, ge=1)
    # epochs validated whatever the cadence says (the lr search's rungs compare runs there)
    val_extra_epochs: list[int] = Field(default_factory=list, max_length=64)


class RunConfig(_Strict):
    mode: Mode
    data: list[DatasetRef] = Field(min_length=1)  # >1 entries: a pre-training mixture
    layout: Layout = "compact"  # mixtures require "union"
    n_train: Optional[int] = Field(None, ge=1)  # strided subset of the training pool
    subset_offset: int = Field(0, ge=0)  # shifts the strided subset in its stride (0: the seed's)
    n_val: Optional[int] = Field(None, ge=1)  # None: full val split
    n_test: Optional[int] = Field(None, ge=1)  # None: full test split
    init_checkpoint: Optional[str] = None  # finetune / zeroshot: a checkpoint file
    model: ModelConfig = ModelConfig(preset="tiny")
    recipe: RecipeConfig = RecipeConfig()
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    precision: Literal["fp32", "tf32", "bf16"] = "fp32"
    compile: bool = False
    threads: Optional[int] = Field(None, ge=1)  # torch.set_num_threads for this process
    # pause (checkpoint, exit as preempted) once this epoch is done: the lr search's rungs
    stop_after_epoch: Optional[int] = Field(None, ge=1)

    @model_validator(mode="after")
    def _check(self) -> "RunConfig":
        if self.mode in ("finetune", "zeroshot") and not self.init_checkpoint:
            raise ValueError(f"mode {self.mode!r} needs init_checkpoint")
        if self.mode in ("pretrain", "scratch") and self.init_checkpoint:
            raise ValueError(f"mode {self.mode!r} does not take init_checkpoint")
        if len(self.data) > 1 and self.layout != "union":
            raise ValueError("a mixture of several datasets needs layout: union")
        return self


def run_config_for(mode: Mode, parts: list[tuple[str, float]], model: Union[str, dict, None] = None,
                   **fields: Any) -> RunConfig:
    """The one assembly of a run config from dataset folders with weights and a model preset name
    (or architecture): the sweep planner and `sciml train` both build their runs here. Several
    datasets are a mixture, in the union layout unless `layout` is given."""
    fields.setdefault("layout", "union" if len(parts) > 1 else "compact")
    if model is not None:
        fields["model"] = {"preset": model} if isinstance(model, str) else model
    return RunConfig(mode=mode, data=[{"path": p, "weight": w} for p, w in parts], **fields)
