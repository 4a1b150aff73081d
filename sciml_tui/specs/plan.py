"""Expand a spec into a plan: datasets -> pre-training runs -> sweep points, content-addressed.

Every unit's hash covers its resolved configuration and the hashes of what it depends on
(a run's datasets, a fine-tune's pre-training run), never machine paths or launch settings,
so the same spec always expands to the same ids and a rerun finds its finished work.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from sciml_tui.errors import UserError
from sciml_tui.learning.config import RunConfig, run_config_for
from sciml_tui.specs.loader import load_spec
from sciml_tui.specs.lr_search import adaptive_addition, growth, rung_epochs
from sciml_tui.specs.models import Spec, SweepSpec, parse_init
from sciml_tui.specs.names import safe_child
from sciml_tui.store.records import FINISHED

PLAN_VERSION = 2  # 2: validation cadence in the recipe (results differ from every-epoch validation)
MAX_POINTS = 200_000


def stable_hash(obj: Any) -> str:
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class DatasetUnit:
    name: str
    id: str
    hash: str
    system: str
    range: list[float]
    n: int
    sizes: dict[str, int]
    seed: int
    path: Path
    exists: bool = False

    def record(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "hash": self.hash, "system": self.system,
                "range": self.range, "n": self.n, "sizes": self.sizes, "seed": self.seed,
                "path": str(self.path), "state": "ready" if self.exists else "missing"}


@dataclass
class RunUnit:
    id: str
    hash: str
    sweep: str
    role: str  # pretrain | sweep
    init: str  # pretrain | scratch | finetune | zeroshot
    model: str
    n_train: Optional[int]
    lr: Optional[float]
    seed: int
    parent: Optional[str]
    datasets: list[str]
    config: dict[str, Any]
    run_dir: Path
    mixture: Optional[str] = None
    weights: Optional[list[float]] = None
    lr_bounds: Optional[list[float]] = None  # the bounds of an adaptive lr grid (results read them)
    state: str = "new"  # the store's state, or "new" when not recorded yet

    def record(self) -> dict[str, Any]:
        rec = {"id": self.id, "hash": self.hash, "sweep": self.sweep, "role": self.role,
               "init": self.init, "model": self.model, "n_train": self.n_train, "lr": self.lr,
               "seed": self.seed, "parent": self.parent, "datasets": self.datasets,
               "mixture": self.mixture, "weights": self.weights, "config": self.config,
               "run_dir": str(self.run_dir), "epochs": self.config["recipe"]["epochs"]}
        if self.lr_bounds is not None:
            rec["lr_bounds"] = self.lr_bounds
        return rec

    @property
    def pending(self) -> bool:
        return self.state not in FINISHED


@dataclass
class Plan:
    spec_path: Path
    spec_hash: str
    experiment: str
    sweeps: dict[str, list[str]]
    targets: dict[str, float] = field(default_factory=dict)
    notify: dict[str, Optional[dict[str, Any]]] = field(default_factory=dict)  # sweep -> its alerts
    lr_search: dict[str, dict[str, Any]] = field(default_factory=dict)  # sweep -> lr_search_settings()
    engine: dict[str, Any] = field(default_factory=dict)  # the RunConfig engine flags every run got
    datasets: list[DatasetUnit] = field(default_factory=list)
    runs: list[RunUnit] = field(default_factory=list)  # pre-training first, then points
    cost: Optional[Any] = None  # a specs.cost.CostEstimate, attached by whoever knows the device

    def to_run(self) -> dict[str, list[str]]:
        return {
            "generate": [d.id for d in self.datasets if not d.exists],
            "pretrain": [r.id for r in self.runs if r.role == "pretrain" and r.pending],
            "points": [r.id for r in self.runs if r.role == "sweep" and r.pending],
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "spec": str(self.spec_path), "spec_hash": self.spec_hash, "experiment": self.experiment,
            "sweeps": self.sweeps, "order": self.to_run(), "lr_search": self.lr_search,
            "datasets": [d.record() for d in self.datasets],
            "runs": [{**{k: v for k, v in r.record().items() if k != "config"}, "state": r.state} for r in self.runs],
            "cost": self.cost.to_dict() if self.cost is not None else None,
        }

    def summary_lines(self, max_points: int = 40) -> list[str]:
        order = self.to_run()
        out = [f"plan for {self.spec_path} (sweeps: {', '.join(self.sweeps) or 'none'})"]
        out.append(f"datasets ({len(self.datasets)}):")
        for d in self.datasets:
            tag = "exists  " if d.exists else "generate"
            sz = "/".join(str(d.sizes[k]) for k in ("train", "val", "test"))
            out.append(f"  {tag}  {d.id:<28} {d.system} [{d.range[0]:g}, {d.range[1]:g}] n={d.n} train/val/test {sz}")
        pre = [r for r in self.runs if r.role == "pretrain"]
        out.append(f"pre-training ({len(pre)}):")
        for r in pre:
            out.append(f"  {_tag(r)}  {r.id:<28} {r.model} on {r.mixture or ','.join(r.datasets)}, {r.config['recipe']['epochs']} epochs")
        for name, ids in self.sweeps.items():
            pts = [r for r in self.runs if r.id in set(ids) and r.role == "sweep"]
            counts: dict[str, int] = {}
            for r in pts:
                counts[r.init] = counts.get(r.init, 0) + 1
            todo = sum(r.pending for r in pts)
            by_init = ", ".join(f"{k} {v}" for k, v in counts.items())
            out.append(f"sweep {name}: {len(pts)} points ({by_init}): {todo} to run, {len(pts) - todo} finished")
            out += lr_search_lines(self.lr_search.get(name) or {}, pts)
            if len(pts) <= max_points:
                for r in pts:
                    n = "-" if r.n_train is None else str(r.n_train)
                    lr = "-" if r.lr is None else f"{r.lr:g}"
                    out.append(f"  {_tag(r)}  {r.init:<8} {r.model:<8} N={n:<6} lr={lr:<7} seed={r.seed}  {r.id}")
        if self.cost is not None:
            out += self.cost.lines()
        out.append(f"order: generate {len(order['generate'])} dataset(s) -> pre-train {len(order['pretrain'])} "
                   f"-> {len(order['points'])} point(s)")
        return out


def _tag(r: RunUnit) -> str:
    return {"new": "run     ", "done": "done    ", "diverged": "diverged"}.get(r.state, f"{r.state:<8}")[:8]


def lr_search_settings(sw: SweepSpec) -> dict[str, Any]:
    """What the scheduler and the results need of a sweep's lr search (kept in its sweep record):
    `{"adaptive": {"bounds": [lo, hi]}}`, `{"halving": {"rungs", "keep"}}` or `{}`."""
    bounds = sw.lr_bounds()
    if bounds is not None:
        return {"adaptive": {"bounds": list(bounds)}}
    if sw.lr_search.halving is not None and len(set(sw.lr_grid())) > 1:
        return {"halving": sw.lr_search.halving.model_dump(mode="json")}
    return {}


def lr_search_lines(settings: dict[str, Any], pts: list[RunUnit]) -> list[str]:
    """The dry run's account of a sweep's lr search: what an adaptive grid may still add, or
    where halving compares the candidates."""
    trained = [r for r in pts if r.lr is not None]
    if not trained:
        return []
    grid = sorted({r.lr for r in trained})
    if "adaptive" in settings:
        lo, hi = settings["adaptive"]["bounds"]
        below, above = growth(grid, (lo, hi), "low"), growth(grid, (lo, hi), "high")
        may = "; ".join(f"{side} " + ", ".join(f"{v:g}" for v in vals) for side, vals in
                        (("below:", below), ("above:", above)) if vals) or "nothing (the grid spans the bounds)"
        return [f"  adaptive lr in [{lo:g}, {hi:g}]: at each (arm, model, N) whose chosen lr is at an edge once "
                f"its runs finish, the next lr on that side is added; may add {may} "
                "(the cost estimate counts only the runs planned so far)"]
    if "halving" in settings:
        h = settings["halving"]
        epochs = sorted({r.config["recipe"]["epochs"] for r in trained})
        rungs = ", ".join(str(e) for e in rung_epochs(epochs[0], h["rungs"]))
        return [f"  lr search by successive halving: candidates compared at epoch(s) {rungs or 'none'} of "
                f"{epochs[0]}, keeping {h['keep']:g} of them at each; the others stop there (state pruned; "
                "the cost estimate counts every candidate to the end: an upper bound)"]
    return []


def expand(spec: Spec, spec_path: Path, workspace: Path, sweeps: Optional[list[str]] = None,
           store_runs: Optional[list[Any]] = None, engine: Optional[dict[str, Any]] = None) -> Plan:
    """Expand `spec` (already validated) into units rooted at `workspace`. Writes nothing.

    With `store_runs` each unit's state is read from them, and an adaptive lr grid gains the
    lrs its finished points call for (content-addressed: the same records add the same runs).
    `engine` holds the RunConfig engine flags of every run (precision, compile, gpu_data)."""
    names = list(spec.sweeps) if not sweeps else sweeps
    for s in names:
        if s not in spec.sweeps:
            raise UserError(f"{spec_path}: no sweep named {s!r} (it has: {', '.join(spec.sweeps) or 'none'})")
    plan = Plan(spec_path=Path(spec_path), spec_hash=stable_hash(spec.model_dump(mode="json")),
                experiment=Path(spec_path).stem, sweeps={s: [] for s in names}, engine=dict(engine or {}))
    units = _Expander(spec, Path(workspace).absolute(), engine)
    points = 0
    for sname in names:
        points += _point_count(spec, sname)
        if points > MAX_POINTS:
            raise UserError(f"{spec_path}: the sweeps expand to more than {MAX_POINTS} points")
        plan.sweeps[sname] = units.sweep(sname)
        plan.targets[sname] = spec.sweeps[sname].target
        notify = spec.sweeps[sname].notify
        plan.notify[sname] = notify.model_dump(mode="json") if notify is not None else None
        plan.lr_search[sname] = lr_search_settings(spec.sweeps[sname])
    records = {r.get("id"): r for r in store_runs or []}
    for sname in names:
        if "adaptive" in plan.lr_search[sname]:
            _grow_adaptive(units, sname, plan.sweeps[sname], records, plan.lr_search[sname]["adaptive"]["bounds"])
    plan.datasets = list(units.datasets.values())
    plan.runs = sorted(units.runs.values(), key=lambda r: r.role != "pretrain")
    return annotate(plan, list(records.values()))


def _grow_adaptive(units: "_Expander", sname: str, ids: list[str], records: dict[str, Any],
                   bounds: list[float]) -> None:
    """Add to `ids`, point by point, the lr `adaptive_addition` asks for, until none asks."""
    grown = True
    while grown:
        grown = False
        groups: dict[tuple, list[RunUnit]] = {}
        for rid in ids:
            r = units.runs[rid]
            if r.role == "sweep" and r.lr is not None:
                groups.setdefault((r.init, r.model, r.parent, r.n_train), []).append(r)
        for (kind, model, parent, n), group in groups.items():
            rows = [(r.lr, str((records.get(r.id) or {}).get("state") or "new"),
                     (records.get(r.id) or {}).get("best_val_error")) for r in group]
            lr = adaptive_addition(rows, bounds)
            if lr is None:
                continue
            parent_unit = units.runs[parent] if parent else None
            ids.extend(u.id for u in units.trained_points(sname, kind, model, parent_unit, ns=[n], lrs=[lr]))
            grown = True


def _point_count(spec: Spec, sname: str) -> int:
    sw = spec.sweeps[sname]
    grid = len(sw.n_train) * len(sw.lr_grid()) * len(sw.seeds)
    per_init = {"scratch": grid, "finetune": grid, "zeroshot": 1}
    return sum(per_init[kind] for kind, _ in map(parse_init, sw.inits)) * len(sw.models)


class _Expander:
    """Builds the units of one expansion, each once: datasets, pre-training runs, sweep points."""

    def __init__(self, spec: Spec, workspace: Path, engine: Optional[dict[str, Any]] = None) -> None:
        self.spec = spec
        self.workspace = workspace
        self.engine = engine or {}  # RunConfig engine flags for every run (precision, compile, gpu_data)
        self.datasets: dict[str, DatasetUnit] = {}
        self.runs: dict[str, RunUnit] = {}
        self.pretrains: dict[tuple[str, str], RunUnit] = {}

    def dataset(self, name: str) -> DatasetUnit:
        if name not in self.datasets:
            d = self.spec.datasets[name]
            sizes = d.sizes.model_dump()
            h = stable_hash({"system": d.system, "range": list(d.range), "n": d.n, "sizes": sizes, "seed": d.seed})
            did = f"{name}-{h[:8]}"
            path = safe_child(self.workspace / "data", did)
            self.datasets[name] = DatasetUnit(
                name=name, id=did, hash=h, path=path, range=list(d.range), system=d.system, n=d.n, sizes=sizes,
                seed=d.seed, exists=all((path / f"{k}.h5").exists() for k in ("train", "val", "test")))
        return self.datasets[name]

    def run_unit(self, rid_prefix: str, body: dict[str, Any], deps: list[str], cfg: RunConfig, **kw: Any) -> RunUnit:
        h = stable_hash({"v": PLAN_VERSION, "deps": deps, **body})
        rid = f"{rid_prefix}-{h[:8]}"
        if rid not in self.runs:
            self.runs[rid] = RunUnit(id=rid, hash=h, config=cfg.model_dump(mode="json"),
                                     run_dir=safe_child(self.workspace / "runs", rid), **kw)
        return self.runs[rid]

    def pretrain(self, pname: str, model: str, sweep: str) -> RunUnit:
        key = (pname, model)
        if key not in self.pretrains:
            p = self.spec.pretrain[pname]
            if p.data in self.spec.mixtures:
                parts = [(self.dataset(n), w) for n, w in self.spec.mixtures[p.data].datasets.items()]
                mixture: Optional[str] = p.data
            else:
                parts, mixture = [(self.dataset(p.data), 1.0)], None
            cfg = run_config_for("pretrain", [(str(d.path), w) for d, w in parts], model, n_train=p.n_train,
                                 n_val=p.n_val, n_test=p.n_test, recipe=p.recipe, seed=p.seed, **self.engine)
            body = _hash_body(cfg, {str(d.path): d.hash for d, _ in parts})
            self.pretrains[key] = self.run_unit(
                f"{pname}-{model}", {"role": "pretrain", "cfg": body}, [d.hash for d, _ in parts], cfg,
                sweep=sweep, role="pretrain", init="pretrain", model=model, n_train=p.n_train, lr=p.recipe.lr,
                seed=p.seed, parent=None, datasets=[d.id for d, _ in parts], mixture=mixture,
                weights=[w for _, w in parts] if mixture else None)
        return self.pretrains[key]

    def sweep(self, sname: str) -> list[str]:
        """The run ids of one sweep: each pre-training it needs (once), then its points."""
        sw = self.spec.sweeps[sname]
        self.dataset(sw.dataset)  # the downstream dataset is listed before pre-training data
        ids: list[str] = []
        for model in sw.models:
            for kind, ref in map(parse_init, sw.inits):
                parent = self.pretrain(ref, model, sname) if ref else None
                if parent is not None and parent.id not in ids:
                    ids.append(parent.id)
                if kind == "zeroshot":
                    ids.append(self.zeroshot_point(sname, model, parent).id)  # type: ignore[arg-type]
                else:
                    ids.extend(u.id for u in self.trained_points(sname, kind, model, parent))
        return ids

    def _downstream(self, sname: str, model: str, parent: Optional[RunUnit]):
        """Config fields, path substitutions and dependencies shared by a sweep's points."""
        sw = self.spec.sweeps[sname]
        down = self.dataset(sw.dataset)
        ckpt = str(parent.run_dir / "checkpoints" / "best.pt") if parent else None
        common = dict(parts=[(str(down.path), 1.0)], layout=parent.config["layout"] if parent else "compact",
                      n_val=sw.n_val, n_test=sw.n_test, init_checkpoint=ckpt, model=model, **self.engine)
        subst = {str(down.path): down.hash}
        deps = [down.hash]
        if parent is not None:
            subst[str(ckpt)] = parent.hash
            deps.append(parent.hash)
        return down, common, subst, deps

    def zeroshot_point(self, sname: str, model: str, parent: RunUnit) -> RunUnit:
        down, common, subst, deps = self._downstream(sname, model, parent)
        cfg = run_config_for("zeroshot", recipe=self.spec.sweeps[sname].recipe, **common)
        return self.run_unit(f"{sname}-zeroshot-{model}", {"role": "sweep", "cfg": _hash_body(cfg, subst)}, deps,
                             cfg, sweep=sname, role="sweep", init="zeroshot", model=model, n_train=None, lr=None,
                             seed=0, parent=parent.id, datasets=[down.id])

    def trained_points(self, sname: str, kind: str, model: str, parent: Optional[RunUnit],
                       ns: Optional[list[int]] = None, lrs: Optional[list[float]] = None) -> list[RunUnit]:
        """Scratch or fine-tune points: one per (N, lr, seed) of the sweep (or of `ns` x `lrs`)."""
        sw = self.spec.sweeps[sname]
        down, common, subst, deps = self._downstream(sname, model, parent)
        halving = sw.lr_search.halving if len(set(sw.lr_grid())) > 1 else None
        rungs = rung_epochs(sw.recipe.epochs, halving.rungs) if halving else []
        out = []
        for n, lr, seed in itertools.product(ns or sw.n_train, lrs or sw.lr_grid(), sw.seeds):
            recipe = sw.recipe.model_copy(update={"lr": lr, "val_extra_epochs": rungs})
            offset = seed if sw.subsets == "per-seed" else 0
            cfg = run_config_for(kind, n_train=n, subset_offset=offset, recipe=recipe, seed=seed, **common)
            out.append(self.run_unit(f"{sname}-{kind}-{model}-n{n}-lr{lr:g}-s{seed}",
                                     {"role": "sweep", "cfg": _hash_body(cfg, subst)}, deps, cfg,
                                     sweep=sname, role="sweep", init=kind, model=model, n_train=n, lr=lr,
                                     seed=seed, parent=parent.id if parent else None, datasets=[down.id],
                                     lr_bounds=list(sw.lr_bounds()) if sw.lr_bounds() else None))
        return out


def _hash_body(cfg: RunConfig, subst: dict[str, str]) -> dict[str, Any]:
    """The config as hashed: paths replaced by content hashes, launch-time fields (device,
    threads, gpu_data, checkpoint cadence: a resume is exact from any checkpoint) dropped."""
    body = cfg.model_dump(mode="json", exclude={"device": True, "threads": True, "gpu_data": True,
                                                 "stop_after_epoch": True,
                                                 "recipe": {"checkpoint_minutes", "checkpoint_every"}})
    if not body.get("subset_offset"):
        body.pop("subset_offset", None)  # the default keeps the ids runs had before the field existed
    if not body["recipe"].get("val_extra_epochs"):
        body["recipe"].pop("val_extra_epochs", None)  # likewise
    for d in body["data"]:
        d["path"] = subst.get(d["path"], d["path"])
    if body.get("init_checkpoint"):
        body["init_checkpoint"] = subst.get(body["init_checkpoint"], body["init_checkpoint"])
    return body


def annotate(plan: Plan, store_runs: list[dict[str, Any]]) -> Plan:
    """Fill each unit's `state` from the store's records (same id = same content)."""
    states = {r.get("id"): r.get("state") for r in store_runs}
    for r in plan.runs:
        r.state = states.get(r.id) or "new"
    return plan


def plan_from_file(spec_path: str | Path, workspace: str | Path, sweeps: Optional[list[str]] = None,
                   store_runs: Optional[list[dict[str, Any]]] = None, engine: Optional[dict[str, Any]] = None) -> Plan:
    spec = load_spec(spec_path)
    return expand(spec, Path(spec_path), Path(workspace), sweeps, store_runs or [], engine)
