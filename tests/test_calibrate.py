"""Calibration from history and the back-test: statsmodels/scipy fits, shrinkage,
honest refusals, and plans that use the model file."""

import json
import math
import tomllib

import numpy as np
import pandas as pd
import pytest
from conftest import LAI_CHAU, ROOT, write_plan

import quyhoach
from quyhoach import backtest as bt
from quyhoach.calibrate import calibrate, shrink, write_model
from quyhoach.cli import main

GSO, ALL = ROOT / "inputs" / "gso", ROOT / "inputs" / "all_provinces"


@pytest.fixture(scope="module")
def model():
    return calibrate("lai_chau", inputs_dir=ROOT / "inputs" / "lai_chau", gso_dir=GSO,
                     all_dir=ALL, band_scales=ROOT / "models" / "band_scales.toml")


def test_model_document_has_estimates_with_diagnostics(model):
    est = model["estimates"]
    for name in ("population.birth_rate", "population.death_rate", "urbanization.speed",
                 "indicators.poverty_rate.speed", "investment.icor", "budget.buoyancy",
                 "shocks.growth", "shocks.inflation"):
        e = est[name]
        assert math.isfinite(e["value"]) and e["se"] >= 0 and e["n"] >= 3, name
        assert e["window"] and e["sources"] and e["method"]
    birth = est["population.birth_rate"]
    assert birth["value"] < 0  # Lai Châu's crude birth rate fell over 2005-2016
    assert len(birth["covariance"]) == 2 and 0 <= birth["shrinkage_weight_own"] <= 1
    assert 0 < birth["r_squared"] <= 1
    assert any("national series" in f for f in est["investment.icor"]["flags"])
    assert any("short series" in f for f in est["shocks.growth"]["flags"])


def test_model_file_round_trips_and_is_valid_plan_uncertainty(model, tmp_path):
    path = write_model(model, tmp_path / "m.toml")
    doc = tomllib.loads(path.read_text(encoding="utf-8"))
    assert doc["uncertainty"] == model["uncertainty"] | doc["uncertainty"]
    from quyhoach.errors import Problems
    from quyhoach.uncertainty import parse

    problems = Problems("m.toml")
    u = parse(doc["uncertainty"], "uncertainty", problems)
    assert not problems.items and len(u.parameters) == 9 and len(u.shocks) == 7
    with pytest.raises(quyhoach.ResultsError, match="already exists"):
        write_model(model, path)


def test_growth_shocks_match_the_provinces_observed_volatility(model):
    g = model["uncertainty"]["shocks"]["growth"]
    sd = np.array([g["sd"][s] for s in ("agriculture", "industry_construction", "services",
                                        "product_taxes")])
    corr = np.array(g["correlation"])
    shares = np.array([15.16, 38.03, 40.14, 6.67]) / 100
    total = math.sqrt(shares @ (np.outer(sd, sd) * corr) @ shares)
    observed = np.std([7.14, 7.7, -2.77, 9.0], ddof=1)
    assert total == pytest.approx(observed, rel=0.01)
    assert np.all(np.linalg.eigvalsh(corr) > 0)


def test_shrinkage_pulls_noisy_estimates_to_the_pool():
    slopes = pd.Series([1.0, 1.2, 0.8, 1.1, 0.9, 5.0, 1.0])
    ses = pd.Series([0.1, 0.1, 0.1, 0.1, 0.1, 50.0, 0.1])
    shrunk, se, weight, mean = shrink(slopes, ses)
    assert weight.iloc[5] < 0.01 and abs(shrunk.iloc[5] - mean) < 0.01  # noisy: pooled
    # precise ones keep part of their own deviation (DerSimonian-Laird tau² ≈ se²)
    assert 0.3 < weight.iloc[1] < 0.6 and 1.05 < shrunk.iloc[1] < 1.2
    assert (se <= ses + 1e-12).all()


def test_nothing_to_estimate_from_is_refused():
    with pytest.raises(quyhoach.InputDataError, match="nothing to estimate from"):
        from quyhoach.calibrate import linear_speed
        from quyhoach.gso import panel

        linear_speed(panel(GSO, ALL), "hung_yen", "forest_cover", "x", "forest table")


def test_plan_uses_the_model_and_says_so(tmp_path, capsys):
    res = quyhoach.simulate(LAI_CHAU, scenarios=["base"], draws=300, seed=1)
    assert "parameters.population.birth_rate" in res.plan.model.calibrated
    assert "parameters.growth.services" not in res.plan.model.calibrated  # the plan's own
    from quyhoach.report import format_feasibility

    text = format_feasibility(res, "en")
    assert "Uncertainty estimated from history (lai_chau.toml)" in text
    out = res.to_parquet(tmp_path / "r")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["model_sha256"] and "shocks.growth" in manifest["calibrated_uncertainty"]


def test_missing_model_file_is_a_plan_error(tmp_path):
    plan = write_plan(tmp_path)
    text = plan.read_text(encoding="utf-8")
    text = "\n".join(
        'model = "nowhere.toml"' if line.startswith("model = ") else line
        for line in text.splitlines())
    plan.write_text(text, encoding="utf-8")
    with pytest.raises(quyhoach.PlanError, match="plan.model: nowhere.toml not found.*quyhoach "
                                                 "calibrate"):
        quyhoach.load_plan(plan)


def test_cli_calibrate_refuses_to_overwrite(tmp_path, capsys):
    out = tmp_path / "lai_chau.toml"
    args = ["calibrate", "lai_chau", "--inputs", str(ROOT / "inputs" / "lai_chau"), "--gso",
            str(GSO), "--all-provinces", str(ALL), "--out", str(out)]
    assert main(args) == 0
    assert "population.birth_rate" in capsys.readouterr().out
    assert main(args) == 2 and "already exists" in capsys.readouterr().err


# ---------------------------------------------------------------- back-test

def synthetic_panel(values: dict) -> pd.DataFrame:
    rows = [{"province": p, "indicator": "population", "year": y, "value": v}
            for p, series in values.items() for y, v in series.items()]
    return pd.DataFrame(rows)


def test_drift_forecast_and_naive_benchmarks_on_constant_growth():
    years = range(2011, 2023)
    panel = synthetic_panel({p: {y: 100 * g ** (y - 2011) for y in years}
                             for p, g in (("a", 1.02), ("b", 1.02), ("c", 1.02))})
    f = bt.backtest_family(panel, bt.FAMILIES[0])
    row = f[(f.province == "a") & (f.cutoff == 2016) & (f.horizon == 3)].iloc[0]
    assert row["forecast"] == pytest.approx(100 * 1.02 ** 8, rel=1e-9)
    assert row["naive_last"] == pytest.approx(100 * 1.02 ** 5, rel=1e-12)
    step = 100 * 1.02 ** 5 - 100 * 1.02 ** 4
    assert row["naive_trend"] == pytest.approx(100 * 1.02 ** 5 + 3 * step, rel=1e-12)


def test_backtest_on_a_few_provinces():
    forecasts, scores, scales, _ = bt.run_backtest(
        GSO, ALL, provinces=["lai_chau", "lang_son", "quang_ninh", "dien_bien", "ha_giang",
                             "son_la"])
    assert set(forecasts["family"]) >= {"population", "crude_birth_rate", "poverty_rate"}
    assert scores[["coverage50", "coverage90", "coverage50_raw"]].stack().between(0, 1).all()
    assert (scores["coverage90"] >= scores["coverage50"]).all()
    assert all(v > 0 for v in scales.values())
    text = bt.format_summary(scores)
    assert "| population |" in text and "MAPE engine" in text


def test_cli_backtest_writes_parquet_and_band_factors(tmp_path, capsys):
    out, scales = tmp_path / "bt", tmp_path / "band_scales.toml"
    args = ["backtest", "--gso", str(GSO), "--all-provinces", str(ALL), "--provinces",
            "lai_chau,lang_son,son_la,dien_bien", "--out", str(out), "--scales", str(scales)]
    assert main(args) == 0
    assert (out / "forecasts.parquet").is_file() and (out / "scores.parquet").is_file()
    assert "population" in tomllib.loads(scales.read_text(encoding="utf-8"))["scale"]
    assert main(args) == 2 and "already exists" in capsys.readouterr().err


def test_band_factors_widen_the_spreads_and_their_absence_is_stated(model, tmp_path):
    raw = calibrate("lai_chau", inputs_dir=ROOT / "inputs" / "lai_chau", gso_dir=GSO,
                    all_dir=ALL, band_scales=tmp_path / "missing.toml")
    assert raw["model"]["band_scales"] == {}
    assert "none found" in raw["model"]["band_scales_file"]
    factor = model["model"]["band_scales"]["crude_birth_rate"]
    sd = model["uncertainty"]["parameters"]["population.birth_rate"]["sd"]
    assert sd == pytest.approx(raw["uncertainty"]["parameters"]["population.birth_rate"]["sd"]
                               * factor, rel=1e-3)
