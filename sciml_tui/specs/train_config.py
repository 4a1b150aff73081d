"""`sciml train` configs in the spec files' words, resolved to a `RunConfig`.

`data` names a dataset recorded in the workspace store (its spec name when one dataset has it,
or its id `<name>-<hash8>`) or a dataset folder (relative to the config file, else to the
workspace); a list is a mixture, a mapping gives weights. `model` is a preset name. Every
problem is reported as `FILE:LINE: key.path: message`, as spec files are.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import yaml
from pydantic import ValidationError

from sciml_tui.errors import ConfigError
from sciml_tui.learning.config import DatasetRef, RunConfig, run_config_for
from sciml_tui.learning.presets import PRESETS
from sciml_tui.specs.loader import Problems, SpecError, add_validation_errors, read_yaml
from sciml_tui.specs.models import TrainSpec


@dataclass
class TrainConfig:
    config: RunConfig
    datasets: list[str]  # store dataset ids, or folder names for datasets outside the store
    model_given: bool  # False: a fine-tune takes its architecture from the checkpoint


def _parse_value(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def apply_overrides(raw: dict, sets: list[str], source: str) -> dict:
    """`key.sub=value` overrides (values parsed as YAML scalars: 1e-4, true, [..]); a malformed
    one is a usage error on its own."""
    for item in sets:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {item!r}: expected key=value (e.g. recipe.lr=1e-4)")
        node, parts = raw, key.strip().split(".")
        for part in parts[:-1]:
            if node.get(part) is None:
                node[part] = {}
            if not isinstance(node[part], dict):
                raise ConfigError(f"{source}: --set {key}: {part} is not a mapping")
            node = node[part]
        node[parts[-1]] = _parse_value(value)
    return raw


class _Datasets:
    """Dataset names, ids and folders -> (folder, id) through the workspace store's records."""

    def __init__(self, records: list[Any], config_dir: Path, workspace: Path) -> None:
        self.records, self.config_dir, self.workspace = records, config_dir, workspace

    def resolve(self, ref: str) -> tuple[Optional[tuple[str, str]], str]:
        by_id = [r for r in self.records if r.get("id") == ref]
        by_name = by_id or [r for r in self.records if r.get("name") == ref]
        if len(by_name) == 1:
            return (str(by_name[0].get("path")), str(by_name[0].get("id"))), ""
        if len(by_name) > 1:
            ids = ", ".join(str(r.get("id")) for r in by_name)
            return None, f"dataset name {ref!r} is ambiguous in the workspace (ids: {ids}): give one id"
        path = Path(ref).expanduser()
        for cand in ([path] if path.is_absolute() else [self.config_dir / path, self.workspace / path, path]):
            if cand.is_dir():
                return (str(cand.absolute()), cand.name), ""
        known = ", ".join(sorted({str(r.get("name")) for r in self.records})) or "none recorded"
        return None, (f"unknown dataset {ref!r}: no dataset of that name or id in the workspace (known: {known}) "
                      f"and no such folder")


def _data_parts(spec: TrainSpec, datasets: _Datasets, problems: Problems) -> tuple[list, list[str]]:
    data = spec.data
    if isinstance(data, str):
        items: list[tuple[Any, str, float]] = [(("data",), data, 1.0)]
    elif isinstance(data, dict):
        items = [(("data", k), k, w) for k, w in data.items()]
    else:
        items = [(("data", i), d.path if isinstance(d, DatasetRef) else d,
                  d.weight if isinstance(d, DatasetRef) else 1.0) for i, d in enumerate(data)]
    parts, ids = [], []
    for loc, ref, weight in items:
        found, why = datasets.resolve(ref)
        if found is None:
            problems.add(loc, why)
            continue
        parts.append((found[0], weight))
        ids.append(found[1])
    return parts, ids


def load_train_config(path: str | Path, sets: list[str], dataset_records: list[Any], workspace: Path) -> TrainConfig:
    """Read, override, validate and resolve a `sciml train` config; SpecError lists every problem."""
    path = Path(path)
    if not path.is_file():
        raise SpecError([f"{path}: config file not found"])
    raw, _lines, problems = read_yaml(path, "run config")
    if not isinstance(raw, dict):
        problems.add((), "expected a mapping of config keys (mode, data, model, recipe, ...) at the top level")
        raise SpecError(problems.items)
    raw = apply_overrides(raw, sets, str(path))
    try:
        spec = TrainSpec.model_validate(raw)
    except ValidationError as exc:
        add_validation_errors(problems, exc)
        raise SpecError(problems.items) from None
    parts, ids = _data_parts(spec, _Datasets(dataset_records, path.parent, workspace), problems)
    if isinstance(spec.model, str) and spec.model not in PRESETS:
        problems.add(("model",), f"unknown model preset {spec.model!r} (known: {', '.join(PRESETS)})")
    if problems.items:
        raise SpecError(problems.items)
    fields = spec.model_dump(exclude={"mode", "data", "model"}, exclude_unset=True)
    model = spec.model.model_dump() if spec.model is not None and not isinstance(spec.model, str) else spec.model
    try:
        cfg = run_config_for(spec.mode, parts, model, **fields)
    except ValidationError as exc:
        add_validation_errors(problems, exc)
        raise SpecError(problems.items) from None
    return TrainConfig(cfg, ids, spec.model is not None)
