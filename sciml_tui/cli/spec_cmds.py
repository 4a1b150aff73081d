"""`sciml spec schema`: JSON Schemas of spec files and run configs, for editors.

A YAML language server given the schema (a `# yaml-language-server: $schema=FILE` line at
the top of a spec) validates and completes specs as they are typed. The schema is pydantic's,
tightened where the models check more than their types say: model names are the presets, an
init is `scratch` or `{finetune|zeroshot: <pretrain>}`, and names of datasets, mixtures,
pre-trainings and sweeps must match the name pattern. The loader stays the authority (it also
checks cross references); the schema only lets an editor catch mistakes early.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from sciml_tui.cli.app import SciTyper, app
from sciml_tui.errors import UserError

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

spec_app = SciTyper(help="Spec files: the JSON Schema for editors (see docs/specs.md).", no_args_is_help=True)
app.add_typer(spec_app, name="spec")


def _init_schema() -> dict[str, Any]:
    def ref(kind: str) -> dict[str, Any]:
        return {"type": "object", "properties": {kind: {"type": "string", "description": "a pretrain name"}},
                "required": [kind], "additionalProperties": False}

    return {"anyOf": [{"const": "scratch"}, ref("finetune"), ref("zeroshot")]}


def _tighten(node: Any) -> None:
    """Close every name-keyed mapping: pydantic lists the key pattern but lets other keys through."""
    if isinstance(node, dict):
        if "patternProperties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
        for value in node.values():
            _tighten(value)
    elif isinstance(node, list):
        for value in node:
            _tighten(value)


def spec_schema() -> dict[str, Any]:
    """The JSON Schema of an experiment spec file (`experiments/*.yaml`)."""
    from sciml_tui.specs.models import PRESETS, Spec

    schema = Spec.model_json_schema()
    defs = schema["$defs"]
    preset = {"type": "string", "enum": list(PRESETS)}
    defs["SweepSpec"]["properties"]["models"]["items"] = preset
    defs["SweepSpec"]["properties"]["inits"]["items"] = _init_schema()
    pretrain = defs["PretrainSpec"]["properties"]
    pretrain["model"]["anyOf"][0] = preset
    pretrain["models"]["anyOf"][0]["items"] = preset
    _tighten(schema)
    return {"$schema": JSON_SCHEMA_DIALECT, **schema, "title": "sciml-tui spec file",
            "description": "An experiment spec: datasets, mixtures, pretrain and sweeps (docs/specs.md)."}


def config_schema() -> dict[str, Any]:
    """The JSON Schema of a run config (`runs/<id>/config.yaml`, `sciml train CONFIG`)."""
    from sciml_tui.learning.config import RunConfig

    schema = RunConfig.model_json_schema()
    return {"$schema": JSON_SCHEMA_DIALECT, **schema, "title": "sciml-tui run config",
            "description": "One training run: mode, data, model, recipe (docs/specs.md)."}


def write_schema(schema: dict[str, Any], out: Path) -> None:
    from sciml_tui.atomic import write_text

    if out.is_dir():
        raise UserError(f"--out {out} is a folder: give a file name, e.g. {out / 'sciml-spec.schema.json'}")
    try:
        write_text(out, json.dumps(schema, indent=2) + "\n")
    except OSError as exc:
        raise UserError(f"cannot write {out}: {exc.strerror or exc}") from None


@spec_app.command("schema", examples=["sciml spec schema --out .sciml/spec.schema.json", "sciml spec schema --config"])
def schema_cmd(
    config: Annotated[bool, typer.Option("--config", help="The run-config schema instead of the spec-file one.")] = False,
    out: Annotated[Optional[Path], typer.Option("--out", help="Write the schema to FILE instead of printing it.")] = None,
) -> None:
    """Print the JSON Schema of spec files (or, with --config, of run configs)."""
    schema = config_schema() if config else spec_schema()
    if out is None:
        typer.echo(json.dumps(schema, indent=2))
        return
    write_schema(schema, out)
    typer.echo(f"wrote {out}")
