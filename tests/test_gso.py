"""GSO yearbook and all-province loaders, on the real files in inputs/gso and
inputs/all_provinces (copied from the shared data folder)."""

import csv
import math
import shutil
from pathlib import Path

import pandas as pd
import pytest

from quyhoach import gso
from quyhoach.errors import InputDataError

ROOT = Path(__file__).resolve().parents[1]
GSO = ROOT / "inputs" / "gso"
ALL = ROOT / "inputs" / "all_provinces"
HISTORY = ROOT / "inputs" / "lai_chau" / "history.csv"

# Provinces without a row in a yearbook table, and why.
ABSENT = {
    # No row for these three in the GSO export (they have practically no forest).
    gso.FOREST_TABLE: {"hung_yen", "vinh_long", "can_tho"},
    # No row for Bac Lieu in the GSO export.
    gso.TOURISM_TABLE: {"bac_lieu"},
}


@pytest.fixture(scope="module")
def panel():
    return gso.panel(GSO, ALL)


def value(frame, indicator, year, province="lai_chau"):
    rows = frame[(frame.province == province) & (frame.indicator == indicator)
                 & (frame.year == year)]
    assert len(rows) == 1, (indicator, year, len(rows))
    return rows.iloc[0]


# ------------------------------------------------------------------------ names

@pytest.mark.parametrize("variants, key", [
    (["Lai Châu", " Lai Chau", "LAI CHAU", "lai_chau", "Tỉnh Lai Châu", "lai-chau"],
     "lai_chau"),
    (["TP. Hồ Chí Minh", "Ho Chi Minh city", "Ho Chi Minh", "Thành phố Hồ Chí Minh",
      "TP.HCM", "HCMC"], "ho_chi_minh"),
    (["Ha Noi", "Hanoi", "Hà Nội", "Thành phố Hà Nội", "HA NOI"], "ha_noi"),
    (["Thua Thien-Hue", "Thua Thien Hue", "Thừa Thiên - Huế", "Thừa Thiên Huế"],
     "thua_thien_hue"),
    (["Ba Ria - Vung Tau", "Bà Rịa – Vũng Tàu", "Ba Ria-Vung Tau", "ba_ria_vung_tau"],
     "ba_ria_vung_tau"),
    (["Dak Lak", "Dac Lac", "Đắk Lắk", "Đăk Lăk", "Daklak"], "dak_lak"),
    (["Dak Nong", "Đắk Nông", "Dac Nong"], "dak_nong"),
    (["Can Tho", "Cần Thơ", "TP. Cần Thơ", "Cantho"], "can_tho"),
    (["Hai Phong", "Hải Phòng", "Haiphong"], "hai_phong"),
    (["Da Nang", "Đà Nẵng", "Danang", "Da Nang city"], "da_nang"),
    (["Hoa Binh", "Hoà Bình", "Hòa Bình"], "hoa_binh"),
    (["Thai  Nguyen", "Thái Nguyên"], "thai_nguyen"),
    (["Bac Kan", "Bắc Kạn", "Bac Can"], "bac_kan"),
    (["Thanh Hoa", "Thanh Hóa", "Tỉnh Thanh Hoá"], "thanh_hoa"),
])
def test_name_variants_normalise_to_one_key(variants, key):
    assert {gso.normalise_province(v) for v in variants} == {key}
    assert key in gso.PROVINCES


def test_provinces_are_the_63_of_the_all_provinces_population_file():
    with open(ALL / "population_2022.csv", encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [gso.normalise_province(r["name"]) for r in rows] == list(gso.PROVINCES)
    assert {gso.normalise_province(r["name"]): int(r["code"]) for r in rows} \
        == gso.PROVINCE_CODES
    assert len(set(gso.PROVINCES)) == 63


def test_region_rows_are_not_provinces():
    keys = {gso.normalise_province(r) for r in gso.REGION_ROWS}
    assert not keys & set(gso.PROVINCES)
    assert gso.normalise_province(" WHOLE COUNTRY") in keys


# ----------------------------------------------------------------- yearbook tables

@pytest.mark.parametrize("table", gso.PROVINCE_TABLES)
def test_every_province_found_in_each_table(table):
    frame = gso.read_yearbook_table(GSO / table)
    found = set(frame.province)
    assert found <= set(gso.PROVINCES)            # no region, country or Ha Tay rows
    assert set(gso.PROVINCES) - found == ABSENT.get(table, set())
    assert not frame.duplicated(["province", "series", "year"]).any()


def test_region_rows_skipped_and_values_read():
    frame = gso.read_yearbook_table(GSO / gso.POPULATION_TABLE)
    assert len(frame) == 63 * 5 * 22           # provinces x series x years 1995-2016
    assert sorted(frame.series.unique()) == ["Female", "Male", "Rural", "Total", "Urban"]
    hn = frame[(frame.province == "ha_noi") & (frame.series == "Total")]
    assert hn.set_index("year").value[2008] == 6381.8
    # Ha Tay (merged into Ha Noi in 2008) is skipped; its pre-2008 figures are not added
    assert "ha_tay" not in set(frame.province)


def test_preliminary_years_are_flagged():
    pop = gso.read_yearbook_table(GSO / gso.POPULATION_TABLE)
    assert set(pop[pop.preliminary].year) == {2016}
    assert not pop[pop.year < 2016].preliminary.any()
    poverty = gso.read_yearbook_table(GSO / gso.POVERTY_TABLE)      # "Pre. 2016"
    assert set(poverty.series) == {""}
    assert set(poverty[poverty.preliminary].year) == {2016}
    income = gso.read_yearbook_table(GSO / gso.INCOME_TABLE)        # "Pre. 2016 Total"
    assert set(income[income.preliminary].year) == {2016}
    assert "Total" in set(income.series)
    forest = gso.read_yearbook_table(GSO / gso.FOREST_TABLE)        # "2008(*) ...", no Prel.
    assert not forest.preliminary.any()
    assert {2008, 2010} <= set(forest.year)
    assert "Proportion of forest coverage (%)" in set(forest.series)


def test_missing_markers_are_nan():
    frame = gso.read_yearbook_table(GSO / gso.TOURISM_TABLE)
    lc = frame[frame.province == "lai_chau"].set_index("year").value
    assert math.isnan(lc[2010]) and lc[2015] == 1.6


def test_national_table():
    frame = gso.read_national_table(
        GSO / "National Accounts" /
        "Gross domestic product at current prices by kinds of economic activity.csv")
    total = frame[(frame.item == "TOTAL") & (frame.series == "Total (Bill.dongs)")]
    assert total.set_index("year").value[2010] == 2157828.0
    assert set(total[total.preliminary].year) == {2016}


def test_national_icor():
    icor = gso.national_icor(GSO)
    assert list(icor.year) == list(range(2005, 2017))
    row = icor.set_index("year").loc[2010]
    assert (row.icor, row.investment_share_gdp, row.preliminary) == (6.38, 38.5, False)
    assert icor.set_index("year").preliminary[2016]


# ---------------------------------------------------------------- all provinces

def test_read_all_provinces():
    frame = gso.read_all_provinces(ALL)
    counts = frame.groupby("indicator").size().to_dict()
    assert counts == {"area": 63 * 12, "population": 63 * 12, "grdp_per_capita": 63 * 5}
    lc = frame[frame.province == "lai_chau"].set_index(["indicator", "year"]).value
    assert lc["population", 2022] == 482.1
    assert lc["grdp_per_capita", 2018] == 40.5    # file with 'Name' and no BOM
    assert lc["population", 2011] == 392.88       # file without BOM


# ------------------------------------------------------------------------- panel

def test_panel_shape(panel):
    assert list(panel.columns) == list(gso.PANEL_COLUMNS)
    assert not panel.duplicated(["province", "indicator", "year"]).any()
    assert panel.value.notna().all()
    assert set(panel.province) == set(gso.PROVINCES)
    assert set(panel.indicator) == set(gso.PANEL_UNITS)
    assert (panel.unit == panel.indicator.map(gso.PANEL_UNITS)).all()
    derived = panel.indicator.isin(["income_per_capita", "urbanization_rate_old_vintage"])
    assert panel[derived].source.str.startswith("DERIVED").all()
    assert not panel[~derived].source.str.startswith("DERIVED").any()


def test_panel_lai_chau_known_figures(panel):
    assert value(panel, "crude_birth_rate", 2010).value == 26.0
    assert value(panel, "forest_cover", 2015).value == 45.4
    assert value(panel, "poverty_rate_gso", 2014).value == 35.3
    income = value(panel, "income_per_capita", 2016)
    assert income.value == pytest.approx(15.768)
    assert income.preliminary and income.unit == "million VND"
    pop = value(panel, "population", 2015)
    assert (pop.value, pop.source) == (427.9, "population_2015.csv")
    old = value(panel, "population_old_vintage", 2010)
    assert old.value == 380.8 and old.source == gso.POPULATION_TABLE
    assert value(panel, "urbanization_rate_old_vintage", 2010).value \
        == pytest.approx(54.1 / 380.8 * 100)


def test_panel_matches_lai_chau_history(panel):
    """Every figure history.csv took from the same GSO tables agrees with the panel."""
    history = pd.read_csv(HISTORY)
    same_tables = history.source.str.contains(
        "choisy/gso|DSTai/web-based-interactive-visualization", regex=True)
    history = history[same_tables & history.indicator.isin(gso.PANEL_UNITS)]
    lc = panel[panel.province == "lai_chau"].set_index(["indicator", "year"]).value
    compared = 0
    for row in history.itertuples():
        if (row.indicator, row.year) in lc.index:
            assert lc[row.indicator, row.year] == pytest.approx(row.value, abs=0.006), row
            compared += 1
    assert compared >= 80


def test_panel_drops_years_before_boundary_changes(panel):
    def years(province, indicator="population_old_vintage"):
        rows = panel[(panel.province == province) & (panel.indicator == indicator)]
        return set(rows.year)

    assert min(years("lai_chau")) == 2004       # the old Lai Chau included Dien Bien
    assert min(years("ha_noi")) == 2008         # before its 2008 expansion
    assert min(years("quang_ninh")) == 1995     # unchanged boundaries: all years
    assert min(years("ha_noi", "crude_birth_rate")) == 2008


def test_panel_preliminary_only_2016(panel):
    assert set(panel[panel.preliminary].year) == {2016}
    assert not panel[panel.source.str.endswith(".csv") & (panel.year > 2016)].preliminary.any()


# ----------------------------------------------------------------- bad files

TITLE = '"Some table by province by Cities, provincies and Year"\r\n\r\n'
HEADER = '"Cities, provincies";"Total 2014";"Total Prel. 2015"\r\n'


@pytest.mark.parametrize("text, expected", [
    (TITLE, "no header line"),
    (TITLE + '"Cities, provincies";"Total";"Male"\r\n" WHOLE COUNTRY";1;2\r\n',
     "no year"),
    (TITLE + HEADER + '" WHOLE COUNTRY";1;2\r\n"Red River Delta";1;2\r\n"Atlantis";1;2\r\n',
     "line 6: unknown province name 'Atlantis'"),
    (TITLE + HEADER + '"Lai Chau";1;abc\r\n', "line 4 (Lai Chau): value 'abc'"),
    (TITLE + HEADER + '"Lai Chau";1\r\n', "line 4: 2 fields, expected 3"),
    (TITLE + HEADER + '"Lai Chau";1;2\r\n"LAI CHAU";1;2\r\n', "already given on line 4"),
])
def test_malformed_table_raises_naming_file_and_line(tmp_path, text, expected):
    path = tmp_path / "Broken table by province.csv"
    path.write_text("\ufeff" + text, encoding="utf-8", newline="")
    with pytest.raises(InputDataError) as err:
        gso.read_yearbook_table(path)
    message = str(err.value)
    assert str(path) in message
    assert expected in message


def test_wellformed_tmp_table(tmp_path):
    path = tmp_path / "ok.csv"
    path.write_text(TITLE + HEADER + '" WHOLE COUNTRY";1;2\r\n"Lai  Chau";..;-\r\n'
                    '"Ha Tay";3;4\r\n"TP. Hồ Chí Minh";5.5;6\r\n', encoding="utf-8")
    frame = gso.read_yearbook_table(path)
    assert list(frame.province) == ["lai_chau", "lai_chau", "ho_chi_minh", "ho_chi_minh"]
    assert frame.value.isna().tolist() == [True, True, False, False]
    assert frame.preliminary.tolist() == [False, True, False, True]


def test_missing_table_and_bad_all_provinces_raise(tmp_path):
    with pytest.raises(InputDataError, match="not found"):
        gso.read_yearbook_table(tmp_path / "nope.csv")
    with pytest.raises(InputDataError, match="no population_YYYY.csv"):
        gso.read_all_provinces(tmp_path)
    bad = tmp_path / "population_2020.csv"
    bad.write_text("code,name,area,population,density\n12,Lai Chau,9068.7,x,52\n"
                   "99,Atlantis,1,2,3\n", encoding="utf-8")
    with pytest.raises(InputDataError) as err:
        gso.read_all_provinces(tmp_path)
    message = str(err.value)
    assert str(bad) in message and "population 'x' is not a finite number" in message
    assert "unknown province name 'Atlantis'" in message


def test_panel_names_a_missing_series(tmp_path):
    copy = tmp_path / "gso"
    shutil.copytree(GSO, copy)
    path = copy / gso.VITAL_TABLE
    path.write_bytes(path.read_bytes().replace(b"Crude birth rate ", b"Birth rate "))
    with pytest.raises(InputDataError) as err:
        gso.panel(copy, ALL)
    assert "no series 'Crude birth rate' for crude_birth_rate" in str(err.value)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("cell", ["nan", "inf", "-inf"])
def test_all_provinces_refuse_non_finite_values(tmp_path, cell):
    bad = tmp_path / "population_2020.csv"
    bad.write_text(f"code,name,area,population,density\n12,Lai Chau,9068.7,{cell},52\n",
                   encoding="utf-8")
    with pytest.raises(InputDataError, match=f"population '{cell}' is not a finite number"):
        gso.read_all_provinces(tmp_path)
