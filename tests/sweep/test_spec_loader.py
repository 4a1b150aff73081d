"""Spec validation: one message per problem with file:line and key path; hostile input never crashes."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sciml_tui.errors import ConfigError, UserError
from sciml_tui.specs import check_name, load_spec, safe_child
from sciml_tui.specs.loader import SpecError

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"

BAD = """\
datasets:
  pre: {system: poisson, range: [1, 5], n: 32, sizes: {train: 8, val: 8, test: 8}}
  down:
    system: heat
    range: [10, 5]
    n: 32
    sizes: {train: 8, val: 8, test: 8}
sweeps:
  s:
    dataset: down
    n_train: [8, 16]
    typo_key: 3
"""


def test_every_problem_is_one_line_with_file_line_and_key_path(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(BAD)
    with pytest.raises(SpecError) as err:
        load_spec(path)
    problems = err.value.problems
    assert len(problems) == 3
    assert any(p.startswith(f"{path}:4: datasets.down.system:") for p in problems)
    assert any(p.startswith(f"{path}:5: datasets.down.range:") and "lo < hi" in p for p in problems)
    assert any(p.startswith(f"{path}:12: sweeps.s.typo_key:") for p in problems)


def test_cross_references_are_checked_with_lines(tmp_path):
    path = tmp_path / "refs.yaml"
    path.write_text(
        "datasets:\n"
        "  d: {system: poisson, range: [1, 5], n: 16, sizes: {train: 8, val: 8, test: 8}}\n"
        "pretrain:\n"
        "  p: {model: tiny, data: nosuch}\n"
        "sweeps:\n"
        "  s:\n"
        "    dataset: d\n"
        "    n_train: [8]\n"
        "    models: [tiny, fno-1m]\n"
        "    inits: [scratch, {finetune: p}, {zeroshot: q}, warm]\n"
    )
    with pytest.raises(SpecError) as err:
        load_spec(path)
    text = str(err.value)
    assert f"{path}:4: pretrain.p.data: unknown dataset or mixture 'nosuch'" in text
    assert f"{path}:10: sweeps.s.inits.1.finetune: pre-training 'p' has no model fno-1m" in text
    assert f"{path}:10: sweeps.s.inits.2.zeroshot: unknown pre-training run 'q'" in text
    assert "sweeps.s.inits.3: an init is" in text


@pytest.mark.parametrize("name", ["../up", "a/b", "/abs", ".hidden", "..", "x" * 81, "sp ace", "ü", "", "trailing\n"])
def test_names_that_could_become_bad_paths_are_refused(tmp_path, name):
    with pytest.raises(UserError):
        check_name(name)
    with pytest.raises(UserError):
        safe_child(tmp_path, name)
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump({"sweeps": {name: {"dataset": "d", "n_train": [8]}}}))
    with pytest.raises(SpecError) as err:
        load_spec(path)
    assert "invalid name" in str(err.value)


def test_good_names_stay_inside(tmp_path):
    assert safe_child(tmp_path, "run-1.a_b") == tmp_path.absolute() / "run-1.a_b"


@pytest.mark.parametrize("spec", sorted(EXPERIMENTS.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_specs_are_valid(spec):
    load_spec(spec)


# -- hostile input ----------------------------------------------------------------------------
scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
                    st.sampled_from(["../../etc", "/", "poisson", "tiny", "scratch", "1e999", "~", "*"]))
keys = st.one_of(st.sampled_from(["datasets", "mixtures", "pretrain", "sweeps", "system", "range", "n", "sizes",
                                  "train", "val", "test", "seed", "dataset", "n_train", "lr", "inits", "models",
                                  "model", "data", "recipe", "epochs", "finetune", "zeroshot", "../x", "d", "p", "s"]),
                 st.text(alphabet=string.printable, max_size=10))
trees = st.recursive(scalars, lambda kids: st.one_of(st.lists(kids, max_size=4),
                                                     st.dictionaries(keys, kids, max_size=5)), max_leaves=30)


def _check(path: Path) -> None:
    try:
        load_spec(path)
    except ConfigError as exc:
        assert str(exc).strip() and "Traceback" not in str(exc)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tree=trees)
def test_random_structures_give_a_clear_error_or_a_spec(tmp_path, tree):
    path = tmp_path / "h.yaml"
    path.write_text(yaml.safe_dump(tree))
    _check(path)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(blob=st.binary(max_size=200))
def test_binary_junk_gives_a_clear_error(tmp_path, blob):
    path = tmp_path / "j.yaml"
    path.write_bytes(blob)
    _check(path)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=string.printable + "{}[]:&*!|>-", max_size=200))
def test_broken_yaml_text_gives_a_clear_error(tmp_path, text):
    path = tmp_path / "t.yaml"
    path.write_text(text)
    _check(path)


@pytest.mark.parametrize("text", [
    "[" * 5000 + "]" * 5000,                       # deep nesting
    "a: &a [1,1,1,1,1,1,1,1,1]\n" + "".join(f"{c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n"
                                             for p, c in zip("abcdefgh", "bcdefghi")),  # alias bomb
    "datasets: {d: {system: poisson, range: [1, 5], n: 1" + "0" * 400 + ", sizes: {train: 1, val: 1, test: 1}}}",
    "sweeps: {s: {dataset: d, n_train: [8], lr: [.inf]}}",
    "- just\n- a list\n",
    "42",
    "!!python/object/apply:os.system ['echo hi']",
])
def test_known_hostile_documents(tmp_path, text):
    path = tmp_path / "x.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError):
        load_spec(path)


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_spec(tmp_path / "nope.yaml")
