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
from pathlib import Path
from typing import Any, Iterator, Optional

from filelock import FileLock, Timeout

from sciml_tui.atomic import write_text
from sciml_tui.errors import UserError

KEYS = {"runs": "id", "datasets": "id", "sweeps": "name", "experiments": "name"}
LOCK_TIMEOUT_S = 60.0


class StoreCorrupt(UserError):
    pass


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

    def upsert(self, table: str, rec: dict[str, Any]) -> None:
        """Insert `rec`, or merge it into the record with the same key."""
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
        self.changed = True

    def update(self, table: str, key: str, **fields: Any) -> bool:
        rec = self.get(table, key)
        if rec is None:
            return False
        rec.update(fields)
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
        if not text.strip():
            return {}, text
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise self._corrupt(f"not valid JSON: {exc.msg} at line {exc.lineno}") from None
        if not isinstance(data, dict) or not all(isinstance(t, dict) for t in data.values()):
            raise self._corrupt("expected a JSON object of tables")
        return data, text

    def _corrupt(self, why: str) -> StoreCorrupt:
        if self.bak_path.exists():
            how = f"the last good copy is {self.bak_path}: restore it with `cp {self.bak_path} {self.path}`"
        else:
            how = f"no backup copy exists; move {self.path} aside to start an empty store"
        return StoreCorrupt(f"workspace store {self.path} is corrupt ({why}); {how}")

    def _rows(self, table: str) -> list[dict[str, Any]]:
        data, _ = self._load()
        return [r for r in data.get(table, {}).values() if isinstance(r, dict)]

    def exists(self) -> bool:
        return self.path.exists()

    def sweeps(self) -> list[dict[str, Any]]:
        return self._rows("sweeps")

    def sweep(self, name: str) -> Optional[dict[str, Any]]:
        return next((s for s in self.sweeps() if s.get("name") == name), None)

    def experiments(self) -> list[dict[str, Any]]:
        return self._rows("experiments")

    def datasets(self) -> list[dict[str, Any]]:
        return self._rows("datasets")

    def dataset(self, dataset_id: str) -> Optional[dict[str, Any]]:
        return next((d for d in self.datasets() if d.get("id") == dataset_id), None)

    def runs(self, sweep: Optional[str] = None) -> list[dict[str, Any]]:
        """All runs, or the runs of one sweep (its `run_ids`, which include shared pre-training)."""
        data, _ = self._load()
        runs = [r for r in data.get("runs", {}).values() if isinstance(r, dict)]
        if sweep is None:
            return runs
        rec = next((s for s in data.get("sweeps", {}).values() if isinstance(s, dict) and s.get("name") == sweep), None)
        if rec is None or not isinstance(rec.get("run_ids"), list):
            return [r for r in runs if r.get("sweep") == sweep]
        by_id = {r.get("id"): r for r in runs}
        return [by_id[i] for i in rec["run_ids"] if i in by_id]

    def run(self, run_id: str) -> Optional[dict[str, Any]]:
        return next((r for r in self.runs() if r.get("id") == run_id), None)

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
            data, old_text = self._load()
            tx = Transaction(data)
            yield tx
            if tx.changed:
                if old_text and old_text.strip():
                    write_text(self.bak_path, old_text)
                write_text(self.path, json.dumps(tx.data, separators=(",", ":"), default=str))
        finally:
            lock.release()

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
        """The run, then its pre-training run(s) up the chain, then their datasets.

        Each item is `{"kind": "run"|"mixture"|"dataset", ...record}`; a mixture item lists the
        datasets (with weights) a pre-training run was trained on.
        """
        data = self.snapshot()
        runs = {r.get("id"): r for r in data.get("runs", {}).values() if isinstance(r, dict)}
        dsets = {d.get("id"): d for d in data.get("datasets", {}).values() if isinstance(d, dict)}
        chain: list[dict[str, Any]] = []
        seen: set[str] = set()
        cur = runs.get(run_id)
        while cur is not None and cur.get("id") not in seen:
            seen.add(cur["id"])
            chain.append({"kind": "run", **cur})
            parent = cur.get("parent")
            if parent is None:
                ids = cur.get("datasets") or []
                if len(ids) > 1 or cur.get("mixture"):
                    chain.append({"kind": "mixture", "name": cur.get("mixture"), "datasets": ids,
                                  "weights": cur.get("weights")})
                chain.extend({"kind": "dataset", **dsets.get(i, {"id": i})} for i in ids)
            cur = runs.get(parent) if parent else None
        return chain
