"""The data behind `sciml report`, pure: the methods of each sweep (grid, seeds, recipe, data,
pre-trainings, hardware, wall time) and the cross-sweep comparisons the sweeps given allow:

- factor vs model size, when the fine-tuned curves cover two or more models;
- factor vs physics shift, when one pre-training (same pre-training run ids) is fine-tuned on
  two or more downstream datasets (ordered by the datasets' parameter range);
- mixture vs single-system, when one downstream dataset has fine-tuned curves from two or more
  pre-trainings.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import datetime
from statistics import median
from typing import Any, Optional

from sciml_tui.results.curves import model_sort_key
from sciml_tui.results.report_inputs import SweepInput, field_of
from sciml_tui.results.stats import is_number

_HASH_TAIL = re.compile(r"-[0-9a-f]{8}$")


def is_pretrain(rec: Any) -> bool:
    return field_of(rec, "role") == "pretrain" or field_of(rec, "init") == "pretrain"


def sweep_points(inp: SweepInput) -> list:
    return [r for r in inp.runs if not is_pretrain(r)]


def range_label(rng: Any) -> str:
    """[5.0, 10.0] -> '[5, 10]'."""
    if isinstance(rng, (list, tuple)) and len(rng) == 2 and all(is_number(v) for v in rng):
        return f"[{rng[0]:g}, {rng[1]:g}]"
    return "-" if rng is None else str(rng)


def dataset_info(inp: SweepInput, dataset_id: str) -> dict:
    d = inp.datasets.get(dataset_id)
    rng = field_of(d, "range")
    return {"id": dataset_id, "name": str(field_of(d, "name", dataset_id)), "system": field_of(d, "system"),
            "range": list(rng) if isinstance(rng, (list, tuple)) else None, "range_label": range_label(rng),
            "grid": field_of(d, "n"), "sizes": field_of(d, "sizes"), "seed": field_of(d, "seed")}


def downstream(inp: SweepInput) -> dict:
    """The dataset the sweep's points train on (the most common one among their records)."""
    ids = Counter(str(field_of(r, "datasets", [None])[0]) for r in sweep_points(inp) if field_of(r, "datasets"))
    if not ids:
        return {"id": None, "name": inp.name, "system": None, "range": None, "range_label": "-",
                "grid": None, "sizes": None, "seed": None}
    return dataset_info(inp, ids.most_common(1)[0][0])


def pretrain_name(rec: Any) -> str:
    """The spec's pre-training name of a pre-training record ('pre-1-5' from
    'pre-1-5-tiny-69a6b2d7' when the record does not carry it)."""
    name = field_of(rec, "pretrain")
    if name:
        return str(name)
    rid, model = str(field_of(rec, "id", "")), str(field_of(rec, "model", ""))
    stem = _HASH_TAIL.sub("", rid)
    return stem[: -len(model) - 1] if model and stem.endswith("-" + model) else stem


def pretraining(inp: SweepInput, curve: dict) -> dict:
    """Where a fine-tuned / zero-shot curve starts: key (its pre-training run ids), name, the
    data it was pre-trained on, and whether that is a mixture of systems."""
    recs = [r for r in inp.runs if is_pretrain(r) and str(field_of(r, "id")) in curve["parents"]]
    names = sorted({pretrain_name(r) for r in recs}) or ([curve["source"]] if curve["source"] else [])
    data = sorted({dataset_info(inp, str(d))["name"] for r in recs for d in field_of(r, "datasets", [])})
    mixtures = sorted({str(field_of(r, "mixture")) for r in recs if field_of(r, "mixture")})
    return {"key": tuple(curve["parents"]), "name": ", ".join(names) or curve["source"] or "pre-training",
            "data": mixtures[0] if mixtures else ", ".join(data) or "-", "datasets": data,
            "is_mixture": bool(mixtures) or len(data) > 1}


def _interval(res: dict, model: str, source: Optional[str]) -> Optional[list]:
    u = res.get("uncertainty") or {}
    e = next((e for e in u.get("efficiency_by_model", []) if e["model"] == model and e["source"] == source), None)
    return e["ci"] if e else None


def _zeroshot(res: dict, model: str, source: Optional[str]) -> Optional[float]:
    z = next((z for z in res.get("zeroshot", []) if z["model"] == model and z["source"] == source), None)
    return z["error"] if z else None


def _params(inp: SweepInput, model: str) -> Optional[int]:
    ps = [field_of(r, "params") for r in inp.runs if field_of(r, "model") == model]
    ps += [f["result"].get("params") for rid, f in inp.run_files.items()
           if any(str(field_of(r, "id")) == rid and field_of(r, "model") == model for r in inp.runs)]
    ps = [p for p in ps if is_number(p)]
    return int(median(ps)) if ps else None


def factor_rows(inp: SweepInput) -> list[dict]:
    """One row per fine-tuned curve of the sweep: its factor at the sweep's target, bound,
    interval, zero-shot error, pre-training and downstream dataset."""
    res, down = inp.res, downstream(inp)
    rows = []
    for e in res.get("efficiency_by_model", []):
        curve = next((c for c in res["curves"] if c["init"] == "finetune" and c["model"] == e["model"]
                      and c["source"] == e["source"]), None)
        if curve is None:
            continue
        bound = "lower" if e["factor_is_lower_bound"] else "upper" if e["factor_is_upper_bound"] else None
        rows.append({"sweep": inp.name, "model": e["model"], "params": _params(inp, e["model"]),
                     "source": e["source"], "pretrain": pretraining(inp, curve), "dataset": down,
                     "target": e["target"], "factor": e["factor"], "bound": bound,
                     "ci": _interval(res, e["model"], e["source"]), "reason": e["reason"],
                     "zeroshot": _zeroshot(res, e["model"], e["source"]),
                     "finetune_b": (curve.get("fit") or {}).get("b")})
    return rows


def model_size_rows(inputs: list[SweepInput]) -> list[dict]:
    """Factor rows of every sweep when the fine-tuned curves cover 2+ models, else []."""
    rows = [r for inp in inputs for r in factor_rows(inp)]
    if len({r["model"] for r in rows}) < 2:
        return []
    return sorted(rows, key=lambda r: (r["dataset"]["name"], r["pretrain"]["name"], model_sort_key(r["model"])))


def _range_key(row: dict) -> tuple:
    rng = row["dataset"]["range"]
    return (0, *rng) if rng else (1, row["dataset"]["name"])


def shift_rows(inputs: list[SweepInput]) -> list[dict]:
    """Factor rows of pre-trainings fine-tuned on 2+ downstream datasets, in range order."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in (r for inp in inputs for r in factor_rows(inp)):
        groups[(r["pretrain"]["key"], r["model"])].append(r)
    out = []
    for rows in groups.values():
        if len({r["dataset"]["id"] or r["sweep"] for r in rows}) >= 2:
            out += sorted(rows, key=_range_key)
    return out


def mixture_groups(inputs: list[SweepInput]) -> list[dict]:
    """Per (downstream dataset, model) with fine-tuned curves from 2+ pre-trainings: the scratch
    curve, those curves (relabelled by what they were pre-trained on) and their factor rows."""
    by_key: dict[tuple, list[tuple[SweepInput, dict]]] = defaultdict(list)
    for inp in inputs:
        for c in inp.res["curves"]:
            if c["init"] == "finetune" and c["points"]:
                by_key[(downstream(inp)["id"] or inp.name, c["model"])].append((inp, c))
    groups = []
    for (_, model), pairs in by_key.items():
        firsts = {}
        for inp, c in pairs:  # a pre-training fine-tuned in several sweeps: the first one
            firsts.setdefault(pretraining(inp, c)["key"], (inp, c))
        if len(firsts) < 2:
            continue
        sweeps = list(dict.fromkeys(inp for inp, _ in firsts.values()))
        target = sweeps[0].res["target"]
        groups.append({"dataset": downstream(sweeps[0]), "model": model, "target": target,
                       **_mixture_panel(list(firsts.values()), model, target, len(sweeps) > 1),
                       "rows": [r for inp in sweeps for r in factor_rows(inp)
                                if r["model"] == model and r["pretrain"]["key"] in firsts]})
    return groups


def _mixture_panel(pairs: list[tuple[SweepInput, dict]], model: str, target: float, several: bool) -> dict:
    """The panel's curves, each fine-tuned one labelled by its pre-training data (and sweep when
    the panel draws from several) and given its own source, with the matching factor entries
    (first sweep first, so the scratch crossing is that of the scratch curve drawn)."""
    first = pairs[0][0]
    curves = [dict(c) for c in first.res["curves"] if c["init"] == "scratch" and c["model"] == model]
    effs = []
    for k, (inp, c) in enumerate(pairs):
        pre = pretraining(inp, c)
        kind = "mixture" if pre["is_mixture"] else "single system"
        source = f"{pre['name']}#{k}"
        label = f"fine-tuned from {pre['name']} ({kind}: {pre['data']})" + (f", sweep {inp.name}" if several else "")
        curves.append({**c, "source": source, "label": label})
        effs += [{**e, "source": source} for e in inp.res["efficiency_by_model"]
                 if e["model"] == model and e["source"] == c["source"] and e["target"] == target]
    return {"curves": curves, "efficiency": effs}


def timestamp(v: Any) -> Optional[float]:
    if is_number(v):
        return float(v)
    try:
        return datetime.fromisoformat(str(v)).timestamp() if v else None
    except ValueError:
        return None
