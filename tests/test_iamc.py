"""``Results.to_iamc``: the IAMC long format that pyam reads."""

import numpy as np
import pandas as pd
import pytest

import quyhoach
from quyhoach.iamc import IAMC_COLUMNS, IAMC_INDEX, iamc_name
from quyhoach.registry import BY_NAME, SECTOR_LABELS, VARIABLES


@pytest.fixture(scope="module")
def iamc(lai_chau_results):
    return lai_chau_results.to_iamc()


def test_columns_are_exactly_the_iamc_ones(iamc):
    assert list(iamc.columns) == IAMC_COLUMNS == ["model", "scenario", "region", "variable",
                                                  "unit", "year", "value"]
    assert iamc["year"].dtype == np.int64 and iamc["value"].dtype == np.float64
    for col in ("model", "scenario", "region", "variable", "unit"):
        assert pd.api.types.is_string_dtype(iamc[col]), col
    assert not iamc.duplicated(IAMC_INDEX).any()
    assert np.isfinite(iamc["value"]).all()


def test_defaults_name_the_engine_and_the_province(iamc, lai_chau_results):
    assert set(iamc["model"]) == {f"quyhoach {quyhoach.__version__}"}
    assert set(iamc["region"]) == {"lai_chau"}
    assert list(pd.unique(iamc["scenario"])) == lai_chau_results.scenarios
    assert len(iamc) == len(lai_chau_results.paths)


def test_values_and_units_are_the_central_paths(iamc, lai_chau_results):
    paths = lai_chau_results.paths
    np.testing.assert_array_equal(iamc["value"], paths["value"])
    np.testing.assert_array_equal(iamc["year"], paths["year"])
    names = {iamc_name(v.name): v for v in VARIABLES}
    assert (iamc["unit"] == iamc["variable"].map(lambda n: names[n].unit)).all()
    row = iamc[(iamc["scenario"] == "base") & (iamc["variable"] == "Population")
               & (iamc["year"] == 2030)]
    assert row["value"].item() == lai_chau_results.values("base", "population")[10]
    assert row["unit"].item() == BY_NAME["population"].unit == "thousand persons"


def test_pivot_round_trip(iamc):
    idx = ["model", "scenario", "region", "variable", "unit"]
    wide = iamc.pivot(index=idx, columns="year", values="value")
    assert wide.shape[1] == 31 and not wide.index.duplicated().any()
    long = (wide.reset_index().melt(id_vars=idx, var_name="year", value_name="value")
            .dropna(subset=["value"]).astype({"year": np.int64}))
    key = ["scenario", "variable", "year"]
    pd.testing.assert_frame_equal(
        long[IAMC_COLUMNS].sort_values(key).reset_index(drop=True),
        iamc.sort_values(key).reset_index(drop=True), check_dtype=False)


def test_every_variable_has_one_hierarchical_name():
    names = [iamc_name(v.name) for v in VARIABLES]
    assert len(set(names)) == len(names)
    for n in names:
        assert all(part and part == part.strip() for part in n.split("|")), n
    for example in ("GRDP|Real", "GRDP|Nominal", "GRDP|Real|Industry and construction",
                    "GRDP|Nominal|Services", "Population", "Population|Urban",
                    "Urbanization Rate", "GRDP per Capita|MVND", "Budget Revenue",
                    "Tourism|Arrivals", "Growth Rate|GRDP|Real", "Share of GRDP|Services"):
        assert example in names, example


def test_parts_of_a_level_sum_to_it(iamc):
    """What pyam's check_aggregate checks: the children of a level add up to it."""
    wide = iamc[iamc["scenario"] == "high"].pivot(index="year", columns="variable",
                                                  values="value")
    for parent in ("GRDP|Real", "GRDP|Nominal", "Population"):
        children = [c for c in wide.columns
                    if c.startswith(parent + "|") and "|" not in c[len(parent) + 1:]]
        assert len(children) == (2 if parent == "Population" else len(SECTOR_LABELS))
        rows = wide[children].notna().all(axis=1)
        np.testing.assert_allclose(wide.loc[rows, children].sum(axis=1),
                                   wide.loc[rows, parent], rtol=1e-9)


def test_region_and_model_can_be_named(lai_chau_results):
    df = lai_chau_results.to_iamc(model="quyhoach test", region="Lai Châu")
    assert set(df["model"]) == {"quyhoach test"} and set(df["region"]) == {"Lai Châu"}
    mapped = lai_chau_results.to_iamc(region={"lai_chau": "Vietnam|Lai Chau"})
    assert set(mapped["region"]) == {"Vietnam|Lai Chau"}


def test_a_region_column_gives_the_regions(lai_chau_results):
    """Results with a region column (localities) keep one row per region."""
    paths = lai_chau_results.paths
    two = pd.concat([paths.assign(region="lai_chau"),
                     paths.assign(region="lai_chau.tan_uyen")], ignore_index=True)
    res = quyhoach.Results.from_tables(two, lai_chau_results.feasibility(), pd.DataFrame(),
                                       {"engine_version": "9.9", "province": "lai_chau",
                                        "base_year": 2020, "horizon": 2050})
    df = res.to_iamc()
    assert set(df["region"]) == {"lai_chau", "lai_chau.tan_uyen"}
    assert set(df["model"]) == {"quyhoach 9.9"} and not df.duplicated(IAMC_INDEX).any()
    with pytest.raises(quyhoach.ResultsError, match="2 regions"):
        res.to_iamc(region="Lai Châu")
    renamed = res.to_iamc(region={"lai_chau.tan_uyen": "Tân Uyên"})
    assert set(renamed["region"]) == {"lai_chau", "Tân Uyên"}
    with pytest.raises(quyhoach.ResultsError, match="two values"):
        res.to_iamc(region={"lai_chau.tan_uyen": "lai_chau"})


def test_pyam_reads_it(iamc):
    pyam = pytest.importorskip("pyam")
    df = pyam.IamDataFrame(iamc)
    assert set(df.variable) == set(iamc["variable"])
    assert df.region == ["lai_chau"] and len(df.timeseries()) > 0
    assert df.check_aggregate("Population") is None
    observed = df.filter(year=range(2023, 2051))  # the sector split starts in 2023
    assert observed.check_aggregate("GRDP|Real") is None  # the sectors sum to GRDP
