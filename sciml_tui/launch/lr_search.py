"""The scheduler's lr-search hook: what runs next when a sweep searches its lr.

- adaptive grid (`lr: {grid, adaptive: true, bounds}`): when a run ends, the sweep is planned
  again from its spec with the store's records (`specs.plan.expand`), which adds the next lr
  past the edge a finished point chose; the new runs are recorded (content-addressed, so a
  resumed sweep adds the same ones) and queued.
- successive halving (`lr_search: {halving: {rungs, keep}}`): the lr candidates of a point
  (init, model, pre-training, N) train to the first rung epoch and pause there (config
  `stop_after_epoch`: checkpointed, `preempted.json` with `paused_after`, state queued); when
  every candidate has its validation error at that epoch, the rung keeps the best share
  (`specs.lr_search.rung_keep`, by the mean over seeds), the decision is written to the sweep
  record (`lr_rungs`), the others become `pruned` (`stopped_at_rung`), and the kept ones resume
  to the next rung or the end. A resumed scheduler reads the recorded decisions back.

Sweeps without an lr search never reach this code beyond one check.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any, Optional

from sciml_tui.launch.sweeps import Event, no_event, record_runs
from sciml_tui.rundir import RunDir
from sciml_tui.specs.lr_search import rung_epochs, rung_keep
from sciml_tui.store import WorkspaceStore
from sciml_tui.store.reconcile import paused_epoch, paused_message
from sciml_tui.store.records import RunRecord, RunState


def group_key(r: Any) -> str:
    """The point a run is an lr candidate of: init|model|pre-training run|N."""
    return f"{r.get('init')}|{r.get('model')}|{r.get('parent') or ''}|{r.get('n_train')}"


def rung_value(run: RunRecord, epoch: int) -> Optional[float]:
    """The validation error the run logged at `epoch`, else None (not there yet)."""
    if not run.run_dir:
        return None
    for row in RunDir(run.run_dir).metrics()["epochs"]:
        if row.get("epoch") == epoch and row.get("val_error") is not None:
            return float(row["val_error"])
    return None


class LrSearchHook:
    """Called by the scheduler: `admit` the queue, `paused` for a run that stopped at a rung,
    `advance` after runs end (returns the runs to queue)."""

    def __init__(self, ws: WorkspaceStore, sweeps: list[str], emit: Event = no_event) -> None:
        self.ws, self.emit = ws, emit
        recs = {name: ws.sweep(name) for name in sweeps}
        self.settings = {name: dict(rec.lr_search or {}) for name, rec in recs.items() if rec is not None}
        self.enabled = any(self.settings.values())
        self.held: set[str] = set()  # runs paused at a rung, waiting for its decision

    # -- the scheduler's calls -----------------------------------------------------------
    def admit(self, runs: list[RunRecord]) -> list[RunRecord]:
        """The runs that may start now, each with the epoch to pause after; the others are held."""
        return self._route(runs) if self.enabled else runs

    def paused(self, run_id: str, rdir: RunDir) -> bool:
        """Record a run that paused at a rung (queued, waiting); False for any other ending."""
        epoch = paused_epoch(rdir) if self.enabled else None
        if epoch is None:
            return False
        with self.ws.transaction() as tx:
            if (tx.get("runs", run_id) or {}).get("state") == RunState.RUNNING:  # not cancelled meanwhile
                tx.update("runs", run_id, state=RunState.QUEUED, pid=None, message=paused_message(epoch))
        self.emit("pause", {"id": run_id, "epoch": epoch})
        self.held.add(run_id)  # re-read and routed by the next `advance`
        return True

    def advance(self, changed: bool) -> list[RunRecord]:
        """After runs ended (`changed`): adaptive additions and halving decisions; the runs to queue."""
        if not self.enabled or not changed:
            return []
        out = self._grow()
        while self._decide():
            pass
        waiting = [r for r in (self.ws.run(i) for i in sorted(self.held)) if r is not None]
        self.held.clear()
        return self._route(out + waiting)

    # -- adaptive grid ---------------------------------------------------------------------
    def _grow(self) -> list[RunRecord]:
        from sciml_tui.specs.plan import plan_from_file  # the planner's own path, spec re-read

        added: list[str] = []
        for name, settings in self.settings.items():
            rec = self.ws.sweep(name)
            if "adaptive" not in settings or rec is None or not rec.spec_path:
                continue
            try:
                plan = plan_from_file(rec.spec_path, self.ws.root, [name], self.ws.runs(), rec.engine)
            except Exception as exc:  # noqa: BLE001 - the sweep goes on with the grid it has
                self.emit("lr_search", {"id": name, "message": f"adaptive lr not extended: {exc}"})
                continue
            ids, known = plan.sweeps[name], set(rec.run_ids or [])
            if not known <= set(ids):
                self.emit("lr_search", {"id": name, "message": "the spec changed since launch: adaptive lr not extended"})
                continue
            new = [u for u in plan.runs if u.id in set(ids) - known]
            if not new:
                continue
            with self.ws.transaction() as tx:
                record_runs(tx, new, time.time())
                tx.update("sweeps", name, run_ids=ids)
            for u in new:
                self.emit("add", {"id": u.id, "lr": u.lr})
            added += [u.id for u in new]
        return [r for r in (self.ws.run(i) for i in added) if r is not None]

    # -- successive halving ----------------------------------------------------------------
    def _halving(self, r: RunRecord) -> Optional[dict[str, Any]]:
        settings = self.settings.get(r.sweep or "", {})
        return settings.get("halving") if r.role == "sweep" and r.lr is not None else None

    def _groups(self) -> tuple[dict[tuple[str, str], list[RunRecord]], dict[tuple[str, str], list[dict]]]:
        """From one read of the store: the halving sweeps' candidate runs by (sweep, point), and
        the decisions recorded for each point."""
        runs: dict[tuple[str, str], list[RunRecord]] = {}
        decisions: dict[tuple[str, str], list[dict]] = {}
        tables = self.ws.tables()
        for name, settings in self.settings.items():
            if "halving" not in settings:
                continue
            for r in tables.sweep_runs(name):
                if r.role == "sweep" and r.lr is not None and r.sweep == name:
                    runs.setdefault((name, group_key(r)), []).append(r)
            rec = tables.sweep(name)
            for key, made in ((rec.lr_rungs if rec is not None else None) or {}).items():
                decisions[(name, key)] = list(made or [])
        return runs, decisions

    def _next_rung(self, r: RunRecord, group: list[RunRecord], decisions: list[dict]) -> Optional[int]:
        """The first rung of `r`'s point not decided yet, while two or more lrs are left."""
        h = self._halving(r)
        if h is None:
            return None
        alive = {x.lr for x in group if x.state != RunState.PRUNED}
        if len(alive) < 2:
            return None
        decided = {d["epoch"] for d in decisions}
        epochs = int(((r.config or {}).get("recipe") or {}).get("epochs") or 0)
        return next((e for e in rung_epochs(epochs, h["rungs"]) if e not in decided), None)

    def _route(self, runs: list[RunRecord]) -> list[RunRecord]:
        """Runs to start, each with `stop_after_epoch` set to its point's next rung (or none)."""
        groups, decisions = self._groups() if any(self._halving(r) for r in runs) else ({}, {})
        out = []
        for r in runs:
            if self._halving(r) is None:
                out.append(r)
                continue
            if r.state == RunState.PRUNED:
                continue
            point = (r.sweep or "", group_key(r))
            rung = self._next_rung(r, groups.get(point, [r]), decisions.get(point, []))
            if rung is not None and rung_value(r, rung) is not None:
                self._hold(r, rung)
                continue
            config = {**(r.config or {}), "stop_after_epoch": rung}
            out.append(dataclasses.replace(r, config=config))
        return out

    def _hold(self, r: RunRecord, rung: int) -> None:
        """Keep a run that reached its rung out of the queue; a record still saying running (its
        process paused while no scheduler watched) or failed (reconciled so) now says queued."""
        self.held.add(r.id)
        if r.state == RunState.QUEUED:
            return
        with self.ws.transaction() as tx:
            cur = tx.get("runs", r.id) or {}
            if (cur.get("state"), cur.get("started_at")) == (r.state, r.started_at):
                tx.update("runs", r.id, state=RunState.QUEUED, pid=None, message=paused_message(rung))

    def _decide(self) -> bool:
        """Decide every rung that has all its values; True when one was decided."""
        decided = False
        groups, decisions = self._groups()
        for (sweep, key), group in groups.items():
            rung = self._next_rung(group[0], group, decisions.get((sweep, key), []))
            scores = _rung_scores(group, rung) if rung is not None else None
            if scores is None:
                continue
            keep = rung_keep(scores, self.settings[sweep]["halving"]["keep"])
            self._record_decision(sweep, key, group, rung, scores, keep)
            decided = True
        return decided

    def _record_decision(self, sweep: str, key: str, group: list[RunRecord], rung: int,
                         scores: dict[float, Optional[float]], keep: list[float]) -> None:
        now, pruned = time.time(), []
        decision = {"epoch": rung, "scores": {repr(lr): s for lr, s in sorted(scores.items())}, "kept": keep}
        with self.ws.transaction() as tx:
            rec = tx.get("sweeps", sweep) or {}
            rungs = dict(rec.get("lr_rungs") or {})
            if any(d.get("epoch") == rung for d in rungs.get(key) or []):
                return  # decided meanwhile (another scheduler): keep that decision
            rungs[key] = [*(rungs.get(key) or []), decision]
            tx.update("sweeps", sweep, lr_rungs=rungs)
            for r in group:
                cur = tx.get("runs", r.id) or {}
                if r.lr in keep or cur.get("state") in (RunState.DONE, RunState.DIVERGED, RunState.PRUNED):
                    continue
                tx.update("runs", r.id, state=RunState.PRUNED, stopped_at_rung=rung, epochs_run=rung, pid=None,
                          ended_at=now, message=f"stopped by the lr search at epoch {rung}: lr {r.lr:g} "
                                                f"was not among the best {len(keep)} of {len(scores)}")
                pruned.append(r.id)
        g = group[0]
        self.emit("rung", {"id": f"{sweep} {key}", "sweep": sweep, "init": g.init, "model": g.model, "n": g.n_train,
                           "epoch": rung, "kept": keep})
        for run_id in pruned:
            self.held.discard(run_id)
            self.emit("end", {"id": run_id, "state": RunState.PRUNED.value})


def _rung_scores(group: list[RunRecord], rung: int) -> Optional[dict[float, Optional[float]]]:
    """Mean validation error at `rung` per lr still in the race (None: a seed diverged), or
    None while some candidate has not reached the rung (or is still running: it pauses there)."""
    by_lr: dict[float, list[Optional[float]]] = {}
    for r in group:
        if r.state == RunState.PRUNED:
            continue
        if r.state == RunState.RUNNING:
            return None
        value = rung_value(r, rung)
        if value is None and r.state != RunState.DIVERGED:
            return None
        by_lr.setdefault(float(r.lr), []).append(value)
    if len(by_lr) < 2:
        return None
    return {lr: (None if None in vals else sum(vals) / len(vals)) for lr, vals in by_lr.items()}
