"""Hand-made run records (the shape `WorkspaceStore.runs()` returns) with known answers."""

from __future__ import annotations

import itertools

_ids = itertools.count()


def rec(init, n, lr, seed, test, val=None, *, model="tiny", state="done", sweep="s", **kw):
    """One sweep run record; `val` defaults to `test` (validation tracks test)."""
    r = {
        "id": f"r{next(_ids):04d}", "sweep": sweep, "role": "sweep", "init": init,
        "model": model, "n_train": n, "lr": lr, "seed": seed, "state": state,
        "test_error": test if state == "done" else None,
        "best_val_error": (test if val is None else val) if state == "done" else None,
        "parent": None if init == "scratch" else "pre0",
    }
    r.update(kw)
    return r


def power_law_runs(a: float, b: float, init: str, ns, *, model="tiny", lr=1e-3, seeds=(0,)):
    """Runs whose error is exactly a * N**b at every N and seed."""
    return [rec(init, n, lr, s, a * n ** b, model=model) for n in ns for s in seeds]
