"""Polls the workspace store and run dirs (in a worker thread) into immutable snapshots.

The poller never touches widgets. Each snapshot is complete (not a diff), so the UI may drop
stale ones (`Message.can_replace`) and diff the newest against what it shows. Files are re-read
only when their (mtime, size) changed, so a refresh with 500 runs costs a few hundred stats.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from sciml_tui.errors import UserError
from sciml_tui.rundir import file_stamp
from sciml_tui.store.records import COUNT_ORDER, RunState
from sciml_tui.launch.sweeps import scheduler_alive
from sciml_tui.store import WorkspaceStore
from sciml_tui.store import status as counting
from sciml_tui.store.liveness import STALLED, Staleness, sweep_view
from sciml_tui.tui import engine
from sciml_tui.tui.format import (STATE_ORDER, UNICODE, Glyphs, fmt_elapsed, fmt_epoch, fmt_err, fmt_lr, fmt_n,
                                  to_epoch)

LOG_LINES = 200  # of a watched run's log
COLUMNS = ("state", "init", "model", "N", "lr", "seed", "device", "epoch", "best val", "elapsed", "sweep", "id")


@dataclass(frozen=True)
class RunRow:
    """The runs-table cells of one run (strings) plus sort keys."""

    cells: tuple[str, ...]
    keys: tuple
    state: str = ""  # the state shown (see store.status.shown_state)


@dataclass(frozen=True)
class SweepRow:
    name: str
    total: int
    counts: tuple[tuple[str, int], ...]  # (state, count), states in a fixed order
    note: str = ""  # why a running sweep shows stopped or stalled, and what to do (store.liveness)

    def count(self, state: str) -> int:
        return dict(self.counts).get(state, 0)

    @property
    def finished(self) -> int:
        """Done or diverged: the progress `sciml status` shows."""
        return counting.finished(dict(self.counts))


@dataclass
class Snapshot:
    seq: int
    records: dict[str, dict]
    rows: dict[str, RunRow]
    sweeps: list[SweepRow]
    datasets: list[dict]
    metrics: dict[str, dict]  # run id -> {"epochs": [...], "steps": [...]} for watched runs
    results: Optional[dict] = None
    results_key: Optional[tuple] = None
    resources: list[tuple[str, str]] = field(default_factory=list)
    error: Optional[str] = None
    specs: list[str] = field(default_factory=list)
    sweep_ids: dict[str, list[str]] = field(default_factory=dict)  # sweep -> its run_ids (store)
    sweep_targets: dict[str, float] = field(default_factory=dict)  # sweep -> its spec's target error
    overall: Optional[SweepRow] = None  # every run in the store, each counted once

    def sweep_runs(self, sweep: str) -> list[dict]:
        """The sweep's records as `ws.runs(sweep=...)` gives them: its run_ids (shared
        pre-training runs included), else the runs whose `sweep` field names it."""
        ids = self.sweep_ids.get(sweep)
        if ids:
            return [self.records[i] for i in ids if i in self.records]
        return [r for r in self.records.values() if r.get("sweep") == sweep]


class Poller:
    """Holds the caches; `poll()` returns a new Snapshot or None when nothing changed."""

    def __init__(self, root: Path, clock: Callable[[], float] = time.time,
                 resources: Optional[Callable[[], list[tuple[str, str]]]] = None, glyphs: Glyphs = UNICODE) -> None:
        self.root = Path(root)
        self.clock = clock
        self.glyphs = glyphs  # the app's: state labels and cells as its terminal shows them
        self.resources_fn = resources or engine.resources_sample
        self._lock = threading.Lock()
        self._watched: set[str] = set()
        self._results_want: Optional[tuple[str, float]] = None
        self._store_stat: object = ()
        self._store: dict[str, list[dict]] = {"sweeps": [], "runs": [], "datasets": []}
        self._store_error: Optional[str] = None
        self._live: dict[str, tuple] = {}  # run id -> (stat, epochs rows) of metrics.json
        self._full: dict[str, tuple] = {}  # run id -> (stat, metrics) for watched runs
        self._results_cache: tuple = (None, None)
        self._sweep_ids: dict[str, list[str]] = {}
        self._sweep_targets: dict[str, float] = {}
        self._seq = 0
        self._last: Optional[Snapshot] = None
        self.root_store = WorkspaceStore(self.root)
        try:
            self.staleness = Staleness.of(self.root_store)
        except UserError:  # a bad threshold in settings.json: `sciml status` names it
            self.staleness = Staleness()

    # called from the UI thread
    def watch_runs(self, ids: set[str]) -> None:
        with self._lock:
            self._watched = set(ids)

    def want_results(self, sweep: Optional[str], target: float = 1e-2) -> None:
        with self._lock:
            self._results_want = (sweep, target) if sweep else None

    # called from the worker thread
    def poll(self, force: bool = False) -> Optional[Snapshot]:
        with self._lock:
            watched, want = set(self._watched), self._results_want
        store_changed = self._reload_store()
        records = {str(r.get("id")): r for r in self._store["runs"] if r.get("id") is not None}
        now = self.clock()
        waiting = counting.rerun_times(self._store["sweeps"], scheduler_alive)
        rows = {rid: self._row(rec, now, waiting.get(rid)) for rid, rec in records.items()}
        metrics = self._watched_metrics(watched, records)
        sweeps, overall = self._sweep_rows(records, rows)
        if store_changed:
            self._sweep_ids = {str(s.get("name")): [str(i) for i in s.get("run_ids") or []]
                               for s in self._store["sweeps"]}
            self._sweep_targets = {str(s.get("name")): float(s["target"]) for s in self._store["sweeps"]
                                   if isinstance(s.get("target"), (int, float)) and s["target"] > 0}
        results, rkey = self._results(want, records, store_changed)
        specs = [p.name for p in engine.list_specs(self.root)]
        snap = Snapshot(self._seq + 1, records, rows, sweeps, self._store["datasets"], metrics,
                        results, rkey, self.resources_fn(), self._store_error, specs, self._sweep_ids,
                        self._sweep_targets, overall)
        last = self._last
        # a store change always makes a snapshot: records the rows do not show (a parent's test
        # error, in the lineage tab) move too
        if (not force and not store_changed and last is not None and last.rows == snap.rows
                and last.sweeps == snap.sweeps and last.overall == snap.overall
                and last.error == snap.error and last.resources == snap.resources
                and last.results_key == snap.results_key and last.results is snap.results
                and last.specs == snap.specs
                and all(last.metrics.get(k) is v for k, v in metrics.items())
                and set(last.metrics) == set(metrics)):
            return None
        self._seq += 1
        self._last = snap
        return snap

    def _reload_store(self) -> bool:
        path = engine.store_path(self.root)
        st = file_stamp(path)
        if st == self._store_stat:
            return False
        self._store_stat = st
        if st is None and not self.root.is_dir():
            self._store_error = f"workspace {self.root} does not exist"
            self._store = {"sweeps": [], "runs": [], "datasets": []}
            return True
        try:
            self._store = engine.load_store(self.root)
            self._store_error = None
        except UserError as exc:
            self._store_error = str(exc)  # keep showing the last good state
        except OSError as exc:
            self._store_error = f"cannot read the store: {exc}"
        return True

    def _row(self, rec: dict, now: float, waiting_since: Optional[float]) -> RunRow:
        rid = str(rec.get("id"))
        state = counting.shown_state(rec, waiting_since, self.staleness, now)
        epoch, val = counting.run_progress(rec, lambda: self._epoch_rows(rid, rec))
        start, end = to_epoch(rec.get("started_at")), to_epoch(rec.get("ended_at"))
        elapsed = None
        if start is not None:
            elapsed = (end if end is not None else (now if state == RunState.RUNNING else start)) - start
        init = str(rec.get("init") or rec.get("role") or "")
        cells = (self.glyphs.state_label(state), init, str(rec.get("model") or ""),
                 fmt_n(rec.get("n_train")), fmt_lr(rec.get("lr")), str(rec.get("seed", "")),
                 str(rec.get("device") or ""), fmt_epoch(epoch, rec.get("epochs"), state),
                 fmt_err(val) + (counting.WORSE_MARK if counting.worse_than_zero(val) else ""),
                 fmt_elapsed(elapsed), str(rec.get("sweep") or ""), rid)
        if self.glyphs.ascii:
            cells = tuple(map(self.glyphs.text, cells))
        num = lambda v: float(v) if isinstance(v, (int, float)) else float("inf")  # noqa: E731
        keys = (STATE_ORDER.get(state, 9), init, str(rec.get("model") or ""), num(rec.get("n_train")),
                num(rec.get("lr")), num(rec.get("seed")), str(rec.get("device") or ""), num(epoch), num(val),
                elapsed if elapsed is not None else -1.0, str(rec.get("sweep") or ""), rid)
        return RunRow(cells, keys, state)

    def _epoch_rows(self, rid: str, rec: dict) -> list[dict]:
        """The run's `epochs` rows, re-read only when metrics.json changed; a finished run's are
        read once, a queued run has none."""
        if rec.get("state") == RunState.QUEUED:
            return []
        cached = self._live.get(rid)
        if cached is not None and rec.get("state") != RunState.RUNNING:
            return cached[1]
        rdir = engine.run_dir(self.root, rec)
        st = rdir.metrics_stamp()
        if cached is not None and cached[0] == st:
            return cached[1]
        rows = rdir.metrics()["epochs"] if st is not None else []
        self._live[rid] = (st, rows)
        return rows

    def _watched_metrics(self, watched: set[str], records: dict[str, dict]) -> dict[str, dict]:
        out = {}
        for rid in sorted(watched):
            rec = records.get(rid)
            if rec is None:
                continue
            rdir = engine.run_dir(self.root, rec)
            st = (*rdir.stamp(), rec.get("state"))
            cached = self._full.get(rid)
            if cached is not None and cached[0] == st:
                out[rid] = cached[1]
                continue
            m: dict = rdir.metrics()
            m["log"] = rdir.log_tail(LOG_LINES).splitlines()
            m["result"] = rdir.result()
            m["config"] = rdir.config_text()
            m["provenance"] = rdir.provenance()
            m["error"] = None if rdir.path.is_dir() else f"run dir {rdir.path} is missing"
            self._full[rid] = (st, m)
            out[rid] = m
        return out

    def _sweep_rows(self, records: dict[str, dict], rows: dict[str, RunRow]) -> tuple[list[SweepRow], SweepRow]:
        """Per-sweep counts exactly as `sciml status` makes them, and one row over every run."""
        out = []
        for sweep in self._store["sweeps"]:
            counts = counting.sweep_counts(sweep, records, counting.rerun_since(sweep, scheduler_alive),
                                           self.staleness, self.clock())
            shown, note = sweep_view(self.root_store, sweep, scheduler_alive, self.staleness, self.clock())
            out.append(self._sweep_row(str(sweep.get("name")), counts, note and f"{shown}: {note}"))
        every: dict[str, int] = {}
        for row in rows.values():
            every[row.state] = every.get(row.state, 0) + 1
        return sorted(out, key=lambda r: r.name), self._sweep_row("(all)", every)

    @staticmethod
    def _sweep_row(name: str, counts: dict[str, int], note: Optional[str] = None) -> SweepRow:
        shown = [s.value for s in COUNT_ORDER] + [STALLED]
        return SweepRow(name, sum(counts.values()), tuple((s, counts.get(s, 0)) for s in shown), note or "")

    def _results(self, want, records, store_changed):
        if want is None:
            return None, None
        sweep, target = want
        key = (sweep, target)
        cached_key, cached = self._results_cache
        if cached_key == key and not store_changed:
            return cached, key
        try:
            ids = self._sweep_ids.get(sweep)
            runs = ([records[i] for i in ids if i in records] if ids
                    else [r for r in records.values() if r.get("sweep") == sweep])
            res = engine.sweep_results(runs, sweep, target)
        except UserError as exc:
            res = {"sweep": sweep, "curves": [], "error": str(exc)}
        except Exception as exc:  # a results bug must not take the dashboard down
            res = {"sweep": sweep, "curves": [], "error": f"results failed: {exc!r}"}
        self._results_cache = (key, res)
        return res, key
