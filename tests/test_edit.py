"""Plans changed in code (``with_scenario``, ``with_target``, ``replace``, ``save``).

A change made in code is validated as the same change made in the file: the same
problems, with the same key paths and messages (only the source differs: the file's
path followed by "(edited in code)"). Each new error message has a test here.
"""

from __future__ import annotations

import itertools
import math
import tomllib
from pathlib import Path

import numpy as np
import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import quyhoach
from conftest import LAI_CHAU, check, localise
from quyhoach import PlanError, QuyhoachError
from quyhoach.edit import PlanExistsError, thaw
from quyhoach.fields import RESERVED
from quyhoach.plan import Plan

FAST_GROWTH = {"industry_construction": {"2025-2030": 16.0, "2031-2050": 10.0}}
SETTINGS = dict(deadline=None, max_examples=25,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


# ----------------------------------------------------------------------------- helpers

@pytest.fixture(scope="module")
def plan() -> Plan:
    return quyhoach.load_plan(LAI_CHAU)


@pytest.fixture()
def local(tmp_path) -> Plan:
    """The Lai Châu plan copied into tmp_path (inputs and model by absolute path)."""
    path = tmp_path / "plan.toml"
    path.write_text(localise(LAI_CHAU.read_text(encoding="utf-8")), encoding="utf-8")
    return quyhoach.load_plan(path)


def tkey(plan: Plan, tid: str) -> str:
    """Key path of a target in messages, e.g. ``targets[11] (id 'x')``."""
    return f"targets[{[t.id for t in plan.targets].index(tid)}] (id '{tid}')"


def edited(plan: Plan) -> str:
    return f"{plan.path} (edited in code)"


def refused(change, *args, **kwargs) -> PlanError:
    with pytest.raises(PlanError) as exc:
        change(*args, **kwargs)
    return exc.value


def keyed(err: PlanError, source) -> list[tuple[str, str]]:
    """(key path, message) of each problem, the source left out."""
    head = f"{source}: "
    assert all(p.where.startswith(head) or p.where == str(source) for p in err.problems), err
    return [(p.where.removeprefix(head), p.message) for p in err.problems]


def file_twin(plan: Plan, extra: dict, name: str = "twin.toml") -> Path:
    """The plan's own file with ``extra`` (a TOML document) appended, beside it."""
    path = plan.path.parent / name
    text = plan.path.read_text(encoding="utf-8")
    path.write_text(text + "\n" + tomli_w.dumps(extra), encoding="utf-8")
    return path


def fast_twin(plan: Plan, growth: dict) -> Path:
    return file_twin(plan, {"scenarios": {"fast": {"inherits": "base", "growth": growth}}})


# ---------------------------------------------------------- the same validator as files

def test_790_percent_growth_is_refused_as_in_a_file(local):
    growth = {"industry_construction": {"2025-2030": 790.0, "2031-2050": 10.0}}
    in_code = refused(local.with_scenario, "fast", inherits="base", growth=growth)
    path = fast_twin(local, growth)
    in_file = refused(quyhoach.load_plan, path)
    assert keyed(in_code, edited(local)) == keyed(in_file, path)
    check(in_code, edited(local), 'scenarios.fast.growth.industry_construction["2025-2030"]',
          "790 is above the maximum 40 (%/yr)", "beyond 500", "check the number")


def test_a_dotted_name_is_the_same_key(local):
    err = refused(local.with_scenario, "fast", inherits="base",
                  **{"growth.industry_construction": {"2025-2030": 790.0, "2031-2050": 9.0}})
    check(err, edited(local), 'scenarios.fast.growth.industry_construction["2025-2030"]',
          "790 is above the maximum 40")


values = st.recursive(
    st.one_of(st.floats(allow_nan=True, allow_infinity=True),
              st.integers(min_value=-2**70, max_value=2**70), st.booleans(),
              st.text(max_size=6), st.sampled_from([0.136, 9.0, -100, 45.0, 2030])),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["2025-2030", "2031-2050", "2031", "2050-2025",
                                         "x", "2025"]), inner, max_size=3)),
    max_leaves=5)


@settings(**SETTINGS)
@given(value=values, parameter=st.sampled_from(["industry_construction", "services"]))
def test_any_value_in_code_is_judged_as_in_a_file(tmp_path, value, parameter):
    """Whatever a change says, code and file give the same plan or the same problems."""
    path = tmp_path / "plan.toml"
    if not path.exists():
        path.write_text(localise(LAI_CHAU.read_text(encoding="utf-8")), encoding="utf-8")
    plan = quyhoach.load_plan(path)
    twin = fast_twin(plan, {parameter: value})
    try:
        from_file = quyhoach.load_plan(twin)
    except PlanError as err:
        in_code = refused(plan.with_scenario, "fast", inherits="base",
                          growth={parameter: value})
        # the same problems (tomli_w writes a table's values before its tables, so the
        # twin's keys, and the order of its problems, may differ)
        assert sorted(keyed(in_code, edited(plan))) == sorted(keyed(err, twin))
    else:
        assert plan.with_scenario("fast", inherits="base", growth={parameter: value}) \
            == from_file


# ------------------------------------------------------------------------- scenarios

def test_a_child_scenario_inherits(plan):
    fast = plan.with_scenario("fast", inherits="base", label_vi="Nhanh", label_en="Fast",
                              growth=FAST_GROWTH)
    sc, base = fast.scenario("fast"), fast.scenario("base")
    assert fast.scenario_names == ["base", "low", "high", "recent_trend", "fast"]
    assert (sc.label_vi, sc.label_en) == ("Nhanh", "Fast")
    got = sc.values["growth.industry_construction"]
    assert got[fast.years == 2030] == 16.0 and got[fast.years == 2031] == 10.0
    for path, arr in base.values.items():
        if path != "growth.industry_construction":
            np.testing.assert_array_equal(sc.values[path], arr, err_msg=path)
    assert sc.indicators.keys() == base.indicators.keys()
    assert sc.uncertainty == base.uncertainty


def test_an_edited_plan_simulates(plan):
    fast = plan.with_scenario("fast", inherits="base", growth=FAST_GROWTH)
    res = quyhoach.simulate(fast, scenarios=["fast"])
    base = quyhoach.simulate(plan, scenarios=["base"])
    years = list(plan.years)
    i, j = years.index(2030), years.index(2024)
    industry = "va_real_industry_construction"
    ratio = res.values("fast", industry)[i] / base.values("base", industry)[i]
    assert math.isclose(ratio, (1.16 / 1.136) ** 6, rel_tol=1e-9)  # 2025-2030 at 16 %
    np.testing.assert_array_equal(res.values("fast", "va_real_agriculture"),
                                  base.values("base", "va_real_agriculture"))
    np.testing.assert_array_equal(res.values("fast", "grdp_real")[:j + 1],
                                  base.values("base", "grdp_real")[:j + 1])  # history
    assert res.values("fast", "grdp_real")[i] > base.values("base", "grdp_real")[i]


def test_changing_a_scenario_merges_key_by_key(plan):
    p = plan.with_scenario("base", budget={"buoyancy": 1.05},
                           indicators={"forest_cover": {"speed": 0.6}})
    base = p.scenario("base")
    assert base.values["budget.buoyancy"][-1] == 1.05
    np.testing.assert_array_equal(base.values["growth.services"],
                                  plan.scenario("base").values["growth.services"])
    spec = base.indicators["forest_cover"]
    assert (spec.form, spec.upper, spec.speed[-1]) == ("points", 70.0, 0.6)
    # a child that does not set the value inherits the change
    assert p.scenario("recent_trend").values["budget.buoyancy"][-1] == 1.05
    assert p.scenario("low").values["budget.buoyancy"][-1] == 0.9


def test_none_removes_a_key(plan):
    assert plan.scenario("high").reclassification
    p = plan.with_scenario("high", urbanization={"reclassification": None})
    assert p.scenario("high").reclassification == ()
    assert "removes urbanization.reclassification" in p.edits[-1]
    assert "urbanization" in p.document["scenarios"]["high"]  # speed stays


def test_none_removes_only_what_the_table_sets(plan):
    err = refused(plan.with_scenario, "low", urbanization={"sped": None})
    check(err, edited(plan), "scenarios.low.urbanization", "None removes a key, but 'sped' "
          "is not set here", "an inherited value is removed where it is written")
    err = refused(plan.with_scenario, "high", urbanization={"sped": None})
    check(err, edited(plan), "scenarios.high.urbanization", "did you mean 'speed'?")


def test_confirm_adds_to_the_confirmations(plan):
    high = {"2025-2030": 25.0, "2031-2050": 25.0}
    p = plan.with_scenario("base", growth={"agriculture": high},
                           confirm=["growth.agriculture"])
    err = refused(p.with_scenario, "base", growth={"services": {"2025-2050": 35.0}})
    check(err, edited(p), 'scenarios.base.growth.services["2025-2050"]',
          "above the maximum 30", '"growth.services" to confirm')
    q = p.with_scenario("base", growth={"services": {"2025-2050": 35.0}},
                        confirm=["growth.services"])
    assert q.scenario("base").confirmed == ("growth.agriculture", "growth.services")


def test_unknown_keys_get_did_you_mean(plan):
    err = refused(plan.with_scenario, "fast", inherits="bse", grwth=FAST_GROWTH,
                  **{"budget.bouyancy": 1.0})
    src = edited(plan)
    check(err, src, "scenarios.fast", "unknown key 'grwth'", "did you mean 'growth'?")
    check(err, src, "scenarios.fast.budget", "unknown key 'bouyancy'", "'buoyancy'")
    check(err, src, "scenarios.fast.inherits", "unknown scenario 'bse'", "'base'?")
    err = refused(plan.with_target, "grdp_per_capita_2030", tolerence=1.0)
    check(err, src, tkey(plan, "grdp_per_capita_2030"), "unknown key 'tolerence'",
          "did you mean 'tolerance'?")
    err = refused(plan.replace, horizn=2045)
    check(err, src, "top level", "unknown key 'horizn'", "did you mean 'horizon'?")


def test_a_scenario_name_is_checked(plan):
    err = refused(plan.with_scenario, "Nhanh hơn", inherits="base")
    check(err, edited(plan), 'scenarios."Nhanh hơn"', "cannot be a scenario name",
          "'nhanh_hon'")
    err = refused(plan.with_scenario, 3, inherits="base")
    check(err, edited(plan), "scenarios", "expected a scenario name (text), found 3")


def test_the_original_plan_is_unchanged(plan):
    before = (plan.to_toml(), plan.sha256, plan.scenario_names, len(plan.targets))
    plan.with_scenario("fast", inherits="base", growth=FAST_GROWTH)
    plan.with_scenario("base", budget={"buoyancy": 1.2})
    plan.with_target("grdp_per_capita_2030", value=120.0)
    plan.replace(horizon=2060, model=None)
    assert (plan.to_toml(), plan.sha256, plan.scenario_names, len(plan.targets)) == before
    assert plan.scenario("base").values["budget.buoyancy"][-1] == 1.0
    assert not plan.edited and plan.edits == ()
    assert thaw(plan.document) == tomllib.loads(LAI_CHAU.read_text(encoding="utf-8"))
    with pytest.raises(TypeError):
        plan.document["plan"]["horizon"] = 2060  # type: ignore[index]
    with pytest.raises(TypeError):
        plan.document["targets"][0]["value"] = 1.0  # type: ignore[index]


def test_an_edited_plan_records_its_edits(plan):
    p = plan.with_scenario("fast", inherits="base", growth=FAST_GROWTH)
    p = p.with_target("grdp_per_capita_2030", value=120.0).replace(horizon=2060)
    assert p.edited and p.path == plan.path and p.inputs_dir == plan.inputs_dir
    assert p.edits == (
        f"from {plan.path} (sha256 {plan.sha256})",
        "with_scenario('fast') adds it: sets growth.industry_construction, inherits",
        "with_target('grdp_per_capita_2030'): sets value",
        "replace(): sets plan.horizon")
    assert p.sha256 != plan.sha256 and len(p.sha256) == 64


# --------------------------------------------------------------------------- targets

POVERTY = dict(indicator="poverty_rate", kind="level", year=2030, comparison="<=",
               value=3.0, label_vi="Tỷ lệ hộ nghèo 2030", label_en="Poverty rate 2030",
               source="test")


def test_with_target_adds_a_target(plan):
    p = plan.with_target("poverty_2030", **POVERTY)
    t = p.targets[-1]
    assert (t.id, t.indicator, t.value, t.year, t.comparison) == \
        ("poverty_2030", "poverty_rate", 3.0, 2030, "<=")
    assert len(p.targets) == len(plan.targets) + 1
    assert p.edits[-1].startswith("with_target('poverty_2030') adds it: sets indicator")


def test_with_target_changes_the_target_with_that_id(plan):
    p = plan.with_target("grdp_per_capita_2030", value=120.0, note="what if")
    i = [t.id for t in plan.targets].index("grdp_per_capita_2030")
    assert [t.id for t in p.targets] == [t.id for t in plan.targets]  # kept its place
    assert (p.targets[i].value, p.targets[i].note, p.targets[i].label_en) == \
        (120.0, "what if", plan.targets[i].label_en)
    q = plan.with_target("grdp_per_capita_2030", kind="average_growth", year=None,
                         period="2026-2030", value=8.0)
    assert (q.targets[i].kind, q.targets[i].first_year, q.targets[i].year) == \
        ("average_growth", 2026, 2030)


def test_with_target_is_validated(plan):
    src = edited(plan)
    where = f"targets[{len(plan.targets)}] (id 'poverty_2030')"
    err = refused(plan.with_target, "poverty_2030", **{**POVERTY, "kind": "levle"})
    check(err, src, f"{where}.kind", "unknown kind 'levle'", "did you mean 'level'?")
    err = refused(plan.with_target, "poverty_2030", **{**POVERTY, "value": float("nan")})
    check(err, src, f"{where}.value", "expected a finite number, found nan")
    err = refused(plan.with_target, "poverty_2030", indicator="poverty_rate")
    check(err, src, f"{where}.value", "missing; expected a number")
    check(err, src, f"{where}.label_vi", "missing; expected text")
    err = refused(plan.with_target, "grdp_per_capita_2030", period="2026-2030")
    check(err, src, f"{tkey(plan, 'grdp_per_capita_2030')}.period",
          "kind 'level' takes a year, not a period")


def test_a_bad_target_is_refused_as_in_a_file(local):
    bad = {**POVERTY, "value": float("nan"), "kind": "levle"}
    in_code = refused(local.with_target, "poverty_2030", **bad)
    path = file_twin(local, {"targets": [{"id": "poverty_2030", **bad}]})
    assert keyed(in_code, edited(local)) == keyed(refused(quyhoach.load_plan, path), path)


# --------------------------------------------------------------------------- replace

def test_replace_revalidates(plan):
    src = edited(plan)
    err = refused(plan.replace, horizon=2045)
    check(err, src, 'scenarios.base.growth.agriculture["2031-2050"]',
          "year 2050 is outside the plan's years 2020-2045")
    err = refused(plan.replace, horizon=2200)
    check(err, src, "plan.horizon", "2200 is 180 years after base_year 2020",
          "at most 100 years")
    err = refused(plan.replace, horizon="2045")
    check(err, src, "plan.horizon", "expected a whole number, found '2045'")
    err = refused(plan.replace, last_actual_year=2051)
    check(err, src, "plan.last_actual_year", "expected base_year <= last_actual_year")


def test_replace_sets_plan_keys_and_sections(plan):
    p = plan.replace(horizon=2060, name_en="Lai Chau to 2060", model=None,
                     targets=[plan.document["targets"][0]])
    assert (p.horizon, p.name_en, p.model) == (2060, "Lai Chau to 2060", None)
    assert [t.id for t in p.targets] == [plan.targets[0].id]
    assert "model" not in p.document["plan"]
    assert p.edits[-1] == "replace(): sets plan.horizon, plan.name_en, targets; " \
                          "removes plan.model"
    q = plan.replace(**{"plan.horizon": 2060, "uncertainty.shocks": {}})
    assert q.horizon == 2060 and not q.document["uncertainty"]["shocks"]


def test_replace_removes_a_scenario_or_a_section(plan):
    p = plan.replace(**{"scenarios.recent_trend": None})
    assert p.scenario_names == ["base", "low", "high"]
    assert p.edits[-1] == "replace(): removes scenarios.recent_trend"
    err = refused(plan.replace, **{"scenarios.base": None})
    check(err, edited(plan), "scenarios.low.inherits", "unknown scenario 'base'")
    err = refused(plan.replace, plan=None)
    check(err, edited(plan), "plan", "missing [plan] table")


def test_replace_resolves_paths_from_the_plan_file(plan):
    p = plan.replace(inputs=Path("../inputs/lai_chau"))
    assert p.inputs_dir == plan.inputs_dir and p.document["plan"]["inputs"] == \
        "../inputs/lai_chau"
    err = refused(plan.replace, inputs="inputs/lai_chau")
    check(err, edited(plan), "plan.inputs", "holds no history.csv",
          "a relative path starts at the plan file's folder")


def test_replace_refuses_a_path_through_a_value(plan):
    err = refused(plan.replace, **{"plan.horizon.year": 2060})
    check(err, edited(plan), "plan.horizon", "holds 2050, not a table, so "
          "plan.horizon.year cannot be set")
    err = refused(plan.replace, **{"nothing.x": None})
    check(err, edited(plan), "nothing", "is not set, so nothing.x cannot be removed")


# ------------------------------------------------------------- what code can pass in

def test_python_values_become_toml_values(plan):
    years = np.arange(2025, 2027)
    p = plan.with_scenario(
        "fast", inherits="base", label_en=np.str_("Fast"),
        growth={"industry_construction": {int(years[0]): np.float64(16.0), 2031: 10}},
        confirm=("growth.industry_construction",),
        budget={"buoyancy": np.float32(1.25)})
    table = p.document["scenarios"]["fast"]
    assert table["growth"]["industry_construction"] == {"2025": 16.0, "2031": 10}
    assert table["confirm"] == ("growth.industry_construction",)
    assert type(table["budget"]["buoyancy"]) is float
    assert p.scenario("fast").values["growth.industry_construction"][-1] == 10.0


def test_values_toml_cannot_hold_are_refused(plan):
    src = edited(plan)
    err = refused(plan.with_scenario, "fast", inherits="base",
                  growth={"services": {"2025-2050": {1, 2}}})
    check(err, src, 'scenarios.fast.growth.services["2025-2050"]', "{1, 2} (a set) cannot be "
          "written in a plan file", "expected text, a number, true or false")
    err = refused(plan.with_scenario, "fast", inherits="base",
                  growth={"services": {"2025-2030": None}})
    check(err, src, 'scenarios.fast.growth.services["2025-2030"]', "None cannot be written in "
          "a plan file; None removes a key only where tables merge")
    err = refused(plan.with_scenario, "fast", inherits="base",
                  growth={"services": {(2025, 2030): 7.0}})
    check(err, src, "scenarios.fast.growth.services", "the key (2025, 2030) is not text",
          '2031 is "2031"')


def test_a_table_that_holds_itself_is_refused(plan):
    loop: dict = {}
    loop["x"] = loop
    err = refused(plan.with_scenario, "fast", inherits="base", description=loop)
    assert any("nested more than 64 levels deep; does a table or list contain itself?"
               in p.message for p in err.problems)
    deep: dict = {"2025": 1.0}
    for _ in range(12):
        deep = {"x": deep}
    err = refused(plan.with_scenario, "fast", inherits="base", growth={"services": deep})
    check(err, edited(plan), "", "nested more than 12 levels deep; a plan needs at most 12")


def test_argument_names_are_key_paths(plan):
    p = plan.with_scenario("base", **{'uncertainty.parameters."growth.services"':
                                      {"dist": "normal", "sd": 0.5}})
    entry = p.document["scenarios"]["base"]["uncertainty"]["parameters"]["growth.services"]
    assert entry == {"dist": "normal", "sd": 0.5}
    assert "uncertainty.parameters.\"growth.services\"" in p.edits[-1]
    for bad in ("growth..services", "growth.services = 1", 'growth."serv', ""):
        err = refused(plan.with_scenario, "fast", inherits="base", **{bad: 1.0})
        check(err, edited(plan), "scenarios.fast", "is not a key path", "quote a key "
              "that holds dots")
    err = refused(plan.replace, **{"plan horizon": 2060})
    check(err, edited(plan), "top level", "'plan horizon' is not a key path")


def test_a_key_given_twice_is_refused(plan):
    err = refused(plan.with_scenario, "fast", inherits="base", growth=FAST_GROWTH,
                  **{"growth.industry_construction": 9.0})
    check(err, edited(plan), "scenarios.fast.growth.industry_construction", "given twice")


def test_a_plan_too_big_for_a_file_is_refused(plan):
    err = refused(plan.with_scenario, "base", description="x" * (4 * 2**20))
    check(err, edited(plan), "", "the changed plan is 4,", "bytes as a file; a plan file "
          "is at most 4,194,304 bytes")


def test_a_plan_without_a_document_cannot_be_changed(plan):
    bare = Plan(**{f: getattr(plan, f) for f in ("path", "province", "name_vi", "name_en",
                                                "inputs_dir", "base_year", "last_actual_year",
                                                "horizon", "scenarios", "targets",
                                                "untracked_targets", "assumed_data",
                                                "sha256", "model")})
    assert bare == plan  # the same plan, without its document
    for change in (lambda: bare.with_target("x", value=1.0), bare.to_toml):
        with pytest.raises(PlanError) as exc:
            change()
        check(exc.value, plan.path, "", "this plan holds no plan document", "load_plan")


# ------------------------------------------------------------------ save and reload

def test_save_and_load_gives_the_same_plan(local, tmp_path):
    p = local.with_scenario("fast", inherits="base", growth=FAST_GROWTH)
    p = p.with_target("poverty_2030", **POVERTY).replace(name_en="Edited")
    path = p.save(tmp_path / "fast.toml")
    again = quyhoach.load_plan(path)
    assert again == p and again.sha256 == p.sha256  # saved beside the original
    assert path.read_text(encoding="utf-8") == p.to_toml() and not again.edited
    assert again.document == p.document


def test_save_elsewhere_rewrites_relative_paths(plan, tmp_path):
    p = plan.with_scenario("fast", inherits="base", growth=FAST_GROWTH)
    (tmp_path / "sub").mkdir()
    again = quyhoach.load_plan(p.save(tmp_path / "sub" / "plan.toml"))
    assert again == p
    assert (again.inputs_dir, again.model.path) == (plan.inputs_dir, plan.model.path)
    assert again.document["plan"]["inputs"] != "../inputs/lai_chau"
    assert p.document["plan"]["inputs"] == "../inputs/lai_chau"
    assert not Path(again.document["plan"]["inputs"]).is_absolute()


def test_save_refuses_to_overwrite(plan, tmp_path):
    path = tmp_path / "plan.toml"
    path.write_text("# mine\n", encoding="utf-8")
    with pytest.raises(PlanExistsError, match="plan.toml exists; pass overwrite=True to "
                       "replace it") as exc:
        plan.save(path)
    assert isinstance(exc.value, QuyhoachError) and isinstance(exc.value, FileExistsError)
    assert path.read_text(encoding="utf-8") == "# mine\n"
    assert plan.save(path, overwrite=True) == path
    assert quyhoach.load_plan(path) == plan
    assert [f.name for f in tmp_path.iterdir()] == ["plan.toml"]  # no temporary left
    with pytest.raises(PlanExistsError, match="is a folder; give a file name"):
        plan.save(tmp_path, overwrite=True)


def test_the_loaded_document_is_the_file(plan):
    assert thaw(plan.document) == tomllib.loads(LAI_CHAU.read_text(encoding="utf-8"))
    assert tomllib.loads(plan.to_toml()) == thaw(plan.document)


SECTORS = ["agriculture", "industry_construction", "services", "product_taxes"]
rates = st.floats(min_value=1.0, max_value=20.0, allow_nan=False)
counter = itertools.count()


@st.composite
def growth_tables(draw):
    """Year-keyed growth for some sectors, every year 2025-2050 covered."""
    out = {}
    for sector in draw(st.lists(st.sampled_from(SECTORS), min_size=1, max_size=4,
                                unique=True)):
        split = draw(st.integers(min_value=2025, max_value=2049))
        out[sector] = {f"2025-{split}": draw(rates), f"{split + 1}-2050": draw(rates)}
    return out


@settings(**SETTINGS)
@given(name=st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True).filter(
           lambda n: n not in RESERVED),
       parent=st.sampled_from(["base", "low", "high", "recent_trend"]),
       growth=growth_tables(), buoyancy=st.none() | st.floats(0.5, 2.0),
       target=st.floats(min_value=50.0, max_value=500.0))
def test_any_edit_survives_save_and_load(tmp_path, name, parent, growth, buoyancy, target):
    path = tmp_path / "plan.toml"
    if not path.exists():
        path.write_text(localise(LAI_CHAU.read_text(encoding="utf-8")), encoding="utf-8")
    plan = quyhoach.load_plan(path)
    existing = name in plan.scenario_names
    extra = {} if buoyancy is None else {"budget.buoyancy": buoyancy}
    p = plan.with_scenario(name, inherits=None if existing else parent, growth=growth,
                           **extra)
    p = p.with_target("grdp_per_capita_2030", value=target)
    again = quyhoach.load_plan(p.save(tmp_path / f"edited_{next(counter)}.toml"))
    assert again == p and again.sha256 == p.sha256
    assert quyhoach.load_plan(path) == plan  # the file is untouched


def test_a_run_of_an_edited_plan_records_the_edit_and_the_plan_as_run(tmp_path):
    import hashlib
    import json

    plan = quyhoach.load_plan(LAI_CHAU)
    fast = plan.with_scenario("fast", inherits="base", **{"budget.buoyancy": 1.2})
    out = quyhoach.simulate(fast, scenarios=["fast"]).to_parquet(tmp_path / "run")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["plan_edits"] == list(fast.edits) and len(manifest["plan_edits"]) == 2
    text = manifest["plan_text"]
    assert hashlib.sha256(text.encode("utf-8")).hexdigest() == manifest["plan_sha256"]
