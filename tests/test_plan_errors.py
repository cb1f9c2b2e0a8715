"""A test for every error message about plan files (plan.py, periods.py, assemble.py).

Each case starts from the real Lai Châu plan, makes one small textual edit (the edited
snippet must exist, so a test cannot pass because its edit did nothing), and checks that
the error names the file, the key path, and says what is wrong and how to fix it.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest

import quyhoach
from conftest import LAI_CHAU, check
from quyhoach import PlanError

ROOT = Path(__file__).resolve().parents[1]
PLAN = ROOT / "scenarios" / "lai_chau.toml"
INPUTS = ROOT / "inputs" / "lai_chau"
INPUTS_LINE = 'inputs = "../inputs/lai_chau"'
MODEL_LINE = 'model = "../models/lai_chau.toml"'
SCENARIOS = ("base", "low", "high", "recent_trend")


# ----------------------------------------------------------------------------- helpers

def plan_text() -> str:
    """The real plan, its inputs line pointing at the real inputs by absolute path."""
    text = PLAN.read_text(encoding="utf-8")
    assert text.count(INPUTS_LINE) == 1, "the plan's inputs line changed; update the tests"
    return text.replace(INPUTS_LINE, f'inputs = "{INPUTS.as_posix()}"').replace(
        MODEL_LINE, f'model = "{(INPUTS.parents[1] / "models" / "lai_chau.toml").as_posix()}"')


def edit(text: str, old: str, new: str, count: int = 1) -> str:
    """Replace ``old`` (which must occur exactly ``count`` times) by ``new``."""
    found = text.count(old)
    assert found == count, f"test edit target {old!r} occurs {found} times, expected {count}"
    return text.replace(old, new)


def edit_block(text: str, start: str, old: str, new: str) -> str:
    """Replace ``old`` inside the block that begins at ``start`` (up to the next table)."""
    assert text.count(start) == 1, f"block start {start!r} not unique in the plan"
    i = text.index(start)
    j = text.find("\n[", i + len(start))
    j = len(text) if j < 0 else j
    return text[:i] + edit(text[i:j], old, new) + text[j:]


def edit_target(text: str, tid: str, old: str, new: str) -> str:
    """Replace ``old`` inside the [[targets]] entry with id ``tid``."""
    return edit_block(text, f'id = "{tid}"\n', old, new)


def cut_from(text: str, marker: str) -> str:
    """Drop everything from ``marker`` (which must occur once) to the end."""
    assert text.count(marker) == 1, f"marker {marker!r} not unique in the plan"
    return text[: text.index(marker)]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plan.toml"
    path.write_text(text, encoding="utf-8")
    return path


def plan_error(tmp_path: Path, text: str, run=quyhoach.load_plan):
    """Write ``text`` as a plan, run ``run`` on it, return (PlanError, plan path)."""
    path = write(tmp_path, text)
    with pytest.raises(PlanError) as exc:
        run(path)
    return exc.value, path


def target_key(tid: str) -> str:
    """Key path of a target in messages, e.g. ``targets[10] (id 'grdp_per_capita_2025')``."""
    ids = [t["id"] for t in tomllib.loads(PLAN.read_text(encoding="utf-8"))["targets"]]
    return f"targets[{ids.index(tid)}] (id '{tid}')"


# ----------------------------------------------------------------------- the baseline

def test_unedited_copy_is_valid(tmp_path):
    """The starting point of every case below simulates without a problem."""
    res = quyhoach.simulate(write(tmp_path, plan_text()))
    assert list(res.scenarios) == list(SCENARIOS)


# ------------------------------------------------------------------- file and [plan]

def test_file_not_found(tmp_path):
    path = tmp_path / "nowhere.toml"
    with pytest.raises(PlanError) as exc:
        quyhoach.load_plan(path)
    check(exc.value, path, "", "file not found", "check the path", "scenarios/")
    assert len(exc.value.problems) == 1


def test_malformed_toml_names_the_line(tmp_path):
    err, path = plan_error(tmp_path, edit(plan_text(), "horizon = 2050", "horizon = = 2050"))
    check(err, path, "", "not valid TOML", "line 18", "check quotes, brackets and '=' signs")
    assert len(err.problems) == 1


def test_unclosed_quote_is_a_plan_error(tmp_path):
    err, path = plan_error(tmp_path, edit(plan_text(), 'province = "lai_chau"',
                                          'province = "lai_chau'))
    check(err, path, "", "not valid TOML", "line 12")


def test_not_utf8_is_a_plan_error(tmp_path):
    path = tmp_path / "plan.toml"
    path.write_bytes(plan_text().encode("utf-8").replace("Châu".encode(),
                                                         "Châu".encode("latin-1"), 1))
    with pytest.raises(PlanError) as exc:
        quyhoach.load_plan(path)
    check(exc.value, path, "", "not valid TOML", "utf-8")


def test_missing_plan_table(tmp_path):
    err, path = plan_error(tmp_path, edit(plan_text(), "[plan]\n", "[plann]\n"))
    check(err, path, "plan", "missing [plan] table", "province", "inputs", "base_year",
          "last_actual_year", "horizon")
    check(err, path, "top level", "unknown key 'plann'", "did you mean 'plan'?")


def test_unknown_top_level_key(tmp_path):
    err, path = plan_error(tmp_path, plan_text() + "\n[uncertainity]\ndraws = 100\n")
    check(err, path, "top level", "unknown key 'uncertainity'", "did you mean 'uncertainty'?")
    assert len(err.problems) == 1


def test_unknown_key_in_plan_table(tmp_path):
    err, path = plan_error(tmp_path, edit(plan_text(), "horizon = 2050", "horizn = 2050"))
    check(err, path, "plan", "unknown key 'horizn'", "did you mean 'horizon'?")
    check(err, path, "plan.horizon", "missing")


def test_plan_key_of_wrong_type(tmp_path):
    err, path = plan_error(tmp_path, edit(plan_text(), "base_year = 2020", 'base_year = "2020"'))
    check(err, path, "plan.base_year", "expected a whole number", "found '2020'")


def test_implausible_base_year(tmp_path):
    err, path = plan_error(tmp_path, edit(plan_text(), "base_year = 2020", "base_year = 1890"))
    check(err, path, "plan.base_year", "1890 is not a plausible year (1990-2100)")
    assert len(err.problems) == 1


@pytest.mark.parametrize("old, new, found", [
    ("last_actual_year = 2024", "last_actual_year = 2050", "2020, 2050, 2050"),
    ("last_actual_year = 2024", "last_actual_year = 2019", "2020, 2019, 2050"),
    ("horizon = 2050", "horizon = 2024", "2020, 2024, 2024"),
    ("horizon = 2050", "horizon = 2010", "2020, 2024, 2010"),
])
def test_base_last_horizon_order(tmp_path, old, new, found):
    err, path = plan_error(tmp_path, edit(plan_text(), old, new))
    check(err, path, "plan.last_actual_year",
          "expected base_year <= last_actual_year < horizon", f"found {found}")
    assert len(err.problems) == 1


# ------------------------------------------------------------------- scenario tables

SCENARIOS_MARK = "# ---------------------------------------------------------------- scenarios"
TARGETS_MARK = "# ---------------------------------------------------------------- targets"


def test_no_scenarios(tmp_path):
    text = plan_text()
    assert text.count(SCENARIOS_MARK) == 1 and text.count(TARGETS_MARK) == 1
    text = text[: text.index(SCENARIOS_MARK)] + text[text.index(TARGETS_MARK):]
    err, path = plan_error(tmp_path, text)
    check(err, path, "scenarios", "no scenarios", "add at least [scenarios.base]")
    assert len(err.problems) == 1


def test_misspelt_scenarios_table(tmp_path):
    text = plan_text()
    n = text.count("[scenarios.")
    err, path = plan_error(tmp_path, edit(text, "[scenarios.", "[scenarioz.", count=n))
    check(err, path, "top level", "unknown key 'scenarioz'", "did you mean 'scenarios'?")


def test_unknown_top_level_key_does_not_hide_other_mistakes(tmp_path):
    text = edit(plan_text(), "icor = 5.5", "icor = 55") + "\n[uncertainity]\ndraws = 100\n"
    err, path = plan_error(tmp_path, text)
    check(err, path, "top level", "unknown key 'uncertainity'")
    check(err, path, "scenarios.base.investment.icor", "above the maximum 20")


def test_scenario_that_is_not_a_table(tmp_path):
    err, path = plan_error(tmp_path, edit(plan_text(), "[scenarios.base]\n",
                                          '[scenarios]\nnotes = "draft"\n\n[scenarios.base]\n'))
    check(err, path, "scenarios.notes", "expected a table", "found 'draft'")
    assert len(err.problems) == 1


def test_unknown_section_with_did_you_mean(tmp_path):
    err, path = plan_error(tmp_path, edit(plan_text(), 'growth.services = { "2025-2030" = 6.5',
                                          'grwth.services = { "2025-2030" = 6.5'))
    check(err, path, "scenarios.low", "unknown key 'grwth'", "did you mean 'growth'?")
    assert len(err.problems) == 1


def test_unknown_key_in_section_with_did_you_mean(tmp_path):
    err, path = plan_error(tmp_path, edit(plan_text(), 'growth.services = { "2025-2030" = 6.5',
                                          'growth.servics = { "2025-2030" = 6.5'))
    check(err, path, "scenarios.low.growth", "unknown key 'servics'", "did you mean 'services'?")
    assert len(err.problems) == 1


def test_unknown_key_without_close_match_lists_the_choices(tmp_path):
    err, path = plan_error(tmp_path, edit(plan_text(), "buoyancy = 1.0   #", "xyz = 1.0   #"))
    check(err, path, "scenarios.base.budget", "unknown key 'xyz'", "expected one of 'buoyancy'")


def test_unknown_key_in_scenario_header_section(tmp_path):
    err, path = plan_error(tmp_path, edit(plan_text(), "icor = 5.5", "icr = 5.5"))
    check(err, path, "scenarios.base.investment", "unknown key 'icr'", "did you mean 'icor'?")


def test_section_that_is_not_a_table(tmp_path):
    err, path = plan_error(tmp_path, edit(plan_text(), "budget.buoyancy = 0.9", "budget = 0.9"))
    check(err, path, "scenarios.low.budget", "expected a table", "found 0.9")


def test_indicators_that_is_not_a_table(tmp_path):
    text = edit(plan_text(), "indicators.poverty_rate.speed = -0.1054   # ln(0.90)\n"
                "indicators.forest_cover.speed = 0.5\n"
                "indicators.ntm_communes_share.speed = 3.0\n", 'indicators = "as base"\n')
    err, path = plan_error(tmp_path, text)
    check(err, path, "scenarios.low.indicators", "expected a table")


# ------------------------------------------------------------------ parameter values

@pytest.mark.parametrize("old, new, keys, uses", [
    ("growth.services = 5.16", "growth.services = 0.05",
     ["scenarios.recent_trend.growth.services"], ["Use 5 for 5 %/yr"]),
    ('services = { "2025-2030" = 7.9, "2031-2050" = 7.5 }',
     'services = { "2025-2030" = 0.079, "2031-2050" = 0.075 }',
     ['scenarios.base.growth.services["2025-2030"]',
      'scenarios.base.growth.services["2031-2050"]'],
     ["Use 7.9 for 7.9 %/yr", "Use 7.5 for 7.5 %/yr"]),
    ('tourism.visitor_growth = { "2024-2030" = 15.0, "2031-2050" = 6.0 }',
     'tourism.visitor_growth = { "2024-2030" = 0.15, "2031-2050" = 0.06 }',
     ['scenarios.recent_trend.tourism.visitor_growth["2024-2030"]',
      'scenarios.recent_trend.tourism.visitor_growth["2031-2050"]'],
     ["Use 15 for 15 %/yr", "Use 6 for 6 %/yr"]),
])
def test_percent_written_as_fraction(tmp_path, old, new, keys, uses):
    err, path = plan_error(tmp_path, edit(plan_text(), old, new))
    for key, use in zip(keys, uses, strict=True):  # each value is judged, and reported, on its own
        check(err, path, key, "implausibly small", "values here are in percent",
              "did you write a fraction?", use, "confirm it")
    assert len(err.problems) == len(keys)


IND_2025 = 'industry_construction = { "2025-2030" = 13.6'


def test_growth_above_maximum(tmp_path):
    err, path = plan_error(tmp_path, edit(plan_text(), IND_2025, 'industry_construction = '
                                          '{ "2025-2030" = 45'))
    check(err, path, 'scenarios.base.growth.industry_construction["2025-2030"]',
          "45 is above the maximum 40 (%/yr)", "if 45 is meant, confirm it",
          'add "growth.industry_construction" to confirm = [...] in [scenarios.base]')
    assert len(err.problems) == 1


def test_growth_below_minimum_is_impossible(tmp_path):
    err, path = plan_error(tmp_path, edit(plan_text(), IND_2025, 'industry_construction = '
                                          '{ "2025-2030" = -150'))
    msg = check(err, path, 'scenarios.base.growth.industry_construction["2025-2030"]',
                "-150 is below the minimum -30 (%/yr)", "impossible", "100 % or more")
    assert "confirm" not in msg  # an impossible value cannot be confirmed
    assert len(err.problems) == 1  # no follow-on about the uncertainty around it


def test_growth_below_minimum_but_possible(tmp_path):
    err, path = plan_error(tmp_path, edit(plan_text(), IND_2025, 'industry_construction = '
                                          '{ "2025-2030" = -40'))
    msg = check(err, path, 'scenarios.base.growth.industry_construction["2025-2030"]',
                "-40 is below the minimum -30 (%/yr)", "if -40 is meant, confirm it")
    assert "impossible" not in msg


def test_ratio_above_maximum(tmp_path):
    err, path = plan_error(tmp_path, edit(plan_text(), "icor = 5.5", "icor = 55"))
    # written once in base and inherited by every scenario: reported once, where written
    msg = check(err, path, "scenarios.base.investment.icor", "55 is above the maximum 20 (ratio)")
    assert "did you" not in msg
    assert len(err.problems) == 1


def test_rate_per_1000_below_minimum(tmp_path):
    err, path = plan_error(tmp_path, edit(plan_text(), "death_rate = 6.5", "death_rate = -6.5"))
    check(err, path, "scenarios.base.population.death_rate",
          "-6.5 is below the minimum 1 (per 1000) and below 0")


def test_depreciation_above_maximum(tmp_path):
    err, path = plan_error(tmp_path, edit(plan_text(), "depreciation = 2.0", "depreciation = 45"))
    check(err, path, "scenarios.base.exchange_rate.depreciation",
          "45 is above the maximum 30 (%/yr)")


def test_inherited_mistake_is_reported_once_where_written(tmp_path):
    err, path = plan_error(tmp_path, edit(plan_text(), "death_rate = 6.5", "death_rate = -6.5"))
    check(err, path, "scenarios.base.population.death_rate", "below the minimum 1")
    assert len(err.problems) == 1


# -------------------------------------------------------------- year-keyed tables

AGRI = 'agriculture = { "2025-2030" = 5.0, "2031-2050" = 4.0 }'


@pytest.mark.parametrize("key", ["2025_2030", "2025–2030", "2025 to 2030", "y2025"])
def test_period_key_malformed(tmp_path, key):
    err, path = plan_error(tmp_path, edit(plan_text(), AGRI,
                                          f'agriculture = {{ "{key}" = 5.0, "2031-2050" = 4.0 }}'))
    check(err, path, f'scenarios.base.growth.agriculture["{key}"]',
          'expected a year ("2031") or a period ("2021-2030") as key',
          "write periods with a hyphen")
    assert len(err.problems) == 1


def test_period_reversed(tmp_path):
    err, path = plan_error(tmp_path, edit(plan_text(), AGRI,
                                          'agriculture = { "2030-2025" = 5.0, "2031-2050" = 4.0 }'))
    check(err, path, 'scenarios.base.growth.agriculture["2030-2025"]',
          "period ends before it starts (2030 > 2025)", 'did you mean "2025-2030"?')
    assert len(err.problems) == 1


@pytest.mark.parametrize("key, year", [("2031-2060", 2060), ("2010-2030", 2010), ("2051", 2051)])
def test_period_outside_plan_years(tmp_path, key, year):
    err, path = plan_error(tmp_path, edit(plan_text(), AGRI,
                                          f'agriculture = {{ "2025-2030" = 5.0, "{key}" = 4.0 }}'))
    check(err, path, f'scenarios.base.growth.agriculture["{key}"]',
          f"year {year} is outside the plan's years 2020-2050")


def test_periods_overlap(tmp_path):
    err, path = plan_error(tmp_path, edit(plan_text(), AGRI,
                                          'agriculture = { "2025-2030" = 5.0, "2030-2050" = 4.0 }'))
    check(err, path, 'scenarios.base.growth.agriculture["2030-2050"]',
          "overlaps another period of the same table", "each year may have one value")
    assert len(err.problems) == 1


def test_period_value_not_a_number(tmp_path):
    err, path = plan_error(tmp_path, edit(plan_text(), AGRI, 'agriculture = '
                                          '{ "2025-2030" = 5.0, "2031-2050" = "4 %" }'))
    check(err, path, 'scenarios.base.growth.agriculture["2031-2050"]',
          "expected a number, found '4 %'")
    assert len(err.problems) == 1


def test_value_not_a_number(tmp_path):
    err, path = plan_error(tmp_path, edit(plan_text(), "death_rate = 6.5", 'death_rate = "6.5"'))
    check(err, path, "scenarios.base.population.death_rate",
          'expected a number or a table like { "2021-2030" = 9.5 }', "found '6.5'")


def test_value_boolean(tmp_path):
    err, path = plan_error(tmp_path, edit(plan_text(), "death_rate = 6.5", "death_rate = true"))
    check(err, path, "scenarios.base.population.death_rate",
          "expected a number or a table of periods, found True")


# --------------------------------------------------------------------- inheritance

def test_inherits_unknown_scenario(tmp_path):
    text = edit_block(plan_text(), "[scenarios.low]", 'inherits = "base"', 'inherits = "bse"')
    err, path = plan_error(tmp_path, text)
    check(err, path, "scenarios.low.inherits", "unknown scenario 'bse'", "did you mean 'base'?")


def test_inheritance_loop(tmp_path):
    text = edit(plan_text(), "[scenarios.base]\n", '[scenarios.base]\ninherits = "high"\n')
    err, path = plan_error(tmp_path, text)
    check(err, path, "scenarios.high.inherits",
          "inheritance loops back: base -> high -> base")


# ------------------------------------------------------------ saturating indicators

def test_unknown_indicator_in_scenario(tmp_path):
    text = edit(plan_text(), "[scenarios.base.indicators.poverty_rate]",
                "[scenarios.base.indicators.povrty_rate]")
    err, path = plan_error(tmp_path, text)
    check(err, path, "scenarios.base.indicators", "unknown indicator 'povrty_rate'",
          "did you mean 'poverty_rate'?")


def test_unknown_key_in_indicator(tmp_path):
    text = edit_block(plan_text(), "[scenarios.base.indicators.forest_cover]",
                      "upper = 70.0", "uper = 70.0")
    err, path = plan_error(tmp_path, text)
    check(err, path, "scenarios.base.indicators.forest_cover", "unknown key 'uper'",
          "did you mean 'upper'?")
    assert len(err.problems) == 1


def test_indicator_that_is_not_a_table(tmp_path):
    text = edit(plan_text(), "indicators.poverty_rate.speed = -0.1054",
                "indicators.poverty_rate = -0.1054")
    err, path = plan_error(tmp_path, text)
    check(err, path, "scenarios.low.indicators.poverty_rate",
          "expected a table with form, speed, lower, upper")
    assert len(err.problems) == 1


def test_bad_indicator_form(tmp_path):
    text = edit_block(plan_text(), "[scenarios.base.indicators.poverty_rate]",
                      'form = "logistic"', 'form = "logistc"')
    err, path = plan_error(tmp_path, text)
    check(err, path, "scenarios.base.indicators.poverty_rate.form",
          "unknown form 'logistc'", "did you mean 'logistic'?")


def test_form_differs_from_the_calibrated_model(tmp_path):
    text = edit_block(plan_text(), "[scenarios.base.indicators.poverty_rate]",
                      'form = "logistic"', 'form = "gap_closing"')
    text = edit(text, "speed = -0.1625", "speed = -15.0")
    err, path = plan_error(tmp_path, text)
    check(err, path, "scenarios.base.indicators.poverty_rate.form",
          "'gap_closing', but lai_chau.toml estimates this speed for form 'logistic'",
          'use form = "logistic"')


def test_indicator_form_missing(tmp_path):
    text = edit_block(plan_text(), "[scenarios.base.indicators.forest_cover]",
                      'form = "points"\n', "")
    err, path = plan_error(tmp_path, text)
    check(err, path, "scenarios.base.indicators.forest_cover.form", "missing")


@pytest.mark.parametrize("old, new, found", [
    ("lower = 0.0", "lower = 80.0", "lower=80.0, upper=70.0"),
    ("upper = 70.0", "upper = 150.0", "lower=0.0, upper=150.0"),
    ("lower = 0.0", "lower = -5.0", "lower=-5.0, upper=70.0"),
])
def test_bad_indicator_bounds(tmp_path, old, new, found):
    text = edit_block(plan_text(), "[scenarios.base.indicators.forest_cover]", old, new)
    err, path = plan_error(tmp_path, text)
    check(err, path, "scenarios.base.indicators.forest_cover",
          "bounds must satisfy 0 <= lower < upper <= 100 (percent)", f"found {found}")


def test_indicator_speed_missing(tmp_path):
    text = edit_block(plan_text(), "[scenarios.base.indicators.rural_clean_water]",
                      "speed = 1.0\n", "")
    err, path = plan_error(tmp_path, text)
    check(err, path, "scenarios.base.indicators.rural_clean_water.speed",
          "missing", "a number or period table in percentage points/yr")


def test_indicator_speed_above_maximum(tmp_path):
    text = edit_block(plan_text(), "[scenarios.base.indicators.ntm_communes_share]",
                      "speed = 4.0", "speed = 400.0")
    err, path = plan_error(tmp_path, text)
    msg = check(err, path, "scenarios.base.indicators.ntm_communes_share.speed",
                "400 is above the maximum 20 (percentage points/yr)",
                "beyond 100, the most the model can use")
    assert "confirm" not in msg


def test_indicator_speed_does_not_cover_projection(tmp_path):
    text = edit_block(plan_text(), "[scenarios.base.indicators.rural_clean_water]",
                      "speed = 1.0", 'speed = { "2030-2050" = 1.0 }')
    err, path = plan_error(tmp_path, text, run=quyhoach.simulate)
    for s in SCENARIOS:  # rural_clean_water observed through 2023: needed from 2024
        check(err, path, f"scenarios.{s}.indicators.rural_clean_water.speed",
              "no value for 2024-2029")


# ------------------------------------------------------------------ reclassification

RECLASS = "urbanization.reclassification = [ { year = 2028, added_share = 5.0 } ]"
RECLASS_KEY = "scenarios.high.urbanization.reclassification[0]"


@pytest.mark.parametrize("year", [2060, 2020, 2010])
def test_reclassification_year_out_of_range(tmp_path, year):
    err, path = plan_error(tmp_path, edit(plan_text(), RECLASS, RECLASS.replace("2028", str(year))))
    check(err, path, f"{RECLASS_KEY}.year", f"{year} is outside the projection years 2021-2050")
    assert len(err.problems) == 1


@pytest.mark.parametrize("share", ["60.0", "-1.0"])
def test_reclassification_share_out_of_range(tmp_path, share):
    err, path = plan_error(tmp_path, edit(plan_text(), RECLASS, RECLASS.replace("5.0", share)))
    check(err, path, f"{RECLASS_KEY}.added_share", f"{share} is outside 0-50",
          "percentage points of population reclassified urban")
    assert len(err.problems) == 1


def test_reclassification_event_not_a_table(tmp_path):
    err, path = plan_error(tmp_path, edit(plan_text(), RECLASS,
                                          "urbanization.reclassification = [ 2028 ]"))
    check(err, path, RECLASS_KEY, "expected a table like { year = 2027, added_share = 3.0 }")
    assert len(err.problems) == 1


def test_reclassification_unknown_key(tmp_path):
    err, path = plan_error(tmp_path, edit(plan_text(), RECLASS,
                                          RECLASS.replace("added_share", "added_shares")))
    check(err, path, RECLASS_KEY, "unknown key 'added_shares'", "did you mean 'added_share'?")
    check(err, path, f"{RECLASS_KEY}.added_share", "missing")


def test_reclassification_year_not_whole(tmp_path):
    err, path = plan_error(tmp_path, edit(plan_text(), RECLASS, RECLASS.replace("2028", "2028.5")))
    check(err, path, f"{RECLASS_KEY}.year", "expected a whole number, found 2028.5")


@pytest.mark.parametrize("value", ["2028", "{ year = 2028, added_share = 5.0 }"],
                         ids=["number", "table_without_brackets"])
def test_reclassification_not_a_list(tmp_path, value):
    err, path = plan_error(tmp_path, edit(plan_text(), RECLASS,
                                          f"urbanization.reclassification = {value}"))
    check(err, path, "scenarios.high.urbanization.reclassification", "expected a list")
    assert len(err.problems) == 1


# --------------------------------------------------------------------- exchange rate

@pytest.mark.parametrize("level", ["27.332", "2733200"])
def test_exchange_rate_level_implausible(tmp_path, level):
    err, path = plan_error(tmp_path, edit(plan_text(), "vnd_per_usd = 27332",
                                          f"vnd_per_usd = {level}"))
    # written once in base, inherited by every scenario: reported once, where written
    check(err, path, "scenarios.base.exchange_rate.vnd_per_usd",
          "is not a plausible VND per USD rate (5,000-200,000)")
    assert len(err.problems) == 1


def test_exchange_rate_reference_year_outside(tmp_path):
    err, path = plan_error(tmp_path, edit(plan_text(), "reference_year = 2030",
                                          "reference_year = 2060"))
    check(err, path, "scenarios.base.exchange_rate.reference_year", "2060 is outside 2020-2050")


def test_exchange_rate_level_missing(tmp_path):
    err, path = plan_error(tmp_path, edit(plan_text(), "vnd_per_usd = 27332\n", ""))
    check(err, path, "scenarios.base.exchange_rate.vnd_per_usd", "missing")


def test_exchange_rate_depreciation_missing(tmp_path):
    err, path = plan_error(tmp_path, edit(plan_text(), "depreciation = 2.0\n", ""),
                           run=quyhoach.simulate)
    for s in SCENARIOS:
        check(err, path, f"scenarios.{s}.exchange_rate.depreciation",
              "needs a value (%/yr) for every year 2021-2050")


# --------------------------------------------------------------------------- targets

def test_target_unknown_indicator(tmp_path):
    text = edit_target(plan_text(), "grdp_per_capita_2025", 'indicator = "grdp_per_capita"',
                       'indicator = "gdp_per_capita"')
    err, path = plan_error(tmp_path, text)
    check(err, path, f"{target_key('grdp_per_capita_2025')}.indicator",
          "unknown indicator 'gdp_per_capita'", "did you mean 'grdp_per_capita'?")
    assert len(err.problems) == 1


def test_target_unknown_kind(tmp_path):
    text = edit_target(plan_text(), "grdp_per_capita_2025", 'kind = "level"', 'kind = "levels"')
    err, path = plan_error(tmp_path, text)
    check(err, path, f"{target_key('grdp_per_capita_2025')}.kind", "unknown kind 'levels'",
          "did you mean 'level'?")
    assert len(err.problems) == 1


@pytest.mark.parametrize("comparison", ["~", "≈", "="])
def test_target_tilde_comparison_hints_about(tmp_path, comparison):
    text = edit_target(plan_text(), "population_2030", 'comparison = "about"',
                       f'comparison = "{comparison}"')
    err, path = plan_error(tmp_path, text)
    check(err, path, f"{target_key('population_2030')}.comparison",
          f"unknown comparison '{comparison}'", "expected '>=', '<=' or 'about'",
          "write 'about' for '~'")


def test_target_unknown_comparison(tmp_path):
    text = edit_target(plan_text(), "grdp_per_capita_2025", 'comparison = ">="',
                       'comparison = "=>"')
    err, path = plan_error(tmp_path, text)
    msg = check(err, path, f"{target_key('grdp_per_capita_2025')}.comparison",
                "unknown comparison '=>'", "expected '>=', '<=' or 'about'")
    assert "~" not in msg


def test_target_about_without_tolerance(tmp_path):
    text = edit_target(plan_text(), "population_2030", "tolerance = 5.0\n", "")
    err, path = plan_error(tmp_path, text)
    check(err, path, f"{target_key('population_2030')}.tolerance", "missing")
    assert len(err.problems) == 1


def test_target_negative_tolerance(tmp_path):
    text = edit_target(plan_text(), "population_2030", "tolerance = 5.0", "tolerance = -5.0")
    err, path = plan_error(tmp_path, text)
    check(err, path, f"{target_key('population_2030')}.tolerance", "-5.0 is negative",
          "half-width of the accepted band")
    assert len(err.problems) == 1


@pytest.mark.parametrize("year", [2060, 2019])
def test_target_year_outside_horizon(tmp_path, year):
    text = edit_target(plan_text(), "grdp_per_capita_2030", "year = 2030", f"year = {year}")
    err, path = plan_error(tmp_path, text)
    check(err, path, f"{target_key('grdp_per_capita_2030')}.year",
          f"{year} is outside the plan's years 2020-2050")


def test_target_year_missing(tmp_path):
    text = edit_target(plan_text(), "grdp_per_capita_2030", "year = 2030\n", "")
    err, path = plan_error(tmp_path, text)
    check(err, path, f"{target_key('grdp_per_capita_2030')}.year", "missing")


@pytest.mark.parametrize("period", ["2021 to 2030", "2030", "2021_2030", "2021–2030"])
def test_target_period_malformed(tmp_path, period):
    tid = "grdp_growth_2021_2030_draft"
    text = edit_target(plan_text(), tid, 'period = "2021-2030"', f'period = "{period}"')
    err, path = plan_error(tmp_path, text)
    check(err, path, f"{target_key(tid)}.period", 'expected a period like "2021-2030"',
          f"found {period!r}")
    assert len(err.problems) == 1


def test_target_growth_period_starting_at_base_year(tmp_path):
    tid = "grdp_growth_2021_2030_draft"
    text = edit_target(plan_text(), tid, 'period = "2021-2030"', 'period = "2020-2030"')
    err, path = plan_error(tmp_path, text)
    check(err, path, f"{target_key(tid)}.period", "2020-2030 must lie within 2021-2050",
          "growth and change need the year before the period")
    assert len(err.problems) == 1


def test_target_cumulative_period_may_start_at_base_year(tmp_path):
    tid = "investment_2021_2030"
    text = edit_target(plan_text(), tid, 'period = "2021-2030"', 'period = "2020-2030"')
    plan = quyhoach.load_plan(write(tmp_path, text))
    assert [t for t in plan.targets if t.id == tid][0].first_year == 2020


def test_target_cumulative_period_beyond_horizon(tmp_path):
    tid = "investment_2021_2030"
    text = edit_target(plan_text(), tid, 'period = "2021-2030"', 'period = "2021-2060"')
    err, path = plan_error(tmp_path, text)
    msg = check(err, path, f"{target_key(tid)}.period", "2021-2060 must lie within 2020-2050")
    assert "year before" not in msg


def test_target_period_reversed(tmp_path):
    tid = "grdp_growth_2021_2030_draft"
    text = edit_target(plan_text(), tid, 'period = "2021-2030"', 'period = "2030-2021"')
    err, path = plan_error(tmp_path, text)
    check(err, path, f"{target_key(tid)}.period", "2030-2021 must lie within 2021-2050")


def test_level_target_given_a_period(tmp_path):
    tid = "grdp_per_capita_2025"
    text = edit_target(plan_text(), tid, "year = 2025\n", 'year = 2025\nperiod = "2021-2025"\n')
    err, path = plan_error(tmp_path, text)
    check(err, path, f"{target_key(tid)}.period", "kind 'level' takes a year, not a period")
    assert len(err.problems) == 1


def test_growth_target_given_a_year(tmp_path):
    tid = "grdp_growth_2021_2030_draft"
    text = edit_target(plan_text(), tid, 'period = "2021-2030"\n',
                       'period = "2021-2030"\nyear = 2030\n')
    err, path = plan_error(tmp_path, text)
    check(err, path, f"{target_key(tid)}.year", "kind 'average_growth' takes a period, not a year")
    assert len(err.problems) == 1


def test_share_target_on_non_share(tmp_path):
    tid = "grdp_per_capita_2025"
    text = edit_target(plan_text(), tid, 'kind = "level"', 'kind = "share"')
    err, path = plan_error(tmp_path, text)
    check(err, path, f"{target_key(tid)}.kind", "'grdp_per_capita' is not a share",
          'use kind = "level"')
    assert len(err.problems) == 1


def test_average_growth_target_on_share(tmp_path):
    tid = "population_growth_2021_2030"
    text = edit_target(plan_text(), tid, 'indicator = "population"', 'indicator = "forest_cover"')
    err, path = plan_error(tmp_path, text)
    check(err, path, f"{target_key(tid)}.kind", "average_growth needs a level indicator",
          "'forest_cover' is a share")
    assert len(err.problems) == 1


def test_cumulative_target_on_rate(tmp_path):
    tid = "investment_2021_2030"
    text = edit_target(plan_text(), tid, 'indicator = "investment_need"',
                       'indicator = "grdp_growth"')
    err, path = plan_error(tmp_path, text)
    check(err, path, f"{target_key(tid)}.kind", "cumulative needs a level indicator",
          "'grdp_growth' is a rate")


@pytest.mark.parametrize("tid, old, new, suggestion", [
    ("urbanization_2030", "value = 30.0", "value = 0.3", "did you mean 30?"),
    ("share_services_2030", "value = 34.3", "value = 0.343", "did you mean 34.3?"),
])
def test_share_target_written_as_fraction(tmp_path, tid, old, new, suggestion):
    err, path = plan_error(tmp_path, edit_target(plan_text(), tid, old, new))
    check(err, path, f"{target_key(tid)}.value", "looks like a fraction",
          "shares are in percent", suggestion)
    assert len(err.problems) == 1


def test_growth_target_written_as_fraction(tmp_path):
    tid = "grdp_growth_2021_2030_draft"
    err, path = plan_error(tmp_path, edit_target(plan_text(), tid, "value = 9.5", "value = 0.095"))
    check(err, path, f"{target_key(tid)}.value", "0.095 %/yr looks like a fraction",
          "growth targets are in percent", "did you mean 9.5?")
    assert len(err.problems) == 1


def test_target_duplicate_id(tmp_path):
    text = edit(plan_text(), 'id = "grdp_growth_2021_2030_approved"',
                'id = "grdp_growth_2021_2030_draft"')
    err, path = plan_error(tmp_path, text)
    ids = [t["id"] for t in tomllib.loads(PLAN.read_text(encoding="utf-8"))["targets"]]
    i = ids.index("grdp_growth_2021_2030_approved")
    check(err, path, f"targets[{i}] (id 'grdp_growth_2021_2030_draft').id",
          "duplicate id 'grdp_growth_2021_2030_draft'", "every target needs its own id")
    assert len(err.problems) == 1


@pytest.mark.parametrize("key", ["label_vi", "label_en", "source"])
def test_target_missing_label(tmp_path, key):
    tid = "grdp_per_capita_2025"
    start = f'id = "{tid}"\n'
    text = plan_text()
    i = text.index(start)
    line_start = text.index(f"\n{key} = ", i) + 1
    line_end = text.index("\n", line_start) + 1
    text = text[:line_start] + text[line_end:]
    err, path = plan_error(tmp_path, text)
    check(err, path, f"{target_key(tid)}.{key}", "missing")
    assert len(err.problems) == 1


def test_target_missing_id(tmp_path):
    text = edit(plan_text(), 'id = "grdp_per_capita_2025"\n', "")
    ids = [t["id"] for t in tomllib.loads(PLAN.read_text(encoding="utf-8"))["targets"]]
    i = ids.index("grdp_per_capita_2025")
    err, path = plan_error(tmp_path, text)
    check(err, path, f"targets[{i}].id", "missing")
    assert len(err.problems) == 1


def test_target_unknown_key(tmp_path):
    tid = "tourists_growth_2021_2030"
    text = edit_target(plan_text(), tid, "note = ", "notes = ")
    err, path = plan_error(tmp_path, text)
    check(err, path, target_key(tid), "unknown key 'notes'", "did you mean 'note'?")
    assert len(err.problems) == 1


def test_target_value_not_a_number(tmp_path):
    tid = "grdp_per_capita_2025"
    err, path = plan_error(tmp_path, edit_target(plan_text(), tid, "value = 65.0",
                                                 'value = "65 triệu"'))
    check(err, path, f"{target_key(tid)}.value", "expected a number", "found '65 triệu'")


def test_targets_not_an_array_of_tables(tmp_path):
    text = 'targets = "see the approved plan"\n' + cut_from(plan_text(), TARGETS_MARK)
    err, path = plan_error(tmp_path, text)
    check(err, path, "targets", "expected [[targets]] entries (double brackets")
    assert len(err.problems) == 1


def test_target_not_a_table(tmp_path):
    text = 'targets = [ "GRDP growth 9.5 %" ]\n' + cut_from(plan_text(), TARGETS_MARK)
    err, path = plan_error(tmp_path, text)
    check(err, path, "targets[0]", "expected a table")
    assert len(err.problems) == 1


def test_target_on_indicator_no_scenario_models(tmp_path):
    text = plan_text()
    start = text.index("[scenarios.base.indicators.rural_clean_water]")
    end = text.index("[scenarios.low]")
    text = text[:start] + text[end:]
    err, path = plan_error(tmp_path, text, run=quyhoach.simulate)
    for target in ("rural_water_2025", "rural_water_2030"):
        for s in SCENARIOS:
            check(err, path, target_key(target),
                  f"scenario '{s}' does not model rural_clean_water",
                  "add them or remove the target")
    assert len(err.problems) == 2 * len(SCENARIOS)


# ------------------------------------------------------------------ untracked targets

UNTRACKED_MARK = "# Targets in the documents that the model has no indicator for"


def test_untracked_target_unknown_key(tmp_path):
    text = edit(plan_text(), 'reason = "no employment series in the inputs"',
                'reasn = "no employment series in the inputs"')
    err, path = plan_error(tmp_path, text)
    check(err, path, "untracked_targets[0]", "unknown key 'reasn'", "did you mean 'reason'?")
    check(err, path, "untracked_targets[0].reason", "missing")


def test_untracked_target_wrong_type(tmp_path):
    text = edit(plan_text(), 'target = "8.2 %/yr, 2021-2030"', "target = 8.2")
    err, path = plan_error(tmp_path, text)
    check(err, path, "untracked_targets[0].target", "expected text, found 8.2")


def test_untracked_target_not_a_table(tmp_path):
    text = 'untracked_targets = [ "labour productivity 8.2 %/yr" ]\n' + cut_from(
        plan_text(), UNTRACKED_MARK)
    err, path = plan_error(tmp_path, text)
    check(err, path, "untracked_targets[0]", "expected a table")


# ----------------------------------------------------------------------- assumed data

ASSUMED = "[[assumed_data]]"


def test_assumed_data_empty_note(tmp_path):
    text = plan_text()
    start = text.index('note = "No urban population figure')
    end = text.index("\n", start)
    text = text[:start] + 'note = "  "' + text[end:]
    err, path = plan_error(tmp_path, text)
    check(err, path, "assumed_data[0].note", "empty", "say why this figure is assumed")
    assert len(err.problems) == 1


def test_assumed_data_year_outside_actual_years(tmp_path):
    text = edit_block(plan_text(), ASSUMED, "year = 2020", "year = 2030")
    err, path = plan_error(tmp_path, text)
    check(err, path, "assumed_data[0].year", "2030 is outside the actual years 2020-2024",
          "assumed data only fills history")
    assert len(err.problems) == 1


def test_assumed_data_unknown_key(tmp_path):
    text = edit_block(plan_text(), ASSUMED, "value = 14.66", "valu = 14.66")
    err, path = plan_error(tmp_path, text)
    check(err, path, "assumed_data[0]", "unknown key 'valu'", "did you mean 'value'?")
    check(err, path, "assumed_data[0].value", "missing")


def test_assumed_data_not_a_table(tmp_path):
    text = plan_text()
    start = text.index(ASSUMED)
    end = text.index("# ------", start)
    text = 'assumed_data = [ "urbanization_rate 2020 = 14.66" ]\n' + text[:start] + text[end:]
    err, path = plan_error(tmp_path, text)
    check(err, path, "assumed_data[0]", "expected a table")
    assert len(err.problems) == 1


def test_assumed_data_unknown_indicator(tmp_path):
    text = edit_block(plan_text(), ASSUMED, 'indicator = "urbanization_rate"',
                      'indicator = "urbanisation_rate"')
    err, path = plan_error(tmp_path, text, run=quyhoach.simulate)
    check(err, path, "assumed_data[0].indicator", "'urbanisation_rate' is not read by the model",
          "did you mean 'urbanization_rate'?")
    assert len(err.problems) == 1


def test_assumed_data_wrong_unit(tmp_path):
    text = edit_block(plan_text(), ASSUMED, 'unit = "%"', 'unit = "percent"')
    err, path = plan_error(tmp_path, text, run=quyhoach.simulate)
    check(err, path, "assumed_data[0].unit", "expected '%', found 'percent'")
    assert len(err.problems) == 1


def test_assumed_data_duplicates_observed_figure(tmp_path):
    text = edit_block(plan_text(), ASSUMED, 'indicator = "urbanization_rate"',
                      'indicator = "population"')
    text = edit_block(text, ASSUMED, 'unit = "%"', 'unit = "thousand persons"')
    err, path = plan_error(tmp_path, text, run=quyhoach.simulate)
    check(err, path, "assumed_data[0]", "population 2020 is already observed in the "
          "inputs (469.81)", "remove the assumption")
    assert len(err.problems) == 1


def test_assumed_data_single_brackets(tmp_path):
    err, path = plan_error(tmp_path, edit(plan_text(), ASSUMED, "[assumed_data]"))
    check(err, path, "assumed_data", "[[assumed_data]]")


def test_untracked_targets_single_brackets(tmp_path):
    text = cut_from(plan_text(), UNTRACKED_MARK) + (
        '[untracked_targets]\nlabel_vi = "x"\nlabel_en = "x"\ntarget = "8.2 %/yr"\n'
        'source = "QĐ 1585"\nreason = "no employment series"\n')
    err, path = plan_error(tmp_path, text)
    check(err, path, "untracked_targets", "[[untracked_targets]]")


# ------------------------------------------------------------- coverage of the years

def test_scenario_missing_a_needed_period(tmp_path):
    text = edit(plan_text(), AGRI, 'agriculture = { "2025-2030" = 5.0 }')
    err, path = plan_error(tmp_path, text, run=quyhoach.simulate)
    check(err, path, "scenarios.base.growth.agriculture", "no value for 2031-2050",
          "needs it in every year it projects from 2025", '"2031-2050" = ...')
    assert len(err.problems) == 1  # the other scenarios set their own agriculture growth


def test_scenario_missing_a_parameter(tmp_path):
    text = edit(plan_text(), "icor = 5.5", "# icor = 5.5")
    err, path = plan_error(tmp_path, text, run=quyhoach.simulate)
    for s in SCENARIOS:
        check(err, path, f"scenarios.{s}.investment.icor", "no value for 2021-2050",
              "needs it in every year it projects from 2021")


def test_scenario_missing_years_in_the_middle(tmp_path):
    text = edit(plan_text(), 'birth_rate = { "2023-2030" = 21.0, "2031-2040" = 18.0, ',
                'birth_rate = { "2023-2030" = 21.0, "2032-2040" = 18.0, ')
    err, path = plan_error(tmp_path, text, run=quyhoach.simulate)
    check(err, path, "scenarios.base.population.birth_rate", "no value for 2031")


# --------------------------------------------------------- all problems, one report

def test_two_independent_mistakes_are_reported_together(tmp_path):
    text = edit(plan_text(), 'growth.services = { "2025-2030" = 6.5',
                'grwth.services = { "2025-2030" = 6.5')
    text = edit_target(text, "population_2030", 'comparison = "about"', 'comparison = "~"')
    err, path = plan_error(tmp_path, text)
    assert len(err.problems) == 2
    assert str(err).startswith("2 plan-file problems found:")
    check(err, path, "scenarios.low", "did you mean 'growth'?")
    check(err, path, f"{target_key('population_2030')}.comparison", "write 'about'")


def test_mistakes_across_sections_are_reported_together(tmp_path):
    text = edit(plan_text(), "icor = 5.5", "icor = 55")
    text = edit_target(text, "grdp_growth_2021_2030_draft", "value = 9.5", "value = 0.095")
    text = edit_block(text, ASSUMED, "year = 2020", "year = 2030")
    text = edit(text, AGRI, 'agriculture = { "2030-2025" = 5.0, "2031-2050" = 4.0 }')
    err, path = plan_error(tmp_path, text)
    assert len(err.problems) >= 4
    check(err, path, "scenarios.base.investment.icor", "above the maximum 20")
    check(err, path, f"{target_key('grdp_growth_2021_2030_draft')}.value", "did you mean 9.5?")
    check(err, path, "assumed_data[0].year", "outside the actual years")
    check(err, path, 'scenarios.base.growth.agriculture["2030-2025"]', "ends before it starts")


def test_coverage_problems_of_all_scenarios_are_reported_together(tmp_path):
    text = edit(plan_text(), AGRI, 'agriculture = { "2025-2030" = 5.0 }')
    text = edit(text, 'growth.agriculture = { "2025-2030" = 4.0, "2031-2050" = 3.5 }',
                'growth.agriculture = { "2025-2040" = 4.0 }')
    err, path = plan_error(tmp_path, text, run=quyhoach.simulate)
    assert len(err.problems) == 2
    check(err, path, "scenarios.base.growth.agriculture", "no value for 2031-2050")
    check(err, path, "scenarios.low.growth.agriculture", "no value for 2041-2050")


def test_unknown_scenario_name_in_simulate(tmp_path):
    path = write(tmp_path, plan_text())
    with pytest.raises(PlanError) as exc:
        quyhoach.simulate(path, scenarios=["base", "hihg"])
    check(exc.value, path, "scenarios", "no scenario 'hihg'", "did you mean 'high'?")


# ------------------------------------------------- wording of "missing" messages

@pytest.mark.parametrize("old, new, key, words", [
    ("tolerance = 5.0\n", "", "population_2030.tolerance", "a number"),
    ("value = 545.0\n", "", "population_2030.value", "a number"),
    ("vnd_per_usd = 27332\n", "", "scenarios.base.exchange_rate.vnd_per_usd", "a number"),
    (RECLASS, RECLASS.replace(", added_share = 5.0", ""),
     f"{RECLASS_KEY}.added_share", "a number"),
    ("base_year = 2020", "# base_year = 2020", "plan.base_year", "a whole number"),
    ('label_en = "Population 2030 (thousand persons)"\n', "", "population_2030.label_en", "text"),
], ids=["tolerance", "value", "vnd_per_usd", "added_share", "base_year", "label_en"])
def test_missing_key_is_reported_in_words(tmp_path, old, new, key, words):
    if key.startswith("population_2030."):
        text = edit_target(plan_text(), "population_2030", old, new)
        key = key.replace("population_2030", target_key("population_2030"))
    else:
        text = edit(plan_text(), old, new)
    err, path = plan_error(tmp_path, text)
    msg = check(err, path, key, "missing", f"expected {words}")
    assert "<class" not in msg


# ================================================================ issue 8: input validation

# ------------------------------------------------------------ names are identifiers

@pytest.mark.parametrize("name, slug", [
    ("x/../../../../escaped", "x_escaped"),
    ("Lai Châu", "lai_chau"),
    ("-rf", "rf"),
    ("nul", ""),
])
def test_province_must_be_an_identifier(tmp_path, name, slug):
    err, path = plan_error(tmp_path, edit(plan_text(), 'province = "lai_chau"',
                                          f'province = "{name}"'))
    msg = check(err, path, "plan.province", "cannot be a province name",
                "letters a-z, digits, '_' and '-'", "put the display name in name_vi / name_en")
    assert (f"write e.g. '{slug}'" in msg) == bool(slug)
    assert len(err.problems) == 1


@pytest.mark.parametrize("name, key", [
    ("../../x", 'scenarios."../../x"'),
    ("cao độ", 'scenarios."cao độ"'),
    ("a" * 65, f'scenarios."{"a" * 65}"'),
])
def test_scenario_name_must_be_an_identifier(tmp_path, name, key):
    text = edit(plan_text(), "[scenarios.recent_trend]", f'[scenarios."{name}"]')
    err, path = plan_error(tmp_path, text)
    check(err, path, key, "cannot be a scenario name", "folder and file names",
          "put the display name in label_vi / label_en")
    assert len(err.problems) == 1


def test_scenario_names_differing_only_in_case(tmp_path):
    text = edit(plan_text(), "[scenarios.recent_trend]", "[scenarios.High]")
    err, path = plan_error(tmp_path, text)
    check(err, path, "scenarios.High", "'High' and 'high' differ only in case", "rename one")
    assert len(err.problems) == 1


def test_target_id_must_be_an_identifier(tmp_path):
    tid = "ntm_2025"
    text = edit(plan_text(), f'id = "{tid}"', 'id = "../ntm 2025"')
    err, path = plan_error(tmp_path, text)
    check(err, path, f"targets[{_index(tid)}] (id '../ntm 2025').id",
          "cannot be a target name", "write e.g. 'ntm_2025'")


def _index(tid: str) -> int:
    ids = [t["id"] for t in tomllib.loads(PLAN.read_text(encoding="utf-8"))["targets"]]
    return ids.index(tid)


def test_check_identifier_is_usable_for_regions():
    from quyhoach.errors import Problems
    from quyhoach.plan import check_identifier

    problems = Problems("plan.toml")
    assert check_identifier("tay_bac", "regions.tay_bac", problems, "region", "label_vi")
    assert not check_identifier("Tây Bắc", 'regions."Tây Bắc"', problems, "region", "label_vi")
    assert "cannot be a region name" in problems.items[0].message
    assert "write e.g. 'tay_bac'" in problems.items[0].message


# --------------------------------------------- per-value plausibility and confirmation

IND = 'industry_construction = { "2025-2030" = 13.6, "2031-2050" = 9.0 }'
LOW_IND = 'growth.industry_construction = { "2025-2030" = 10.0, "2031-2050" = 7.5 }'
BASE_HEAD = 'description = "Sector growth from 2025'


def test_fraction_next_to_percent_in_one_table(tmp_path):
    """The issue's case: 0.136 beside 9.0 passed because the table was judged whole."""
    text = edit(plan_text(), IND, 'industry_construction = { "2025-2030" = 0.136, '
                '"2031-2050" = 9.0 }')
    err, path = plan_error(tmp_path, text)
    check(err, path, 'scenarios.base.growth.industry_construction["2025-2030"]',
          "0.136 %/yr is implausibly small", "did you write a fraction?",
          "Use 13.6 for 13.6 %/yr",
          'add "growth.industry_construction" to confirm = [...] in [scenarios.base]')
    assert len(err.problems) == 1


def test_fraction_slip_in_a_child_scenario(tmp_path):
    text = edit(plan_text(), LOW_IND, 'growth.industry_construction = { "2025-2030" = 0.1, '
                '"2031-2050" = 7.5 }')
    err, path = plan_error(tmp_path, text)
    check(err, path, 'scenarios.low.growth.industry_construction["2025-2030"]',
          "0.1 %/yr is implausibly small", "Use 10 for 10 %/yr", "in [scenarios.low]")
    assert len(err.problems) == 1


def test_fraction_slips_everywhere_are_judged_against_the_usual_value(tmp_path):
    text = plan_text()
    for old, new in [(AGRI, 'agriculture = { "2025-2030" = 0.05, "2031-2050" = 0.04 }'),
                     ('growth.agriculture = { "2025-2030" = 4.0, "2031-2050" = 3.5 }',
                      'growth.agriculture = 0.04'),
                     ('growth.agriculture = { "2025-2030" = 5.5, "2031-2050" = 4.5 }',
                      'growth.agriculture = 0.05'),
                     ("growth.agriculture = 5.16", "growth.agriculture = 0.0516")]:
        text = edit(text, old, new)
    err, path = plan_error(tmp_path, text)
    check(err, path, "scenarios.recent_trend.growth.agriculture",
          "0.0516 %/yr is implausibly small next to a usual 4 %/yr", "Use 5.16")
    assert len(err.problems) == 5


@pytest.mark.parametrize("old, new", [
    (AGRI, 'agriculture = { "2025-2030" = 5.0, "2031-2050" = 0.2 }'),
    (AGRI, "agriculture = 0.2"),
    ("growth.services = 5.16", "growth.services = 0.3"),
], ids=["agriculture_0.2_next_to_5", "agriculture_0.2_alone", "services_0.3"])
def test_real_small_growth_is_accepted(tmp_path, old, new):
    """Read as a fraction, these would be 20-30 %/yr: no usual sector growth."""
    quyhoach.load_plan(write(tmp_path, edit(plan_text(), old, new)))


def test_confirm_accepts_an_unusual_value(tmp_path):
    text = edit(plan_text(), IND, 'industry_construction = { "2025-2030" = 0.136, '
                '"2031-2050" = 45.0 }')
    text = edit(text, BASE_HEAD, f'confirm = ["growth.industry_construction"]\n{BASE_HEAD}')
    plan = quyhoach.load_plan(write(tmp_path, text))
    assert plan.scenario("base").confirmed == ("growth.industry_construction",)
    assert plan.scenario("low").confirmed == ()  # confirmations are not inherited
    assert plan.scenario("base").values["growth.industry_construction"][5] == 0.136


def test_confirm_in_a_child_scenario(tmp_path):
    text = edit(plan_text(), LOW_IND, 'growth.industry_construction = { "2025-2030" = 0.1, '
                '"2031-2050" = 7.5 }\nconfirm = ["growth.industry_construction"]')
    plan = quyhoach.load_plan(write(tmp_path, text))
    assert plan.scenario("low").values["growth.industry_construction"][5] == 0.1


def test_confirm_covers_only_the_table_that_writes_the_value(tmp_path):
    """Base confirms its own value; a child's own unusual value needs its own confirm."""
    text = edit(plan_text(), IND, 'industry_construction = { "2025-2030" = 45.0, '
                '"2031-2050" = 9.0 }')
    text = edit(text, BASE_HEAD, f'confirm = ["growth.industry_construction"]\n{BASE_HEAD}')
    text = edit(text, LOW_IND, 'growth.industry_construction = { "2025-2030" = 50.0, '
                '"2031-2050" = 7.5 }')
    err, path = plan_error(tmp_path, text)
    check(err, path, 'scenarios.low.growth.industry_construction["2025-2030"]',
          "50 is above the maximum 40 (%/yr)", "in [scenarios.low]")
    assert len(err.problems) == 1


@pytest.mark.parametrize("confirm, words", [
    ('["growth.industy_construction"]', ["unknown parameter 'growth.industy_construction'",
                                         "did you mean 'growth.industry_construction'?"]),
    ('["income.elasticity"]', ["'income.elasticity' is not set in this scenario",
                             "an inherited value is confirmed where it is written"]),
    ('"growth.industry_construction"', ["expected a list of parameter paths"]),
])
def test_confirm_mistakes(tmp_path, confirm, words):
    text = edit(plan_text(), "tourism.visitor_growth = { \"2024-2030\" = 12.0",
                f"confirm = {confirm}\ntourism.visitor_growth = {{ \"2024-2030\" = 12.0")
    err, path = plan_error(tmp_path, text)
    check(err, path, "scenarios.low.confirm", *words)
    assert len(err.problems) == 1


def test_confirm_cannot_make_an_impossible_value_possible(tmp_path):
    text = edit(plan_text(), IND, 'industry_construction = { "2025-2030" = 600.0, '
                '"2031-2050" = -100.0 }')
    text = edit(text, BASE_HEAD, f'confirm = ["growth.industry_construction"]\n{BASE_HEAD}')
    err, path = plan_error(tmp_path, text)
    key = "scenarios.base.growth.industry_construction"
    check(err, path, f'{key}["2025-2030"]', "600 is above the maximum 40",
          "beyond 500, the most the model can use")
    check(err, path, f'{key}["2031-2050"]', "-100 is below the minimum -30",
          "impossible: nothing can fall by 100 % or more in a year")


def test_indicator_speed_can_be_confirmed(tmp_path):
    text = edit_block(plan_text(), "[scenarios.base.indicators.ntm_communes_share]",
                      "speed = 4.0", "speed = 25.0")
    err, path = plan_error(tmp_path, text)
    check(err, path, "scenarios.base.indicators.ntm_communes_share.speed",
          "25 is above the maximum 20 (percentage points/yr)",
          'add "indicators.ntm_communes_share.speed" to confirm')
    text = edit(text, BASE_HEAD, f'confirm = ["indicators.ntm_communes_share.speed"]\n'
                f'{BASE_HEAD}')
    quyhoach.load_plan(write(tmp_path, text))


def test_birth_rate_written_per_100_is_implausible(tmp_path):
    text = edit(plan_text(), '"2023-2030" = 21.0', '"2023-2030" = 2.1')
    err, path = plan_error(tmp_path, text)
    check(err, path, 'scenarios.base.population.birth_rate["2023-2030"]',
          "2.1 is below the minimum 5 (per 1000)", "confirm it")


# ---------------------------------------------------------------- targets, per value

def test_small_population_growth_target_is_accepted(tmp_path):
    """0.25 %/yr population growth is real; read as a fraction it would be 25 %/yr."""
    text = edit_target(plan_text(), "population_growth_2021_2030", "value = 1.45", "value = 0.25")
    quyhoach.load_plan(write(tmp_path, text))


def test_growth_target_slip_is_judged_by_its_neighbours(tmp_path):
    tid = "grdp_growth_2021_2030_approved"
    text = edit_target(plan_text(), tid, "value = 10.0", "value = 0.1")
    err, path = plan_error(tmp_path, text)
    check(err, path, f"{target_key(tid)}.value", "0.1 %/yr looks like a fraction",
          "did you mean 10?", "add confirm = true to this target")


def test_target_slip_can_be_confirmed(tmp_path):
    tid = "share_services_2030"
    text = edit_target(plan_text(), tid, "value = 34.3", "value = 0.343\nconfirm = true")
    text = edit_target(text, tid, "tolerance = 1.0", "tolerance = 0.1")
    text = edit_target(text, "share_industry_2030", "value = 47.5", "value = 81.4")
    quyhoach.load_plan(write(tmp_path, text))


def test_target_confirm_must_be_true_or_false(tmp_path):
    tid = "ntm_2025"
    text = edit_target(plan_text(), tid, "value = 57.5", 'value = 57.5\nconfirm = "yes"')
    err, path = plan_error(tmp_path, text)
    check(err, path, f"{target_key(tid)}.confirm", "expected true or false", "found 'yes'")


@pytest.mark.parametrize("tid, old, new, words", [
    ("population_growth_2021_2030", "value = 1.45", "value = 145.0",
     ["145 %/yr is outside the usual -5 to 10 %/yr for average_growth of population"]),
    ("poverty_reduction_2021_2030", "value = -2.0", "value = -200.0",
     ["-200 is not a possible target for poverty_rate (change_per_year)",
      "expected -100 up to 100 points/yr"]),
    ("poverty_reduction_2021_2030", "value = -2.0", "value = -30.0",
     ["-30 points/yr is outside the usual -20 to 20 points/yr"]),
    ("population_2030", "value = 545.0", "value = 1e308",
     ["1e+308 is not a possible target for population (level)",
      "expected 0 up to 1e+12 thousand persons"]),
    ("population_2030", "value = 545.0", "value = -545.0",
     ["-545 is not a possible target"]),
    ("ntm_2030", "value = 70.0", "value = 170.0",
     ["170 is not a possible target for ntm_communes_share (share)", "0 up to 100"]),
    ("grdp_growth_2021_2030_draft", "value = 9.5", "value = -100.0",
     ["-100 is not a possible target", "more than -100"]),
    ("population_2030", "tolerance = 5.0", "tolerance = 1e300",
     ["1e+300 is wider than every possible value"]),
], ids=["implausible_growth", "change_beyond_100", "implausible_change", "1e308", "negative",
        "share_above_100", "growth_-100", "huge_tolerance"])
def test_impossible_or_unusual_target_values(tmp_path, tid, old, new, words):
    err, path = plan_error(tmp_path, edit_target(plan_text(), tid, old, new))
    key = "tolerance" if "tolerance" in old else "value"
    check(err, path, f"{target_key(tid)}.{key}", *words)
    assert len(err.problems) == 1


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
@pytest.mark.parametrize("key", ["value", "tolerance"])
def test_non_finite_target_numbers(tmp_path, key, value):
    tid = "population_2030"
    old = {"value": "value = 545.0", "tolerance": "tolerance = 5.0"}[key]
    err, path = plan_error(tmp_path, edit_target(plan_text(), tid, old, f"{key} = {value}"))
    check(err, path, f"{target_key(tid)}.{key}", "expected a finite number", f"found {value}")
    assert len(err.problems) == 1


def test_structure_targets_must_allow_shares_summing_to_100(tmp_path):
    text = edit_target(plan_text(), "share_industry_2030", "value = 47.5", "value = 52.5")
    err, path = plan_error(tmp_path, text)
    check(err, path, "targets", "sector-share targets for 2030",
          "need shares summing to at least 101 %", "shares of GRDP sum to 100")
    assert len(err.problems) == 1


def test_structure_targets_summing_too_low(tmp_path):
    text = edit_target(plan_text(), "share_industry_2030", "value = 47.5", "value = 37.5")
    err, path = plan_error(tmp_path, text)
    check(err, path, "targets", "allow shares summing to at most 94 %")


def test_level_target_in_the_wrong_unit(tmp_path):
    tid = "grdp_per_capita_2025"
    text = edit_target(plan_text(), tid, "value = 65.0", "value = 65000.0")
    err, path = plan_error(tmp_path, text, run=quyhoach.simulate)
    check(err, path, f"{target_key(tid)}.value", "65000 million VND is", "times above what "
          "every scenario projects", "check the unit", "add confirm = true")
    assert len(err.problems) == 1
    quyhoach.simulate(write(tmp_path, edit_target(text, tid, "value = 65000.0",
                                                  "value = 65000.0\nconfirm = true")))


def test_target_that_a_scenario_cannot_evaluate(tmp_path):
    """Without an exchange rate the USD figure is NaN: refused, not 'not met'."""
    text = plan_text()
    start = text.index("[scenarios.base.exchange_rate]")
    end = text.index("[scenarios.base.indicators.poverty_rate]")
    text = text[:start] + text[end:]
    err, path = plan_error(tmp_path, text, run=quyhoach.simulate)
    for s in SCENARIOS:
        check(err, path, target_key("grdp_per_capita_usd_2030"),
              f"scenario '{s}' has no grdp_per_capita_usd for 2030",
              f"it needs [scenarios.{s}.exchange_rate]")
    assert len(err.problems) == len(SCENARIOS)


def test_target_before_the_inputs_start(tmp_path):
    tid = "budget_revenue_2025"
    text = edit_target(plan_text(), tid, "year = 2025", "year = 2021")
    text = edit_target(text, tid, "value = 3000.0", "value = 2000.0")
    err, path = plan_error(tmp_path, text, run=quyhoach.simulate)
    check(err, path, target_key(tid), "scenario 'base' has no budget_revenue for 2021",
          "not observed there, and not projected")


# ------------------------------------------------ non-finite and impossible scenario values

@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_non_finite_parameter(tmp_path, value):
    err, path = plan_error(tmp_path, edit(plan_text(), "death_rate = 6.5",
                                          f"death_rate = {value}"))
    check(err, path, "scenarios.base.population.death_rate", "expected a finite number",
          f"found {value}")
    assert len(err.problems) == 1


def test_non_finite_period_value(tmp_path):
    err, path = plan_error(tmp_path, edit(plan_text(), AGRI, 'agriculture = '
                                          '{ "2025-2030" = nan, "2031-2050" = 4.0 }'))
    check(err, path, 'scenarios.base.growth.agriculture["2025-2030"]',
          "expected a finite number, found nan")
    assert len(err.problems) == 1


def test_huge_integer_parameter(tmp_path):
    err, path = plan_error(tmp_path, edit(plan_text(), "icor = 5.5", "icor = " + "9" * 400))
    msg = check(err, path, "scenarios.base.investment.icor", "expected a finite number",
                "found 9999")
    assert len(msg) < 200  # the number is cut, not echoed whole


@pytest.mark.parametrize("old, new, key, words", [
    ("value = 14.66", "value = -50", "assumed_data[0].value",
     ["-50 is impossible for urbanization_rate (%)", "expected 0 up to 100"]),
    ("value = 14.66", "value = 1e308", "assumed_data[0].value",
     ["1e+308 is impossible for urbanization_rate"]),
    ("value = 14.66", "value = nan", "assumed_data[0].value",
     ["expected a finite number, found nan"]),
], ids=["-50", "1e308", "nan"])
def test_impossible_assumed_figure(tmp_path, old, new, key, words):
    err, path = plan_error(tmp_path, edit_block(plan_text(), ASSUMED, old, new))
    check(err, path, key, *words)
    assert len(err.problems) == 1


@pytest.mark.parametrize("old, new, key, words", [
    ('"growth.industry_construction" = { dist = "pert", min = -4.0, mode = 0.0, max = 2.0 }',
     '"growth.industry_construction" = { dist = "pert", min = -70.0, mode = 0.0, max = 2.0 }',
     'uncertainty.parameters."growth.industry_construction"',
     ["lets growth.industry_construction fall to -100 %/yr (scenario 'low'",
      "nothing can fall by 100 % or more"]),
    ('"growth.agriculture" = { dist = "normal", sd = 0.7 }',
     '"growth.agriculture" = { dist = "normal", sd = 30.0 }',
     'uncertainty.parameters."growth.agriculture"',
     ["lets growth.agriculture fall to -146.5 %/yr", "scenario 'low'", "mean - 5 sd"]),
    ("tourism = -60.0", "tourism = -110.0", "uncertainty.disruptions[0].depth.tourism",
     ["-110 points on 6 %/yr (scenario 'low')", "to -104 %/yr in an event year",
      "make the depth shallower than -106"]),
], ids=["pert_min", "normal_tail", "disruption_depth"])
def test_uncertainty_that_lets_a_rate_fall_below_minus_100(tmp_path, old, new, key, words):
    text = edit(plan_text(), old, new)
    if "min = -70.0" in new:  # a scenario value low enough for the offset to matter
        text = edit(text, LOW_IND, 'growth.industry_construction = { "2025-2030" = -30.0, '
                    '"2031-2050" = 7.5 }')
    err, path = plan_error(tmp_path, text)
    check(err, path, key, *words)
    assert len(err.problems) == 1


def test_offsets_are_checked_where_a_scenario_overrides_them(tmp_path):
    text = edit(plan_text(), "[scenarios.high]\n",
                '[scenarios.high.uncertainty.parameters]\n"growth.agriculture" = '
                '{ dist = "uniform", min = -50.0, max = 1.0 }\n\n[scenarios.high]\n')
    text = edit(text, 'growth.agriculture = { "2025-2030" = 5.5, "2031-2050" = 4.5 }',
                'growth.agriculture = { "2025-2030" = 5.5, "2031-2050" = -55.0 }\n'
                'confirm = ["growth.agriculture"]')
    err, path = plan_error(tmp_path, text)
    check(err, path, 'scenarios.high.uncertainty.parameters."growth.agriculture"',
          "lets growth.agriculture fall to -105 %/yr (scenario 'high'")
    assert len(err.problems) == 1


def test_compounding_beyond_any_figure_is_refused(tmp_path):
    text = edit(plan_text(), IND, "industry_construction = 400.0")
    text = edit(text, BASE_HEAD, 'confirm = ["growth.industry_construction", '
                f'"budget.buoyancy"]\n{BASE_HEAD}')
    text = edit(text, "buoyancy = 1.0   #", "buoyancy = 9.0   #")
    err, path = plan_error(tmp_path, text, run=quyhoach.simulate)
    check(err, path, "scenarios.base", "the projection of budget_revenue reaches",
          "compound beyond any meaningful figure")


def test_indicator_bounds_must_hold_its_history(tmp_path):
    text = edit_block(plan_text(), "[scenarios.base.indicators.forest_cover]",
                      "upper = 70.0", "upper = 40.0")
    err, path = plan_error(tmp_path, text, run=quyhoach.simulate)
    check(err, path, "scenarios.base.indicators.forest_cover",
          "the last observed value", "in 2023, lies above upper = 40",
          "the bounds must contain the indicator's history")


# ------------------------------------------------------------------ integers are bounded

def test_horizon_far_beyond_the_base_year(tmp_path):
    err, path = plan_error(tmp_path, edit(plan_text(), "horizon = 2050",
                                          "horizon = 1000000000"))
    check(err, path, "plan.horizon", "999,997,980 years after base_year 2020",
          "at most 100 years")
    assert len(err.problems) == 1


@pytest.mark.parametrize("old, new, key", [
    ("reference_year = 2030", "reference_year = 9223372036854775807",
     "scenarios.base.exchange_rate.reference_year"),
    (RECLASS, RECLASS.replace("2028", "-9223372036854775808"), f"{RECLASS_KEY}.year"),
])
def test_extreme_years_are_refused(tmp_path, old, new, key):
    err, path = plan_error(tmp_path, edit(plan_text(), old, new))
    check(err, path, key, "is outside")
    assert len(err.problems) == 1


def test_too_many_scenarios(tmp_path):
    extra = "".join(f'\n[scenarios.s{i}]\ninherits = "base"\n' for i in range(100))
    err, path = plan_error(tmp_path, plan_text() + extra)
    check(err, path, "scenarios", "104 scenarios; a plan holds at most 100")


def test_too_many_targets(tmp_path):
    extra = "".join(f'\n[[targets]]\nid = "t{i}"\nindicator = "population"\nkind = "level"\n'
                    f'year = 2030\nvalue = 500.0\nlabel_vi = "x"\nlabel_en = "x"\n'
                    f'source = "x"\n' for i in range(480))
    err, path = plan_error(tmp_path, plan_text().replace("\n[[untracked_targets]]",
                                                         extra + "\n[[untracked_targets]]", 1))
    n = len(quyhoach.load_plan(LAI_CHAU).targets) + 480
    check(err, path, "targets", f"{n} targets; a plan holds at most 500")


def test_a_long_inheritance_chain_loads(tmp_path):
    """Inheritance is resolved without recursion: 95 levels deep is fine."""
    extra = "".join(f'\n[scenarios.s{i}]\ninherits = "{"base" if i == 0 else f"s{i - 1}"}"\n'
                    for i in range(95))
    plan = quyhoach.load_plan(write(tmp_path, plan_text() + extra))
    assert len(plan.scenarios) == 99


# ------------------------------------------------------ issue item 15: no tracebacks

@pytest.mark.parametrize("edit_, key, words", [
    (("indicators.poverty_rate.speed = -0.1054   # ln(0.90)\n"
      "indicators.forest_cover.speed = 0.5\n"
      "indicators.ntm_communes_share.speed = 3.0\n", "indicators = 5.0\n"),
     "scenarios.low.indicators", ["expected a table of indicators, found 5.0"]),
    (("budget.buoyancy = 0.9", "budget.buoyancy = 0.9\nexchange_rate = 5"),
     "scenarios.low.exchange_rate", ["expected a table, found 5"]),
    (("[scenarios.base.growth]", "uncertainty = 5\n\n[scenarios.base.growth]"),
     "scenarios.base.uncertainty", ["expected a table with parameters, shocks and "
                                    "disruptions, found 5"]),
    (("[plan]", "deep = " + "{ a = " * 2000 + "1" + " }" * 2000 + "\n[plan]"), "",
     ["not valid TOML", "nested hundreds of levels deep"]),
    (("[plan]", "deep." + ".".join(["a"] * 40) + " = 1\n[plan]"), "",
     ["nested more than 12 levels deep", "at most 12"]),
    (("horizon = 2050", "horizon = " + "9" * 5000), "",
     ["not valid TOML", "a whole number thousands of digits long"]),
    (('name_vi = "Quy', 'name_vi = "\\u0007Quy'), "plan.name_vi",
     ["contains the control character U+0007"]),
    (('label_vi = "Thấp"', 'label_vi = ""'), "scenarios.low.label_vi", ["empty"]),
], ids=["indicators_number", "exchange_rate_number", "parent_uncertainty_number",
        "nested_2000", "dotted_40", "5000_digits", "control_char",
        "empty_label"])
def test_malformed_tables_are_plan_errors(tmp_path, edit_, key, words):
    err, path = plan_error(tmp_path, edit(plan_text(), *edit_))
    check(err, path, key, *words)
    assert len(err.problems) == 1


def test_plan_uncertainty_that_is_not_a_table(tmp_path):
    """Not hidden by the calibrated model's entries."""
    from conftest import END, START

    text = plan_text()
    text = 'uncertainty = ""\n' + text[:text.index(START)] + text[text.index(END):]
    err, path = plan_error(tmp_path, text)
    check(err, path, "uncertainty", "expected a table with parameters, shocks and "
          "disruptions, found ''")
    assert len(err.problems) == 1


def test_parent_uncertainty_that_is_a_number_with_a_child_override(tmp_path):
    text = edit(plan_text(), "[scenarios.base.growth]",
                "uncertainty = 5\n\n[scenarios.base.growth]")
    text = edit(text, "[scenarios.low]\n", '[scenarios.low.uncertainty.parameters]\n'
                '"growth.services" = { dist = "normal", sd = 1.0 }\n\n[scenarios.low]\n')
    err, path = plan_error(tmp_path, text)
    check(err, path, "scenarios.base.uncertainty", "expected a table")
    assert len(err.problems) == 1


def test_year_key_and_period_starting_the_same_year(tmp_path):
    """A year key and a period from the same year overlap: an error, not a TypeError."""
    err, path = plan_error(tmp_path, edit(plan_text(), AGRI,
                                          'agriculture = { "2025" = 5.0, "2025-2050" = 4.0 }'))
    check(err, path, 'scenarios.base.growth.agriculture["2025"]', "overlaps")
    assert len(err.problems) == 1


# ------------------------------------------ issue item 16: the root error, all at once

def test_misspelt_parent_gives_only_the_root_error(tmp_path):
    text = edit_block(plan_text(), "[scenarios.low]", 'inherits = "base"', 'inherits = "bse"')
    err, path = plan_error(tmp_path, text)
    check(err, path, "scenarios.low.inherits", "unknown scenario 'bse'", "did you mean 'base'?")
    assert len(err.problems) == 1  # not its indicators' missing form and speed


def test_misspelt_parent_still_reports_the_childs_own_mistakes(tmp_path):
    text = edit_block(plan_text(), "[scenarios.low]", 'inherits = "base"', 'inherits = "bse"')
    text = edit(text, "budget.buoyancy = 0.9", "budget.buoyancy = 90")
    err, path = plan_error(tmp_path, text)
    check(err, path, "scenarios.low.inherits", "unknown scenario 'bse'")
    check(err, path, "scenarios.low.budget.buoyancy", "90 is above the maximum 3")
    assert len(err.problems) == 2


def test_inheritance_loop_is_reported_once(tmp_path):
    text = edit(plan_text(), "[scenarios.base]\n", '[scenarios.base]\ninherits = "high"\n')
    err, path = plan_error(tmp_path, text)
    check(err, path, "scenarios.high.inherits", "inheritance loops back: base -> high -> base")
    assert len(err.problems) == 1


def test_plan_saved_outside_scenarios_reports_both_paths_with_the_fix(tmp_path, monkeypatch):
    """A copy keeps paths relative to scenarios/: both reported at once, with the path
    that would work from the new folder; no 'run calibrate', no inputs/README.md."""
    monkeypatch.chdir(ROOT)
    elsewhere = tmp_path / "plans"
    elsewhere.mkdir()
    path = elsewhere / "copy.toml"
    path.write_text(PLAN.read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(PlanError) as exc:
        quyhoach.load_plan(path)
    err = exc.value
    inputs = check(err, path, "plan.inputs", "'../inputs/lai_chau' holds no history.csv",
                   "a relative path starts at the plan file's folder", "did you mean inputs = ")
    model = check(err, path, "plan.model", "'../models/lai_chau.toml' not found",
                  "did you mean model = ")
    assert len(err.problems) == 2
    for msg in (inputs, model):
        assert "calibrate" not in msg and "inputs/README.md" not in msg
    hint = inputs.split('did you mean inputs = "')[1].split('"')[0]
    assert (elsewhere / hint / "history.csv").is_file()  # the suggested path works


def test_missing_model_without_a_guess_suggests_calibrate(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model = (ROOT / "models" / "lai_chau.toml").as_posix()
    err, path = plan_error(tmp_path, edit(plan_text(), model, model.replace("lai_chau", "x")))
    check(err, path, "plan.model", "not found", "correct the path, remove the key",
          "run `quyhoach calibrate lai_chau`")


def test_invalid_model_file_is_reported_against_the_model(tmp_path):
    model = tmp_path / "model.toml"
    model.write_text('[uncertainty.parameters]\n"growth.services" = { dist = "normal", '
                     'sd = nan }\n', encoding="utf-8")
    err, path = plan_error(tmp_path, edit(plan_text(), (ROOT / "models" / "lai_chau.toml")
                                          .as_posix(), model.as_posix()))
    check(err, model, 'uncertainty.parameters."growth.services".sd',
          "expected a finite number, found nan")
    assert len(err.problems) == 1


# ---------------------------------------- check finds what run would find; run options

def test_central_run_refuses_what_the_monte_carlo_would(tmp_path):
    """Uncertainty on an indicator a scenario does not model: found by `check` (draws 0)."""
    ntm = '"indicators.ntm_communes_share.speed" = { dist = "normal", sd = 1.0 }'
    text = edit(plan_text(), ntm, ntm + '\n"indicators.rural_clean_water.speed" = '
                '{ dist = "normal", sd = 1.0 }')
    start = text.index("[scenarios.base.indicators.rural_clean_water]")
    text = text[:start] + text[text.index("[scenarios.low]"):]
    text = text[:text.index('[[targets]]\nid = "rural_water_2030"')] + text[
        text.index("# Targets in the documents that the model has no indicator for"):]
    err, path = plan_error(tmp_path, text, run=quyhoach.simulate)
    for s in SCENARIOS:
        key = f'scenarios.{s}.uncertainty.parameters."indicators.rural_clean_water.speed"'
        check(err, path, key, f"scenario '{s}' does not model this indicator")


def test_check_plan_builds_the_feasibility_table(tmp_path):
    from quyhoach.simulate import check_plan

    res = check_plan(write(tmp_path, plan_text()))
    assert list(res.scenarios) == list(SCENARIOS)


@pytest.mark.parametrize("kwargs, words", [
    ({"draws": 10, "seed": -1}, "the seed must be a whole number from 0 to 2**64 - 1"),
    ({"draws": 10, "seed": 2**64}, "the seed must be a whole number"),
    ({"draws": 10, "seed": 1.5}, "the seed must be a whole number"),
    ({"draws": -5}, "draws must be 0 (central path only) or at least 2, got -5"),
    ({"draws": 10, "seed": 1, "chunk_size": 0}, "chunk_size must be a whole number >= 1"),
])
def test_run_options_are_clean_errors(kwargs, words):
    from quyhoach.errors import OptionError, QuyhoachError

    with pytest.raises(OptionError) as exc:
        quyhoach.simulate(PLAN, **kwargs)
    assert words in str(exc.value)
    assert isinstance(exc.value, QuyhoachError) and isinstance(exc.value, ValueError)


def test_a_folder_is_not_a_plan_file(tmp_path):
    with pytest.raises(PlanError) as err:
        quyhoach.load_plan(tmp_path)
    check(err.value, tmp_path, "", "a folder, not a plan file", "give one *.toml plan file")


# ---------------------------------------------------------------- [plan] blocks

SOCIAL_PLAN = """
[plan]
province = "p"
inputs = "inputs"
base_year = 2013
last_actual_year = 2013
horizon = 2019
blocks = {blocks}

[scenarios.trend]
[scenarios.trend.population]
birth_rate = 20.0
death_rate = 6.0
net_migration_rate = -1.0
[scenarios.trend.urbanization]
speed = 0.03
"""
SOCIAL_HISTORY = """indicator,year,value,unit,status,source,note
population,2013,410,thousand persons,official,test,
urbanization_rate,2013,15,%,official,test,
"""


def social_plan(tmp_path, blocks='["population", "urbanization"]', extra=""):
    (tmp_path / "inputs").mkdir(exist_ok=True)
    (tmp_path / "inputs" / "history.csv").write_text(SOCIAL_HISTORY, encoding="utf-8")
    path = tmp_path / "plan.toml"
    path.write_text(SOCIAL_PLAN.format(blocks=blocks) + extra, encoding="utf-8")
    return path


def test_a_plan_of_population_and_urbanization_needs_no_economy(tmp_path):
    res = quyhoach.simulate(social_plan(tmp_path), draws=100, seed=1)
    pop = res.values("trend", "population")
    assert pop[1] == pytest.approx(410 * 1.013)  # (20 - 6 - 1) per 1000
    assert np.isnan(res.values("trend", "grdp_real")).all()
    assert set(res.bands()["variable"]) == {"population", "population_growth",
                                            "urbanization_rate", "population_urban",
                                            "population_rural"}


@pytest.mark.parametrize("blocks, fragments", [
    ('["populaton"]', ("unknown block 'populaton'", "did you mean 'population'?")),
    ('["income"]', ("'income' needs economy (its inputs); add 'economy'",)),
    ('"population"', ("expected a list of the blocks the plan projects",)),
])
def test_plan_blocks_errors(tmp_path, blocks, fragments):
    with pytest.raises(quyhoach.PlanError) as exc:
        quyhoach.load_plan(social_plan(tmp_path, blocks))
    check(exc.value, tmp_path / "plan.toml", "plan.blocks", *fragments)


def test_blocks_by_member_must_be_projected_by_the_plan(tmp_path):
    extra = ('\n[regions]\nblocks = ["population", "economy"]\n[[regions.members]]\nid = "a"\n'
             '[[regions.members]]\nid = "b"\n')
    with pytest.raises(quyhoach.PlanError) as exc:
        quyhoach.load_plan(social_plan(tmp_path, extra=extra))
    check(exc.value, tmp_path / "plan.toml", "regions.blocks",
          "economy by member, but [plan] blocks leaves them out")
