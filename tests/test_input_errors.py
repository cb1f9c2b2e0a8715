"""A test for every error message about input data (inputs.py, assemble.py).

Each case copies the real ``inputs/lai_chau/history.csv`` into a temporary directory,
edits it, and checks that the error names the file, the line (or indicator), what is
wrong and how to fix it. Assembly problems (missing base-year data) are reached through
``simulate`` on the real plan pointed at the edited inputs.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

import quyhoach
from conftest import check
from quyhoach import InputDataError, PlanError
from quyhoach.inputs import load_history

ROOT = Path(__file__).resolve().parents[1]
PLAN = ROOT / "scenarios" / "lai_chau.toml"
HISTORY = ROOT / "inputs" / "lai_chau" / "history.csv"
INPUTS_LINE = 'inputs = "../inputs/lai_chau"'
MODEL_LINE = 'model = "../models/lai_chau.toml"'
COLUMNS = ("indicator", "year", "value", "unit", "status", "source", "note")
SCENARIOS = ("base", "low", "high", "recent_trend")


# ----------------------------------------------------------------------------- helpers

def read_rows() -> list[dict]:
    """The real history table, one dict per row (file line = index + 2)."""
    with HISTORY.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == COLUMNS, "history.csv columns changed; update the tests"
    return rows


def index(rows: list[dict], indicator: str, year: int) -> int:
    """Position of the one row of (indicator, year); its file line is index + 2."""
    hits = [i for i, r in enumerate(rows) if r["indicator"] == indicator and r["year"] == str(year)]
    assert len(hits) == 1, f"expected one {indicator} {year} row in history.csv, found {len(hits)}"
    return hits[0]


def drop(rows: list[dict], indicator: str, years=None) -> list[dict]:
    """Rows without ``indicator`` (only ``years`` of it, when given); something must go."""
    keep = [r for r in rows if not (r["indicator"] == indicator
                                    and (years is None or int(r["year"]) in years))]
    assert len(keep) < len(rows), f"no {indicator} row to drop"
    return keep


def write_inputs(tmp_path: Path, rows: list[dict], columns=COLUMNS) -> Path:
    """Write ``rows`` as history.csv of a fresh input directory; return the directory."""
    d = (tmp_path / "inputs" / "x").resolve()
    d.mkdir(parents=True, exist_ok=True)
    with (d / "history.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(columns), lineterminator="\n", extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    return d


def write_plan(tmp_path: Path, inputs_dir: Path) -> Path:
    """The real plan, its inputs pointing at ``inputs_dir``."""
    text = PLAN.read_text(encoding="utf-8")
    assert text.count(INPUTS_LINE) == 1, "the plan's inputs line changed; update the tests"
    path = tmp_path / "plan.toml"
    text = text.replace(MODEL_LINE, f'model = "{(ROOT / "models" / "lai_chau.toml").as_posix()}"')
    path.write_text(text.replace(INPUTS_LINE, f'inputs = "{inputs_dir.as_posix()}"'),
                    encoding="utf-8")
    return path


def history_error(directory: Path) -> InputDataError:
    with pytest.raises(InputDataError) as exc:
        load_history(directory)
    return exc.value


def simulate_error(tmp_path: Path, rows: list[dict], error=InputDataError):
    """Simulate the real plan on edited inputs; return (error, history.csv path, plan path)."""
    d = write_inputs(tmp_path, rows)
    plan = write_plan(tmp_path, d)
    with pytest.raises(error) as exc:
        quyhoach.simulate(plan)
    return exc.value, d / "history.csv", plan


def edited(rows: list[dict], indicator: str, year: int, /, **changes) -> tuple[list[dict], int]:
    """Copy of ``rows`` with one row changed; also return that row's file line."""
    i = index(rows, indicator, year)
    rows = [dict(r) for r in rows]
    for key, value in changes.items():
        assert key in rows[i]
        rows[i][key] = value
    return rows, i + 2


# ----------------------------------------------------------------------- the baseline

def test_unedited_copy_is_valid(tmp_path):
    rows = read_rows()
    d = write_inputs(tmp_path, rows)
    history = load_history(d)
    assert len(history.table) == len(rows)
    res = quyhoach.simulate(write_plan(tmp_path, d))
    assert list(res.scenarios) == list(SCENARIOS)


def test_byte_order_mark_is_accepted(tmp_path):
    d = write_inputs(tmp_path, read_rows())
    path = d / "history.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert len(load_history(d).table) == len(read_rows())


# ------------------------------------------------------------------- file and header

def test_missing_file(tmp_path):
    d = tmp_path / "nowhere"
    err = history_error(d)
    check(err, d / "history.csv", "", "not found", "expected the province's history table",
          "see the README, section 'Inputs'")
    assert len(err.problems) == 1


def test_missing_inputs_are_found_when_the_plan_loads(tmp_path):
    d = (tmp_path / "nowhere").resolve()
    plan = write_plan(tmp_path, d)
    with pytest.raises(PlanError) as exc:
        quyhoach.load_plan(plan)
    check(exc.value, plan, "plan.inputs", "holds no history.csv", str(d),
          "a relative path starts at the plan file's folder")


def test_missing_column(tmp_path):
    columns = tuple(c for c in COLUMNS if c != "status")
    d = write_inputs(tmp_path, read_rows(), columns)
    err = history_error(d)
    check(err, d / "history.csv", "header", "missing column(s) status",
          "expected indicator,year,value,unit,status,source,note",
          "found indicator,year,value,unit,source,note")
    assert len(err.problems) == 1


def test_misspelt_column(tmp_path):
    rows = [{("years" if k == "year" else k): v for k, v in r.items()} for r in read_rows()]
    columns = tuple("years" if c == "year" else c for c in COLUMNS)
    d = write_inputs(tmp_path, rows, columns)
    err = history_error(d)
    check(err, d / "history.csv", "header", "missing column(s) year", "found indicator,years,")


def test_empty_file(tmp_path):
    d = (tmp_path / "inputs" / "x").resolve()
    d.mkdir(parents=True)
    (d / "history.csv").write_text("", encoding="utf-8")
    err = history_error(d)
    check(err, d / "history.csv", "header",
          "missing column(s) indicator, year, value, unit, status, source, note")


# ------------------------------------------------------------------------ bad rows

@pytest.mark.parametrize("value", ["20,486", "20 486", "", "khoảng 20486", "20.486,5"])
def test_value_not_a_number(tmp_path, value):
    rows, line = edited(read_rows(), "grdp_nominal", 2020, value=value)
    d = write_inputs(tmp_path, rows)
    err = history_error(d)
    check(err, d / "history.csv", f"line {line} (grdp_nominal)",
          f"value {value!r} is not a number", "with a dot for decimals",
          "no thousands separators")
    assert len(err.problems) == 1


@pytest.mark.parametrize("year", ["2020.0", "", "2020*", "năm 2020"])
def test_bad_year(tmp_path, year):
    rows, line = edited(read_rows(), "population", 2020, year=year)
    d = write_inputs(tmp_path, rows)
    err = history_error(d)
    check(err, d / "history.csv", f"line {line} (population)",
          f"year {year!r} is not a whole number")
    assert len(err.problems) == 1


def test_truncated_row(tmp_path):
    d = write_inputs(tmp_path, read_rows())
    path = d / "history.csv"
    path.write_text(path.read_text(encoding="utf-8") + "population,2024\n", encoding="utf-8")
    err = history_error(d)
    check(err, path, f"line {len(read_rows()) + 2} (population)", "is not a number")


@pytest.mark.parametrize("status, hint", [
    ("oficial", "did you mean 'official'?"),
    ("estimated", "did you mean 'estimate'?"),
    ("", "expected one of 'derived', 'estimate', 'official'"),
    ("assumed", "expected one of"),
])
def test_bad_status(tmp_path, status, hint):
    rows, line = edited(read_rows(), "population", 2020, status=status)
    d = write_inputs(tmp_path, rows)
    err = history_error(d)
    check(err, d / "history.csv", f"line {line} (population)", f"status {status!r} unknown", hint)
    assert len(err.problems) == 1


@pytest.mark.parametrize("indicator, year, unit, want", [
    ("population", 2020, "persons", "thousand persons"),
    ("grdp_nominal", 2020, "million VND", "billion VND"),
    ("forest_cover", 2022, "% of land area", "%"),
])
def test_wrong_unit_on_model_indicator(tmp_path, indicator, year, unit, want):
    rows, line = edited(read_rows(), indicator, year, unit=unit)
    d = write_inputs(tmp_path, rows)
    err = history_error(d)
    check(err, d / "history.csv", f"line {line} ({indicator})",
          f"unit '{unit}' but the model reads {indicator} in '{want}'",
          "convert the value or fix the unit")
    assert len(err.problems) == 1


@pytest.mark.parametrize("source", ["", "   "])
def test_empty_source(tmp_path, source):
    rows, line = edited(read_rows(), "population", 2020, source=source)
    d = write_inputs(tmp_path, rows)
    err = history_error(d)
    check(err, d / "history.csv", f"line {line} (population)",
          "empty source", "every figure needs its source")
    assert len(err.problems) == 1


def test_derived_without_note(tmp_path):
    rows, line = edited(read_rows(), "grdp_growth", 2021, note="")
    assert rows[line - 2]["status"] == "derived"
    d = write_inputs(tmp_path, rows)
    err = history_error(d)
    check(err, d / "history.csv", f"line {line} (grdp_growth)",
          "derived figure without a note", "give the formula and inputs")
    assert len(err.problems) == 1


def test_duplicate_figure_names_both_lines(tmp_path):
    rows = read_rows()
    first = index(rows, "population", 2020) + 2
    copy = dict(rows[first - 2], value="470.0")
    rows = [*rows, copy]
    d = write_inputs(tmp_path, rows)
    err = history_error(d)
    check(err, d / "history.csv", f"line {len(rows) + 1} (population)",
          f"duplicate of line {first} (population 2020)",
          "keep one figure per indicator, year and region")
    assert len(err.problems) == 1


def test_empty_indicator(tmp_path):
    rows, line = edited(read_rows(), "population", 2020, indicator=" ")
    d = write_inputs(tmp_path, rows)
    err = history_error(d)
    check(err, d / "history.csv", f"line {line}", "empty indicator")
    assert len(err.problems) == 1


def test_all_bad_rows_are_reported_together(tmp_path):
    rows, l1 = edited(read_rows(), "grdp_nominal", 2020, value="20,486")
    rows, l2 = edited(rows, "population", 2021, status="oficial")
    rows, l3 = edited(rows, "grdp_growth", 2021, note="", unit="percent")
    d = write_inputs(tmp_path, rows)
    err = history_error(d)
    src = d / "history.csv"
    assert len(err.problems) == 4
    assert str(err).startswith("4 input-data problems found:")
    check(err, src, f"line {l1} (grdp_nominal)", "not a number")
    check(err, src, f"line {l2} (population)", "did you mean 'official'?")
    check(err, src, f"line {l3} (grdp_growth)", "derived figure without a note")
    check(err, src, f"line {l3} (grdp_growth)", "unit 'percent'")


# --------------------------------------------------- missing base-year data (assembly)

def test_missing_base_year_grdp(tmp_path):
    err, src, _ = simulate_error(tmp_path, drop(read_rows(), "grdp_nominal", {2020}))
    check(err, src, "grdp_nominal", "missing base-year data",
          "no GRDP at current prices for 2020 (billion VND)",
          "add a row or change plan.base_year")
    assert len(err.problems) == 1


def test_a_year_without_observed_growth_needs_the_scenarios_growth(tmp_path):
    err, _, plan = simulate_error(tmp_path, drop(read_rows(), "grdp_growth", {2022}),
                                  error=PlanError)
    check(err, plan, "scenarios.base.growth.services", "no value for 2022;",
          "projects from 2022", '"2022-2050" = ...')
    assert len(err.problems) == 4 * 3  # four sectors; recent_trend states growth from 2021


def test_missing_population(tmp_path):
    err, src, _ = simulate_error(tmp_path, drop(read_rows(), "population"))
    check(err, src, "population", "missing base-year data",
          "no population figure in 2020-2024 (thousand persons)")
    assert len(err.problems) == 1


def test_missing_base_year_population(tmp_path):
    err, src, _ = simulate_error(tmp_path, drop(read_rows(), "population", {2020}))
    check(err, src, "population", "missing base-year data", "no population for 2020")
    assert len(err.problems) == 1


@pytest.mark.parametrize("share", ["share_services", "share_product_taxes"])
def test_missing_sector_structure(tmp_path, share):
    err, src, _ = simulate_error(tmp_path, drop(read_rows(), share))
    check(err, src, "share_*", "missing base-year data", "no complete sector structure",
          "share_agriculture, share_industry_construction, share_services, share_product_taxes",
          "in 2020-2024")
    assert len(err.problems) == 1


def test_shares_not_summing_to_100(tmp_path):
    rows, _ = edited(read_rows(), "share_services", 2023, value="50.14")
    err, src, _ = simulate_error(tmp_path, rows)
    check(err, src, "share_* 2023", "sector shares sum to 110.00, expected 100",
          "check the four share rows")
    assert len(err.problems) == 1


def test_shares_within_one_point_of_100_are_accepted(tmp_path):
    rows, _ = edited(read_rows(), "share_services", 2023, value="40.9")
    quyhoach.simulate(write_plan(tmp_path, write_inputs(tmp_path, rows)))


def test_base_year_problems_are_reported_together(tmp_path):
    rows = drop(drop(read_rows(), "grdp_nominal", {2020}), "population")
    err, src, _ = simulate_error(tmp_path, rows)
    assert len(err.problems) == 2
    assert str(err).startswith("2 input-data problems found:")
    check(err, src, "grdp_nominal", "missing base-year data")
    check(err, src, "population", "missing base-year data")


def test_indicator_without_base_year_data(tmp_path):
    err, _, plan = simulate_error(tmp_path, drop(read_rows(), "rural_clean_water"),
                                  error=PlanError)
    for s in SCENARIOS:
        check(err, plan, f"scenarios.{s}.indicators.rural_clean_water",
              "missing base-year data", "no rural_clean_water figure in 2020-2024",
              "add one to history.csv or an [[assumed_data]] entry, or remove the indicator")
    assert len(err.problems) == len(SCENARIOS)


def test_indicator_observed_only_before_base_year(tmp_path):
    rows = [r for r in read_rows() if not (r["indicator"] == "forest_cover"
                                           and int(r["year"]) >= 2020)]
    assert len(rows) < len(read_rows())
    err, _, plan = simulate_error(tmp_path, rows, error=PlanError)
    check(err, plan, "scenarios.base.indicators.forest_cover", "missing base-year data",
          "no forest_cover figure in 2020-2024")


# ================================================================ issue 8: input validation

SECRET = "root:x:0:0:TOP-SECRET-LINE:/root:/bin/bash"


@pytest.mark.parametrize("target", ["secret", "/etc/passwd", "/proc/self/environ"])
def test_a_file_that_is_not_a_history_table_is_never_quoted(tmp_path, target):
    """A history.csv linked to a system file says so without echoing its content."""
    if target == "secret":
        target = tmp_path / "secret.txt"
        target.write_text(SECRET + "\nmore\n", encoding="utf-8")
    elif not Path(target).is_file():
        pytest.skip(f"{target} does not exist here")
    d = (tmp_path / "inputs" / "x").resolve()
    d.mkdir(parents=True)
    (d / "history.csv").symlink_to(target)
    content = Path(target).read_bytes()[:200].decode("utf-8", "replace")
    err = history_error(d)
    msg = check(err, d / "history.csv", "header", "not a history table",
                "the first line is not the header indicator,year,value,unit,status,source,note",
                "check that [plan] inputs points at the province's input folder")
    messages = " ".join(p.message for p in err.problems)  # (the path itself may say 'root')
    for piece in {content.split(":")[0], content.split("\n")[0][:40], "SECRET"} - {""}:
        assert piece not in messages, f"the error echoes the file: {piece!r}"
    assert len(msg) < 300


def test_a_binary_file_is_not_quoted(tmp_path):
    d = (tmp_path / "inputs" / "x").resolve()
    d.mkdir(parents=True)
    (d / "history.csv").write_bytes(b"\xff\xfe\x00SECRET" + bytes(range(256)))
    err = history_error(d)
    check(err, d / "history.csv", "", "not a history table", "not UTF-8 text")
    assert "SECRET" not in str(err)


def test_a_folder_named_history_csv(tmp_path):
    d = (tmp_path / "inputs" / "x").resolve()
    (d / "history.csv").mkdir(parents=True)
    err = history_error(d)
    check(err, d / "history.csv", "", "is not a regular file")


def test_a_huge_field_is_a_clean_error(tmp_path):
    d = write_inputs(tmp_path, read_rows())
    path = d / "history.csv"
    path.write_text(path.read_text(encoding="utf-8") + 'area,2019,1,km2,official,"'
                    + "x" * 200_000 + '",\n', encoding="utf-8")
    err = history_error(d)
    check(err, path, f"line {len(read_rows()) + 2}", "not readable as CSV")


def test_a_nearly_right_header_is_quoted(tmp_path):
    """Six of seven columns: a history table with a typo, so its header is shown."""
    columns = tuple("years" if c == "year" else c for c in COLUMNS)
    rows = [{("years" if k == "year" else k): v for k, v in r.items()} for r in read_rows()]
    d = write_inputs(tmp_path, rows, columns)
    check(history_error(d), d / "history.csv", "header", "missing column(s) year",
          "found indicator,years,value")


@pytest.mark.parametrize("year, words", [
    ("99999999999999999999", ["year 99999999999999999999 is not a plausible year (1900-2200)"]),
    ("-2020", ["year -2020 is not a plausible year"]),
    ("9" * 5000, ["is not a whole number", "..."]),
], ids=["20_digits", "negative", "5000_digits"])
def test_absurd_years(tmp_path, year, words):
    rows, line = edited(read_rows(), "population", 2020, year=year)
    d = write_inputs(tmp_path, rows)
    err = history_error(d)
    msg = check(err, d / "history.csv", f"line {line} (population)", *words)
    assert len(msg) < 300
    assert len(err.problems) == 1


@pytest.mark.parametrize("indicator, year, value", [
    ("population", 2020, "nan"),
    ("area", 2019, "inf"),
    ("grdp_nominal", 2020, "-Infinity"),
])
def test_non_finite_values(tmp_path, indicator, year, value):
    rows, line = edited(read_rows(), indicator, year, value=value)
    d = write_inputs(tmp_path, rows)
    err = history_error(d)
    check(err, d / "history.csv", f"line {line} ({indicator})",
          f"value '{value}' is not a finite number")
    assert len(err.problems) == 1


@pytest.mark.parametrize("indicator, year, value, words", [
    ("population", 2020, "-482.1", "value -482.1 is impossible for population "
     "(thousand persons): expected more than 0"),
    ("population", 2020, "0", "value 0 is impossible for population"),
    ("grdp_nominal", 2020, "-1", "value -1 is impossible for grdp_nominal"),
    ("grdp_growth", 2021, "-100", "expected more than -100"),
    ("forest_cover", 2022, "150", "value 150 is impossible for forest_cover (%): expected 0 "
     "up to 100"),
    ("budget_revenue", 2024, "1e300", "value 1e+300 is impossible for budget_revenue"),
])
def test_impossible_values_of_model_indicators(tmp_path, indicator, year, value, words):
    rows, line = edited(read_rows(), indicator, year, value=value)
    d = write_inputs(tmp_path, rows)
    err = history_error(d)
    check(err, d / "history.csv", f"line {line} ({indicator})", words)
    assert len(err.problems) == 1


# ------------------------------------- every indicator's range, unit and name (issue 8)

@pytest.mark.parametrize("indicator, year, value, words", [
    ("population_urban", 2017, "-482.1", "value -482.1 is impossible for population_urban "
     "(thousand persons): expected more than 0"),
    ("population_old_vintage", 2014, "-1e308", "expected more than 0"),
    ("population_old_vintage", 2014, "0", "value 0 is impossible for population_old_vintage"),
    ("crude_death_rate", 2016, "-1", "value -1 is impossible for crude_death_rate (per 1000): "
     "expected 0 up to 1000"),
    ("crude_birth_rate", 2011, "2620", "value 2620 is impossible for crude_birth_rate"),
    ("poverty_rate_gso", 2006, "-58.2", "poverty_rate_gso (% households): expected 0 up to 100"),
    ("poverty_rate_gso", 2006, "100.5", "a percentage of a whole lies in 0-100"),
    ("out_migration_rate", 2014, "-482.1", "expected 0 up to 1000"),
    ("in_migration_rate", 2008, "1e20", "value 1e+20 is impossible for in_migration_rate"),
    ("net_migration_rate", 2008, "-1001", "expected -1000 up to 1000"),
    ("urban_clean_water", 2020, "-1", "(% urban population): expected 0 up to 100"),
    ("forest_area", 2014, "-349.9", "forest_area (thousand ha): expected 0 up to"),
    ("urbanization_rate_old_vintage", 2016, "-14.21", "expected 0 up to 100"),
    ("ethnic_minority_share", 2019, "-84", "(% population): expected 0 up to 100"),
    ("area", 2019, "-5", "expected more than 0"),
    ("tourists_jan_may", 2025, "-1", "a count or an amount cannot be negative"),
    ("grdp_growth_avg_2016_2020", 2020, "-100", "expected more than -100"),
    ("tourists_growth_avg_2021_2023", 2023, "-250", "a growth rate is above -100 %"),
    ("grdp_per_capita", 2020, "-38.86", "grdp_per_capita (million VND): expected more than 0"),
])
def test_impossible_values_of_other_indicators(tmp_path, indicator, year, value, words):
    """Rows the model does not read still hold only possible figures."""
    rows = read_rows()
    if not any(r["indicator"] == indicator and r["year"] == str(year) for r in rows):
        year = min(int(r["year"]) for r in rows if r["indicator"] == indicator)
    rows, line = edited(rows, indicator, year, value=value)
    d = write_inputs(tmp_path, rows)
    err = history_error(d)
    msg = check(err, d / "history.csv", f"line {line} ({indicator})", words,
                "check the figure and its unit")
    assert len(err.problems) == 1, msg


@pytest.mark.parametrize("indicator, value", [
    ("net_migration_rate", "-15.1"), ("natural_increase_rate", "-3.5"),
    ("grdp_growth_avg_2021_2023", "-99.9"), ("tourists_growth_avg_2021_2023", "2300"),
    ("poverty_rate_gso", "0"), ("forest_area", "0"), ("crude_death_rate", "0"),
])
def test_possible_edge_values_are_accepted(tmp_path, indicator, value):
    """Differences may be negative, growth may fall short of -100 %, shares may be 0."""
    rows = read_rows()
    year = min(int(r["year"]) for r in rows if r["indicator"] == indicator)
    rows, _ = edited(rows, indicator, year, value=value)
    assert len(load_history(write_inputs(tmp_path, rows)).table) == len(rows)


def test_every_real_row_lies_in_its_range():
    """No province's real history trips a rule (the rules follow the data, not reverse)."""
    tables = sorted((ROOT / "inputs").glob("*/history.csv"))
    assert tables
    for table in tables:
        with table.open(encoding="utf-8-sig", newline="") as f:
            n = sum(1 for _ in csv.DictReader(f))
        assert len(load_history(table.parent).table) == n, table


def test_one_row_in_another_unit(tmp_path):
    """A row whose unit differs from its indicator's other rows names both units."""
    rows = read_rows()
    first = min(i for i, r in enumerate(rows) if r["indicator"] == "crude_death_rate") + 2
    rows, line = edited(rows, "crude_death_rate", 2016, unit="%")
    assert line != first
    d = write_inputs(tmp_path, rows)
    err = history_error(d)
    check(err, d / "history.csv", f"line {line} (crude_death_rate)",
          "unit '%' but crude_death_rate is in 'per 1000' elsewhere", f"line {first}",
          "convert the value, or name the variant differently")
    assert len(err.problems) == 1


def test_an_indicator_may_change_unit_on_every_row(tmp_path):
    rows, _ = edited(read_rows(), "area", 2019, unit="ha", value="906880")
    assert len(load_history(write_inputs(tmp_path, rows)).table) == len(rows)


@pytest.mark.parametrize("unit, words", [
    ("furlongs", "unit 'furlongs' is not a known unit"),
    ("", "empty unit"),
    ("=cmd", "unit '=cmd' is not a known unit"),
])
def test_unknown_unit(tmp_path, unit, words):
    rows, line = edited(read_rows(), "area", 2019, unit=unit)
    d = write_inputs(tmp_path, rows)
    err = history_error(d)
    check(err, d / "history.csv", f"line {line} (area)", words, "thousand persons",
          "'per 1000'", "convert the figure")
    assert len(err.problems) == 1


@pytest.mark.parametrize("name, hint", [
    ("=cmd", ""),
    ("Population Urban", "did you mean 'population_urban'?"),
    ("crude-birth-rate", "did you mean 'crude_birth_rate'?"),
    ("2020_population", ""),
    ("x" * 65, ""),
])
def test_indicator_must_be_a_name(tmp_path, name, hint):
    rows, line = edited(read_rows(), "area", 2019, indicator=name)
    d = write_inputs(tmp_path, rows)
    err = history_error(d)
    msg = check(err, d / "history.csv", f"line {line}", "is not a name",
                "expected lowercase letters, digits and '_'", hint)
    assert len(err.problems) == 1
    assert len(msg) < 300


def test_every_model_indicator_has_a_range():
    """plan.py checks assumed figures with value_range: it must know every indicator."""
    from quyhoach.inputs import MODEL_UNITS, unit_range, value_range
    from quyhoach.registry import MODEL_UNITS as REGISTRY_UNITS

    assert MODEL_UNITS == REGISTRY_UNITS
    for indicator, unit in MODEL_UNITS.items():
        lo, hi, _ = value_range(indicator)
        assert lo < hi
        assert unit_range(indicator, unit) is not None, (indicator, unit)


@pytest.mark.parametrize("indicator, unit, bounds", [
    ("crude_birth_rate", "per 1000", (0, 1000, False)),
    ("net_migration_rate", "per 1000", (-1000, 1000, False)),
    ("poverty_rate_gso", "% households", (0, 100, False)),
    ("share_taxes", "% of GRDP", (-100, 100, False)),
    ("gross_enrolment_ratio", "%", (0, 1e4, False)),
    ("exports_growth", "%", (-100, 1e5, True)),
    ("anything", "%/yr", (-100, 1e5, True)),
    ("population_rural", "thousand persons", (0, 1e7, True)),
    ("households", "households", (0, 1e10, False)),
    ("trade_balance", "million USD", (-1e9, 1e9, False)),
    ("life_expectancy", "years", (0, 150, False)),
])
def test_unit_ranges(indicator, unit, bounds):
    from quyhoach.inputs import unit_range

    r = unit_range(indicator, unit)
    assert r is not None and (r.lo, r.hi, r.open_lo) == bounds


def test_tourists_observed_as_zero_are_interpolated_linearly(tmp_path):
    """A level observed as 0 cannot anchor a geometric path: filled linearly, no NaN."""
    rows = read_rows()
    years = sorted(int(r["year"]) for r in rows if r["indicator"] == "tourists")
    inside = [y for y in years if 2020 <= y <= 2024]
    if len(inside) < 2 or inside[-1] - inside[0] < 2:
        pytest.skip("needs two tourist figures with a gap in the plan's actual years")
    gap_years = [y for y in inside if y != inside[0]]
    keep = {inside[0], inside[-1]}
    rows = [r for r in rows if not (r["indicator"] == "tourists" and int(r["year"]) in
                                    set(gap_years) - keep)]
    rows, _ = edited(rows, "tourists", inside[0], value="0")
    res = quyhoach.simulate(write_plan(tmp_path, write_inputs(tmp_path, rows)))
    path = res.values("base", "tourists")
    assert np.isfinite(path[inside[0] - 2020: inside[-1] - 2020 + 1]).all()
