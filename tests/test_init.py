"""``quyhoach init``: a province's inputs, model and starter plan from the GSO tables.

Every output goes to ``tmp_path``. The default run covers four representative
provinces (merged and unmerged, 2025 and pre-2025 boundaries); the 63 + 34 provinces
run under ``-m slow``.
"""

import csv
import math
import re
import tomllib
from pathlib import Path

import pytest

import quyhoach
from conftest import ROOT
from quyhoach.errors import InputDataError, OptionError, QuyhoachError, ResultsError
from quyhoach.init import (
    MERGED_SUFFIX,
    SHARES,
    _crosswalk,
    find_crosswalk,
    init_province,
    resolve_province,
)
from quyhoach.inputs import load_history
from quyhoach.registry import MODEL_UNITS

try:
    CROSSWALK = find_crosswalk()
except InputDataError:  # the crosswalk is shared data, not part of the package
    pytest.skip("no 2025 crosswalk (shared/data/boundaries_2025) here", allow_module_level=True)

DATA = {"gso_dir": ROOT / "inputs" / "gso", "all_dir": ROOT / "inputs" / "all_provinces",
        "band_scales": ROOT / "models" / "band_scales.toml", "crosswalk": CROSSWALK}
REPRESENTATIVE = [("Thái Nguyên", "2025"), ("thai nguyen", "pre2025"), ("dien_bien", "2025"),
                  ("TP. Hồ Chí Minh", "2025")]
_CW = _crosswalk(str(CROSSWALK.resolve()))
EVERY = [(k, "pre2025") for k in _CW.formers] + [(k, "2025") for k in _CW.provinces]


def init(name, boundaries, out, **kw):
    return init_province(name, boundaries, out, **{**DATA, **kw})


def rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def thai_nguyen(tmp_path_factory):
    """Thái Nguyên 2025 (Bắc Kạn + Thái Nguyên), the national structure standing in."""
    return init("Thái Nguyên", "2025", tmp_path_factory.mktemp("tn"), national_structure=True)


@pytest.fixture(scope="module")
def dien_bien(tmp_path_factory):
    return init("Điện Biên", "pre2025", tmp_path_factory.mktemp("db"), national_structure=True)


# ------------------------------------------------------------------------ names

@pytest.mark.parametrize("name", ["Thái Nguyên", "thai nguyen", "thai_nguyen", "THAI NGUYEN",
                                  "Tỉnh Thái Nguyên", "thai_nguyen_2025"])
def test_names_with_or_without_diacritics(name):
    p = resolve_province(name, "2025", CROSSWALK)
    assert p.key == "thai_nguyen" + MERGED_SUFFIX
    assert [m.key for m in p.members] == ["bac_kan", "thai_nguyen"]
    assert resolve_province(name.removesuffix("_2025"), "pre2025", CROSSWALK).key == "thai_nguyen"


def test_the_34_and_the_63():
    assert len(_CW.provinces) == 34 and len(_CW.formers) == 63
    members = [m.key for p in _CW.provinces.values() for m in p.members]
    assert sorted(members) == sorted(_CW.formers)  # every former province in one new one
    assert resolve_province("Huế", "2025", CROSSWALK).key == "thua_thien_hue"  # unmerged


@pytest.mark.parametrize("name, boundaries, words", [
    ("thai nguyn", "2025", ["unknown province", "did you mean 'thai_nguyen'?"]),
    ("bac kann", "pre2025", ["unknown province", "did you mean 'bac_kan'?"]),
    ("Bắc Kạn", "2025", ["not one of the 34 provinces", "Tỉnh Thái Nguyên",
                         "'thai_nguyen_2025'", "boundaries='pre2025'"]),
])
def test_a_typo_gets_a_suggestion(name, boundaries, words):
    with pytest.raises(OptionError) as exc:
        resolve_province(name, boundaries, CROSSWALK)
    text = str(exc.value)
    assert "\n" not in text and all(w in text for w in words), text
    assert isinstance(exc.value, ValueError)


def test_unknown_boundaries(tmp_path):
    with pytest.raises(OptionError, match="expected '2025'.*or 'pre2025'"):
        init("thai nguyen", "2024", tmp_path)
    assert not list(tmp_path.iterdir())


# ------------------------------------------------------------------------ refusals

@pytest.mark.parametrize("name, boundaries", REPRESENTATIVE)
def test_without_a_structure_init_names_what_to_add(tmp_path, name, boundaries):
    """No table holds a provincial sector structure: refused, naming it; nothing written."""
    with pytest.raises(InputDataError) as exc:
        init(name, boundaries, tmp_path)
    text = str(exc.value)
    for word in (*SHARES, "missing data", "no sector structure", "structure=FILE",
                 "national_structure=True", "statistical yearbook"):
        assert word in text, word
    p = resolve_province(name, boundaries, CROSSWALK)
    if p.merged:
        assert "for each former province (region = " + ", ".join(
            m.key for m in p.members) in text
    assert not list(tmp_path.iterdir())


def test_existing_files_are_kept_unless_forced(tmp_path):
    first = init("dien bien", "2025", tmp_path, national_structure=True, check=False)
    before = first.plan.read_bytes()
    first.plan.write_text("# edited by the planner\n", encoding="utf-8")
    with pytest.raises(ResultsError, match="already exists; pass force=True"):
        init("dien bien", "2025", tmp_path, national_structure=True, check=False)
    assert first.plan.read_text(encoding="utf-8") == "# edited by the planner\n"
    init("dien bien", "2025", tmp_path, national_structure=True, force=True, check=False)
    undated = re.compile(rb"\d{4}-\d\d-\d\d")  # the plan's header carries the date
    assert undated.sub(b"", first.plan.read_bytes()) == undated.sub(b"", before)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".quyhoach-init")]


def test_a_bad_structure_file_is_named(tmp_path):
    bad = tmp_path / "structure.csv"
    bad.write_text("indicator,year,value,unit,status,source,note\n"
                   "grdp_growth,2022,7.0,%,official,test,\n", encoding="utf-8")
    with pytest.raises(InputDataError) as exc:
        init("dien bien", "2025", tmp_path / "out", structure=bad)
    assert f"{bad}: grdp_growth 2022" in str(exc.value)
    assert "only the sector structure" in str(exc.value)
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------------ what is written

def test_every_row_has_its_source_and_the_models_unit(thai_nguyen, dien_bien):
    for res in (thai_nguyen, dien_bien):
        table = rows(res.history)
        assert len(load_history(res.history.parent).table) == len(table)
        for r in table:
            assert r["source"].strip() and r["unit"].strip()
            if r["indicator"] in MODEL_UNITS:
                assert r["unit"] == MODEL_UNITS[r["indicator"]], r
            if r["status"] == "derived":
                assert r["note"].startswith("=") or "= " in r["note"], r
        kinds = {r["indicator"] for r in table}
        assert {"population", "grdp_per_capita", "grdp_nominal", "crude_birth_rate",
                "crude_death_rate", "net_migration_rate", "urbanization_rate",
                "poverty_rate_gso", "electricity_household_share_gso", "income_per_capita",
                "forest_cover", "tourism_turnover"} <= kinds


def test_nominal_grdp_is_per_capita_times_population(dien_bien):
    table = rows(dien_bien.history)
    get = {(r["indicator"], int(r["year"])): float(r["value"]) for r in table}
    years = [y for (i, y) in get if i == "grdp_nominal"]
    assert years == list(range(2018, 2023))
    for y in years:
        assert get["grdp_nominal", y] == pytest.approx(
            get["grdp_per_capita", y] * get["population", y], rel=1e-9)


def test_merged_population_is_the_sum_of_its_parts(thai_nguyen):
    table = rows(thai_nguyen.history)
    assert {r["region"] for r in table if r["indicator"] == "population"} == \
        {"bac_kan", "thai_nguyen"}  # the province's own rows are left empty
    pop = {}
    for r in table:
        if r["indicator"] == "population":
            pop.setdefault(int(r["year"]), []).append(float(r["value"]))
    assert sorted(pop) == list(range(2011, 2023)) and all(len(v) == 2 for v in pop.values())
    crosswalk = resolve_province("thai nguyen", "2025", CROSSWALK).population_2022
    assert sum(pop[2022]) == pytest.approx(crosswalk, abs=0.005) == 1660.34
    assert any("agree" in c for c in thai_nguyen.checks)
    readme = thai_nguyen.readme.read_text(encoding="utf-8")
    assert "| 2022 | 324.35 | 1335.99 | 1660.34 |" in readme


def test_the_plan(thai_nguyen):
    doc = tomllib.loads(thai_nguyen.plan.read_text(encoding="utf-8"))
    assert doc["plan"]["base_year"] == 2022 and doc["plan"]["model"].endswith(
        "thai_nguyen_2025.toml")
    assert set(doc["scenarios"]) == {"trend", "low", "high"}
    assert [m["id"] for m in doc["regions"]["members"]] == ["bac_kan", "thai_nguyen"]
    assert doc["regions"]["blocks"] == ["population"]  # the economy: the province's
    assert {a["indicator"] for a in doc["assumed_data"]} == set(SHARES)
    assert sum(a["value"] for a in doc["assumed_data"]) == pytest.approx(100, abs=0.05)
    assert all("NATIONAL" in a["note"] for a in doc["assumed_data"])
    trend = doc["scenarios"]["trend"]
    members = trend["regions"]
    assert members["bac_kan"]["population"]["birth_rate"] != \
        members["thai_nguyen"]["population"]["birth_rate"]  # each its own history
    low, high = doc["scenarios"]["low"], doc["scenarios"]["high"]
    g = trend["growth"]["services"]
    assert low["growth"]["services"] == pytest.approx(g - 2) and \
        high["growth"]["services"] == pytest.approx(g + 2)
    assert "targets" not in doc  # left for the planner, commented
    text = thai_nguyen.plan.read_text(encoding="utf-8")
    assert "# [[targets]]" in text and "What the data lack" in text
    model = tomllib.loads(thai_nguyen.model.read_text(encoding="utf-8"))
    sd = model["uncertainty"]["parameters"]["population.birth_rate"]["sd"]
    est = model["estimates"]["population.birth_rate"]
    assert set(est["members"]) == {"bac_kan", "thai_nguyen"} and sd > 0


# ------------------------------------------------------------------------ runs

def test_simulate_a_merged_province(thai_nguyen):
    res = quyhoach.simulate(thai_nguyen.plan, draws=200, seed=7)
    key = thai_nguyen.province
    pop = {r: res.values("trend", "population", r) for r in ("bac_kan", "thai_nguyen", key)}
    years = list(range(2022, 2051))
    assert len(pop[key]) == len(years)
    for i in range(len(years)):  # the province is its members' sum in every year
        assert pop[key][i] == pytest.approx(pop["bac_kan"][i] + pop["thai_nguyen"][i])
    assert pop[key][0] == pytest.approx(1660.34)
    growth = res.values("trend", "grdp_growth")
    doc = tomllib.loads(thai_nguyen.plan.read_text(encoding="utf-8"))
    assert growth[1:] == pytest.approx(doc["scenarios"]["trend"]["growth"]["services"])
    paths = res.paths
    shares = paths[(paths["variable"] == "share_agriculture") & (paths["year"] == 2022)
                   & (paths["scenario"] == "trend")]
    # the stand-in is no observation: the base-year shares are "assumed" in every output
    assert set(shares["status"]) == {"assumed"}
    bands = res.bands("population")
    b = bands[(bands["region"] == key) & (bands["year"] == 2030) & (bands["scenario"] == "trend")]
    assert b["q05"].iloc[0] < pop[key][8] < b["q95"].iloc[0]


def test_simulate_an_unmerged_province(dien_bien):
    res = quyhoach.simulate(dien_bien.plan)
    pop = res.values("trend", "population")
    assert pop[0] == pytest.approx(635.92) and math.isfinite(pop[-1]) and pop[8] > pop[0]
    assert res.values("low", "grdp_real")[8] < res.values("high", "grdp_real")[8]


def test_a_structure_file_projects_the_economy_by_former_province(tmp_path):
    """TEST-ONLY shares (not real figures) check the path a planner's file takes."""
    lines = ["indicator,year,value,unit,status,source,note,region"]
    for member, year in (("bac_kan", 2021), ("thai_nguyen", 2022)):
        for share, value in zip(SHARES, (20, 35, 35, 10), strict=True):
            lines.append(f"{share},{year},{value},% of GRDP,estimate,TEST ONLY,synthetic,"
                         f"{member}")
    path = tmp_path / "structure.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    res = init("thai nguyen", "2025", tmp_path / "out", structure=path)
    assert res.by_member == ("economy", "investment", "population")
    assert res.base_year == 2021  # Bắc Kạn's structure year: no later one for every member
    assert "structure file" in res.structure
    doc = tomllib.loads(res.plan.read_text(encoding="utf-8"))
    assert "assumed_data" not in doc
    assert "growth" in doc["scenarios"]["trend"]["regions"]["bac_kan"]
    assert not [r for r in rows(res.history) if r["region"] == ""]  # all by member
    run = quyhoach.simulate(res.plan)
    assert run.values("trend", "population", res.province)[1] == pytest.approx(1660.34)


# ------------------------------------------------------------------------ every province

@pytest.mark.slow
@pytest.mark.parametrize("key, boundaries", EVERY)
def test_every_province(tmp_path, key, boundaries):
    """Each of the 63 + 34: refused without a structure, naming it; with the national
    stand-in written and checked (or refused naming the missing data)."""
    with pytest.raises(InputDataError, match="no sector structure"):
        init(key, boundaries, tmp_path / "strict")
    try:
        res = init(key, boundaries, tmp_path / "stand_in", national_structure=True)
    except QuyhoachError as exc:
        assert isinstance(exc, InputDataError) and "missing data" in str(exc), str(exc)
        return
    assert res.plan.is_file() and res.model.is_file() and res.base_year == 2022
    p = resolve_province(key, boundaries, CROSSWALK)
    if p.population_2022 is not None:
        total = sum(float(r["value"]) for r in rows(res.history)
                    if r["indicator"] == "population" and r["year"] == "2022")
        assert total == pytest.approx(p.population_2022, abs=0.05)


def test_the_init_command(tmp_path, capsys):
    from quyhoach.cli import main

    assert main(["init", "Thai Ngyen", "--out", str(tmp_path)]) == 2
    assert "did you mean 'thai_nguyen'" in capsys.readouterr().err
    assert main(["init", "Thái Nguyên", "--out", str(tmp_path)]) == 2
    assert "no sector structure" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())  # refused: nothing written
    assert main(["init", "lai chau", "--boundaries", "pre2025", "--national-structure",
                 "--out", str(tmp_path)]) == 0
    assert (tmp_path / "scenarios" / "lai_chau.toml").is_file()


# ------------------------------------------------------------------------ the country

@pytest.mark.parametrize("name", ["Việt Nam", "vietnam", "viet_nam", "toàn quốc", "cả nước"])
def test_the_country_by_any_of_its_names(name):
    for boundaries, groups in (("2025", 23), ("pre2025", 0)):
        country = resolve_province(name, boundaries, CROSSWALK)
        assert country.key == "viet_nam" and country.country
        assert len(country.members) == 63 and len(country.groups) == groups
    merged = resolve_province("Việt Nam", "2025", CROSSWALK)
    assert {p for g in merged.groups for p in g.members} < set(merged.members)
    assert merged.population_2022 == pytest.approx(
        sum(p.population_2022 for p in _CW.provinces.values()))


def test_the_common_share_of_provinces_shocks():
    """Identical yearly changes in every province: all common; independent: about none."""
    import numpy as np
    import pandas as pd

    from quyhoach.calibrate import common_shock_share

    rng = np.random.default_rng(1)
    years = np.arange(2000, 2031)
    common = rng.normal(0, 0.01, len(years)).cumsum()

    def panel(own_sd):
        return pd.DataFrame([
            {"province": f"p{i}", "indicator": "population", "year": int(y),
             "value": 100 * (1 + i) * np.exp(common[t] + 0.002 * i * t
                                             + rng.normal(0, own_sd))}
            for i in range(40) for t, y in enumerate(years)])

    share, how = common_shock_share(panel(0.0))
    assert share == 1.0 and "40 provinces" in how and "2000-2030" in how
    assert common_shock_share(panel(1.0))[0] <= 0.1


@pytest.mark.slow
def test_the_country_is_the_sum_of_its_provinces_in_every_draw(tmp_path):
    """Việt Nam (2025 boundaries): 63 former provinces, the merged provinces of 2025 as
    groups; the 2022 population agrees with the crosswalk, and the country and every
    group are their parts' sums in every kept draw."""
    import pandas as pd

    res = init("Việt Nam", "2025", tmp_path, national_structure=True)
    doc = tomllib.loads(res.plan.read_text(encoding="utf-8"))
    assert 0 < doc["regions"]["shock_share"] < 1  # estimated, not assumed
    run = quyhoach.simulate(res.plan, scenarios=["trend"], draws=40, seed=2,
                            keep_draws=True)
    draws = pd.read_parquet(run.draws_dir / "scenario=trend" / "part-0.parquet",
                            columns=["draw", "region", "year", "population"])
    wide = draws.pivot_table(index=["draw", "year"], columns="region", values="population",
                             observed=True)
    country = resolve_province("Việt Nam", "2025", CROSSWALK)
    leaves = [m.key for m in country.members]
    assert wide[leaves].sum(axis=1).to_numpy() == pytest.approx(
        wide["viet_nam"].to_numpy(), rel=1e-6)  # float32 draws
    for g in country.groups:
        assert wide[[m.key for m in g.members]].sum(axis=1).to_numpy() == pytest.approx(
            wide[g.key].to_numpy(), rel=1e-6)
    assert run.values("trend", "population", "viet_nam")[0] == pytest.approx(
        country.population_2022, abs=0.05)


def test_init_all_refuses_one_provinces_structure_file(tmp_path, capsys):
    from quyhoach.cli import main

    structure = tmp_path / "s.csv"
    structure.write_text("indicator,year,value,unit,status,source,note,region\n",
                         encoding="utf-8")
    assert main(["init", "all", "--structure", str(structure), "--out",
                 str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "--structure FILE is one province's" in err and "--national-structure" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_init_all_writes_every_province_and_the_country(tmp_path):
    from quyhoach.init import init_all

    written, failed = init_all("2025", tmp_path, national_structure=True, **DATA)
    assert not failed
    keys = [p.key for p in _CW.provinces.values()]
    assert sorted(r.province for r in written) == sorted([*keys, "viet_nam"])
    assert len(list((tmp_path / "scenarios").glob("*.toml"))) == 35
