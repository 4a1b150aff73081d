"""8 processes x 200 writes to one store: no record lost; a concurrent reader never sees a torn file."""

from __future__ import annotations

import json
import multiprocessing as mp

from sciml_tui.store import WorkspaceStore

WRITERS, WRITES = 8, 200


def _writer(root: str, k: int) -> None:
    ws = WorkspaceStore(root)
    for i in range(WRITES):
        ws.upsert_run({"id": f"w{k}-{i}", "writer": k, "i": i, "state": "queued"})


def _reader(root: str, stop, out) -> None:
    ws = WorkspaceStore(root)
    reads = torn = 0
    while not stop.is_set():
        try:
            text = ws.path.read_text()
        except FileNotFoundError:
            continue
        reads += 1
        try:
            json.loads(text)
            ws.runs()
        except Exception:  # noqa: BLE001 - counting exactly what must not happen
            torn += 1
    out.put((reads, torn))


def test_parallel_writers_lose_nothing_and_readers_never_see_a_torn_file(tmp_path):
    ctx = mp.get_context("fork")
    stop, out = ctx.Event(), ctx.Queue()
    reader = ctx.Process(target=_reader, args=(str(tmp_path), stop, out))
    reader.start()
    writers = [ctx.Process(target=_writer, args=(str(tmp_path), k)) for k in range(WRITERS)]
    for p in writers:
        p.start()
    for p in writers:
        p.join(120)
        assert p.exitcode == 0
    stop.set()
    reads, torn = out.get(timeout=30)
    reader.join(10)
    runs = WorkspaceStore(tmp_path).runs()
    ids = {r["id"] for r in runs}
    assert len(runs) == WRITERS * WRITES
    assert ids == {f"w{k}-{i}" for k in range(WRITERS) for i in range(WRITES)}
    assert reads > 0 and torn == 0
