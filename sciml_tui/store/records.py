"""Typed store records and the one run-state vocabulary every room uses.

The store file keeps its JSON shape: the states are `str` enums (they serialize as their
value), and a record written back gives the same keys it was read with. `parse_record` is the
one place where a stored dict becomes a record; a dict with the wrong types raises
`RecordInvalid`, which the store reports as a corrupt store.

Records also answer `rec["field"]` / `rec.get("field")` with the stored key set, so code that
reads them as mappings (the dashboard, the results tables) sees exactly what the file holds.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, ClassVar, Iterator, Optional, Union


class _Vocabulary(str, Enum):
    """A state that is its string: `state == "done"`, f-strings and JSON all give the value."""

    __str__ = str.__str__
    __format__ = str.__format__


class RunState(_Vocabulary):
    """A run's state; declared in the order results count them."""

    DONE = "done"
    FAILED = "failed"
    DIVERGED = "diverged"
    RUNNING = "running"
    QUEUED = "queued"
    CANCELLED = "cancelled"
    PRUNED = "pruned"  # stopped early by the lr search (successive halving): its lr lost at a rung


# A relative L2 error above 1 is worse than predicting zero everywhere: every view flags it.
WORSE_THAN_ZERO = 1.0
WORSE_MARK = "!"


def worse_than_zero(err: Any) -> bool:
    return isinstance(err, (int, float)) and not isinstance(err, bool) and err > WORSE_THAN_ZERO


# never run again (a diverged run is an answer: that lr is too high; a pruned one lost a rung)
FINISHED = frozenset({RunState.DONE, RunState.DIVERGED, RunState.PRUNED})
# waiting for or holding a process
ACTIVE = frozenset({RunState.QUEUED, RunState.RUNNING})
# what a run's result.json may report
RESULT_STATES = frozenset({RunState.DONE, RunState.DIVERGED, RunState.FAILED})
# runs that make a sweep end `failed`
UNSUCCESSFUL = frozenset({RunState.FAILED, RunState.CANCELLED})
# the order in which counts are listed (sweep tables, results counts)
COUNT_ORDER = (RunState.DONE, RunState.RUNNING, RunState.QUEUED, RunState.FAILED, RunState.DIVERGED,
               RunState.CANCELLED, RunState.PRUNED)


class SweepState(_Vocabulary):
    PLANNED = "planned"
    RUNNING = "running"
    STOPPED = "stopped"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


def sweep_outcome(states: list[Any], stopped: bool = False) -> SweepState:
    """How a sweep ends given its runs' states (`stopped`: its scheduler was told to stop)."""
    if stopped or any(s in ACTIVE for s in states):
        return SweepState.STOPPED
    if any(s in UNSUCCESSFUL for s in states):
        return SweepState.FAILED
    return SweepState.DONE


class Liveness(_Vocabulary):
    """What a backend says about a launched run (its `launch.json`)."""

    PENDING = "pending"  # waiting in the backend's queue
    RUNNING = "running"
    GONE = "gone"  # no longer there: it finished, failed or was killed
    UNKNOWN = "unknown"  # the backend cannot be asked from here: change nothing


class DatasetState(_Vocabulary):
    PLANNED = "planned"
    GENERATING = "generating"
    READY = "ready"
    MISSING = "missing"
    FAILED = "failed"


class RecordInvalid(ValueError):
    """A stored record whose fields have the wrong types."""


Stamp = Union[float, str, None]  # epoch seconds; older workspaces hold ISO-8601 strings


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


_CHECKS = {
    "str": lambda v: isinstance(v, str),
    "int": _is_int,
    "number": _is_number,
    "stamp": lambda v: _is_number(v) or isinstance(v, str),
    "list": lambda v: isinstance(v, list),
    "list of str": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
    "dict": lambda v: isinstance(v, dict),
}


@dataclass(eq=False)
class _Record(Mapping):
    """Common machinery: typed fields, unknown keys kept in `extra`, the stored key set kept."""

    KEY: ClassVar[str] = "id"
    KINDS: ClassVar[dict[str, str]] = {}  # field -> kind of _CHECKS (None is always allowed)
    STATE: ClassVar[Optional[type]] = None

    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    _stored: frozenset = field(default=frozenset(), repr=False, compare=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "_Record":
        if not isinstance(data, (dict, Mapping)):
            raise RecordInvalid(f"expected a JSON object, got {type(data).__name__}")
        key = data.get(cls.KEY)
        if not isinstance(key, str) or not key:
            raise RecordInvalid(f"{cls.KEY!r} must be a non-empty string, got {key!r}")
        names, kinds = cls._field_names(), cls.KINDS
        known: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for name, value in data.items():
            if name not in names:
                extra[name] = value
                continue
            kind = kinds.get(name)
            if kind is not None and value is not None and not _CHECKS[kind](value):
                raise RecordInvalid(f"{key}: {name!r} should be {kind}, got {value!r}")
            known[name] = value
        if cls.STATE is not None and "state" in known:
            known["state"] = _state(cls.STATE, known["state"], key)
        return cls(**known, extra=extra, _stored=frozenset(data))

    def to_dict(self) -> dict[str, Any]:
        """The stored JSON shape: the keys it was read with plus any field set since."""
        out = {name: getattr(self, name) for name in self._present()}
        out.update(self.extra)
        return out

    def _present(self) -> Iterator[str]:
        """The declared fields the stored JSON has (or that were set since), in declaration order."""
        for name in self._field_order():
            if name in self._stored or getattr(self, name) is not None:
                yield name

    # read-only mapping view of `to_dict()`
    def __getitem__(self, key: str) -> Any:
        if key in self.extra:
            return self.extra[key]
        if key in self._field_names():
            value = getattr(self, key)
            if value is not None or key in self._stored:
                return value
        raise KeyError(key)

    @classmethod
    def _field_order(cls) -> tuple[str, ...]:
        order = cls.__dict__.get("_order")
        if order is None:
            order = tuple(f.name for f in dataclasses.fields(cls) if f.name not in ("extra", "_stored"))
            cls._order = order
        return order

    @classmethod
    def _field_names(cls) -> frozenset:
        names = cls.__dict__.get("_names")
        if names is None:
            names = cls._names = frozenset(cls._field_order())
        return names

    def __iter__(self) -> Iterator[str]:
        yield from self._present()
        yield from (k for k in self.extra if k not in self._field_names())

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key: object) -> bool:
        try:
            self[key]  # type: ignore[index]
        except KeyError:
            return False
        return True


def _state(kind: type, value: Any, key: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(s.value for s in kind)
        raise RecordInvalid(f"{key}: state {value!r} is not one of {allowed}") from None


# what a run's result.json gives its record (store.reconcile.fields_from_result)
RESULT_KEYS = ("test_error", "best_val_error", "best_epoch", "epochs_run", "late_gain", "elapsed_s", "params", "message")


@dataclass(eq=False)
class RunRecord(_Record):
    """One run (table `runs`); `config` is the resolved RunConfig as JSON."""

    KINDS: ClassVar[dict[str, str]] = {
        "sweep": "str", "role": "str", "init": "str", "model": "str", "run_dir": "str", "parent": "str",
        "device": "str", "message": "str", "log_tail": "str", "slurm_job_id": "str",
        "n_train": "int", "seed": "int", "pid": "int", "stopped_at_rung": "int", "lr": "number", "test_error": "number",
        "best_val_error": "number", "late_gain": "number", "created_at": "stamp", "started_at": "stamp", "ended_at": "stamp",
        "datasets": "list of str", "config": "dict"}
    STATE: ClassVar[type] = RunState

    id: str = ""
    state: RunState = RunState.QUEUED
    sweep: Optional[str] = None
    role: Optional[str] = None
    init: Optional[str] = None
    model: Optional[str] = None
    n_train: Optional[int] = None
    lr: Optional[float] = None
    seed: Optional[int] = None
    run_dir: Optional[str] = None
    parent: Optional[str] = None
    datasets: Optional[list] = None
    config: Optional[dict] = None
    pid: Optional[int] = None
    device: Optional[str] = None
    slurm_job_id: Optional[str] = None
    created_at: Stamp = None
    started_at: Stamp = None
    ended_at: Stamp = None
    test_error: Optional[float] = None
    best_val_error: Optional[float] = None
    message: Optional[str] = None
    log_tail: Optional[str] = None
    stopped_at_rung: Optional[int] = None  # pruned: the epoch of the rung its lr lost at

    @property
    def finished(self) -> bool:
        return self.state in FINISHED

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    @property
    def is_pretrain(self) -> bool:
        return self.role == "pretrain"


@dataclass(eq=False)
class SweepRecord(_Record):
    """One sweep (table `sweeps`): the runs it needs, in plan order, and who drives it. Its
    `state` is written from SweepState and read as stored (hand-made stores hold others)."""

    KEY: ClassVar[str] = "name"
    KINDS: ClassVar[dict[str, str]] = {
        "state": "str", "experiment": "str", "spec_path": "str", "backend": "str", "run_ids": "list of str", "slurm_jobs": "list",
        "scheduler_pid": "int", "scheduler_create_time": "number", "target": "number",
        "created_at": "stamp", "ended_at": "stamp", "lr_search": "dict", "lr_rungs": "dict",
        "engine": "dict"}
    name: str = ""
    state: Optional[str] = None
    experiment: Optional[str] = None
    spec_path: Optional[str] = None
    run_ids: Optional[list] = None
    target: Optional[float] = None
    backend: Optional[str] = None
    slurm_jobs: Optional[list] = None
    scheduler_pid: Optional[int] = None
    scheduler_create_time: Optional[float] = None
    created_at: Stamp = None
    ended_at: Stamp = None
    lr_search: Optional[dict] = None  # specs.plan.lr_search_settings of its spec
    lr_rungs: Optional[dict] = None  # halving decisions: "init|model|parent|N" -> [{"epoch", "scores", "kept"}]
    engine: Optional[dict] = None  # the launch's engine flags (precision, compile, gpu_data), for runs added later


@dataclass(eq=False)
class DatasetRecord(_Record):
    """One dataset (table `datasets`); `state` is kept as written (older stores used others)."""

    KINDS: ClassVar[dict[str, str]] = {
        "name": "str", "system": "str", "path": "str", "state": "str", "message": "str",
        "n": "int", "seed": "int", "range": "list", "sizes": "dict"}

    id: str = ""
    name: Optional[str] = None
    system: Optional[str] = None
    range: Optional[list] = None
    n: Optional[int] = None
    sizes: Optional[dict] = None
    seed: Optional[int] = None
    path: Optional[str] = None
    state: Optional[str] = None
    message: Optional[str] = None

    @property
    def ready(self) -> bool:
        return self.state == DatasetState.READY


RECORD_TYPES: dict[str, type] = {"runs": RunRecord, "sweeps": SweepRecord, "datasets": DatasetRecord}


def parse_record(table: str, data: Any) -> Any:
    """The record of `table` a stored dict describes (`RecordInvalid` when its types are wrong);
    tables without a record type (experiments) stay dicts."""
    kind = RECORD_TYPES.get(table)
    if kind is None:
        return dict(data)
    return kind.from_dict(data)
