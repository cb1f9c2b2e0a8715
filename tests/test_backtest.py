"""The back-test of the engine that ships: proper scores, factors known at each cut-off,
bands inside their draws, and a run of the engine itself on a few provinces."""

import math
import tomllib

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import ROOT
from quyhoach import backtest as bt
from quyhoach.cli import main

GSO, ALL = ROOT / "inputs" / "gso", ROOT / "inputs" / "all_provinces"
FEW = ["lai_chau", "lang_son", "quang_ninh", "dien_bien", "ha_giang", "son_la"]
finite = st.floats(-1e4, 1e4, allow_nan=False)


@given(st.lists(finite, min_size=1, max_size=40), finite)
def test_crps_of_an_ensemble_is_the_textbook_sum(draws, y):
    x = np.array(draws)
    brute = np.mean(np.abs(x - y)) - 0.5 * np.mean(np.abs(x[:, None] - x[None, :]))
    assert bt.crps_sample(x, y) == pytest.approx(brute, rel=1e-9, abs=1e-6)
    assert bt.crps_sample(x, y) >= -1e-9


def test_crps_of_a_point_is_the_absolute_error_and_a_normal_matches_its_formula():
    assert bt.crps_sample(np.array([3.0]), 5.0) == 2.0
    # CRPS of N(0, 1) at 0 is (sqrt 2 - 1) / sqrt(pi); a fine quantile grid approaches it
    from scipy.stats import norm

    grid = norm.ppf((np.arange(20000) + 0.5) / 20000)
    assert bt.crps_sample(grid, 0.0) == pytest.approx((math.sqrt(2) - 1) / math.sqrt(math.pi),
                                                      rel=1e-3)


@given(finite, st.floats(0, 1e3), finite)
def test_interval_score_is_the_width_inside_and_grows_outside(lo, width, y):
    hi = lo + width
    s = bt.interval_score(lo, hi, y)
    assert s >= width - 1e-9
    if lo <= y <= hi:
        assert s == pytest.approx(width)


@given(st.floats(-100, 100), st.floats(0.01, 10), st.floats(0.01, 10), st.floats(-100, 100))
def test_exceedance_is_at_most_one_inside_the_band(q50, down, up, y):
    k = bt.exceedance(y, q50 - down, q50, q50 + up)
    assert (k <= 1 + 1e-12) == (q50 - down <= y <= q50 + up) or math.isclose(k, 1.0)


@settings(max_examples=50)
@given(st.lists(st.tuples(st.integers(2008, 2022), st.floats(0, 20)), min_size=0, max_size=80),
       st.integers(2008, 2022))
def test_a_factor_uses_only_errors_realised_by_its_cutoff(errors, cutoff):
    frame = pd.DataFrame(errors, columns=["year", "k"])
    later = pd.DataFrame({"year": [cutoff + 1] * 40, "k": [1e6] * 40})
    before = bt.factor_at(frame, cutoff)
    assert before == bt.factor_at(pd.concat([frame, later]), cutoff)
    known = frame[frame["year"] <= cutoff]
    assert (before is None) == (len(known) < bt.MIN_ERRORS or known["k"].quantile(0.9) <= 0)


@pytest.fixture(scope="module")
def run():
    return bt.run_backtest(GSO, ALL, FEW, draws=200, cutoffs=[2009, 2011, 2013, 2015])


def test_every_forecast_is_out_of_sample_in_time(run):
    forecasts, *_ = run
    assert (forecasts["year"] > forecasts["cutoff"]).all()
    assert forecasts["horizon"].between(1, bt.HORIZON).all()


def test_the_factor_at_each_cutoff_is_recomputed_from_earlier_errors_only(run):
    forecasts, *_ = run
    k = [bt.exceedance(r.actual, r.raw_q05, r.raw_q50, r.raw_q95) for r in forecasts.itertuples()]
    assert np.allclose(k, forecasts["raw_k"], equal_nan=True)
    for (family, cutoff), g in forecasts.groupby(["family", "cutoff"]):
        fam = forecasts[forecasts["family"] == family]
        # at a cut-off, errors against the figures then published (the pre-census series)
        errors = pd.DataFrame({"year": fam["year"], "k": fam["raw_k_then"]})
        expected = bt.factor_at(errors, cutoff)
        got = g["factor"].iloc[0]
        assert (expected is None and math.isnan(got)) or got == pytest.approx(expected)


def test_bands_stay_inside_their_draws_and_in_order(run):
    forecasts, *_ = run
    assert (forecasts["q05"] >= forecasts["draw_min"] - 1e-9).all()
    assert (forecasts["q95"] <= forecasts["draw_max"] + 1e-9).all()
    q = forecasts[["q05", "q25", "q50", "q75", "q95"]].to_numpy()
    assert (np.diff(q, axis=1) >= -1e-9).all()
    shares = forecasts[forecasts["family"] != "population"]
    assert shares[["q05", "q95"]].stack().between(0, 100).all()
    check = bt.quantile_check(forecasts)
    assert check["outside_draws"] == 0 and check["max_gap_share_of_width"] < 0.1


def test_scores_and_scorecard(run):
    forecasts, scores, scales, _ = run
    assert {"population", "urbanization_rate"} <= set(forecasts["family"])
    cover = scores[[c for c in scores.columns if c.startswith("coverage")]]
    assert cover.stack().between(0, 1).all()
    assert (scores.filter(like="crps_") >= 0).all().all()
    assert all(v > 0 for v in scales.values())
    text = bt.format_summary(scores, forecasts)
    assert "| population |" in text and "better benchmark" in text and "Not back-tested" in text


def test_population_is_scored_on_the_revised_series_from_its_first_year():
    data = bt.Data(pd.DataFrame({
        "province": ["p"] * 3, "indicator": ["population_old_vintage", "population",
                                              "population_old_vintage"],
        "year": [2010, 2011, 2011], "value": [100.0, 103.0, 101.0]}))
    family = bt.BY_NAME["population"]
    assert data.actual(family, "p", 2010) == 100.0  # only the old vintage exists
    assert data.actual(family, "p", 2011) == 103.0  # the census-revised series wins


def test_cli_backtest_writes_its_outputs_and_refuses_to_overwrite(tmp_path, capsys):
    out, scales = tmp_path / "bt", tmp_path / "band_scales.toml"
    args = ["backtest", "--gso", str(GSO), "--all-provinces", str(ALL), "--provinces",
            ",".join(FEW[:4]), "--families", "population", "--draws", "100", "--out", str(out),
            "--scales", str(scales)]
    assert main(args) == 0
    assert (out / "forecasts.parquet").is_file() and (out / "summary.json").is_file()
    assert "population" in tomllib.loads(scales.read_text(encoding="utf-8"))["scale"]
    assert main(args) == 2 and "already exists" in capsys.readouterr().err


@pytest.mark.parametrize("extra, message", [
    (["--families", "populaton"], "--families: unknown family 'populaton'; did you mean "
                                  "'population'?"),
    (["--draws", "10"], "--draws 10: bands need at least 100 draws per plan"),
])
def test_cli_backtest_refuses_bad_options(tmp_path, capsys, extra, message):
    args = ["backtest", "--out", str(tmp_path / "bt"), "--scales", str(tmp_path / "s.toml"),
            *extra]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and not (tmp_path / "bt").exists()
