"""What it would take (effort for a chance) and what drives a miss (variance shares)."""

import numpy as np
import pytest

import quyhoach
from conftest import LAI_CHAU
from quyhoach import analysis

DRAWS, SEED = 1000, 7


@pytest.fixture(scope="module")
def run():
    return quyhoach.simulate(LAI_CHAU, scenarios=["base"], draws=DRAWS, seed=SEED)


def _with_shift(plan, path: str, shift: float, first_year: int, last_year: int):
    """The plan with a scenario 'shifted': base, with ``path`` moved by ``shift`` in
    first_year..last_year (file units), written as a planner would write it."""
    values = plan.scenario("base").values[path]
    section, key = path.split(".")
    table = {str(y): float(v + shift if first_year <= y <= last_year else v)
             for y, v in zip(plan.years, values, strict=True) if not np.isnan(v)}
    return plan.with_scenario("shifted", inherits="base", **{section: {key: table}})


@pytest.mark.slow
def test_the_lever_value_reported_for_80_percent_gives_80_percent_when_rerun(run):
    e = analysis.effort(run, "base", probability=0.8, draws=DRAWS, seed=SEED)
    row = e.set_index("target_id").loc["tourists_2030"]
    assert row["lever"] == "tourism.visitor_growth"
    assert row["probability_before"] < 0.8 and row["shift"] > 0
    first = 2024  # tourists are observed to 2023
    plan = _with_shift(run.plan, "tourism.visitor_growth", row["shift"], first, 2030)
    again = quyhoach.simulate(plan, scenarios=["shifted"], draws=DRAWS, seed=SEED)
    p = again.feasibility().set_index("target_id").loc["tourists_2030", "probability"]
    assert p == pytest.approx(0.8, abs=2.0 / DRAWS)
    assert row["probability_after"] == pytest.approx(p, abs=1.0 / DRAWS)


def test_effort_says_when_no_lever_or_band_limits_the_chance(run):
    e = analysis.effort(run, "base", draws=300, seed=SEED).set_index("target_id")
    assert e.loc["investment_2021_2030", "note"] == "no single plan lever drives this indicator"
    assert np.isnan(e.loc["share_industry_2030", "shift"])
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        analysis.effort(run, "base", probability=1.0)


def test_fixing_the_top_driver_shrinks_the_variance_by_its_share(run):
    d = analysis.drivers(run, "base", draws=DRAWS, seed=SEED)
    growth = d[d["target_id"] == "grdp_growth_2021_2030_approved"]
    top = growth.sort_values("share", ascending=False).iloc[0]
    assert top["source"] == "shocks growth" and top["share"] > 0.5
    # brute force: remove the source from the plan's uncertainty and rerun
    ua = quyhoach.montecarlo.uncertainty_arrays(run.plan, run.plan.scenario("base"),
                                                 run.baselines)
    keep = ua["s_name"] != "shocks growth"
    fixed = {k: (v[keep] if k.startswith("s_") else v) for k, v in ua.items()}
    j = [t.id for t in run.plan.targets].index("grdp_growth_2021_2030_approved")
    inputs = run._runs["base"].inputs
    every = quyhoach.montecarlo.target_draws(run.plan, inputs, ua, draws=DRAWS, seed=SEED)
    without = quyhoach.montecarlo.target_draws(run.plan, inputs, fixed, draws=DRAWS,
                                               seed=SEED)
    share = 1 - without[:, j].var() / every[:, j].var()
    assert share == pytest.approx(top["share"], rel=1e-9)
    assert ((d["share"].dropna() > -0.05) & (d["share"].dropna() <= 1.0)).all()


def test_the_explain_command(capsys):
    from quyhoach.cli import main

    assert main(["explain", str(LAI_CHAU), "--draws", "200", "--lang", "en",
                 "--probability", "80"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("WHAT IT WOULD TAKE FOR A 80% CHANCE — scenario base")
    assert "main sources of uncertainty: shocks growth" in out
    assert main(["explain", str(LAI_CHAU), "--draws", "0"]) == 2
    assert "explain needs a Monte Carlo" in capsys.readouterr().err
