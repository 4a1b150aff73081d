"""`sciml spec schema`: the exported JSON Schemas accept every shipped spec and run config.

jsonschema is not a dependency, so a small validator below checks instances against the
keywords these schemas use (and fails on any keyword it does not know, so nothing passes
unchecked); where jsonschema is installed it checks the same instances as well.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from sciml_tui.cli import app
from sciml_tui.launch import plan_sweep

ROOT = Path(__file__).parent.parent.parent
SPECS = sorted((ROOT / "experiments").glob("*.yaml")) + [Path(__file__).parent / "advdiff-small.yaml"]
ANNOTATIONS = {"title", "description", "default", "$schema", "$defs"}


def _schema(*args: str) -> dict:
    out = CliRunner().invoke(app, ["spec", "schema", *args])
    assert out.exit_code == 0, out.output
    return json.loads(out.output)


SPEC_SCHEMA = _schema()
CONFIG_SCHEMA = _schema("--config")


def _type_ok(value, kind: str) -> bool:
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, {"string": str, "boolean": bool, "null": type(None), "array": list, "object": dict}[kind])


def _object_errors(value: dict, node: dict, root: dict, path: str) -> list[str]:
    errs = [f"{path}: missing {k}" for k in node.get("required", []) if k not in value]
    if not node.get("minProperties", 0) <= len(value) <= node.get("maxProperties", len(value)):
        errs.append(f"{path}: {len(value)} entries")
    props, patterns = node.get("properties", {}), node.get("patternProperties", {})
    for key, item in value.items():
        subs = [props[key]] if key in props else [s for p, s in patterns.items() if re.search(p, key)]
        if not subs and node.get("additionalProperties", True) is False:
            errs.append(f"{path}: unknown key {key!r}")
        for sub in subs:
            errs += errors(item, sub, root, f"{path}.{key}")
    return errs


def _array_errors(value: list, node: dict, root: dict, path: str) -> list[str]:
    errs = []
    if not node.get("minItems", 0) <= len(value) <= node.get("maxItems", len(value)):
        errs.append(f"{path}: {len(value)} items")
    prefix = node.get("prefixItems", [])
    for i, item in enumerate(value):
        sub = prefix[i] if i < len(prefix) else node.get("items")
        if sub is not None:
            errs += errors(item, sub, root, f"{path}[{i}]")
    return errs


KNOWN = ANNOTATIONS | {"$ref", "anyOf", "type", "enum", "const", "required", "properties", "patternProperties",
                       "additionalProperties", "minProperties", "maxProperties", "items", "prefixItems",
                       "minItems", "maxItems", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "pattern"}


def errors(value, node: dict, root: dict, path: str = "$") -> list[str]:
    """Every way `value` breaks the schema `node` (empty when it conforms)."""
    assert set(node) <= KNOWN, f"schema keywords the test validator does not check: {set(node) - KNOWN}"
    if "$ref" in node:
        return errors(value, root["$defs"][node["$ref"].rsplit("/", 1)[1]], root, path)
    if "anyOf" in node:
        tries = [errors(value, sub, root, path) for sub in node["anyOf"]]
        return [] if any(not t for t in tries) else [f"{path}: matches no alternative ({tries})"]
    if "type" in node and not _type_ok(value, node["type"]):
        return [f"{path}: {value!r} is not {node['type']}"]
    if "enum" in node and value not in node["enum"] or "const" in node and value != node["const"]:
        return [f"{path}: {value!r} is not allowed"]
    errs = []
    for key, ok in (("minimum", lambda v, b: v >= b), ("maximum", lambda v, b: v <= b),
                    ("exclusiveMinimum", lambda v, b: v > b), ("exclusiveMaximum", lambda v, b: v < b)):
        if key in node and not ok(value, node[key]):
            errs.append(f"{path}: {value!r} breaks {key} {node[key]}")
    if "pattern" in node and not re.search(node["pattern"], value):
        errs.append(f"{path}: {value!r} does not match {node['pattern']}")
    if isinstance(value, dict):
        errs += _object_errors(value, node, root, path)
    if isinstance(value, list):
        errs += _array_errors(value, node, root, path)
    return errs


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def test_the_schemas_are_json_schema_2020_12_documents():
    for schema, title in ((SPEC_SCHEMA, "spec file"), (CONFIG_SCHEMA, "run config")):
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert title in schema["title"] and schema["additionalProperties"] is False
    assert set(SPEC_SCHEMA["properties"]) == {"datasets", "mixtures", "pretrain", "sweeps"}
    assert {"mode", "data", "recipe", "model"} <= set(CONFIG_SCHEMA["properties"])


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_every_shipped_spec_validates(spec):
    assert errors(_load(spec), SPEC_SCHEMA, SPEC_SCHEMA) == []


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_every_run_config_a_shipped_spec_writes_validates(spec, tmp_path):
    for run in plan_sweep(spec, tmp_path).runs:
        assert errors(run.config, CONFIG_SCHEMA, CONFIG_SCHEMA) == [], run.id


BAD = {
    "unknown key": ("sweeps.s", {"epochs": 3}, "unknown key 'epochs'"),
    "unknown preset": ("sweeps.s", {"models": ["fno-2m"]}, "models[0]"),
    "malformed init": ("sweeps.s", {"inits": [{"transfer": "pre"}]}, "inits[0]"),
    "bad name": ("datasets", {"no spaces": {}}, "unknown key 'no spaces'"),
    "odd grid": ("datasets.d", {"n": 4}, "minimum"),
    "missing sizes": ("datasets.d", {"sizes": None}, "missing sizes"),
    "negative lr": ("sweeps.s.recipe", {"lr": -1.0}, "exclusiveMinimum"),
}
GOOD = {"datasets": {"d": {"system": "poisson", "range": [1, 5], "n": 16, "sizes": {"train": 8, "val": 8, "test": 8}}},
        "pretrain": {"pre": {"data": "d", "models": ["tiny", "fno-64k"]}},
        "sweeps": {"s": {"dataset": "d", "n_train": [8], "inits": ["scratch", {"finetune": "pre"}, {"zeroshot": "pre"}],
                         "recipe": {"epochs": 2}}}}


@pytest.mark.parametrize("case", sorted(BAD))
def test_the_spec_schema_rejects_what_the_loader_rejects(case):
    where, change, expected = BAD[case]
    spec = json.loads(json.dumps(GOOD))
    node = spec
    for part in where.split("."):
        node = node[part]
    for key, value in change.items():
        if value is None:
            node.pop(key)
        else:
            node[key] = value
    assert errors(GOOD, SPEC_SCHEMA, SPEC_SCHEMA) == []
    found = errors(spec, SPEC_SCHEMA, SPEC_SCHEMA)
    assert any(expected in e for e in found), found


def test_jsonschema_agrees_where_it_is_installed(tmp_path):
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.Draft202012Validator.check_schema(SPEC_SCHEMA)
    jsonschema.Draft202012Validator.check_schema(CONFIG_SCHEMA)
    for spec in SPECS:
        jsonschema.Draft202012Validator(SPEC_SCHEMA).validate(_load(spec))
    bad = {**GOOD, "sweeps": {"s": {**GOOD["sweeps"]["s"], "models": ["fno-2m"]}}}
    assert list(jsonschema.Draft202012Validator(SPEC_SCHEMA).iter_errors(bad))


def test_out_writes_the_schema_atomically_and_a_folder_is_a_one_line_error(tmp_path):
    target = tmp_path / "sciml-spec.schema.json"
    out = CliRunner().invoke(app, ["spec", "schema", "--out", str(target)])
    assert out.exit_code == 0, out.output
    assert json.loads(target.read_text()) == SPEC_SCHEMA
    assert [p.name for p in tmp_path.iterdir()] == [target.name]  # no temp file left behind
    out = CliRunner().invoke(app, ["spec", "schema", "--out", str(tmp_path)])
    assert out.exit_code == 2
    assert out.output.startswith("error: ") and "is a folder" in out.output and len(out.output.splitlines()) == 1
