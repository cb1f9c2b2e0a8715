"""The bands' quantile error, measured against exact quantiles of the same draws, in
Monte Carlo standard errors of the quantile (``benchmarks/bench_quantiles.py`` measures
Lai Châu, up to 10^7 draws). Quantiles come from a 256-bin histogram whose range a pilot
of 2048 draws sets; these series are smooth (a lognormal rate, AR(1) shocks), where the
histogram is not what limits the answer: its error stays well under one MCSE up to
10^6 draws. No band may leave the range of its draws."""

import sys

import numpy as np
import pytest

import quyhoach
from conftest import ROOT
from quyhoach.registry import VARIABLE_INDEX, VARIABLES
from quyhoach.warmup import HISTORY, PLAN

sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_quantiles import errors  # noqa: E402

SHOCKS = """[uncertainty.shocks."population.net_migration_rate"]
sd = 6.0
persistence = 0.6

[uncertainty.shocks."population.death_rate"]
sd = 1.0
persistence = 0.0

[[targets]]"""


@pytest.fixture(scope="module")
def plan(tmp_path_factory):
    folder = tmp_path_factory.mktemp("quantiles")
    (folder / "inputs").mkdir()
    (folder / "inputs" / "history.csv").write_text(HISTORY, encoding="utf-8")
    text = (PLAN.replace("horizon = 2030", "horizon = 2032")
            .replace('{ dist = "normal", sd = 1.0 }', '{ dist = "lognormal", sigma = 0.3 }')
            .replace("[[targets]]", SHOCKS, 1))
    (folder / "plan.toml").write_text(text, encoding="utf-8")
    return quyhoach.load_plan(folder / "plan.toml")


@pytest.mark.parametrize("draws", [10_000, 100_000, 1_000_000])
def test_band_quantiles_are_within_a_monte_carlo_error_of_the_exact_ones(plan, draws):
    years, n_vars = len(plan.years), len(VARIABLES)
    series = [t * n_vars + VARIABLE_INDEX[v] for t in (1, 4, 8)
              for v in ("population", "population_growth")] + [years * n_vars]  # + target
    rows = errors(plan, "trend", draws, 11, np.array(series))  # raises outside the draws
    err = np.array([r[5] for r in rows])
    assert len(rows) == 5 * len(series) and not np.isnan(err).any()
    assert np.median(err) < 0.25, err
    assert err.max() < 1.0, err
