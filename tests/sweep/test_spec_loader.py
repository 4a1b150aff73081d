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
    if name != "x" * 81:  # a spec name's cap; ids built from names may be longer
        with pytest.raises(UserError):
            safe_child(tmp_path, name)
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump({"sweeps": {name: {"dataset": "d", "n_train": [8]}}}))
    with pytest.raises(SpecError) as err:
        load_spec(path)
    assert "invalid name" in str(err.value)


def test_good_names_stay_inside(tmp_path):
    assert safe_child(tmp_path, "run-1.a_b") == tmp_path.absolute() / "run-1.a_b"
    assert safe_child(tmp_path, "x" * 200) == tmp_path.absolute() / ("x" * 200)
    with pytest.raises(UserError, match="1-200"):
        safe_child(tmp_path, "x" * 201)


def _spec(tmp_path, text: str) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    return path


def _problems(path: Path) -> list[str]:
    with pytest.raises(SpecError) as err:
        load_spec(path)
    return err.value.problems


DOWN = "  d: {system: poisson, range: [1, 5], n: 16, sizes: {train: 64, val: 8, test: 8}}\n"


def test_a_key_given_twice_is_an_error_with_its_line(tmp_path):
    path = _spec(tmp_path, "datasets:\n" + DOWN + "sweeps:\n  s:\n    dataset: d\n    n_train: [8]\n"
                           "    lr: [1e-3]\n    lr: [1e-4]\n")
    assert _problems(path) == [f"{path}:8: sweeps.s.lr: key given twice (YAML would keep only the last): remove one"]


@pytest.mark.parametrize("value", ["[true]", "[8, yes]", "[off]"])
def test_booleans_are_not_numbers(tmp_path, value):
    path = _spec(tmp_path, "datasets:\n" + DOWN + f"sweeps:\n  s: {{dataset: d, n_train: {value}}}\n")
    problems = _problems(path)
    assert len(problems) == 1 and "sweeps.s.n_train." in problems[0] and "true/false value" in problems[0]


def test_counts_larger_than_the_dataset_are_errors_at_load_time(tmp_path):
    path = _spec(tmp_path, "datasets:\n" + DOWN +
                 "  e: {system: poisson, range: [1, 5], n: 16, sizes: {train: 8, val: 8, test: 8}}\n"
                 "mixtures:\n  m: {datasets: {d: 1, e: 1}}\n"
                 "pretrain:\n  p: {data: m, n_train: 40}\n  q: {data: d, n_val: 9}\n"
                 "sweeps:\n  s: {dataset: d, n_train: [8, 65], n_test: 9}\n")
    text = "\n".join(_problems(path))
    assert "sweeps.s.n_train.1: N = 65 is more than the train split of dataset 'd' holds (64)" in text
    assert "sweeps.s.n_test: n_test = 9 is more than the test split" in text
    assert "pretrain.p.n_train: n_train = 40 (its share, 20 samples) is more than the train split of dataset 'e'" in text
    assert "pretrain.q.n_val: n_val = 9" in text and "raise datasets.d.sizes.val" in text


@pytest.mark.parametrize("system, rng, words", [("poisson", "[0, 5]", "must be positive"),
                                                ("advdiff", "[-0.5, 1]", "must be >= 0")])
def test_ranges_the_generator_refuses_are_refused_by_the_loader(tmp_path, system, rng, words):
    path = _spec(tmp_path, f"datasets:\n  d: {{system: {system}, range: {rng}, n: 16, "
                           "sizes: {train: 8, val: 8, test: 8}}\n")
    problems = _problems(path)
    assert len(problems) == 1 and f"{path}:2: datasets.d.range:" in problems[0] and words in problems[0]


def test_grid_size_above_the_cap_names_the_reason(tmp_path):
    path = _spec(tmp_path, "datasets:\n  d: {system: poisson, range: [1, 5], n: 4096, "
                           "sizes: {train: 8, val: 8, test: 8}}\n")
    problems = _problems(path)
    assert len(problems) == 1 and "datasets.d.n:" in problems[0] and "limit of 1024" in problems[0]


def test_long_but_reasonable_sweep_names_expand(tmp_path):
    from sciml_tui.specs import plan_from_file

    name = "advection-diffusion-transfer-sweep-v2"
    path = _spec(tmp_path, "datasets:\n  d: {system: advdiff, range: [0.2, 1], n: 16, "
                           "sizes: {train: 16384, val: 8, test: 8}}\n"
                           "pretrain:\n  advection-diffusion-pretraining-psi-0.2-1: {data: d, model: fno-268m}\n"
                           f"sweeps:\n  {name}:\n    dataset: d\n    n_train: [16384]\n    lr: [5e-5]\n"
                           "    seeds: [2147483647]\n    models: [fno-268m]\n"
                           "    inits: [scratch, {finetune: advection-diffusion-pretraining-psi-0.2-1}]\n")
    plan = plan_from_file(path, tmp_path)
    longest = max((r.id for r in plan.runs), key=len)
    assert len(longest) > 80 and longest.startswith(f"{name}-finetune-fno-268m-n16384-lr5e-05-s2147483647-")


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
