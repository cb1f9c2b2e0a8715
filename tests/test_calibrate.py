"""Calibration from history and the back-test: statsmodels/scipy fits, shrinkage,
honest refusals, and plans that use the model file."""

import json
import math
import tomllib

import numpy as np
import pandas as pd
import pytest

import quyhoach
from conftest import LAI_CHAU, ROOT, write_plan
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
    assert not problems.items and len(u.parameters) == 10 and len(u.shocks) == 7
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
    with pytest.raises(quyhoach.PlanError, match="plan.model: '?nowhere.toml'? not found.*"
                                                 "quyhoach calibrate"):
        quyhoach.load_plan(plan)


def test_cli_calibrate_refuses_to_overwrite(tmp_path, capsys):
    out = tmp_path / "lai_chau.toml"
    args = ["calibrate", "lai_chau", "--inputs", str(ROOT / "inputs" / "lai_chau"), "--gso",
            str(GSO), "--all-provinces", str(ALL), "--out", str(out)]
    assert main(args) == 0
    assert "population.birth_rate" in capsys.readouterr().out
    assert main(args) == 2 and "already exists" in capsys.readouterr().err


# ---------------------------------------------------------------- population and urbanization

def test_residual_migration_closes_the_population_identity_by_hand():
    from quyhoach.calibrate import residual_migration
    from quyhoach.gso import panel as read_panel

    panel = read_panel(GSO, ALL)
    est = residual_migration(panel, "lai_chau", "gso")

    def series(ind):
        rows = panel[(panel.province == "lai_chau") & (panel.indicator == ind)]
        return dict(zip(rows.year, rows.value, strict=True))

    pop, birth, death = series("population"), series("crude_birth_rate"), series("crude_death_rate")
    years = [y for y in range(2012, 2017)]
    resid = [1000 * (pop[y] / pop[y - 1] - 1) - (birth[y] - death[y]) for y in years]
    assert est.window == "2012-2016" and est.n == 5
    assert est.value == pytest.approx(np.mean(resid), rel=1e-12)
    assert est.residual_sd == pytest.approx(np.std(resid, ddof=1), rel=1e-9)
    assert est.se == pytest.approx(np.std(resid, ddof=1) / math.sqrt(5), rel=1e-9)
    # the survey's migration rate misses what the population series says
    assert est.extra["gso_net_migration_mean"] < 0 < est.value


def test_reclassification_events_are_counted_from_jumps_not_deleted():
    from quyhoach.calibrate import reclassification

    rows = [{"province": p, "indicator": "urbanization_rate_old_vintage", "year": 2000 + t,
             "value": 10 + 0.2 * t + (5.0 if p == "a" and t >= 6 else 0.0) + 0.01 * (t % 2)}
            for p in "abc" for t in range(11)]
    est = reclassification(pd.DataFrame(rows), "test")
    assert est.extra["jumps"] == 1 and est.n == 30
    assert est.value == pytest.approx(1 / 30)
    tier, = est.extra["tiers"]
    assert tier["size"] == pytest.approx(5.0, abs=0.02)  # the jump less the median step
    assert est.value == pytest.approx(sum(t["probability"] for t in est.extra["tiers"]))


def test_the_model_draws_reclassification_events(model):
    events = model["uncertainty"]["disruptions"]
    assert [e["name"] for e in events] == ["reclassification_1", "reclassification_2",
                                           "reclassification_3"]
    assert all(e["recovery_years"] == 0 and e["depth"]["urbanization"] > 0 for e in events)
    total = model["estimates"]["urbanization.reclassification"]["value"]
    assert sum(e["probability"] for e in events) == pytest.approx(total, abs=1e-3)


def test_band_factors_widen_the_spreads_and_their_absence_is_stated(model, tmp_path):
    raw = calibrate("lai_chau", inputs_dir=ROOT / "inputs" / "lai_chau", gso_dir=GSO,
                    all_dir=ALL, band_scales=tmp_path / "missing.toml")
    assert raw["model"]["band_scales"] == {}
    assert "none found" in raw["model"]["band_scales_file"]
    factor = model["model"]["band_scales"]["population"]
    sd = model["uncertainty"]["parameters"]["population.birth_rate"]["sd"]
    assert sd == pytest.approx(raw["uncertainty"]["parameters"]["population.birth_rate"]["sd"]
                               * factor, rel=1e-3)


# ---------------------------------------------------------------- the model file (TOML)

def test_model_toml_round_trips_exactly():
    from quyhoach.calibrate import to_toml

    doc = {"model": {"province": "lai_chau", "note": "line one\nline \"two\"\r\nthree\\",
                     "Tỉnh Lai Châu": {"tỷ lệ": 0.1 + 0.2, "hệ số": [1.36e-6, -2.5e-300]},
                     "forms": {"indicators.poverty_rate.speed": "logistic"}},
           "estimates": {"x": {"value": np.float64(1 / 3), "n": np.int64(11),
                               "big": 2**62, "ok": np.bool_(True), "flags": [],
                               "covariance": np.array([[6.809156007188115e-05, -8.17e-06],
                                                       [-8.17e-06, 1.3618312014376226e-06]]),
                               "rows": [{"a": 1.5}, {"a": -0.0}]}}}
    back = tomllib.loads(to_toml(doc))
    assert back["model"]["note"] == "line one\nline \"two\"\r\nthree\\"
    assert back["model"]["Tỉnh Lai Châu"] == {"tỷ lệ": 0.1 + 0.2, "hệ số": [1.36e-6, -2.5e-300]}
    e = back["estimates"]["x"]
    assert e["value"] == 1 / 3 and e["n"] == 11 and e["big"] == 2**62 and e["ok"] is True
    assert e["covariance"][1][1] == 1.3618312014376226e-06  # not 1e-06
    assert e["rows"] == [{"a": 1.5}, {"a": -0.0}] and e["flags"] == []


@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan, np.float64("inf")])
def test_model_toml_refuses_numbers_that_are_not_finite(bad, tmp_path):
    from quyhoach.calibrate import to_toml

    doc = {"estimates": {"urbanization.speed": {"covariance": [[1.0, bad]]}}}
    with pytest.raises(quyhoach.ResultsError, match=r"estimates\.urbanization\.speed\."
                                                    r"covariance\[0\]\[1\] is (-?inf|nan): "
                                                    "a model file holds finite numbers"):
        to_toml(doc)
    with pytest.raises(quyhoach.ResultsError):
        write_model(doc, tmp_path / "m.toml")
    assert list(tmp_path.iterdir()) == []  # refused before anything was written


def test_write_model_refuses_a_folder_and_leaves_nothing_on_a_full_disk(tmp_path,
                                                                        monkeypatch):
    import errno
    from pathlib import Path

    with pytest.raises(quyhoach.ResultsError, match="is a folder; give the model file's path"):
        write_model({"model": {}}, tmp_path, overwrite=True)

    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(self))

    monkeypatch.setattr(Path, "write_text", full)
    with pytest.raises(OSError, match="No space left"):
        write_model({"model": {"a": 1}}, tmp_path / "m.toml")
    assert list(tmp_path.iterdir()) == []


def test_stored_lai_chau_model_holds_the_exact_estimates(model):
    stored = tomllib.loads((ROOT / "models" / "lai_chau.toml").read_text(encoding="utf-8"))

    def numbers(d, where=""):
        if isinstance(d, dict):
            for k, v in d.items():
                yield from numbers(v, f"{where}.{k}")
        elif isinstance(d, list):
            for i, v in enumerate(d):
                yield from numbers(v, f"{where}[{i}]")
        elif isinstance(d, (int, float)) and not isinstance(d, bool):
            yield where, d

    want = dict(numbers(tomllib.loads(quyhoach.calibrate.to_toml(model))["estimates"]))
    got = dict(numbers(stored["estimates"]))
    assert got == want  # re-run `quyhoach calibrate lai_chau --force` if this fails
    cov = stored["estimates"]["urbanization.speed"]["covariance"]
    assert cov[1][1] == pytest.approx(1.36e-6, rel=0.01)


def test_band_factor_file_that_is_not_one_is_refused(tmp_path):
    from conftest import check
    from quyhoach.calibrate import _band_scales

    bad = tmp_path / "scales.toml"
    bad.write_text("scale = [", encoding="utf-8")
    with pytest.raises(quyhoach.InputDataError) as err:
        _band_scales(bad)
    check(err.value, bad, "", "not a band-factor file", "re-run quyhoach backtest")
    for text, shown in (("scale = 5", "{'scale': 5}"),
                        ("[scale]\npopulation = -1.0", "{'population': -1.0}"),
                        ('[scale]\npopulation = "x"', "{'population': 'x'}"),
                        ("[scale]\npopulation = nan", "{'population': nan}")):
        bad.write_text(text, encoding="utf-8")
        with pytest.raises(quyhoach.InputDataError) as err:
            _band_scales(bad)
        check(err.value, bad, "scale", "positive, finite factors", shown)


def test_cli_calibrate_with_a_bad_band_factor_file_exits_2(tmp_path, capsys):
    bad = tmp_path / "scales.toml"
    bad.write_text("scale = [", encoding="utf-8")
    out = tmp_path / "m.toml"
    assert main(["calibrate", "lai_chau", "--inputs", str(ROOT / "inputs" / "lai_chau"),
                 "--gso", str(GSO), "--all-provinces", str(ALL), "--out", str(out),
                 "--scales", str(bad)]) == 2
    assert "not a band-factor file" in capsys.readouterr().err and not out.exists()


# ---------------------------------------------------------------- years from the data

class _History:
    """A history with only the series the growth scaling reads."""

    def __init__(self, series):
        self._series = series

    def series(self, indicator):
        return dict(self._series.get(indicator, {}))


def _growth_estimate():
    from quyhoach.calibrate import Estimate

    sectors = ("agriculture", "industry_construction", "services", "product_taxes")
    return Estimate("shocks.growth", 0.2, 0.1, "AR(1)", "m", "2011-2016", 6, [],
                    extra={"sd": {s: 0.01 for s in sectors},
                           "correlation": np.eye(4).tolist()})


def test_growth_scaling_takes_its_years_from_the_province_data():
    from quyhoach.calibrate import _scale_growth_to_province

    # another province: growth observed 2012 and 2017-2020, structure observed 2019 only
    growth = {2012: 30.0, 2017: 6.0, 2018: 8.0, 2019: 5.0, 2020: 9.0}
    shares = {"share_agriculture": {2019: 20.0}, "share_industry_construction": {2019: 30.0},
              "share_services": {2019: 40.0}, "share_product_taxes": {2019: 10.0}}
    est = _growth_estimate()
    _scale_growth_to_province(est, _History({"grdp_growth": growth, **shares}))
    assert any("n = 4, 2017-2020" in f and "2019 structure" in f for f in est.flags)
    w = np.array([0.2, 0.3, 0.4, 0.1])
    sd = np.array([est.extra["sd"][s] for s in ("agriculture", "industry_construction",
                                                "services", "product_taxes")])
    cov = np.outer(sd, sd) * np.array(est.extra["correlation"])
    assert math.sqrt(w @ cov @ w) == pytest.approx(np.std([6, 8, 5, 9], ddof=1) / 100,
                                                   rel=1e-2)


def test_growth_scaling_without_recent_years_or_structure_says_so():
    from quyhoach.calibrate import _latest_run, _scale_growth_to_province

    assert _latest_run({2016: 1, 2021: 2, 2022: 3, 2024: 4}) == [2024]
    assert _latest_run({}) == []
    est = _growth_estimate()
    _scale_growth_to_province(est, _History({"grdp_growth": {2019: 1.0, 2020: 2.0,
                                                             2021: 3.0}}))
    assert est.flags == ["no recent provincial growth series (3 consecutive years) or sector "
                         "structure: national volatility used"]


def test_backtest_needs_three_provinces(tmp_path, capsys):
    args = ["backtest", "--gso", str(GSO), "--all-provinces", str(ALL), "--provinces",
            "lai_chau,lang_son", "--out", str(tmp_path / "bt"), "--scales",
            str(tmp_path / "s.toml")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "--provinces lai_chau,lang_son: the back-test needs at least 3 provinces" in err
    assert "Traceback" not in err and not (tmp_path / "bt").exists()


def test_census_revision_is_the_2019_census_move_of_the_2016_figures():
    from quyhoach.calibrate import census_revision
    from quyhoach.gso import panel as read_panel

    panel = read_panel(GSO, ALL)
    est = census_revision(panel, "gso")
    rows = panel[panel["year"] == 2016].pivot_table(index="province", columns="indicator",
                                                     values="value")
    by_hand = 1000 * (rows["population"] / rows["population_old_vintage"] - 1)
    assert est.window == "2016" and est.n == 63
    assert est.se == pytest.approx(np.sqrt(np.mean(by_hand**2)), rel=1e-12)
    assert est.extra["largest"] == pytest.approx(by_hand.abs().max())
    assert 20 < est.se < 40  # about 3 %: the census moved provinces by up to 10 %


def test_the_back_test_never_draws_a_revision_it_could_not_have_known():
    """Before 2019 no province had a revised series: the back-test's plans draw none."""
    from quyhoach import backtest as bt
    from quyhoach.gso import panel as read_panel

    data = bt.Data(read_panel(GSO, ALL), ["lai_chau", "lang_son", "son_la"])
    est, _, families = bt.estimates_at(data, "lai_chau", 2014)
    assert "population" in families and "population.revision" not in est
