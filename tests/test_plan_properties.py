"""Properties of the plan loader and of targets, over many generated plan files.

Whatever a plan file says, loading it gives a valid plan or a clean ``PlanError`` (a
``QuyhoachError``), never another exception; a plan that loads also checks and runs
cleanly. Mutations start from the real Lai Châu plan: its values replaced by other
TOML values (numbers of every size, NaN, text, tables, lists), keys deleted or added,
lines of its text dropped, doubled or edited.
"""

from __future__ import annotations

import copy
import functools
import math
import tomllib

import numpy as np
import pytest
import tomli_w
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import quyhoach
from conftest import LAI_CHAU, localise
from quyhoach.errors import QuyhoachError
from quyhoach.registry import VARIABLES
from quyhoach.simulate import check_plan

TEXT = localise(LAI_CHAU.read_text(encoding="utf-8"))
DOC = tomllib.loads(TEXT)
SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                      HealthCheck.too_slow])

# Words the plan format gives meaning to: mutations that use them reach deeper checks.
WORDS = ["base", "low", "high", "normal", "pert", "uniform", "lognormal", "truncnormal",
         "level", "share", "average_growth", "change_per_year", "cumulative", ">=", "<=",
         "about", "points", "logistic", "proportional", "gap_closing", "2021-2030", "2031",
         "2030-2021", "2025-2099", "growth.services", "indicators.forest_cover.speed",
         "population", "grdp_real", "tourists", "../../x", "", " ", "\u0000", "lai_chau"]
KEYS = ["confirm", "inherits", "dist", "sd", "min", "max", "mode", "year", "period", "value",
        "tolerance", "speed", "form", "lower", "upper", "agriculture", "2025", "uncertainty",
        "indicators", "x"]
numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-2**80, max_value=2**80),
    st.sampled_from([0, 1, -1, 0.5, 0.095, 0.136, 9.0, 100, -100, 1e308, -1e308, 2030,
                     2019, 2051, 2**63 - 1, -2**63, 3000, 10**30]))
scalars = st.one_of(numbers, st.booleans(), st.sampled_from(WORDS), st.text(max_size=8))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.sampled_from(KEYS + WORDS[:8]), inner, max_size=3)), max_leaves=6)


def _paths(node, path=()):
    """Every key path in a document, depth first."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield path + (k,)
            yield from _paths(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield path + (i,)
            yield from _paths(v, path + (i,))


PATHS = list(_paths(DOC))


def _at(doc, path):
    for p in path:
        doc = doc[p]
    return doc


@st.composite
def mutated_docs(draw):
    """The plan document with one to three of its values replaced, deleted or extended."""
    doc = copy.deepcopy(DOC)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(PATHS))
        try:
            parent, node = _at(doc, path[:-1]), _at(doc, path)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed it
        op = draw(st.sampled_from(["replace", "replace", "delete", "add", "scale"]))
        if op == "replace":
            parent[path[-1]] = draw(values)
        elif op == "delete":
            del parent[path[-1]]
        elif op == "add" and isinstance(node, dict):
            node[draw(st.sampled_from(KEYS))] = draw(values)
        elif op == "add" and isinstance(node, list):
            node.append(draw(values))
        elif op == "scale" and isinstance(node, (int, float)) and not isinstance(node, bool):
            parent[path[-1]] = node * draw(st.sampled_from([100, 0.01, -1, 10, 1000]))
    return doc


def _dump(doc) -> str:
    try:
        return tomli_w.dumps(doc)
    except (TypeError, ValueError):
        assume(False)  # not expressible in TOML (e.g. a NUL in a key)
        raise


def _finite_plan(plan) -> None:
    """A plan that loads holds only finite numbers the kernel can use."""
    for sc in plan.scenarios:
        for arr in sc.values.values():
            assert not np.isinf(arr).any()
        for spec in sc.indicators.values():
            assert not np.isinf(spec.speed).any()
            assert 0 <= spec.lower < spec.upper <= 100
        for d in sc.uncertainty.parameters:
            assert all(math.isfinite(v) for v in d.args.values())
        for g in sc.uncertainty.shocks:
            assert np.isfinite(g.sd).all() and np.isfinite(g.correlation).all()
        for e in sc.uncertainty.disruptions:
            assert 0 <= e.recovery_years <= 50 and 0 <= e.probability <= 1
    for t in plan.targets:
        assert math.isfinite(t.value) and math.isfinite(t.tolerance)
        assert plan.base_year <= t.year <= plan.horizon
    assert plan.horizon - plan.base_year <= 100


def _load_or_clean_error(path):
    try:
        plan = quyhoach.load_plan(path)
    except QuyhoachError:
        return None
    _finite_plan(plan)
    return plan


# ------------------------------------------------------------------ the plan loader

@settings(max_examples=100, **SETTINGS)
@given(doc=mutated_docs())
def test_any_mutation_loads_or_fails_cleanly(tmp_path, doc):
    path = tmp_path / "plan.toml"
    path.write_text(_dump(doc), encoding="utf-8")
    _load_or_clean_error(path)


@settings(max_examples=30, **SETTINGS)
@given(doc=mutated_docs())
def test_a_mutated_plan_that_loads_checks_cleanly(tmp_path, doc):
    """Past the loader: the inputs, every scenario's central path, the table."""
    path = tmp_path / "plan.toml"
    path.write_text(_dump(doc), encoding="utf-8")
    if _load_or_clean_error(path) is None:
        return
    try:
        check_plan(path)
    except QuyhoachError:
        pass


LINES = TEXT.splitlines()


@settings(max_examples=100, **SETTINGS)
@given(i=st.integers(0, len(LINES) - 1), op=st.sampled_from(["drop", "double", "edit"]),
       junk=st.text(max_size=12))
def test_any_text_edit_loads_or_fails_cleanly(tmp_path, i, op, junk):
    """Line-level edits also reach the TOML syntax checks."""
    lines = list(LINES)
    if op == "drop":
        del lines[i]
    elif op == "double":
        lines.insert(i, lines[i])
    else:
        cut = len(lines[i]) // 2
        lines[i] = lines[i][:cut] + junk + lines[i][cut:]
    path = tmp_path / "plan.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    _load_or_clean_error(path)


def _numeric_leaves(node, path=()):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _numeric_leaves(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _numeric_leaves(v, path + (i,))
    elif isinstance(node, (int, float)) and not isinstance(node, bool):
        yield path


IMPOSSIBLE = (math.nan, math.inf, -math.inf, 1e308, -1e308)
LEAVES = list(_numeric_leaves(DOC))


def _with(path, value):
    doc = copy.deepcopy(DOC)
    _at(doc, path[:-1])[path[-1]] = value
    return doc


def _accepted(path, leaves, value_of) -> list:
    """The leaves whose impossible value the loader accepted (none, if it works)."""
    accepted = []
    for i, leaf in enumerate(leaves):
        path.write_text(tomli_w.dumps(_with(leaf, value_of(i))), encoding="utf-8")
        try:
            quyhoach.load_plan(path)
        except QuyhoachError:
            continue
        accepted.append((".".join(map(str, leaf)), value_of(i)))
    return accepted


def test_no_number_in_the_plan_may_be_non_finite_or_huge(tmp_path):
    """Every number of the plan, replaced by NaN, ±inf or ±1e308 (in turn), is refused."""
    assert len(LEAVES) > 150
    assert _accepted(tmp_path / "plan.toml", LEAVES,
                     lambda i: IMPOSSIBLE[i % len(IMPOSSIBLE)]) == []


@pytest.mark.slow
@pytest.mark.parametrize("value", IMPOSSIBLE, ids=str)
def test_no_number_may_be_any_impossible_value(tmp_path, value):
    """The full sweep: every number of the plan times every impossible value."""
    assert _accepted(tmp_path / "plan.toml", LEAVES, lambda i: value) == []


# ------------------------------------------------------------------------- targets

TARGET_START = TEXT.index("\n[[targets]]\n") + 1
TARGET_END = TEXT.index("# Targets in the documents that the model has no indicator for")
NAMES = [v.name for v in VARIABLES]


KINDS = ["level", "share", "average_growth", "change_per_year", "cumulative"]


@functools.lru_cache(maxsize=1)
def _projection():
    """The Lai Châu base scenario's central path, {indicator: values by year (table units)}."""
    res = quyhoach.simulate(LAI_CHAU)
    return {name: res.values("base", name) for name in NAMES}


def _plausible_value(draw, indicator: str, kind: str, first: int, last: int) -> float:
    """A value of the right size for the target, so that many targets are evaluated."""
    var = VARIABLES[NAMES.index(indicator)]
    if kind in ("average_growth", "change_per_year") or var.kind == "rate":
        return draw(st.floats(-5, 20))
    if var.kind == "share":
        return draw(st.floats(0, 100))
    path = _projection()[indicator][first - 2020: last - 2020 + 1]
    reference = np.nansum(path) if kind == "cumulative" else path[-1]
    return float(reference) * draw(st.floats(0.2, 5)) if np.isfinite(reference) else 1.0


@st.composite
def targets(draw):
    """One target: any indicator, kind, comparison, year or period, value, tolerance.

    Mostly well formed and of a plausible size (so that many load and are evaluated),
    otherwise anything.
    """
    kind = draw(st.sampled_from(KINDS * 4 + ["growth"]))
    comparison = draw(st.sampled_from([">=", "<=", "about"] * 4 + ["~"]))
    indicator = draw(st.sampled_from(NAMES * 4 + ["gdp"]))
    a, b = sorted(draw(st.lists(st.integers(2015, 2055), min_size=2, max_size=2)))
    fits = draw(st.integers(0, 5)) > 0
    t = {"id": "t", "label_vi": "t", "label_en": "t", "source": "s", "indicator": indicator,
         "kind": kind, "comparison": comparison}
    if indicator in NAMES and kind in KINDS and fits and 2020 <= a and b <= 2050:
        t["value"] = _plausible_value(draw, indicator, kind, a, b)
    else:
        t["value"] = draw(numbers)
    if comparison == "about" or draw(st.booleans()):
        t["tolerance"] = draw(st.floats(0, 10)) if fits else draw(numbers)
    if (kind in ("level", "share")) == fits:
        t["year"] = b if fits else draw(st.one_of(st.integers(2015, 2055), numbers))
    else:
        t["period"] = f"{a}-{b}" if fits else draw(st.sampled_from([f"{b}-{a}", f"{a}",
                                                                   f"{a}–{b}", "all"]))
    if draw(st.booleans()):
        t["confirm"] = draw(st.booleans())
    return t


@settings(max_examples=50, **SETTINGS)
@given(target=targets())
def test_any_target_loads_cleanly_and_a_loaded_one_evaluates(tmp_path, target):
    # first in the file, where a top-level key (inline or not) belongs to no other table
    text = tomli_w.dumps({"targets": [target]}) + "\n" + TEXT[:TARGET_START] + \
        TEXT[TARGET_END:]
    path = tmp_path / "plan.toml"
    path.write_text(text, encoding="utf-8")
    if _load_or_clean_error(path) is None:
        return
    try:
        res = check_plan(path)
    except QuyhoachError:
        return  # e.g. a target no scenario can evaluate
    table = res.feasibility()
    assert len(table) == len(res.scenarios)


@pytest.mark.parametrize("kind, indicator, when, value", [
    ("level", "grdp_per_capita", {"year": 2030}, 100.0),
    ("share", "forest_cover", {"year": 2035}, 55.0),
    ("average_growth", "grdp_real", {"period": "2026-2030"}, 8.0),
    ("average_growth", "population", {"period": "2021-2050"}, 0.25),
    ("change_per_year", "poverty_rate", {"period": "2031-2040"}, -1.0),
    ("cumulative", "investment_need", {"period": "2026-2030"}, 150000.0),
    ("cumulative", "investment_need", {"period": "2021-2024"}, 60000.0),
    ("level", "grdp_growth", {"year": 2021}, 7.0),
])
@pytest.mark.parametrize("comparison", [">=", "<=", "about"])
def test_targets_of_every_kind_and_comparison_evaluate(tmp_path, kind, indicator, when, value,
                                                       comparison):
    """Periods not yet started, wholly observed, or spanning both: all evaluate."""
    target = {"id": "t", "label_vi": "t", "label_en": "t", "source": "s", "indicator": indicator,
              "kind": kind, "comparison": comparison, "value": value, "tolerance": 1.0, **when}
    path = tmp_path / "plan.toml"
    path.write_text(tomli_w.dumps({"targets": [target]}) + "\n" + TEXT[:TARGET_START]
                    + TEXT[TARGET_END:], encoding="utf-8")
    table = check_plan(path).feasibility()
    assert len(table) == 4
