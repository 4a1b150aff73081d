"""Load and validate a spec file, reporting every problem as `FILE:LINE: key.path: message`."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Iterable, Optional

import yaml
from pydantic import ValidationError

from sciml_tui.errors import ConfigError
from sciml_tui.physics.limits import range_problem
from sciml_tui.specs.models import PRESETS, Spec, SweepSpec, parse_init

MAX_SPEC_BYTES = 1_000_000
MAX_NODES = 200_000  # aliases can make a small file a huge tree ("billion laughs")

Loc = tuple[Any, ...]


class SpecError(ConfigError):
    """A spec file is invalid; `problems` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def _line_map(node: yaml.Node) -> tuple[dict[tuple[str, ...], int], list[tuple[tuple[str, ...], int]]]:
    """Key path (as strings) -> 1-based line of the key (mappings) or item (sequences), and the
    keys given twice in one mapping (YAML loaders silently keep the last one) with their line."""
    lines: dict[tuple[str, ...], int] = {}
    repeated: list[tuple[tuple[str, ...], int]] = []
    budget = [MAX_NODES]
    stack: list[tuple[yaml.Node, tuple[str, ...]]] = [(node, ())]
    while stack:
        cur, path = stack.pop()
        budget[0] -= 1
        if budget[0] < 0:
            raise ValueError(f"the document is too large (more than {MAX_NODES} nodes, aliases included)")
        if isinstance(cur, yaml.MappingNode):
            seen: set[str] = set()
            for key, value in cur.value:
                k = str(key.value) if isinstance(key, yaml.ScalarNode) else "?"
                if k in seen and k != "<<":
                    repeated.append((path + (k,), key.start_mark.line + 1))
                seen.add(k)
                lines.setdefault(path + (k,), key.start_mark.line + 1)
                stack.append((value, path + (k,)))
        elif isinstance(cur, yaml.SequenceNode):
            for i, item in enumerate(cur.value):
                lines.setdefault(path + (str(i),), item.start_mark.line + 1)
                stack.append((item, path + (str(i),)))
    return lines, repeated


BOOLEAN_KEYS = {("lr", "adaptive")}  # (parent key, key) of the only spec keys that take a boolean


def _booleans(data: Any) -> list[Loc]:
    """Where the document holds a YAML boolean outside `BOOLEAN_KEYS`: no other key takes one
    (pydantic would read `n_train: [true]` as N = 1, and `yes`/`on` are booleans in YAML)."""
    found: list[Loc] = []
    stack: list[tuple[Any, Loc]] = [(data, ())]
    while stack:
        cur, loc = stack.pop()
        if isinstance(cur, bool) and tuple(loc[-2:]) not in BOOLEAN_KEYS:
            found.append(loc)
        elif isinstance(cur, dict):
            stack.extend((v, loc + (k,)) for k, v in cur.items())
        elif isinstance(cur, list):
            stack.extend((v, loc + (i,)) for i, v in enumerate(cur))
    return sorted(found, key=str)


def _line_for(lines: dict[tuple[str, ...], int], loc: Loc) -> Optional[int]:
    key = tuple(str(p) for p in loc)
    while key:
        if key in lines:
            return lines[key]
        key = key[:-1]
    return None


def _fmt_loc(loc: Loc) -> str:
    return ".".join(str(p) for p in loc if p != "[key]") or "(top level)"


class Problems:
    def __init__(self, path: Path, lines: dict[tuple[str, ...], int]) -> None:
        self.path, self.lines, self.items = path, lines, []  # type: ignore[var-annotated]

    def add(self, loc: Loc, msg: str) -> None:
        line = _line_for(self.lines, loc)
        where = f"{self.path}:{line}" if line else f"{self.path}"
        self.items.append(f"{where}: {_fmt_loc(loc)}: {msg}")


def _pydantic_loc(err: dict[str, Any]) -> Loc:
    # drop the union/type tags pydantic inserts (e.g. "int", "function-after[...]")
    return tuple(p for p in err["loc"] if not (isinstance(p, str) and ("[" in p and p != "[key]")))


def _pydantic_msg(err: dict[str, Any]) -> str:
    if err.get("type") == "string_pattern_mismatch":
        return "invalid name: use 1-80 letters, digits, '.', '_' or '-', starting with a letter or digit"
    msg = str(err["msg"])
    return msg[len("Value error, "):] if msg.startswith("Value error, ") else msg


def read_yaml(path: str | Path, what: str = "spec file") -> tuple[Any, dict[tuple[str, ...], int], Problems]:
    """The document of a YAML file, its key lines, and the problems found so far (keys given
    twice); raises SpecError when the file cannot be read or parsed."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SpecError([f"{path}: cannot read the {what} ({exc.strerror or exc})"]) from None
    if len(raw) > MAX_SPEC_BYTES:
        raise SpecError([f"{path}: the {what} is larger than {MAX_SPEC_BYTES} bytes"])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError([f"{path}: not UTF-8 text (byte {exc.start})"]) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        lines, repeated = _line_map(node) if node is not None else ({}, [])
        data = yaml.load(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise SpecError([f"{where}: invalid YAML: {exc.problem or exc.context}"]) from None
    except yaml.YAMLError as exc:
        raise SpecError([f"{path}: invalid YAML: {exc}"]) from None
    except (ValueError, RecursionError, TypeError, OverflowError) as exc:
        msg = str(exc) if isinstance(exc, ValueError) else "the document is nested too deeply"
        raise SpecError([f"{path}: {msg}"]) from None
    problems = Problems(path, lines)
    for loc, line in repeated:
        problems.items.append(f"{path}:{line}: {_fmt_loc(loc)}: key given twice (YAML would keep only the last): remove one")
    return ({} if data is None else data), lines, problems


def add_validation_errors(problems: Problems, exc: ValidationError, prefix: Loc = ()) -> None:
    for err in exc.errors(include_url=False):
        problems.add(prefix + _pydantic_loc(err), _pydantic_msg(err))


def load_spec(path: str | Path) -> Spec:
    """Parse and validate a spec file. Raises SpecError (a ConfigError) listing every problem."""
    path = Path(path)
    data, lines, problems = read_yaml(path)
    if not isinstance(data, dict):
        problems.add((), f"the top level must be a mapping of datasets/mixtures/pretrain/sweeps, got {type(data).__name__}")
        raise SpecError(problems.items)
    for loc in _booleans(data):
        problems.add(loc, "a true/false value is not valid here (YAML reads true, yes, on, false, no, off as booleans): "
                          "give a number or a name")
    if problems.items:
        raise SpecError(problems.items)
    try:
        spec = Spec.model_validate(data)
    except ValidationError as exc:
        add_validation_errors(problems, exc)
        raise SpecError(problems.items) from None
    except (RecursionError, TypeError, ValueError, OverflowError) as exc:
        problems.add((), f"cannot validate the file: {type(exc).__name__}")
        raise SpecError(problems.items) from None
    for loc, msg in check_references(spec):
        problems.add(loc, msg)
    if problems.items:
        raise SpecError(problems.items)
    return spec


def _finite_recipe(loc: Loc, recipe: Any) -> Iterable[tuple[Loc, str]]:
    for key, value in recipe.model_dump().items():
        if isinstance(value, float) and not math.isfinite(value):
            yield loc + ("recipe", key), "must be a finite number"


def check_references(spec: Spec) -> list[tuple[Loc, str]]:
    """Cross references between sections, each problem with its key path."""
    out: list[tuple[Loc, str]] = []
    for name, ds in spec.datasets.items():
        problem = range_problem(ds.system, *ds.range)
        if problem:  # the generator would refuse it only when the sweep runs
            out.append((("datasets", name, "range"), problem))
    for name, mix in spec.mixtures.items():
        if name in spec.datasets:
            out.append((("mixtures", name), f"{name!r} is already a dataset name"))
        for ds in mix.datasets:
            if ds not in spec.datasets:
                out.append((("mixtures", name, "datasets", ds), f"unknown dataset {ds!r}"))
    for name, pre in spec.pretrain.items():
        loc = ("pretrain", name)
        if pre.model and pre.models:
            out.append((loc + ("models",), "give `model` or `models`, not both"))
        if pre.data not in spec.datasets and pre.data not in spec.mixtures:
            out.append((loc + ("data",), f"unknown dataset or mixture {pre.data!r}"))
        for i, m in enumerate(pre.models or [pre.model or "tiny"]):
            if m not in PRESETS:
                where = loc + (("models", i) if pre.models else ("model",))
                out.append((where, f"unknown model preset {m!r} (known: {', '.join(PRESETS)})"))
        out.extend(_finite_recipe(loc, pre.recipe))
        out.extend(_pretrain_counts(spec, name))
    for name, sw in spec.sweeps.items():
        loc = ("sweeps", name)
        if sw.dataset not in spec.datasets:
            out.append((loc + ("dataset",), f"unknown dataset {sw.dataset!r}"))
        for i, m in enumerate(sw.models):
            if m not in PRESETS:
                out.append((loc + ("models", i), f"unknown model preset {m!r} (known: {', '.join(PRESETS)})"))
        seen = set()
        for i, item in enumerate(sw.inits):
            try:
                kind, ref = parse_init(item)
            except ValueError as exc:
                out.append((loc + ("inits", i), str(exc)))
                continue
            if (kind, ref) in seen:
                out.append((loc + ("inits", i), "duplicate init"))
            seen.add((kind, ref))
            if ref is None:
                continue
            pre = spec.pretrain.get(ref)
            if pre is None:
                out.append((loc + ("inits", i, kind), f"unknown pre-training run {ref!r}"))
                continue
            missing = [m for m in sw.models if m not in pre.model_names()]
            if missing:
                out.append((loc + ("inits", i, kind),
                            f"pre-training {ref!r} has no model {', '.join(missing)} (it trains {', '.join(pre.model_names())})"))
        if len(set(sw.n_train)) != len(sw.n_train):
            out.append((loc + ("n_train",), "repeated values in the N ladder"))
        out.extend(_sweep_counts(spec, name, sw))
        out.extend(_finite_recipe(loc, sw.recipe))
    return out


def _too_many(asked: str, dataset: str, split: str, pool: int) -> str:
    return (f"{asked} is more than the {split} split of dataset {dataset!r} holds ({pool}): "
            f"lower it or raise datasets.{dataset}.sizes.{split}")


def _sweep_counts(spec: Spec, name: str, sw: SweepSpec) -> Iterable[tuple[Loc, str]]:
    """N, n_val and n_test against the sizes of the sweep's dataset (else the run fails late)."""
    ds = spec.datasets.get(sw.dataset)
    if ds is None:
        return
    loc = ("sweeps", name)
    for i, n in enumerate(sw.n_train):
        if n > ds.sizes.train:
            yield loc + ("n_train", i), _too_many(f"N = {n}", sw.dataset, "train", ds.sizes.train)
    for key, split in (("n_val", "val"), ("n_test", "test")):
        asked, pool = getattr(sw, key), getattr(ds.sizes, split)
        if asked is not None and asked > pool:
            yield loc + (key,), _too_many(f"{key} = {asked}", sw.dataset, split, pool)


def _pretrain_counts(spec: Spec, name: str) -> Iterable[tuple[Loc, str]]:
    """A pre-training's n_train/n_val/n_test against its dataset or mixture. A mixture takes
    round(n w / sum w) samples (at least 1) from each part, as the training data loader does."""
    pre = spec.pretrain[name]
    if pre.data in spec.mixtures:
        parts = dict(spec.mixtures[pre.data].datasets)
    elif pre.data in spec.datasets:
        parts = {pre.data: 1.0}
    else:
        return
    wsum = sum(parts.values())
    for key, split in (("n_train", "train"), ("n_val", "val"), ("n_test", "test")):
        asked = getattr(pre, key)
        if asked is None:
            continue
        for ds_name, w in parts.items():
            ds = spec.datasets.get(ds_name)
            need = max(1, round(asked * w / wsum))
            if ds is not None and need > getattr(ds.sizes, split):
                what = f"{key} = {asked}" + (f" (its share, {need} samples)" if len(parts) > 1 else "")
                yield ("pretrain", name, key), _too_many(what, ds_name, split, getattr(ds.sizes, split))
                break
