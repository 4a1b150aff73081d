"""The workspace store: one TinyDB-format JSON file shared by every process of a workspace.

Layout of the file (TinyDB's own): ``{table: {doc_id: record}}``. Records of the keyed tables
(`runs`, `datasets`: key `id`; `sweeps`, `experiments`: key `name`) are found by that key.

Concurrency: readers never lock (every write lands atomically, so a reader sees the old file or
the new one). Writers take a file lock, reload the file from disk under it, modify and write it
back atomically; before each write the previous good file is copied to `sciml.json.bak`.
Batch changes go through `transaction()` so that recording a 1000-run plan is one write.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping, Optional

from filelock import FileLock, Timeout

from sciml_tui.atomic import write_text
from sciml_tui.errors import UserError
from sciml_tui.store.records import (DatasetRecord, RecordInvalid, RunRecord, SweepRecord, parse_record)

KEYS = {"runs": "id", "datasets": "id", "sweeps": "name", "experiments": "name"}
LOCK_TIMEOUT_S = 60.0


class StoreCorrupt(UserError):
    """The store file is damaged (empty, not JSON, wrong shape or wrong types)."""


class StoreWriteFailed(UserError):
    """The filesystem refused a store write (full, read-only, quota); the file is unchanged."""


def _check(table: str, rec: dict[str, Any]) -> None:
    """Refuse to write a record that would not read back (a bug in the writer, not user input)."""
    try:
        parse_record(table, rec)
    except RecordInvalid as exc:
        raise ValueError(f"refusing to store an invalid {table} record: {exc}") from None


class Transaction:
    """Keyed, in-memory view of the tables during one locked read-modify-write."""

    def __init__(self, data: dict[str, dict[str, Any]]) -> None:
        self.data = data
        self.changed = False
        self._index: dict[str, dict[str, str]] = {}

    def _table(self, table: str) -> dict[str, Any]:
        return self.data.setdefault(table, {})

    def _idx(self, table: str) -> dict[str, str]:
        if table not in self._index:
            key = KEYS[table]
            self._index[table] = {
                str(rec.get(key)): doc_id for doc_id, rec in self._table(table).items() if isinstance(rec, dict)
            }
        return self._index[table]

    def get(self, table: str, key: str) -> Optional[dict[str, Any]]:
        doc_id = self._idx(table).get(str(key))
        return None if doc_id is None else self._table(table)[doc_id]

    def all(self, table: str) -> list[dict[str, Any]]:
        return [r for r in self._table(table).values() if isinstance(r, dict)]

    def upsert(self, table: str, rec: Mapping[str, Any]) -> None:
        """Insert `rec` (a record or a dict), or merge it into the record with the same key."""
        rec = rec.to_dict() if hasattr(rec, "to_dict") else dict(rec)
        key = str(rec[KEYS[table]])
        idx = self._idx(table)
        rows = self._table(table)
        doc_id = idx.get(key)
        if doc_id is None:
            doc_id = str(max((int(d) for d in rows if d.isdigit()), default=0) + 1)
            idx[key] = doc_id
            rows[doc_id] = dict(rec)
        else:
            rows[doc_id].update(rec)
        _check(table, rows[doc_id])
        self.changed = True

    def update(self, table: str, key: str, **fields: Any) -> bool:
        rec = self.get(table, key)
        if rec is None:
            return False
        rec.update(fields)
        _check(table, rec)
        self.changed = True
        return True

    def remove(self, table: str, key: str) -> bool:
        idx = self._idx(table)
        doc_id = idx.pop(str(key), None)
        if doc_id is None:
            return False
        del self._table(table)[doc_id]
        self.changed = True
        return True


@dataclass
class Tables:
    """The typed tables of one read of the store."""

    runs: list[RunRecord]
    sweeps: list[SweepRecord]
    datasets: list[DatasetRecord]

    def run_index(self) -> dict[str, RunRecord]:
        return {r.id: r for r in self.runs}

    def sweep(self, name: str) -> Optional[SweepRecord]:
        return next((s for s in self.sweeps if s.name == name), None)

    def sweep_runs(self, sweep: str) -> list[RunRecord]:
        """The sweep's `run_ids` in order (shared pre-training included), else the runs naming it."""
        rec = self.sweep(sweep)
        if rec is None or rec.run_ids is None:
            return [r for r in self.runs if r.sweep == sweep]
        by_id = self.run_index()
        return [by_id[i] for i in rec.run_ids if i in by_id]


class WorkspaceStore:
    """The workspace folder and its store file `.sciml/sciml.json`. Reading never creates files."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).expanduser().absolute()
        self.meta_dir = self.root / ".sciml"
        self.path = self.meta_dir / "sciml.json"
        self.lock_path = self.meta_dir / "sciml.json.lock"
        self.bak_path = self.meta_dir / "sciml.json.bak"
        self.runs_dir = self.root / "runs"
        self.data_dir = self.root / "data"
        self.experiments_dir = self.root / "experiments"

    # -- reading ---------------------------------------------------------------------------
    def _load(self) -> tuple[dict[str, dict[str, Any]], Optional[str]]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}, None
        except (UnicodeDecodeError, OSError) as exc:
            raise self._corrupt(f"unreadable: {exc}") from None
        if not text.strip():  # every write is atomic: an empty file is damage, never "no data"
            raise self._corrupt("the file is empty" if not text else "the file holds only whitespace")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise self._corrupt(f"not valid JSON: {exc.msg} at line {exc.lineno}") from None
        if not isinstance(data, dict) or not all(isinstance(t, dict) for t in data.values()):
            raise self._corrupt("expected a JSON object of tables")
        return data, text

    def corrupt(self, why: str) -> StoreCorrupt:
        """The error for a damaged store: names the file, what is wrong and how to restore it."""
        return self._corrupt(why)

    def _corrupt(self, why: str) -> StoreCorrupt:
        if self.bak_path.exists():
            how = f"the last good copy is {self.bak_path}: restore it with `cp {self.bak_path} {self.path}`"
        else:
            how = f"no backup copy exists; move {self.path} aside to start an empty store"
        return StoreCorrupt(f"workspace store {self.path} is corrupt ({why}); {how}")

    def _records(self, data: dict[str, dict[str, Any]], table: str) -> list[Any]:
        """The table's rows as typed records in document order; a row with wrong types makes the
        store corrupt."""
        out = []
        rows = sorted(data.get(table, {}).items(), key=lambda kv: int(kv[0]) if kv[0].isdigit() else 0)
        for doc_id, raw in rows:
            if not isinstance(raw, dict):
                raise self._corrupt(f"{table} record {doc_id} is not an object: {str(raw)[:40]}")
            try:
                out.append(parse_record(table, raw))
            except RecordInvalid as exc:
                raise self._corrupt(f"{table} record {doc_id}: {exc}") from None
        return out

    def exists(self) -> bool:
        return self.path.exists()

    def sweeps(self) -> list[SweepRecord]:
        return self._records(self._load()[0], "sweeps")

    def sweep(self, name: str) -> Optional[SweepRecord]:
        return next((s for s in self.sweeps() if s.name == name), None)

    def experiments(self) -> list[dict[str, Any]]:
        return self._records(self._load()[0], "experiments")

    def datasets(self) -> list[DatasetRecord]:
        return self._records(self._load()[0], "datasets")

    def dataset(self, dataset_id: str) -> Optional[DatasetRecord]:
        return next((d for d in self.datasets() if d.id == dataset_id), None)

    def runs(self, sweep: Optional[str] = None) -> list[RunRecord]:
        """All runs, or the runs of one sweep (its `run_ids`, which include shared pre-training)."""
        return self.tables().sweep_runs(sweep) if sweep is not None else self.tables().runs

    def run(self, run_id: str) -> Optional[RunRecord]:
        return next((r for r in self.runs() if r.id == run_id), None)

    def tables(self) -> "Tables":
        """Runs, sweeps and datasets as typed records, from one read of the file."""
        data, _ = self._load()
        return Tables(self._records(data, "runs"), self._records(data, "sweeps"), self._records(data, "datasets"))

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """The whole store as read now (one parse), for callers that need several tables."""
        return self._load()[0]

    # -- writing ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Lock, reload from disk, yield a Transaction, and write back once if it changed."""
        self.meta_dir.mkdir(parents=True, exist_ok=True)
        try:
            lock = FileLock(str(self.lock_path), timeout=LOCK_TIMEOUT_S)
            lock.acquire()
        except Timeout:
            raise UserError(f"workspace store {self.path} is locked by another process (waited {LOCK_TIMEOUT_S:.0f} s)") from None
        try:
            self._remove_orphans()
            data, old_text = self._load()
            for table in KEYS:  # never write over (and back up) a damaged store
                self._records(data, table)
            tx = Transaction(data)
            yield tx
            if tx.changed:
                self._write(old_text, json.dumps(tx.data, separators=(",", ":"), default=str))
        finally:
            lock.release()

    def _write(self, old_text: Optional[str], new_text: str) -> None:
        """Back up the old file, then replace it; a failed write leaves both as they were."""
        try:
            if old_text:
                write_text(self.bak_path, old_text)
            write_text(self.path, new_text)
        except OSError as exc:
            reason = os.strerror(exc.errno) if exc.errno else str(exc)
            raise StoreWriteFailed(f"cannot write the workspace store {self.path}: {reason}; it is unchanged "
                                   "(free some space or make the folder writable, then run the command again)") from None

    def _remove_orphans(self) -> None:
        """Temp files of store (and `.bak`) writes killed halfway: only writers make them, and
        this one holds the lock."""
        for tmp in self.meta_dir.glob(f".{self.path.name}.*.tmp"):
            with contextlib.suppress(OSError):
                tmp.unlink()

    def upsert_sweep(self, rec: dict[str, Any]) -> None:
        with self.transaction() as tx:
            tx.upsert("sweeps", rec)

    def upsert_run(self, rec: dict[str, Any]) -> None:
        with self.transaction() as tx:
            tx.upsert("runs", rec)

    def upsert_runs(self, recs: list[dict[str, Any]]) -> None:
        with self.transaction() as tx:
            for rec in recs:
                tx.upsert("runs", rec)

    def upsert_dataset(self, rec: dict[str, Any]) -> None:
        with self.transaction() as tx:
            tx.upsert("datasets", rec)

    def upsert_experiment(self, rec: dict[str, Any]) -> None:
        with self.transaction() as tx:
            tx.upsert("experiments", rec)

    def update_run(self, run_id: str, **fields: Any) -> bool:
        with self.transaction() as tx:
            return tx.update("runs", run_id, **fields)

    def update_sweep(self, name: str, **fields: Any) -> bool:
        with self.transaction() as tx:
            return tx.update("sweeps", name, **fields)

    def update_dataset(self, dataset_id: str, **fields: Any) -> bool:
        with self.transaction() as tx:
            return tx.update("datasets", dataset_id, **fields)

    # -- lineage ---------------------------------------------------------------------------
    def lineage(self, run_id: str) -> list[dict[str, Any]]:
        """`lineage(...)` of one read of the store."""
        tables = self.tables()
        return lineage(tables.run_index(), {d.id: d for d in tables.datasets}, run_id)


def lineage(runs: Mapping[str, Mapping[str, Any]], datasets: Mapping[str, Mapping[str, Any]],
            run_id: str) -> list[dict[str, Any]]:
    """The run, then its pre-training run(s) up the chain, then their datasets: a pure walk over
    the tables (records or their dicts, keyed by id), shared by the store and the dashboard.

    Each item is `{"kind": "run"|"mixture"|"dataset", ...record}`; a mixture item lists the
    datasets (with weights: the record's, else its config's `data` weights) a pre-training run
    was trained on. A dataset missing from `datasets` is `{"kind": "dataset", "id": ...}`.
    """
    chain: list[dict[str, Any]] = []
    seen: set[str] = set()
    cur = runs.get(run_id)
    while cur is not None and cur.get("id") not in seen:
        seen.add(cur.get("id"))
        chain.append({"kind": "run", **cur})
        parent = cur.get("parent")
        if parent is None:
            ids = cur.get("datasets") or []
            if len(ids) > 1 or cur.get("mixture"):
                chain.append({"kind": "mixture", "name": cur.get("mixture"), "datasets": ids,
                              "weights": cur.get("weights") or _config_weights(cur, len(ids))})
            chain.extend({"kind": "dataset", **datasets.get(i, {"id": i})} for i in ids)
        cur = runs.get(parent) if parent else None
    return chain


def _config_weights(run: Mapping[str, Any], n: int) -> Optional[list[float]]:
    """The mixture weights of a run recorded without them (`sciml train`): its config's `data`."""
    data = (run.get("config") or {}).get("data")
    if not isinstance(data, list) or len(data) != n or not all(isinstance(d, dict) for d in data):
        return None
    try:
        return [float(d.get("weight", 1.0)) for d in data]
    except (TypeError, ValueError):
        return None
