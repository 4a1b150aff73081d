"""docs/specs.md stays true: every key of every spec and run-config model, with its default."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel
from typer.testing import CliRunner

from sciml_tui.cli import app
from sciml_tui.learning.config import RunConfig
from sciml_tui.specs.models import Spec

ROOT = Path(__file__).parent.parent.parent
DOC = (ROOT / "docs" / "specs.md").read_text()
EXAMPLE = Path(__file__).parent / "advdiff-small.yaml"
MARKER = re.compile(r"<!-- model: (\w+) -->")


def doc_tables(text: str) -> dict[str, dict[str, list[str]]]:
    """model name -> {key: [type, default, units, meaning]} from the marked tables."""
    tables: dict[str, dict[str, list[str]]] = {}
    current = None
    for line in text.splitlines():
        marker = MARKER.fullmatch(line.strip())
        if marker:
            current = tables.setdefault(marker.group(1), {})
            continue
        if current is None:
            continue
        if not line.startswith("|"):
            if current:  # the table has ended
                current = None
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        key = re.fullmatch(r"`(\w+)`", cells[0])
        if key:
            current[key.group(1)] = cells[1:]
    return tables


def _models_in(annotation) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]


def reachable_models(*roots: type[BaseModel]) -> dict[str, type[BaseModel]]:
    found: dict[str, type[BaseModel]] = {}
    todo = list(roots)
    while todo:
        model = todo.pop()
        if model.__name__ in found:
            continue
        found[model.__name__] = model
        for field in model.model_fields.values():
            todo.extend(_models_in(field.annotation))
    return found


MODELS = reachable_models(Spec, RunConfig)
TABLES = doc_tables(DOC)


def test_the_parser_reads_the_doc_and_finds_nested_models():
    assert {"Spec", "SweepSpec", "Sizes", "RecipeConfig", "RunConfig", "DatasetRef", "ModelConfig"} <= set(MODELS)
    assert TABLES["Sizes"] == {k: TABLES["Sizes"][k] for k in ("train", "val", "test")}
    assert TABLES["RecipeConfig"]["epochs"][1] == "`500`"


def test_every_model_has_a_table_and_no_table_is_stale():
    assert set(TABLES) == set(MODELS)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_the_table_lists_exactly_the_keys_of_the_model(name):
    documented, actual = set(TABLES[name]), set(MODELS[name].model_fields)
    assert not actual - documented, f"docs/specs.md lacks {name} keys {sorted(actual - documented)}"
    assert not documented - actual, f"docs/specs.md lists {name} keys that do not exist: {sorted(documented - actual)}"


def _literal_default(field):
    default = field.get_default(call_default_factory=True)
    if isinstance(default, BaseModel):
        return default.model_dump(mode="json", exclude_unset=True)
    if isinstance(default, tuple):
        return list(default)
    return default


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_row_is_complete_and_its_default_is_the_model_default(name):
    for key, field in MODELS[name].model_fields.items():
        row = TABLES[name].get(key)
        if row is None:
            continue  # reported by the key test
        assert len(row) == 4 and row[0] and row[3], f"{name}.{key}: the row needs type, default, units, meaning"
        cell = row[1]
        if field.is_required():
            assert cell == "required", f"{name}.{key} is required, the doc says {cell!r}"
            continue
        literal = re.match(r"`([^`]*)`", cell)
        assert literal, f"{name}.{key}: the default {cell!r} is not a `literal`"
        assert yaml.safe_load(literal.group(1)) == _literal_default(field), (
            f"{name}.{key}: the doc's default {literal.group(1)} is not the model's {_literal_default(field)!r}")


def test_the_example_is_the_fixture_and_plans_with_the_cli(tmp_path):
    block = DOC.split("## A complete example")[1].split("```yaml\n")[1].split("```")[0]
    assert block == EXAMPLE.read_text()
    assert block.startswith("# yaml-language-server: $schema=")
    out = CliRunner().invoke(app, ["run", "sweep", str(EXAMPLE), "--dry-run", "--workspace", str(tmp_path)])
    assert out.exit_code == 0, out.output
    assert "sweep advdiff-shift: 33 points (scratch 16, finetune 16, zeroshot 1)" in out.output
    assert "pre-train 1 -> 33 point(s)" in out.output
    assert not any(tmp_path.iterdir()), "a dry run wrote into the workspace"


def test_the_run_config_example_is_a_valid_config():
    block = DOC.split("## Run configs")[1].split("```yaml\n")[1].split("```")[0]
    cfg = RunConfig.model_validate(yaml.safe_load(block))
    assert cfg.mode == "scratch" and cfg.recipe.lr == 5.0e-4 and cfg.model.preset == "fno-1m"
