"""The other seed provinces: Lạng Sơn (with its 11 localities) and Quảng Ninh."""

import numpy as np
import pandas as pd
import pytest

import quyhoach
from conftest import ROOT

GOLDEN = ROOT / "tests" / "golden"
LANG_SON = ROOT / "scenarios" / "lang_son.toml"
QUANG_NINH = ROOT / "scenarios" / "quang_ninh.toml"
LOCALITIES = ("lang_son_city", "trang_dinh", "binh_gia", "van_lang", "cao_loc", "van_quan",
              "bac_son", "huu_lung", "chi_lang", "loc_binh", "dinh_lap")


@pytest.fixture(scope="module")
def lang_son():
    return quyhoach.simulate(LANG_SON)


@pytest.mark.parametrize("province", ["lang_son", "quang_ninh"])
def test_feasibility_matches_golden(province):
    from golden.bless import COLUMNS

    res = quyhoach.simulate(ROOT / "scenarios" / f"{province}.toml")
    got = res.feasibility()[COLUMNS].reset_index(drop=True)
    want = pd.read_csv(GOLDEN / f"{province}_feasibility.csv")
    assert list(got["target_id"].astype(str)) == list(want["target_id"])
    assert list(got["met"]) == list(want["met"])
    for col in ("projected", "gap", "required", "projected_rate"):
        np.testing.assert_allclose(got[col].to_numpy(float), want[col].to_numpy(float),
                                   rtol=1e-8, equal_nan=True, err_msg=col)


def test_lang_son_localities_sum_to_the_2019_census(lang_son):
    """Hand check: the 2019 census of the 11 localities (shared/data/subregions)."""
    census = {"lang_son_city": 103284, "trang_dinh": 59827, "binh_gia": 52689,
              "van_lang": 49696, "cao_loc": 79873, "van_quan": 54202, "bac_son": 71967,
              "huu_lung": 121735, "chi_lang": 75063, "loc_binh": 84740, "dinh_lap": 28579}
    assert lang_son.plan.regions.leaf_ids == list(LOCALITIES)
    for region, persons in census.items():
        assert lang_son.values("base", "population", region)[0] == persons / 1000
    assert lang_son.values("base", "population")[0] == pytest.approx(781.655, abs=1e-9)
    assert sum(census.values()) == 781655
    assert any("population 2019: the members sum to 781.655" in n and "-0.15%" in n
               for n in lang_son.notes)


def test_lang_son_observed_figures(lang_son):
    y = list(lang_son.years)
    growth = lang_son.values("base", "grdp_growth")
    assert growth[y.index(2022)] == pytest.approx(7.22) and \
        growth[y.index(2024)] == pytest.approx(6.01)
    assert lang_son.values("base", "budget_revenue")[y.index(2024)] == 9805.0
    assert lang_son.values("base", "budget_import_export")[y.index(2024)] == 6600.0


@pytest.fixture(scope="module")
def lang_son_draws(tmp_path_factory):
    """256 kept draws of Lạng Sơn's base scenario: population and urbanization."""
    res = quyhoach.simulate(LANG_SON, scenarios=["base"], draws=256, seed=4,
                            keep_draws=True, spool_dir=tmp_path_factory.mktemp("draws"))
    return pd.read_parquet(res.draws_dir / "scenario=base",
                           columns=["draw", "region", "year", "population",
                                    "population_urban", "urbanization_rate"])


def test_lang_son_population_is_the_sum_of_its_localities_in_every_kept_draw(lang_son_draws):
    wide = lang_son_draws.pivot_table(index=["draw", "year"], columns="region",
                                      values="population", observed=True)
    members = wide[list(LOCALITIES)].sum(axis=1)
    assert wide["lang_son"].std() > 0  # the draws differ
    np.testing.assert_allclose(wide["lang_son"], members, rtol=1e-6)  # float32 storage
    at_2030 = wide.xs(2030, level="year")
    assert len(at_2030) == 256 and at_2030["lang_son"].nunique() > 200
    # the province's observed 2020-2023 population pins its localities' sum in every draw
    for year, observed in ((2020, 788.71), (2021, 796.94), (2022, 802.09), (2023, 807.3)):
        at = wide.xs(year, level="year")
        assert (at["lang_son"] == np.float32(observed)).all(), year
        assert at["huu_lung"].nunique() > 1  # the split among localities is projected
    city_2022 = wide.xs(2022, level="year")["lang_son_city"]
    assert (city_2022 == np.float32(106.879)).all()  # a locality's own figure is kept


def test_lang_son_urbanization_is_the_localities_urban_over_their_population(lang_son_draws):
    """In every kept draw and year: the province's urban share = the 11 localities' urban
    population over their population (and the city on its 2030 boundary likewise)."""
    wide = lang_son_draws.pivot_table(index=["draw", "year"], columns="region",
                                      values=["population", "population_urban",
                                              "urbanization_rate"], observed=True)
    pop, urban, share = (wide[v] for v in ("population", "population_urban",
                                           "urbanization_rate"))
    members = list(LOCALITIES)
    np.testing.assert_allclose(urban["lang_son"], urban[members].sum(axis=1), rtol=1e-6)
    np.testing.assert_allclose(share["lang_son"], 100 * urban[members].sum(axis=1)
                               / pop[members].sum(axis=1), rtol=1e-5)  # float32 storage
    for region in members:  # each locality's urban population is its share of its people
        np.testing.assert_allclose(urban[region], share[region] / 100 * pop[region],
                                   rtol=1e-5, err_msg=region)
    both = ["lang_son_city", "cao_loc"]  # the city's boundary from 2030 (joins)
    years = share.index.get_level_values("year")
    merged = years >= 2030
    np.testing.assert_allclose(share["lang_son_city_2030"][merged], 100 * urban[both].sum(
        axis=1)[merged] / pop[both].sum(axis=1)[merged], rtol=1e-5)
    np.testing.assert_allclose(share["lang_son_city_2030"][~merged],
                               share["lang_son_city"][~merged], rtol=1e-6)
    at_2030 = share.xs(2030, level="year")
    assert len(at_2030) == 256 and at_2030["lang_son"].nunique() > 200  # drawn
    assert at_2030["huu_lung"].std() > 0 and at_2030["lang_son_city"].std() > 0
    at_2019 = share.xs(2019, level="year")
    assert at_2019["lang_son"].nunique() == 1  # the base year is the same in every draw


def test_lang_son_2019_urban_shares_by_locality(lang_son):
    """Hand check: the 2019 census split of 7 districts; the assumed shares of the city
    (its 2022 share) and of Văn Lãng, Văn Quan and Bắc Sơn (the province's remainder)."""
    census = {"trang_dinh": (4538, 59827), "binh_gia": (9060, 52689),
              "cao_loc": (17575, 79873), "huu_lung": (10165, 121735),
              "chi_lang": (12407, 75063), "loc_binh": (19111, 84740),
              "dinh_lap": (6300, 28579)}
    for region, (urban, total) in census.items():
        assert lang_son.values("base", "urbanization_rate", region)[0] == \
            pytest.approx(round(100 * urban / total, 2)), region
    assumed = {a.region: a.value for a in lang_son.plan.assumed_data if a.region}
    assert assumed == {"lang_son_city": 72.3, "van_lang": 3.68, "van_quan": 3.68,
                       "bac_son": 3.68}
    assert round(100 * 77275 / 106879, 1) == 72.3  # the city's 2022 split
    remainder = lang_son.history.series("population_urban_remainder")[2019]
    seven = sum(urban for urban, _ in census.values()) / 1000
    assert remainder == pytest.approx(160.3 - seven) and seven == pytest.approx(79.156)
    three = (49696 + 54202 + 71967) / 1000
    assert round(100 * (remainder - 0.723 * 103.284) / three, 2) == 3.68
    for region, value in assumed.items():
        assert lang_son.values("base", "urbanization_rate", region)[0] == pytest.approx(value)
    urban_2019 = lang_son.values("base", "population_urban")[0]
    assert urban_2019 == pytest.approx(160.3, abs=0.01)  # GSO's 2019 urban population
    assert lang_son.values("base", "urbanization_rate")[0] == \
        pytest.approx(100 * urban_2019 / 781.655)


def test_quang_ninh_observed_figures():
    res = quyhoach.simulate(QUANG_NINH, scenarios=["base"])
    y = list(res.years)
    assert res.values("base", "grdp_growth")[y.index(2024)] == pytest.approx(8.42)
    assert res.values("base", "grdp_nominal")[y.index(2024)] == 347500.0
    assert res.plan.regions.members == ()  # no common base year for its 13 localities


def test_lang_son_city_absorbs_cao_loc_in_2030(lang_son):
    """A scheduled boundary change: the city alone to 2029, with Cao Lộc from 2030."""
    city = lang_son.values("base", "population", "lang_son_city")
    both = city + lang_son.values("base", "population", "cao_loc")
    group = lang_son.values("base", "population", "lang_son_city_2030")
    merged = lang_son.years >= 2030
    np.testing.assert_allclose(group[merged], both[merged], rtol=1e-13)
    np.testing.assert_array_equal(group[~merged], city[~merged])
    assert group[0] == pytest.approx(103.284)
    growth = lang_son.values("base", "population_growth", "lang_son_city_2030")
    assert growth[list(lang_son.years).index(2030)] > 0.5  # the boundary's jump
