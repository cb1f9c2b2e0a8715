"""Results read back from Parquet are the class ``simulate`` returns, and answer the same."""

import numpy as np
import pandas as pd
import pytest

import quyhoach
from conftest import LAI_CHAU, two_provinces
from quyhoach.registry import VARIABLES
from quyhoach.results import SECTOR_DETAIL


@pytest.fixture(scope="module")
def with_draws(tmp_path_factory):
    """A run with kept draws, and the same results read back from its directory."""
    res = quyhoach.simulate(LAI_CHAU, scenarios=["base", "high"], draws=300, seed=3,
                            keep_draws=True)
    out = res.to_parquet(tmp_path_factory.mktemp("mc") / "r")
    return res, quyhoach.read_results(out), out


@pytest.fixture(scope="module")
def central(tmp_path_factory, lai_chau_results):
    """The run without draws, written and read back."""
    out = lai_chau_results.to_parquet(tmp_path_factory.mktemp("central") / "r")
    return lai_chau_results, quyhoach.read_results(out), out


@pytest.fixture(params=["with_draws", "central"])
def pair(request):
    return request.getfixturevalue(request.param)


def test_read_back_is_the_same_class(pair):
    res, back, _ = pair
    assert isinstance(back, quyhoach.Results) and type(back) is type(res)
    assert back.plan is None and back.history is None


def test_tables_are_equal(pair):
    res, back, _ = pair
    pd.testing.assert_frame_equal(back.paths, res.paths)
    pd.testing.assert_frame_equal(back.feasibility(), res.feasibility())
    if res.draws:
        pd.testing.assert_frame_equal(back.bands(), res.bands())
        pd.testing.assert_frame_equal(back.bands("population", "high"),
                                      res.bands("population", "high"))
        pd.testing.assert_frame_equal(back.bands(scenario="base"), res.bands(scenario="base"))


def test_run_facts_are_equal(pair):
    res, back, _ = pair
    assert back.scenarios == res.scenarios
    assert (back.draws, back.seed, back.notes) == (res.draws, res.seed, res.notes)
    np.testing.assert_array_equal(back.years, res.years)
    assert back.province == res.province == "lai_chau"
    for key in ("engine_version", "plan_sha256", "inputs_sha256", "scenarios", "n_draws"):
        assert back.manifest[key] == res.manifest[key]


def test_compare_is_equal(pair):
    res, back, _ = pair
    pd.testing.assert_frame_equal(back.compare(), res.compare())
    kw = {"scenarios": res.scenarios[::-1], "year": 2025, "lang": "vi",
          "variables": ["grdp_real", "share_services", "population", "poverty_rate"]}
    pd.testing.assert_frame_equal(back.compare(**kw), res.compare(**kw))
    with pytest.raises(ValueError, match="outside 2020-2050"):
        back.compare(year=2051)


def test_values_are_equal_wherever_paths_hold_them(pair):
    res, back, _ = pair
    held = res.paths.groupby(["scenario", "variable"], observed=True)["year"].agg(set)
    for s in res.scenarios:
        for var in VARIABLES:
            years = held.get((s, var.name), set())
            mask = np.isin(res.years, sorted(years))
            expected = np.where(mask, res.values(s, var.name), np.nan)
            np.testing.assert_array_equal(back.values(s, var.name), expected,
                                          err_msg=f"{s} {var.name}")
            # only the sector detail before the first observed structure is left out
            if var.name not in SECTOR_DETAIL:
                    np.testing.assert_array_equal(back.values(s, var.name),
                                              res.values(s, var.name))


def test_iamc_is_equal(pair):
    res, back, _ = pair
    pd.testing.assert_frame_equal(back.to_iamc(), res.to_iamc())


def test_read_back_names_unknown_keys_and_missing_bands(central, with_draws):
    _, back, _ = with_draws
    with pytest.raises(KeyError, match="did you mean 'high'"):
        back.values("hihg", "population")
    with pytest.raises(KeyError, match="did you mean 'population'"):
        back.bands("popluation")
    with pytest.raises(KeyError, match="did you mean 'base'"):
        back.bands(scenario="bse")
    _, back, _ = central
    with pytest.raises(quyhoach.ResultsError, match="no bands"):
        back.bands("population")
    assert back.feasibility()["probability"].isna().all()


def test_filters_give_the_same_rows(with_draws):
    res, _, out = with_draws
    some = ["population", "grdp_real"]
    part = quyhoach.read_results(out, scenario="high", variable=some, years=(2025, 2030))
    assert part.scenarios == ["high"]
    p = res.paths
    expected = p[(p["scenario"] == "high") & p["variable"].isin(some)
                 & p["year"].between(2025, 2030)].reset_index(drop=True)
    pd.testing.assert_frame_equal(part.paths.reset_index(drop=True), expected)
    pd.testing.assert_frame_equal(part.bands("population"),
                                  res.bands("population", "high").query("2025 <= year <= 2030")
                                  .reset_index(drop=True))
    assert set(part.feasibility()["indicator"]) <= set(some)
    kw = {"year": 2030, "variables": some}
    pd.testing.assert_frame_equal(part.compare(**kw), res.compare(scenarios=["high"], **kw))
    assert part.compare(variables=some).equals(part.compare(**kw))  # same default year
    pop = part.values("high", "population")
    inside = (res.years >= 2025) & (res.years <= 2030)
    np.testing.assert_array_equal(pop[inside], res.values("high", "population")[inside])
    assert np.isnan(pop[~inside]).all()


def test_read_back_results_write_themselves_again(with_draws, tmp_path):
    res, back, out = with_draws
    assert back.draws_dir == out / "draws"
    again = quyhoach.read_results(back.to_parquet(tmp_path / "again"))
    pd.testing.assert_frame_equal(again.paths, res.paths)
    pd.testing.assert_frame_equal(again.bands(), res.bands())
    pd.testing.assert_frame_equal(again.feasibility(), res.feasibility())
    assert again.manifest["plan_sha256"] == res.manifest["plan_sha256"]
    assert "selection" not in again.manifest
    for s in res.scenarios:
        kept = tmp_path / "again" / "draws" / f"scenario={s}" / "part-0.parquet"
        assert kept.read_bytes() == (out / "draws" / f"scenario={s}" / "part-0.parquet") \
            .read_bytes()
    part = quyhoach.read_results(out, scenario="base", variable="population")
    written = quyhoach.read_results(part.to_parquet(tmp_path / "part"))
    assert written.manifest["selection"] == {"scenario": "base", "variable": "population"}
    assert written.scenarios == ["base"] and set(written.paths["variable"]) == {"population"}
    assert [p.name for p in (tmp_path / "part" / "draws").iterdir()] == ["scenario=base"]


def test_read_back_results_need_the_plan_for_workbook_and_charts(central, tmp_path):
    _, back, _ = central
    with pytest.raises(quyhoach.ResultsError, match="need the plan"):
        back.to_parquet(tmp_path / "x", excel=True)
    with pytest.raises(quyhoach.ResultsError, match="need the plan"):
        back.to_parquet(tmp_path / "x", charts=["population"])
    assert not (tmp_path / "x").exists()


@pytest.fixture(scope="module")
def dataset(tmp_path_factory, lai_chau_results):
    """A batch dataset of two provinces (the plan and a renamed copy), without draws."""
    from quyhoach.batch import run_batch

    tmp = tmp_path_factory.mktemp("batch")
    plans = two_provinces(tmp)
    out = tmp / "ds"
    run_batch([plans], out, draws=0, workers=1)
    return out


def test_a_batch_dataset_reads_as_results(dataset, lai_chau_results):
    res = lai_chau_results
    both = quyhoach.read_results(dataset)
    assert isinstance(both, quyhoach.Results) and both.province is None
    assert sorted(both.scenarios) == sorted(res.scenarios) and both.draws == 0
    with pytest.raises(quyhoach.ResultsError, match=r"several provinces.*province="):
        both.values("base", "population")
    iamc = both.to_iamc()
    assert set(iamc["region"]) == {"lai_chau", "lai_chau_copy"}
    assert not iamc.duplicated(["model", "scenario", "region", "variable", "year"]).any()
    with pytest.raises(quyhoach.ResultsError, match="batch"):
        both.to_parquet(dataset.parent / "copy")
    one = quyhoach.read_results(dataset, province="lai_chau")
    pd.testing.assert_frame_equal(one.compare(scenarios=res.scenarios), res.compare())
    np.testing.assert_array_equal(one.values("high", "grdp_real"),
                                  res.values("high", "grdp_real"))
    named = one.to_iamc(region="Lai Châu")
    assert set(named["region"]) == {"Lai Châu"} and len(named) == len(res.paths)


def test_a_run_without_draws_reads_back_with_filters(central):
    """Its bands table is empty (columns of no type): the filters still read the rest."""
    stored = quyhoach.read_results(central[2], scenario="high", variable="population",
                                   years=(2025, 2030))
    assert set(stored.paths["scenario"]) == {"high"}
    res = central[0]
    assert stored.values("high", "population")[stored.years.tolist().index(2030)] == \
        pytest.approx(res.values("high", "population")[res.years.tolist().index(2030)])
