"""Monte Carlo: exact when nothing is uncertain, right on analytic cases, reproducible
bit for bit whatever the threads and chunk size."""

import numba
import numpy as np
import pandas as pd
import pytest
from scipy import stats

import quyhoach
from conftest import LAI_CHAU, localise, plan_with_uncertainty
from quyhoach.registry import BY_NAME

ZERO = """
[uncertainty.parameters]
"growth.services" = { dist = "normal", sd = 0.0 }
"investment.icor" = { dist = "lognormal", sigma = 0.0 }
[uncertainty.shocks.growth]
sd = { agriculture = 0.0, industry_construction = 0.0, services = 0.0, product_taxes = 0.0 }
persistence = 0.5
[[uncertainty.disruptions]]
name = "never"
probability = 0.0
depth = { services = -5.0 }
recovery_years = 2
"""


def test_zero_variance_gives_the_central_path_exactly(tmp_path):
    res = quyhoach.simulate(plan_with_uncertainty(tmp_path, ZERO), draws=600, seed=3)
    bands = res.bands()
    for col in ("mean", "q05", "q25", "q50", "q75", "q95"):
        np.testing.assert_array_equal(bands[col].to_numpy(), bands["central"].to_numpy())
    assert (bands["sd"] == 0).all()
    f = res.feasibility()
    assert (f["probability"] == f["met"].astype(float)).all()
    np.testing.assert_array_equal(f["median"], f["projected"])


IID_GROWTH = """
[uncertainty.shocks.growth]
sd = { agriculture = 1.0, industry_construction = 3.0, services = 2.0, product_taxes = 1.0 }
persistence = 0.0
"""


def test_mean_of_a_level_matches_the_central_path_within_4_standard_errors(tmp_path):
    # E[prod(1 + g + e_t)] = prod(1 + g) for independent zero-mean e_t, sector by sector
    res = quyhoach.simulate(plan_with_uncertainty(tmp_path, IID_GROWTH), scenarios=["base"],
                            draws=20000, seed=11)
    b = res.bands("grdp_real", "base")
    b = b[b["year"] > 2024]
    z = (b["mean"] - b["central"]) / b["mcse_mean"]
    assert (z.abs() < 4).all(), z.to_numpy()


def test_one_year_ahead_quantiles_match_the_normal(tmp_path):
    res = quyhoach.simulate(plan_with_uncertainty(tmp_path, IID_GROWTH), scenarios=["base"],
                            draws=20000, seed=5)
    b = res.bands("va_growth_services", "base").set_index("year").loc[2025]
    for q in ("q05", "q25", "q50", "q75", "q95"):
        exact = 7.9 + 2.0 * stats.norm.ppf(int(q[1:]) / 100)
        # histogram resolution (< 0.3 % of the range) plus sampling error of a quantile
        assert abs(b[q] - exact) < 0.08, (q, b[q], exact)
    assert abs(b["sd"] - 2.0) < 0.05


@pytest.fixture(scope="module")
def lai_chau_mc():
    return quyhoach.simulate(LAI_CHAU, draws=3000, seed=1, chunk_size=1024)


def test_probabilities_in_unit_interval_and_quantiles_ordered(lai_chau_mc):
    f = lai_chau_mc.feasibility()
    assert f["probability"].between(0, 1).all()
    assert (f["probability_mcse"] >= 0).all()
    b = lai_chau_mc.bands()
    q = b[["q05", "q25", "q50", "q75", "q95"]].to_numpy()
    assert np.all(np.diff(q, axis=1) >= 0)
    assert set(f["verdict"]) <= {"likely", "at risk", "unlikely", "off track"}


@pytest.mark.parametrize("which", ["reported", "all"])
def test_thread_count_and_chunk_size_do_not_change_a_bit(which):
    def run(threads, chunk):
        numba.set_num_threads(threads)
        try:
            r = quyhoach.simulate(LAI_CHAU, scenarios=["high"], draws=1500, seed=42,
                                  chunk_size=chunk, bands=which)
        finally:
            numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        return r.bands(), r.feasibility()

    reference = run(numba.config.NUMBA_NUM_THREADS, 32768)
    for threads, chunk in ((1, 32768), (1, 256), (numba.config.NUMBA_NUM_THREADS, 700)):
        bands, feas = run(threads, chunk)
        pd.testing.assert_frame_equal(bands, reference[0], check_exact=True)
        pd.testing.assert_frame_equal(feas, reference[1], check_exact=True)


def test_same_seed_same_numbers_other_seed_other_numbers(tmp_path):
    a = quyhoach.simulate(LAI_CHAU, scenarios=["base"], draws=500, seed=7).bands()
    b = quyhoach.simulate(LAI_CHAU, scenarios=["base"], draws=500, seed=7).bands()
    c = quyhoach.simulate(LAI_CHAU, scenarios=["base"], draws=500, seed=8).bands()
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert not a["mean"].equals(c["mean"])


def test_a_new_uncertain_parameter_leaves_the_other_draws_alone(tmp_path):
    extra = (IID_GROWTH + '[uncertainty.parameters]\n'
             '"budget.buoyancy" = { dist = "normal", sd = 0.2 }\n')
    one = quyhoach.simulate(plan_with_uncertainty(tmp_path, IID_GROWTH, "a.toml"),
                            scenarios=["base"], draws=800, seed=9)
    two = quyhoach.simulate(plan_with_uncertainty(tmp_path, extra, "b.toml"),
                            scenarios=["base"], draws=800, seed=9)
    pd.testing.assert_frame_equal(one.bands("grdp_real"), two.bands("grdp_real"),
                                  check_exact=True)
    assert not one.bands("budget_revenue")["sd"].equals(two.bands("budget_revenue")["sd"])


def test_identities_hold_in_every_kept_draw(tmp_path):
    res = quyhoach.simulate(LAI_CHAU, scenarios=["high"], draws=400, seed=2, keep_draws=True)
    draws = pd.read_parquet(res.draws_dir / "scenario=high")
    assert len(draws) == 400 * len(res.plan.years)
    d = draws[draws["year"] >= 2023]
    shares = d[[c for c in d.columns if c.startswith("share_")]].sum(axis=1)
    np.testing.assert_allclose(shares, 100.0, rtol=1e-5)
    np.testing.assert_allclose(d["population_urban"] + d["population_rural"], d["population"],
                               rtol=1e-5)
    np.testing.assert_allclose(d["grdp_real"] * d["grdp_deflator"] / 100, d["grdp_nominal"],
                               rtol=1e-5)
    real = d[[c for c in d.columns if c.startswith("va_real_")]].sum(axis=1)
    np.testing.assert_allclose(real, d["grdp_real"], rtol=1e-5)
    # history is fixed in every draw
    assert d.groupby("year")["population"].nunique().loc[[2023]].item() > 1
    pop2022 = draws[draws["year"] == 2022]["population"]
    assert pop2022.nunique() == 1


def test_disruptions_lower_growth_in_some_draws(tmp_path):
    block = """
[[uncertainty.disruptions]]
name = "pandemic"
probability = 0.2
depth = { services = -10.0, tourism = -50.0 }
recovery_years = 0
"""
    res = quyhoach.simulate(plan_with_uncertainty(tmp_path, block), scenarios=["base"],
                            draws=2000, seed=4)
    b = res.bands("tourists", "base").set_index("year").loc[2030]
    assert b["q05"] < b["central"] and b["mean"] < b["central"]
    # no upside from disruptions: q95 is the central path, to the histogram's resolution
    # (one bin = 1.5 x pilot range / 256, here under 1 % of the level)
    assert b["q95"] == pytest.approx(b["central"], rel=0.01)


HEAVY_TAIL = """
[uncertainty.shocks."tourism.visitor_growth"]
sd = 25.0
persistence = 0.6
"""


def test_bands_never_leave_the_range_of_the_draws(tmp_path):
    """Draws beyond the pilot's range fall in an edge bin; the quantile read there is
    clipped to the lowest and highest draw, which respect the variable's bounds."""
    plan = plan_with_uncertainty(tmp_path, HEAVY_TAIL)
    res = quyhoach.simulate(plan, scenarios=["base"], draws=6000, seed=2, keep_draws=True,
                            spool_dir=tmp_path)
    draws = pd.read_parquet(res.draws_dir / "scenario=base")
    bands = res.bands(region="lai_chau").set_index(["variable", "year"])
    for variable in ("tourists", "tourism_revenue"):
        by_year = draws.groupby("year")[variable]
        low, high = by_year.min(), by_year.max()
        b = bands.loc[variable]
        years = b.index
        for q in ("q05", "q25", "q50", "q75", "q95"):
            # kept draws are float32: compare at its precision
            assert (b[q] >= low[years].to_numpy() * (1 - 1e-6)).all(), (variable, q)
            assert (b[q] <= high[years].to_numpy() * (1 + 1e-6)).all(), (variable, q)
    assert (bands["q05"].loc["tourists"] >= 0).all()


def test_a_calibrated_speed_of_an_indicator_no_scenario_models_is_not_drawn(tmp_path):
    """The model file estimates electricity access; a plan that does not project it
    runs its Monte Carlo without it (the plan's own entries are still checked)."""
    text = localise(LAI_CHAU.read_text(encoding="utf-8"))
    a = text.index("[scenarios.base.indicators.electricity_access]")
    b = text.index("[scenarios.base.indicators.rural_clean_water]")
    text = text[:a] + text[b:]
    ids = [line.split('"')[1] for line in text.splitlines() if line.startswith('id = "electr')]
    for tid in ids:  # and its targets
        start = text.index(f'[[targets]]\nid = "{tid}"')
        text = text[:start] + text[text.index("[[", start + 5):]
    path = tmp_path / "plan.toml"
    path.write_text(text, encoding="utf-8")
    res = quyhoach.simulate(path, scenarios=["base"], draws=300, seed=1)
    assert "electricity_access" not in set(res.paths["variable"])


def test_every_reported_quantile_is_within_a_bin_of_the_exact_one(tmp_path):
    """Against exact quantiles of the kept draws: every series and every quantile of a
    heavy-tailed plan (tourism with persistent 25-point shocks) and the bounded shares,
    within one histogram bin (1.5 x the pilot's range / 256) and inside the bounds."""
    plan = plan_with_uncertainty(tmp_path, HEAVY_TAIL)
    res = quyhoach.simulate(plan, scenarios=["base"], draws=3000, seed=5, keep_draws=True,
                            spool_dir=tmp_path)
    draws = pd.read_parquet(res.draws_dir / "scenario=base").drop(columns=["draw", "region"])
    bands = res.bands(region="lai_chau")
    checked = 0
    for variable, b in bands.groupby("variable", observed=True):
        by_year = draws.groupby("year")[variable]
        exact = by_year.quantile([0.05, 0.25, 0.5, 0.75, 0.95]).unstack()
        span = (by_year.max() - by_year.min()).astype(float)
        b = b.set_index("year")
        for q, col in zip((0.05, 0.25, 0.5, 0.75, 0.95), ("q05", "q25", "q50", "q75", "q95"),
                          strict=True):
            gap = (b[col] - exact.loc[b.index, q]).abs()
            # float32 draws: a relative 1e-6 on top of the bin
            limit = 1.5 * span[b.index] / 256 + 1e-6 * b[col].abs() + 1e-9
            assert (gap <= limit).all(), (variable, col, (gap - limit).max())
            checked += len(b)
        var = BY_NAME[variable]  # every band inside the variable's bounds
        assert b[["q05", "q95"]].stack().between(var.lower * var.factor,
                                                 var.upper * var.factor).all(), variable
    assert checked > 1000


def test_a_census_revision_moves_the_level_once(tmp_path):
    """population.revision (per 1000) adds to growth in the first projected year only: a
    scenario's value shifts every later year by the same factor; a drawn one widens the
    band from that year, and history stays the same in every draw."""
    block = '[uncertainty.parameters]\n"population.revision" = { dist = "normal", sd = 30.0 }\n'
    plain = quyhoach.simulate(plan_with_uncertainty(tmp_path, "", "a.toml"),
                              scenarios=["base"])
    text = (tmp_path / "a.toml").read_text(encoding="utf-8")
    shifted = tmp_path / "b.toml"
    shifted.write_text(text.replace("[scenarios.base.population]",
                                    "[scenarios.base.population]\nrevision = 20.0", 1),
                       encoding="utf-8")
    a = plain.values("base", "population")
    b = quyhoach.simulate(shifted, scenarios=["base"]).values("base", "population")
    observed = plain.paths.query("scenario == 'base' and variable == 'population' and "
                                 "status == 'observed'")["year"].max()
    start = int(np.flatnonzero(plain.years == observed)[0]) + 1  # first projected year
    np.testing.assert_array_equal(a[:start], b[:start])
    assert b[start] / b[start - 1] - a[start] / a[start - 1] == pytest.approx(0.020)
    np.testing.assert_allclose(b[start:] / a[start:], b[start] / a[start], rtol=1e-12)
    drawn = quyhoach.simulate(plan_with_uncertainty(tmp_path, block, "c.toml"),
                              scenarios=["base"], draws=1000, seed=3)
    band = drawn.bands("population").set_index("year")
    year = drawn.years[start]
    assert band.loc[drawn.years[start - 1], "q05"] == band.loc[drawn.years[start - 1], "q95"]
    # a normal revision of sd 3 %: the 90 % band spans about ±1.645 × 3 %
    assert (band.loc[year, "q95"] / band.loc[year, "q05"] - 1) == pytest.approx(0.099, rel=0.1)


@pytest.fixture(scope="module")
def reported_and_all():
    """One Lai Châu scenario with the reported bands and with every band, same draws."""
    return tuple(quyhoach.simulate(LAI_CHAU, scenarios=["recent_trend"], draws=1200, seed=5,
                                   bands=bands) for bands in ("reported", "all"))


def test_reported_bands_are_every_bands_rows_to_the_bit(reported_and_all):
    part, every = reported_and_all
    keys = ["scenario", "region", "variable", "year"]
    a, b = part.bands(), every.bands()
    assert 0 < len(a) < len(b)
    both = a.merge(b, on=keys, how="left", suffixes=("", "_all"), indicator=True)
    assert (both["_merge"] == "both").all()  # every reported row is one of every band's
    for col in ("mean", "sd", "q05", "q25", "q50", "q75", "q95", "mcse_mean", "central"):
        np.testing.assert_array_equal(both[col].to_numpy(), both[f"{col}_all"].to_numpy(),
                                      err_msg=col)
    pd.testing.assert_frame_equal(part.feasibility(), every.feasibility(), check_exact=True)


def test_reported_bands_hold_milestones_targets_and_charts(reported_and_all):
    from quyhoach.html import HEADLINE_CHARTS, default_charts

    part, every = reported_and_all
    b = part.bands()
    years = set(b["year"])
    base, horizon = part.plan.base_year, part.plan.horizon
    milestones = {*range(base, horizon + 1, 5), horizon, *(t.year for t in part.plan.targets)}
    assert milestones <= years
    # every variable with a band at all has one at every milestone year
    at = b[b["year"].isin(milestones)].groupby("variable", observed=True)["year"].nunique()
    everywhere = every.bands()
    for name, n in at.items():
        want = everywhere[(everywhere["variable"] == name)
                          & everywhere["year"].isin(milestones)]["year"].nunique()
        assert n == want, name
    # the fan charts drawn by default have every year (the CLI's default charts too)
    from quyhoach.cli import CHARTS

    assert set(HEADLINE_CHARTS) | set(CHARTS) <= set(quyhoach.montecarlo.CHART_VARIABLES)
    for name in default_charts(part):
        got = b[(b["variable"] == name) & (b["region"] == part.province)]
        want = everywhere[(everywhere["variable"] == name)
                          & (everywhere["region"] == part.province)]
        assert sorted(got["year"]) == sorted(want["year"]), name


def test_bands_may_name_variables_to_keep_at_every_year():
    res = quyhoach.simulate(LAI_CHAU, scenarios=["base"], draws=300, seed=1,
                            bands=["investment_rate"])
    b = res.bands("investment_rate")
    assert sorted(b["year"]) == list(range(2021, 2051))  # 2020 has no investment


@pytest.mark.parametrize("bands, message", [
    ("al", "did you mean 'all'"), (["grdp_reel"], "did you mean 'grdp_real'")])
def test_an_unknown_bands_option_is_refused(bands, message):
    from quyhoach.errors import OptionError

    with pytest.raises(OptionError, match=message):
        quyhoach.simulate(LAI_CHAU, draws=100, seed=1, bands=bands)


def test_blocks_a_region_does_not_model_are_not_reduced():
    from quyhoach.assemble import BLOCK_RANGES
    from quyhoach.kernels import projection as pk

    plan = quyhoach.load_plan(LAI_CHAU)
    n = len(plan.years) * len(quyhoach.registry.VARIABLES)
    mode = np.full((1, len(BLOCK_RANGES)), pk.MODE_STEP)
    mode[0, 6] = pk.MODE_ABSENT
    every = quyhoach.montecarlo.band_series(plan, "all", mode)
    v = every[every < n] % len(quyhoach.registry.VARIABLES)
    assert not np.isin(v, np.arange(*BLOCK_RANGES[6])).any()
    assert len(every) == n - len(plan.years) * (BLOCK_RANGES[6][1] - BLOCK_RANGES[6][0]) \
        + len(plan.targets)
