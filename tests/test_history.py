"""History is history: observed figures pin their years, identical in every draw."""

import re

import numpy as np
import pandas as pd
import pytest

import quyhoach
from conftest import LAI_CHAU, localise
from quyhoach.kernels import layout as L
from quyhoach.registry import VARIABLES
from test_kernel import run_kernel


def _history_cells(run) -> dict[str, np.ndarray]:
    return {name: s != "projected" for name, s in run.status.items()}


def test_every_history_figure_is_the_same_under_any_shock(lai_chau_results):
    """Shocks on every channel, far larger than any plan's, move no history figure."""
    rng = np.random.default_rng(1)
    for name, run in lai_chau_results._runs.items():
        shocks = rng.normal(0.0, 0.05, (40, len(lai_chau_results.plan.years), L.N_CHANNELS))
        shocks[:, :, L.C_FX] = 0.0  # the plan states the exchange rate; nothing draws it
        with np.errstate(all="ignore"):
            out = run_kernel(run.inputs, shocks)
        for i, var in enumerate(VARIABLES):
            cells = _history_cells(run)[var.name]
            got, want = out[:, cells, i], run.central[cells, i]
            assert np.array_equal(got, np.broadcast_to(want, got.shape), equal_nan=True), \
                f"{name}: {var.name} moves in a history year"


def test_every_history_figure_is_identical_in_every_kept_draw(tmp_path):
    res = quyhoach.simulate(LAI_CHAU, draws=300, seed=11, keep_draws=True,
                            spool_dir=tmp_path)
    years = res.plan.years
    for name in res.scenarios:
        draws = pd.read_parquet(res.draws_dir / f"scenario={name}")
        run = res._runs[name]
        for i, var in enumerate(VARIABLES):
            for t in np.flatnonzero(_history_cells(run)[var.name]):
                values = draws.loc[draws["year"] == years[t], var.name].to_numpy()
                # kept draws are float32, scaled to table units in float32
                central = np.float32(run.central[t, i]) * np.float32(var.factor)
                assert np.array_equal(values, np.full_like(values, central), equal_nan=True), \
                    f"{name}: {var.name} {years[t]} differs between draws"


def test_observed_grdp_per_capita_pins_its_years(lai_chau_results):
    gpc = lai_chau_results.values("base", "grdp_per_capita")
    years = list(lai_chau_results.plan.years)
    assert gpc[years.index(2021)] == pytest.approx(44.66, abs=1e-9)
    assert gpc[years.index(2022)] == pytest.approx(50.15, abs=1e-9)
    status = lai_chau_results._runs["base"].status
    assert status["grdp_per_capita"][years.index(2021)] == "observed"
    assert status["grdp_nominal"][years.index(2022)] == "derived"  # = 50.15 × 482.1
    assert status["grdp_nominal"][years.index(2024)] == "projected"
    assert status["investment_need"][years.index(2022)] == "projected"  # ICOR is uncertain


def test_paths_say_which_figures_are_observed_derived_or_projected(lai_chau_results):
    p = lai_chau_results.paths
    assert set(p["status"].unique()) <= {"observed", "derived", "assumed", "projected"}
    row = p[(p.scenario == "base") & (p.variable == "urbanization_rate") & (p.year == 2020)]
    assert row["status"].item() == "assumed"  # the plan's [[assumed_data]]
    row = p[(p.scenario == "base") & (p.variable == "grdp_growth") & (p.year == 2023)]
    assert row["status"].item() == "observed"
    assert (p[p.year > 2024]["status"] == "projected").all()


def _without_growth(tmp_path, years) -> quyhoach.plan.Plan:
    """The Lai Châu plan on a copy of its inputs without observed growth for ``years``."""
    from conftest import ROOT

    src = (ROOT / "inputs" / "lai_chau" / "history.csv").read_text(encoding="utf-8")
    keep = [line for line in src.splitlines()
            if not any(line.startswith(f"grdp_growth,{y},") for y in years)]
    (tmp_path / "inputs").mkdir()
    (tmp_path / "inputs" / "history.csv").write_text("\n".join(keep) + "\n", encoding="utf-8")
    text = localise(LAI_CHAU.read_text(encoding="utf-8"))
    text = text.replace('"2025-2030" = ', '"2021-2030" = ')  # sector growth from 2021
    text = re.sub(r'(?m)^inputs = ".*"$', f'inputs = "{tmp_path / "inputs"}"', text)
    plan = tmp_path / "plan.toml"
    plan.write_text(text, encoding="utf-8")
    return quyhoach.load_plan(plan)


def test_a_year_without_observed_growth_is_projected_and_a_later_level_reanchors(tmp_path):
    plan = _without_growth(tmp_path, (2021,))
    res = quyhoach.simulate(plan, scenarios=["base"], draws=200, seed=3,
                            bands=["grdp_nominal"])  # its band at every year
    status = res._runs["base"].status
    y = list(plan.years)
    assert status["grdp_growth"][y.index(2021)] == "projected"
    assert status["grdp_growth"][y.index(2022)] in ("observed", "derived")
    assert status["grdp_real"][y.index(2022)] == "projected"  # the chain broke in 2021
    # GRDP per capita × population still pins the 2021 and 2022 price level
    assert status["grdp_nominal"][y.index(2022)] == "derived"
    gpc = res.values("base", "grdp_per_capita")
    assert gpc[y.index(2022)] == pytest.approx(50.15, abs=1e-9)
    band = res.bands("grdp_nominal", "base").set_index("year")
    assert band.loc[2022, "sd"] == 0.0 and band.loc[2021, "sd"] == 0.0
    assert band.loc[2024, "sd"] > 0.0
    assert any("not observed in 2021" in n for n in res.notes)


def test_effort_counts_from_the_last_observed_figure(lai_chau_results):
    """GRDP per capita is observed in 2023 (47.2) though the population is not."""
    f = lai_chau_results.feasibility().set_index(["scenario", "target_id"])
    row = f.loc[("base", "grdp_per_capita_2025")]
    assert row["required"] == pytest.approx(((65.0 / 47.2) ** 0.5 - 1) * 100, rel=1e-9)
    years = list(lai_chau_results.plan.years)
    assert lai_chau_results.values("base", "grdp_per_capita")[years.index(2023)] == 47.2


def test_usd_figures_and_investment_are_not_called_observed(lai_chau_results):
    run, years = lai_chau_results._runs["base"], list(lai_chau_results.plan.years)
    # converted at the plan's assumed exchange rate: the same in every draw, not history
    assert run.status["grdp_per_capita_usd"][years.index(2022)] == "assumed"
    assert run.status["tourism_revenue"][years.index(2021)] == "observed"  # an input row
    # investment is never observed: its effort counts from the base year
    assert run.fixed["investment_need"] == 0
    f = lai_chau_results.feasibility().set_index(["scenario", "target_id"])
    row = f.loc[("base", "investment_2021_2030")]
    assert row["effort_years"] == "2021-2030"
    assert row["required"] == pytest.approx((168000 - 16800) / 10)  # to the band's lower edge
