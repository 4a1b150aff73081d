"""The pydantic models of an experiment spec file (`experiments/*.yaml`).

```yaml
datasets:                # name -> what to generate (data/<name>-<hash8>/{train,val,test}.h5)
  pre:  {system: poisson, range: [1, 5], n: 32, sizes: {train: 512, val: 64, test: 64}, seed: 1}
mixtures:                # name -> datasets with weights (pre-training on several systems)
  all: {datasets: {pre: 1.0, other: 1.0}}
pretrain:                # name -> pre-training run(s), one per model preset
  pre-1-5: {models: [tiny], data: pre, recipe: {epochs: 40}}
sweeps:                  # name -> downstream grid
  quickstart:
    dataset: down
    n_train: [8, 16, 32]
    lr: [1e-3]
    seeds: [0, 1]
    models: [tiny]
    inits: [scratch, {finetune: pre-1-5}, {zeroshot: pre-1-5}]
    recipe: {epochs: 60}
    n_val: 64
    n_test: 64
    target: 0.01           # eps of the data-efficiency factor shown by results
```
Unknown keys are errors. Cross references (dataset, mixture, pre-training and preset names)
are checked by `sciml_tui.specs.loader`, which reports every problem with its line.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import (BaseModel, ConfigDict, Discriminator, Field, StringConstraints, Tag, field_validator,
                      model_validator)

from sciml_tui.learning.config import DatasetRef, ModelConfig, RecipeConfig, RunConfig
from sciml_tui.learning.presets import PRESETS  # noqa: F401  (re-exported: specs.PRESETS)
from sciml_tui.physics.limits import MAX_N, MAX_SPLIT, MIN_N, grid_problem
from sciml_tui.specs.names import NAME_PATTERN


Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]
MAX_LIST = 1000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Sizes(_Strict):
    train: int = Field(ge=1, le=MAX_SPLIT)
    val: int = Field(ge=1, le=MAX_SPLIT)
    test: int = Field(ge=1, le=MAX_SPLIT)


class DatasetSpec(_Strict):
    system: Literal["poisson", "advdiff", "helmholtz"]
    range: tuple[float, float]
    # bounds in the schema for editors; the validator below words the reason for the loader
    n: int = Field(description="grid points per side (even, 8..1024)",
                   json_schema_extra={"minimum": MIN_N, "maximum": MAX_N})
    sizes: Sizes
    seed: int = Field(0, ge=0, le=2**63 - 1)

    @field_validator("range")
    @classmethod
    def _ordered(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not v[0] < v[1]:
            raise ValueError(f"range must be [lo, hi] with lo < hi, got [{v[0]}, {v[1]}]")
        return v

    @field_validator("n")
    @classmethod
    def _grid(cls, v: int) -> int:
        problem = grid_problem(v)
        if problem:
            raise ValueError(problem)
        return v


class MixtureSpec(_Strict):
    datasets: dict[Name, Annotated[float, Field(gt=0, le=1e6)]] = Field(min_length=1, max_length=64)


class PretrainSpec(_Strict):
    data: Name  # a dataset or a mixture
    model: Optional[Name] = None
    models: Optional[list[Name]] = Field(None, min_length=1, max_length=32)
    recipe: RecipeConfig = RecipeConfig()
    seed: int = Field(0, ge=0, le=2**31 - 1)
    n_train: Optional[int] = Field(None, ge=1, le=MAX_SPLIT)
    n_val: Optional[int] = Field(None, ge=1, le=MAX_SPLIT)
    n_test: Optional[int] = Field(None, ge=1, le=MAX_SPLIT)

    def model_names(self) -> list[str]:
        if self.models:
            return list(dict.fromkeys(self.models))
        return [self.model or "tiny"]


class NotifySpec(_Strict):
    """Alerts of a sweep (`sciml_tui/launch/notify.py`): a command gets each event as JSON on
    stdin, a webhook gets it as a POST body."""

    command: Optional[list[Annotated[str, StringConstraints(min_length=1)]]] = Field(None, min_length=1)
    webhook: Optional[str] = None  # an http:// or https:// URL
    # which events (the key is not `on`: YAML reads a bare `on` as the boolean true)
    events: list[Literal["finished", "failed", "diverged"]] = Field(["finished", "failed", "diverged"], min_length=1)
    timeout_s: float = Field(10.0, gt=0, le=120)

    @field_validator("webhook")
    @classmethod
    def _url(cls, v: Optional[str]) -> Optional[str]:
        if v is not None and not re.fullmatch(r"https?://\S+", v):
            raise ValueError(f"webhook must be an http:// or https:// URL, got {v!r}")
        return v


LrValue = Annotated[float, Field(gt=0, le=10)]


def _any_of(schema: dict[str, Any]) -> None:
    """The two forms of `lr` exclude each other anyway; `anyOf` is what editors handle best."""
    if "oneOf" in schema:
        schema["anyOf"] = schema.pop("oneOf")


class LrGrid(_Strict):
    """`lr: {grid: [...], adaptive: true, bounds: [lo, hi]}`: a grid that may grow past its ends."""

    grid: list[LrValue] = Field(min_length=1, max_length=64)
    # grow the grid, per (arm, model, N), past the end the validation choice sits on
    adaptive: bool = False
    bounds: tuple[LrValue, LrValue] = (1e-5, 1.0)

    @model_validator(mode="after")
    def _consistent(self) -> "LrGrid":
        lo, hi = self.bounds
        if not lo < hi:
            raise ValueError(f"bounds must be [lo, hi] with lo < hi, got [{lo:g}, {hi:g}]")
        if self.adaptive and len(set(self.grid)) < 2:
            raise ValueError("an adaptive grid needs two or more lrs (their spacing is the step it grows by)")
        outside = [v for v in self.grid if not lo <= v <= hi]
        if self.adaptive and outside:
            raise ValueError(f"lr {outside[0]:g} is outside the bounds [{lo:g}, {hi:g}]")
        return self


class HalvingSpec(_Strict):
    # fractions of the epoch budget at which the lr candidates of a point are compared
    rungs: list[Annotated[float, Field(gt=0, lt=1)]] = Field([0.25, 0.5], min_length=1, max_length=8)
    # the share of candidates each rung keeps (at least one)
    keep: float = Field(0.5, gt=0, lt=1)


class LrSearchSpec(_Strict):
    halving: Optional[HalvingSpec] = None


class SweepSpec(_Strict):
    dataset: Name
    n_train: list[Annotated[int, Field(ge=1, le=MAX_SPLIT)]] = Field(min_length=1, max_length=64)
    # a plain list, or a mapping (`LrGrid`); the tags hold "[" so that error paths leave them out
    lr: Annotated[Union[Annotated[list[LrValue], Field(min_length=1, max_length=64), Tag("[list]")],
                        Annotated[LrGrid, Tag("[grid]")]],
                  Discriminator(lambda v: "[grid]" if isinstance(v, (dict, LrGrid)) else "[list]")] = Field(
        [1e-3], json_schema_extra=_any_of)
    lr_search: LrSearchSpec = LrSearchSpec()
    seeds: list[Annotated[int, Field(ge=0, le=2**31 - 1)]] = Field([0], min_length=1, max_length=MAX_LIST)
    models: list[Name] = Field(["tiny"], min_length=1, max_length=32)
    # "scratch", {"finetune": <pretrain>} or {"zeroshot": <pretrain>}; checked by the loader
    inits: list[Any] = Field(["scratch"], min_length=1, max_length=64)
    recipe: RecipeConfig = RecipeConfig()
    n_val: Optional[int] = Field(None, ge=1, le=MAX_SPLIT)
    n_test: Optional[int] = Field(None, ge=1, le=MAX_SPLIT)
    # the error eps at which results report N_scratch(eps) / N_finetuned(eps)
    target: float = Field(1e-2, gt=0, lt=10)
    # per-seed: seed s trains on the strided subset shifted by s, so the spread over seeds
    # includes which N examples were drawn; fixed: every seed sees the seed study's subset
    subsets: Literal["per-seed", "fixed"] = "per-seed"
    notify: Optional[NotifySpec] = None  # alerts when the sweep finishes, a run fails or diverges

    @model_validator(mode="after")
    def _one_search(self) -> "SweepSpec":
        if self.lr_bounds() is not None and self.lr_search.halving is not None:
            raise ValueError("lr.adaptive and lr_search.halving cannot be combined: choose one")
        return self

    def lr_grid(self) -> list[float]:
        """The lrs every point starts with (an adaptive grid may add more)."""
        return list(self.lr.grid if isinstance(self.lr, LrGrid) else self.lr)

    def lr_bounds(self) -> Optional[tuple[float, float]]:
        """(lo, hi) of an adaptive grid, else None."""
        return tuple(self.lr.bounds) if isinstance(self.lr, LrGrid) and self.lr.adaptive else None


class Spec(_Strict):
    datasets: dict[Name, DatasetSpec] = Field(default_factory=dict, max_length=256)
    mixtures: dict[Name, MixtureSpec] = Field(default_factory=dict, max_length=256)
    pretrain: dict[Name, PretrainSpec] = Field(default_factory=dict, max_length=256)
    sweeps: dict[Name, SweepSpec] = Field(default_factory=dict, max_length=256)


class TrainSpec(RunConfig):
    """A `sciml train` config: one run in the spec files' words. `data` names datasets recorded
    in the workspace (name or id) or dataset folders, one, a list (a mixture), or a mapping of
    them to weights; `model` is a preset name (or width/modes). Resolved by
    `sciml_tui.specs.train_config` into a `RunConfig` through `learning.config.run_config_for`."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    data: Union[str, list[Union[str, DatasetRef]], dict[str, Annotated[float, Field(gt=0)]]]  # type: ignore[assignment]
    model: Union[str, ModelConfig, None] = None  # type: ignore[assignment]  # None: tiny, or the checkpoint's

    def _check(self) -> "TrainSpec":  # the resolved RunConfig checks mode, init and layout
        return self


def parse_init(item: Any) -> tuple[str, Optional[str]]:
    """("scratch", None) / ("finetune", pretrain) / ("zeroshot", pretrain); ValueError if malformed."""
    if item == "scratch":
        return "scratch", None
    if isinstance(item, dict) and len(item) == 1:
        (kind, ref), = item.items()
        if kind in ("finetune", "zeroshot") and isinstance(ref, str):
            return kind, ref
    raise ValueError("an init is `scratch`, `{finetune: <pretrain name>}` or `{zeroshot: <pretrain name>}`")
