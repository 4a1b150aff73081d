"""The methods section of `sciml report`, from the run records and run files (pure): the grid
(N, lr, seeds, models, inits), the recipe, the datasets, the pre-trainings, the hardware and
the compute and wall time spent."""

from __future__ import annotations

from collections import Counter
from typing import Any, Optional

from sciml_tui.results.curves import model_sort_key
from sciml_tui.results.report_data import (dataset_info, downstream, is_pretrain, pretrain_name, sweep_points,
                                          timestamp)
from sciml_tui.results.report_inputs import SweepInput, field_of
from sciml_tui.results.stats import is_number
from sciml_tui.results.text import fmt_lr


def _sorted_unique(values: list, key: Any = None) -> list:
    return sorted({v for v in values if v is not None}, key=key)


def recipe_text(rec: Any) -> str:
    """'40 epochs, batch 16, lr schedule cosine, weight decay 0, fp32' from the run's config."""
    cfg = field_of(rec, "config", {}) or {}
    recipe = cfg.get("recipe") or {} if isinstance(cfg, dict) else {}
    epochs = recipe.get("epochs") or field_of(rec, "epochs")
    parts = [f"{epochs} epochs" if epochs else None,
             f"batch {recipe['batch_size']}" if recipe.get("batch_size") else None,
             f"lr schedule {recipe['schedule']}" if recipe.get("schedule") else None,
             f"weight decay {recipe['weight_decay']:g}" if is_number(recipe.get("weight_decay")) else None,
             cfg.get("precision") if isinstance(cfg, dict) else None]
    return ", ".join(p for p in parts if p) or "not recorded"


def _seconds_text(s: Optional[float]) -> str:
    if s is None:
        return "not recorded"
    if s < 120:
        return f"{s:.0f} s"
    return f"{s / 60:.1f} min" if s < 7200 else f"{s / 3600:.2f} h"


def _elapsed(inp: SweepInput, rec: Any) -> Optional[float]:
    v = field_of(rec, "elapsed_s")
    if not is_number(v):
        v = inp.run_files.get(str(field_of(rec, "id")), {}).get("result", {}).get("elapsed_s")
    return float(v) if is_number(v) else None


def _device(inp: SweepInput, rec: Any) -> Optional[str]:
    files = inp.run_files.get(str(field_of(rec, "id")), {})
    dev = files.get("result", {}).get("device") or field_of(rec, "device") or files.get("launch", {}).get("device")
    world = files.get("result", {}).get("world_size")
    host = files.get("launch", {}).get("host")
    if not dev:
        return None
    return f"{dev}" + (f" x{world}" if is_number(world) and world > 1 else "") + (f" on {host}" if host else "")


def hardware_text(inp: SweepInput, recs: list) -> str:
    """'cpu on node-1 (38 runs), cuda:0 on gpu-2 (4 runs)'."""
    counts = Counter(d for d in (_device(inp, r) for r in recs) if d)
    return ", ".join(f"{d} ({n} run{'s' if n > 1 else ''})" for d, n in counts.most_common()) or "not recorded"


def time_text(inp: SweepInput, recs: list) -> str:
    """Compute time (the runs' elapsed time summed) and the wall span from first start to last end."""
    done = [e for e in (_elapsed(inp, r) for r in recs) if e is not None]
    starts = [t for t in (timestamp(field_of(r, "started_at")) for r in recs) if t is not None]
    ends = [t for t in (timestamp(field_of(r, "ended_at")) for r in recs) if t is not None]
    text = f"compute {_seconds_text(sum(done) if done else None)} over {len(done)} run{'s' if len(done) != 1 else ''}"
    if starts and ends and max(ends) >= min(starts):
        text += f"; wall clock {_seconds_text(max(ends) - min(starts))} from first start to last end"
    return text


def dataset_rows(inp: SweepInput, recs: list) -> list[dict]:
    ids = _sorted_unique([str(d) for r in recs for d in field_of(r, "datasets", [])])
    return [dataset_info(inp, i) for i in ids]


def pretrain_rows(inp: SweepInput) -> list[dict]:
    out = []
    for r in (r for r in inp.runs if is_pretrain(r)):
        out.append({"id": field_of(r, "id"), "name": pretrain_name(r), "model": field_of(r, "model"),
                    "data": field_of(r, "mixture") or ", ".join(
                        dataset_info(inp, str(d))["name"] for d in field_of(r, "datasets", [])) or "-",
                    "lr": fmt_lr(field_of(r, "lr")), "recipe": recipe_text(r), "state": field_of(r, "state"),
                    "test_error": field_of(r, "test_error"), "time": _seconds_text(_elapsed(inp, r))})
    return out


def methods(inp: SweepInput) -> dict:
    """Everything a reader needs to repeat the sweep, as plain JSON-able values."""
    pts = sweep_points(inp)
    return {
        "sweep": inp.name,
        "target": inp.res["target"],
        "n_train": _sorted_unique([field_of(r, "n_train") for r in pts]),
        "lr": [fmt_lr(v) for v in _sorted_unique([field_of(r, "lr") for r in pts])],
        "seeds": _sorted_unique([field_of(r, "seed") for r in pts], key=str),
        "models": _sorted_unique([str(field_of(r, "model")) for r in pts], key=model_sort_key),
        "inits": list(dict.fromkeys(c["label"] for c in inp.res["curves"])),
        "downstream": downstream(inp),
        "recipes": dict(Counter(recipe_text(r) for r in pts)),
        "runs": dict(inp.res["counts"]),
        "datasets": dataset_rows(inp, list(inp.runs)),
        "pretrain": pretrain_rows(inp),
        "hardware": hardware_text(inp, list(inp.runs)),
        "time_points": time_text(inp, pts),
        "time_pretrain": time_text(inp, [r for r in inp.runs if is_pretrain(r)]),
        "lr_rule": "per (init, model, pre-training, N) the lr with the lowest mean validation error "
                   "over seeds (ties: the lower lr); test error is averaged at that lr",
    }
