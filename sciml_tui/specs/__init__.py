"""Experiment spec files: pydantic models, validation with line numbers, plan expansion."""

from sciml_tui.specs.loader import SpecError, load_spec
from sciml_tui.specs.models import PRESETS, Spec
from sciml_tui.specs.names import check_name, is_valid_name, safe_child
from sciml_tui.specs.plan import DatasetUnit, Plan, RunUnit, annotate, expand, plan_from_file, stable_hash

__all__ = ["SpecError", "load_spec", "Spec", "PRESETS", "check_name", "is_valid_name", "safe_child",
           "Plan", "RunUnit", "DatasetUnit", "expand", "annotate", "plan_from_file", "stable_hash"]
