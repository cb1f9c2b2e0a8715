"""The effort column: what a target needs in the years left, for every kind and
comparison, on small hand-made paths (base year 2020, last observed year 2024)."""

import math

import numpy as np
import pytest

import quyhoach
from conftest import write_plan
from quyhoach.cli import main
from quyhoach.plan import Target
from quyhoach.targets import effort_aim, required_effort, target_metric

BASE = 2020
LAST = 4  # index of 2024, the last observed year


def target(kind, comparison, value, tolerance=0.0, period=(2021, 2030), indicator="grdp_real"):
    first, year = period
    return Target("t", indicator, kind, comparison, value, tolerance, year, first,
                  "nhãn", "label", "source")


def path(growth_observed, growth_after, n_years=11, x0=100.0):
    """A level growing at ``growth_observed`` through 2024, then ``growth_after``."""
    rates = [growth_observed] * LAST + [growth_after] * (n_years - 1 - LAST)
    return x0 * np.cumprod([1.0] + [1 + r for r in rates])[None, :]


def test_about_target_below_its_band_aims_at_the_lower_edge():
    # "9-11 %": 10 ± 1 %/yr over 2021-2030; 4 years at 5 %, then 6 %: far below the band
    x = path(0.05, 0.06)
    t = target("average_growth", "about", 10.0, 1.0)
    req, proj, unit, first = required_effort(t, x, BASE, LAST)
    needed = (1.09 ** 10 / 1.05 ** 4) ** (1 / 6) - 1  # reaches 9 %/yr, the band's edge
    assert req[0] == pytest.approx(needed * 100, rel=1e-12)
    assert proj[0] == pytest.approx(6.0, rel=1e-12) and unit == "%/yr" and first == 2025


def test_about_target_above_its_band_aims_at_the_upper_edge():
    x = path(0.15, 0.15)
    t = target("average_growth", "about", 10.0, 1.0)
    req, *_ = required_effort(t, x, BASE, LAST)
    assert req[0] == pytest.approx(((1.11 ** 10 / 1.15 ** 4) ** (1 / 6) - 1) * 100, rel=1e-12)


def test_about_target_inside_its_band_aims_at_the_nearer_edge():
    t = target("level", "about", 200.0, 20.0, period=(None, 2030))
    below, above = np.array([185.0]), np.array([211.0])
    assert effort_aim(t, below)[0] == 180.0 and effort_aim(t, above)[0] == 220.0
    assert effort_aim(t, np.array([200.0]))[0] == 200.0  # on the centre: the centre
    floor = target("level", ">=", 200.0, period=(None, 2030))
    assert effort_aim(floor, below)[0] == 200.0  # other comparisons: the value itself


def test_about_share_target_needs_points_to_the_edge():
    t = target("share", "about", 40.0, 2.0, period=(None, 2030), indicator="share_services")
    x = np.array([[30.0] * 5 + [31.0] * 6])  # 31 in 2030, below 38-42
    req, proj, unit, _ = required_effort(t, x, BASE, LAST)
    assert req[0] == pytest.approx((38.0 - 30.0) / 6) and unit == "points/yr"
    assert proj[0] == pytest.approx(1.0 / 6)


@pytest.mark.parametrize("period", [(2025, 2030), (2026, 2030)])
def test_cumulative_target_over_a_period_not_yet_observed(period):
    # investment summed over a period that starts after the last observed year: the
    # effort is an amount per year of the period (a TypeError before)
    first, year = period
    t = target("cumulative", ">=", 600.0, period=period, indicator="investment_need")
    x = np.arange(11, dtype=float)[None, :] * 10 + 50  # 50, 60, ..., 150
    req, proj, unit, start = required_effort(t, x, BASE, LAST)
    n = year - first + 1
    assert req.shape == (1,) and req[0] == pytest.approx(600.0 / n)
    assert proj[0] == pytest.approx(x[0, first - BASE: year - BASE + 1].mean())
    assert unit == "billion VND/yr" and start == max(first, 2025)


def test_cumulative_about_target_started_counts_what_is_done():
    t = target("cumulative", "about", 1000.0, 100.0, indicator="investment_need")
    x = np.full((1, 11), 50.0)  # 2021-2030 sums to 500: below 900-1100
    req, proj, *_ = required_effort(t, x, BASE, LAST)
    assert req[0] == pytest.approx((900.0 - 4 * 50.0) / 6) and proj[0] == 50.0


def test_effort_per_draw_aims_each_draw_at_its_own_edge():
    t = target("level", "about", 200.0, 20.0, period=(None, 2030))
    x = np.vstack([path(0.0, 0.0, x0=170.0), path(0.0, 0.04, x0=170.0)])
    metric = target_metric(t, x, BASE)
    assert metric[0] < 200.0 < metric[1]
    req, *_ = required_effort(t, x, BASE, LAST)
    assert req[0] == pytest.approx(((180 / 170) ** (1 / 6) - 1) * 100)
    assert req[1] == pytest.approx(((220 / 170) ** (1 / 6) - 1) * 100)


def test_fully_observed_target_has_no_effort():
    t = target("level", ">=", 1.0, period=(None, 2023))
    req, proj, unit, _ = required_effort(t, path(0.05, 0.05), BASE, LAST)
    assert math.isnan(req[0]) and math.isnan(proj[0]) and unit == ""


# ---------------------------------------------------------------- the real plan

INVESTMENT = 'kind = "cumulative"\nperiod = "2021-2030"'


@pytest.mark.parametrize("period", ["2025-2030", "2026-2030"])
def test_cumulative_target_not_yet_started_in_feasibility_and_run(tmp_path, capsys, period):
    plan = write_plan(tmp_path, [(INVESTMENT, f'kind = "cumulative"\nperiod = "{period}"')])
    f = quyhoach.simulate(plan).feasibility()
    r = f[(f.scenario == "base") & (f.target_id == "investment_2021_2030")].iloc[0]
    first = int(period[:4])
    assert r["effort_years"] == period and r["effort_unit"] == "billion VND/yr"
    below = r["projected"] < r["target"]
    edge = r["target"] - r["tolerance"] if below else r["target"] + r["tolerance"]
    assert r["required"] == pytest.approx(edge / (2031 - first), rel=1e-12)
    out = tmp_path / "res"
    assert main(["run", str(plan), "--out", str(out), "--draws", "0"]) == 0
    assert "Traceback" not in capsys.readouterr().err and (out / "manifest.json").is_file()
