"""What it would take (effort for a chance) and what drives a miss (variance shares,
conditions on the sampled inputs, tornado effects)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import quyhoach
from conftest import LAI_CHAU
from quyhoach import analysis, misses, prim
from quyhoach.kernels import rng

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
    # what drives a miss: a box in words, or why there is none
    assert "    condition: Missed mostly when Speed of change in households on the national " \
           "grid, offset from the scenario at most" in out
    assert "    condition: Missed in every draw" in out and "Condition (PRIM)" in out
    assert main(["explain", str(LAI_CHAU), "--draws", "0"]) == 2
    assert "explain needs a Monte Carlo" in capsys.readouterr().err


# ------------------------------------------------------------------ what drives a miss

SMALL = 400


@pytest.fixture(scope="module")
def sample(run):
    return misses.sample_inputs(run, "base", draws=SMALL, seed=SEED)


@pytest.fixture(scope="module")
def conditions(run, sample):
    return misses.miss_conditions(run, "base", sample=sample)


def _j(run, target_id: str) -> int:
    return [t.id for t in run.plan.targets].index(target_id)


def _column(sample, column_id: str) -> int:
    return [c.id for c in sample.columns].index(column_id)


def test_the_draws_are_the_runs_own(run):
    """Sampled on the run's seed and number of draws, every target's share of draws met
    is the run's probability: the same draws, not new ones."""
    whole = misses.sample_inputs(run, "base", draws=DRAWS, seed=SEED)
    table = run.feasibility()
    table = table[table["scenario"] == "base"].set_index("target_id")
    for j, t in enumerate(run.plan.targets):
        assert whole.met[:, j].mean() == pytest.approx(table.loc[t.id, "probability"],
                                                       abs=1e-12)


def test_the_sampled_inputs_are_what_each_stream_draws(run, sample):
    """Each input re-derived on its own: a parameter's variate and a disruption's events
    from the counter-based streams (rng), a shock's average from the kernel's shock
    drawing with that source alone (kernel units, back to file units). A stream's state
    crosses Python as a plain int: it goes back in as uint64, as the kernel keeps it."""
    from quyhoach.kernels import montecarlo as mk

    plan = run.plan
    ua = quyhoach.montecarlo.uncertainty_arrays(plan, plan.scenario("base"), run.baselines)
    seed = np.uint64(SEED)
    j = _j(run, "tourists_2030")
    # a parameter: one variate per draw
    p = list(ua["p_name"]).index("parameter tourism.visitor_growth")
    c = _column(sample, "parameter tourism.visitor_growth")
    for g in (0, 17, SMALL - 1):
        state = np.uint64(rng.stream_state(seed, ua["p_key"][p], g))
        _, x = rng.sample(state, ua["p_dist"][p], *ua["p_args"][p])
        assert sample.values[g, j, c] == x
    # a disruption: years with the event in the target's years
    c = _column(sample, "disruption pandemic")
    e = list(ua["e_name"]).index("disruption pandemic")
    first, last = sample.windows[j, c]
    assert (sample.years[first], sample.years[last]) == (2025, 2030)
    for g in range(40):
        state = np.uint64(rng.stream_state(seed, ua["e_key"][e], g))
        events = 0
        for t in range(ua["e_first"][e], len(plan.years)):
            state, u = rng.uniform(state)
            state = np.uint64(state)
            events += first <= t <= last and u < ua["e_prob"][e]
        assert sample.values[g, j, c] == events
    # a shock: the kernel's own drawing with that group alone
    q = list(ua["s_name"]).index("shocks tourism.visitor_growth")
    alone = {k: (v[[q]] if k.startswith("s_") else v[:0] if k[:2] in ("p_", "e_") else v)
             for k, v in ua.items()}
    c = _column(sample, "shocks tourism.visitor_growth")
    first, last = sample.windows[j, c]
    rates = run._runs["base"].inputs.rates
    shocks = np.zeros((1, *rates.shape))
    args = [alone[k] for k in quyhoach.montecarlo.UNCERTAINTY_ARGS]
    for g in (0, 5, SMALL - 1):
        mk.draw_shocks(g, seed, rates, *args, shocks, 0, np.zeros((4, rates.shape[2])),
                       np.zeros((rates.shape[0], 8)), np.zeros(rates.shape[0], np.uint64))
        channel = ua["s_channel"][q, 0]
        expected = shocks[0, 0, first:last + 1, channel].mean() / 0.01  # %/yr
        assert sample.values[g, j, c] == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_inputs_that_cannot_move_a_target_are_left_out(run, sample):
    """With common random numbers an unrelated source leaves every metric as it was:
    tourists never depend on the birth rate, budget revenue never on visitor growth."""
    ids = {t: [sample.columns[c].id for c in sample.inputs(_j(run, t))]
           for t in ("tourists_2030", "budget_revenue_2030")}
    assert "shocks tourism.visitor_growth" in ids["tourists_2030"]
    assert not any("population" in i for i in ids["tourists_2030"])
    assert not any("tourism" in i for i in ids["budget_revenue_2030"])


def _inside(sample, j: int, row) -> np.ndarray:
    inside = np.ones(sample.draws, dtype=bool)
    for k in range(1, int(row["conditions"]) + 1):
        x = sample.values[:, j, _column(sample, row[f"input_{k}"])]
        if not np.isnan(row[f"lower_{k}"]):
            inside &= x >= row[f"lower_{k}"]
        if not np.isnan(row[f"upper_{k}"]):
            inside &= x <= row[f"upper_{k}"]
    return inside


def test_each_box_recomputed_from_the_draws(run, sample, conditions):
    """Brute force: the box's draws counted directly give its coverage, density and
    support; the box is denser than the whole, keeps 10 % of the draws and reads in
    words with its percentages."""
    boxes = conditions[conditions["status"] == "box"]
    assert len(boxes) >= 5
    for row in boxes.to_dict("records"):
        j = _j(run, row["target_id"])
        missed = ~sample.met[:, j]
        assert row["missed"] == missed.mean()
        cases = missed if row["outcome"] == "miss" else ~missed
        assert row["outcome"] == ("miss" if missed.mean() <= 0.5 else "met")
        inside = _inside(sample, j, row)
        assert row["support"] == inside.mean() >= prim.MIN_SUPPORT
        assert row["density"] == (cases & inside).sum() / inside.sum()
        assert row["coverage"] == (cases & inside).sum() / cases.sum()
        base = cases.mean()
        assert row["density"] >= base + misses.MIN_LIFT * (1 - base)
        assert 1 <= row["conditions"] <= 2
        assert f"{row['density']:.0%}" in row["text_en"]
        assert row["label_1_vi"] in row["text_vi"] and row["label_1_en"] in row["text_en"]


def test_what_the_lai_chau_misses_depend_on(conditions):
    """The plan's own story: grid electricity is missed when its speed is drawn low,
    tourists when visitor growth is, 30 % urban met only with a faster urbanization;
    targets met or missed in every draw get no box."""
    c = conditions.set_index("target_id")
    e = c.loc["electricity_2030"]
    assert (e["status"], e["outcome"]) == ("box", "miss")
    assert e["input_1"] == "parameter indicators.electricity_access.speed"
    assert np.isnan(e["lower_1"]) and e["upper_1"] < 0 and e["coverage"] > 0.9
    assert "Speed of change in households on the national grid" in e["text_en"]
    assert "trở xuống" in e["text_vi"]
    tourists = c.loc["tourists_2030"]
    assert tourists["status"] == "box" and "tourism.visitor_growth" in tourists["input_1"]
    assert c.loc["rural_water_2030", "status"] == "always_met"
    # 30 % urban in 2030 is met in few draws: those with a faster urbanization speed
    urban = c.loc["urbanization_2030"]
    assert (urban["status"], urban["outcome"]) == ("box", "met")
    assert urban["input_1"].endswith("urbanization.speed") and urban["lower_1"] > 0
    assert c.loc["poverty_reduction_2021_2030", "status"] == "never_met"
    assert c.loc["poverty_reduction_2021_2030", "text_en"].startswith("Missed in every draw")


def test_too_few_cases_for_a_condition(run):
    tiny = misses.miss_conditions(run, "base", draws=40, seed=SEED).set_index("target_id")
    rows = tiny[tiny["status"] == "too_few"]
    assert len(rows) and all("of 40 draws" in t for t in rows["text_en"])
    assert rows["coverage"].isna().all()


def test_the_tornado_recomputed_from_the_draws(run, sample):
    df = misses.tornado(run, "tourists_2030", "base", sample=sample)
    assert list(df["effect"].abs()) == sorted(df["effect"].abs(), reverse=True)
    assert df.iloc[0]["source"] in ("shocks tourism.visitor_growth",
                                    "parameter tourism.visitor_growth")
    assert df.iloc[0]["effect"] > 0 and not df.iloc[0]["noise"]
    j = _j(run, "tourists_2030")
    metric = sample.metrics[:, j]
    for row in df.to_dict("records"):
        x = sample.values[:, j, _column(sample, row["input"])]
        low = x <= row["input_low"]
        if row["input_high"] > np.quantile(x, 0.9):  # a run of equal values: split at it
            high = x > row["input_low"]
        else:
            high = x >= row["input_high"]
        assert row["metric_low"] == pytest.approx(metric[low].mean(), rel=1e-12)
        assert row["metric_high"] == pytest.approx(metric[high].mean(), rel=1e-12)
        assert (row["n_low"], row["n_high"]) == (low.sum(), high.sum())
    assert df.attrs["mean"] == pytest.approx(metric.mean())
    with pytest.raises(KeyError, match="did you mean 'tourists_2030'"):
        misses.tornado(run, "tourist_2030", sample=sample)


# ---------------------------------------------------------------- PRIM on its own

def test_prim_finds_a_planted_box():
    gen = np.random.default_rng(5)
    x = gen.uniform(size=(2000, 5))
    y = (x[:, 2] < 0.3) & (gen.uniform(size=2000) < 0.9)
    box = prim.find_box(x, y)
    assert box.restricted == [2]
    assert box.upper[2] == pytest.approx(0.3, abs=0.03) and box.coverage > 0.9
    both = (x[:, 0] > 0.6) & (x[:, 4] < 0.5)
    assert prim.find_box(x, both).restricted == [0, 4]


@st.composite
def problems(draw):
    n = draw(st.integers(20, 300))
    k = draw(st.integers(1, 4))
    values = st.floats(-5, 5, allow_nan=False, width=32)
    x = draw(arrays(np.float64, (n, k), elements=values))
    if draw(st.booleans()):
        x = np.round(x)  # ties, as a count of event years has
    y = draw(arrays(np.bool_, n))
    return x, y


@settings(max_examples=60, deadline=None)
@given(problem=problems(), alpha=st.sampled_from([0.05, 0.1, 0.25]),
       support=st.sampled_from([0.05, 0.1, 0.3]))
def test_prim_boxes_are_what_they_say(problem, alpha, support):
    """Coverage and density lie in [0, 1]; the box is at least as dense as the whole,
    keeps its minimum support, restricts at most two inputs, and its numbers are its
    draws' (brute force); the one-input peel is the general peel."""
    x, y = problem
    box = prim.find_box(x, y, alpha=alpha, min_support=support)
    assert 0.0 <= box.coverage <= 1.0 and 0.0 <= box.density <= 1.0
    assert box.density >= y.mean() - 1e-12 and len(box.restricted) <= 2
    inside = box.contains(x)
    assert box.support == inside.mean() >= min(support, 1.0) - 1e-12
    if y.any():
        assert box.coverage == (y & inside).sum() / y.sum()
        assert box.density == (y & inside).sum() / inside.sum()
    general = prim.peel(np.column_stack([x[:, 0], np.zeros(len(x))]), y, [0, 1],
                        alpha=alpha, min_support=support)
    fast = prim.peel(x, y, [0], alpha=alpha, min_support=support)
    assert [(b.lower[0], b.upper[0], b.density) for b in fast] == \
        [(b.lower[0], b.upper[0], b.density) for b in general]


def test_results_read_back_cannot_be_resampled(run, tmp_path):
    back = quyhoach.read_results(run.to_parquet(tmp_path / "r"))
    with pytest.raises(ValueError, match="need a simulated run"):
        misses.sample_inputs(back, "base", draws=10)
    with pytest.raises(KeyError, match="no scenario 'bse'"):
        misses.miss_conditions(run, "bse", draws=10)
