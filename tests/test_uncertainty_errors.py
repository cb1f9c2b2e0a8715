"""Every uncertainty-spec error rule gives a message naming the key and the fix."""

import pytest

import quyhoach
from conftest import plan_with_uncertainty


def problems_of(tmp_path, block):
    with pytest.raises(quyhoach.PlanError) as exc:
        quyhoach.load_plan(plan_with_uncertainty(tmp_path, block))
    return [str(p) for p in exc.value.problems]


def only(problems, *fragments):
    hits = [p for p in problems if all(f in p for f in fragments)]
    assert hits, f"no problem with {fragments}; got:\n" + "\n".join(problems)
    return hits[0]


@pytest.mark.parametrize("block, fragments", [
    ('[uncertainty]\nparameter = {}', ("uncertainty: unknown key 'parameter'",
                                       "did you mean 'parameters'?")),
    ('[uncertainty.parameters]\n"growth.servics" = { dist = "normal", sd = 1.0 }',
     ('"growth.servics"', "cannot carry uncertainty", "did you mean 'growth.services'?")),
    ('[uncertainty.parameters]\n"growth.services" = 1.0',
     ('"growth.services"', 'expected a table like { dist = "normal", sd = 1.0 }')),
    ('[uncertainty.parameters]\n"growth.services" = { dist = "gauss", sd = 1.0 }',
     ('"growth.services".dist', "unknown distribution 'gauss'")),
    ('[uncertainty.parameters]\n"growth.services" = { dist = "normal", sigma = 1.0 }',
     ("unknown key 'sigma' for a normal distribution", "expected mean, sd")),
    ('[uncertainty.parameters]\n"growth.services" = { dist = "uniform", min = -1.0 }',
     ('"growth.services".max', "missing; expected a number (the highest offset of the "
      "uniform distribution)")),
    ('[uncertainty.parameters]\n"growth.services" = { dist = "normal", sd = -1.0 }',
     ('"growth.services".sd', "-1 is negative")),
    ('[uncertainty.parameters]\n"investment.icor" = { dist = "lognormal", sigma = -0.1 }',
     ('"investment.icor".sigma', "is negative")),
    ('[uncertainty.parameters]\n"growth.services" = { dist = "uniform", min = 1.0, max = -1.0 }',
     ("expected min < max, found min=1, max=-1",)),
    ('[uncertainty.parameters]\n"growth.services" = '
     '{ dist = "pert", min = 9.0, mode = 9.5, max = 11.0 }',
     ("leaves out 0, the scenario's own value", "min = -0.5, mode = 0, max = 1.5")),
    ('[uncertainty.parameters]\n"growth.services" = '
     '{ dist = "pert", min = 1.0, mode = 0.5, max = 2.0 }',
     ("expected min <= mode <= max", "offsets from the scenario's value")),
    ('[uncertainty.parameters]\n"growth.services" = '
     '{ dist = "triangular", min = 0.0, mode = -1.0, max = 1.0 }',
     ("expected min <= mode <= max",)),
    ('[uncertainty.parameters]\n"growth.services" = '
     '{ dist = "truncnormal", sd = 1.0, min = 0.5, max = 2.0 }',
     ("must contain 0 (the assumed value)",)),
    ('[uncertainty.parameters]\n"growth.services" = '
     '{ dist = "truncnormal", sd = 10.0, min = -0.1, max = 0.1 }',
     ("too narrow for sd; use uniform",)),
    ('[uncertainty.shocks.grwth]\nsd = 1.0', ("unknown shock group 'grwth'",
                                               "did you mean 'growth'?")),
    ('[uncertainty.shocks.growth]\nsd = 1.0\npersistence = 0.3',
     ("shocks.growth.sd", "expected one sd per sector")),
    ('[uncertainty.shocks.growth]\nsd = { servics = 1.0 }',
     ("shocks.growth.sd", "unknown sector 'servics'", "did you mean 'services'?")),
    ('[uncertainty.shocks.growth]\nsd = { services = 1.0 }\npersistence = 1.0',
     ("shocks.growth.persistence", "expected a number in (-1, 1)", "explode")),
    ('[uncertainty.shocks.growth]\nsd = { services = 1.0 }\ncorrelation = [[1.0, 0.5], [0.5, 1.0]]',
     ("shocks.growth.correlation", "expected a 4x4 matrix", "found shape (2, 2)")),
    ('[uncertainty.shocks.growth]\nsd = { services = 1.0 }\n'
     'correlation = [[1, 0.5, 0, 0], [0.4, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]',
     ("not symmetric: row 1, column 2 is 0.5 but row 2, column 1 is 0.4",)),
    ('[uncertainty.shocks.growth]\nsd = { services = 1.0 }\n'
     'correlation = [[1, 0.9, 0.9, -0.9], [0.9, 1, 0.9, 0.9], [0.9, 0.9, 1, 0.9], '
     '[-0.9, 0.9, 0.9, 1]]',
     ("not positive definite (smallest eigenvalue", "lower the largest ones")),
    ('[uncertainty.shocks.growth]\nsd = { services = 1.0 }\n'
     'correlation = [[2, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]',
     ("expected 1 on the diagonal",)),
    ('[uncertainty.shocks.growth]\nsd = { services = 1.0 }\ncorrelation = "strong"',
     ("expected a 4x4 matrix",)),
    ('[uncertainty.shocks.growth]\nsd = { services = -1.0 }',
     ("a standard deviation must be >= 0",)),
    ('[uncertainty.shocks."tourism.visitor_growth"]\nsd = "big"',
     ('"tourism.visitor_growth".sd', "expected a number")),
    ('[uncertainty.shocks."tourism.visitor_growth"]\nsd = 5.0\npersistance = 0.2',
     ("unknown key 'persistance'", "did you mean 'persistence'?")),
    ('[[uncertainty.disruptions]]\nname = "x"\nprobability = 3.0\ndepth = { services = -5.0 }',
     ("disruptions[0].probability", "not a probability; write 0.05")),
    ('[[uncertainty.disruptions]]\nname = "x"\nprobability = 0.1\ndepth = { services = 5.0 }',
     ("disruptions[0].depth.services", "expected a negative number")),
    ('[[uncertainty.disruptions]]\nname = "x"\nprobability = 0.1\ndepth = { servics = -5.0 }',
     ("unknown key 'servics'", "did you mean 'services'?")),
    ('[[uncertainty.disruptions]]\nname = "x"\nprobability = 0.1\ndepth = {}',
     ("disruptions[0].depth", "expected points of growth lost")),
    ('[[uncertainty.disruptions]]\nname = "x"\nprobability = 0.1\ndepth = { services = -5.0 }\n'
     'recovery_years = -1', ("recovery_years", "expected a whole number from 0 to 50",
                             "found -1")),
    ('[[uncertainty.disruptions]]\nname = "x"\nprobabilty = 0.1\ndepth = { services = -5.0 }',
     ("unknown key 'probabilty'", "did you mean 'probability'?")),
    ('[uncertainty.disruptions]\nname = "x"', ("expected [[uncertainty.disruptions]] entries",)),
    ('[[uncertainty.disruptions]]\nname = "x"\nprobability = 0.1\n'
     'depth = { urbanization = -2.0 }',
     ("disruptions[0].depth.urbanization", "expected the points of population reclassified "
                                           "urban (0-100), found -2.0",)),
    ('[[uncertainty.disruptions]]\nname = "x"\nprobability = 0.1\n'
     'depth = { urbanization = 2.0 }\nrecovery_years = 2',
     ("disruptions[0].recovery_years", "a reclassification (depth.urbanization) is permanent; "
                                       "set recovery_years = 0")),
])
def test_uncertainty_error_messages(tmp_path, block, fragments):
    only(problems_of(tmp_path, block), *fragments)


def test_scenario_override_is_checked_where_written(tmp_path):
    path = plan_with_uncertainty(tmp_path, "")
    text = path.read_text(encoding="utf-8").replace(
        "[scenarios.low]\ninherits", '[scenarios.low.uncertainty.parameters]\n'
        '"growth.services" = { dist = "normal", sd = -2.0 }\n\n[scenarios.low]\ninherits', 1)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(quyhoach.PlanError) as exc:
        quyhoach.load_plan(path)
    problems = [str(p) for p in exc.value.problems]
    assert len(problems) == 1
    only(problems, 'scenarios.low.uncertainty.parameters."growth.services".sd', "is negative")


def test_uncertainty_on_an_indicator_the_scenario_does_not_model(tmp_path):
    path = plan_with_uncertainty(
        tmp_path, '[uncertainty.parameters]\n"indicators.poverty_rate.speed" = '
        '{ dist = "normal", sd = 1.0 }')
    text = path.read_text(encoding="utf-8")
    a = text.index("[scenarios.base.indicators.poverty_rate]")
    b = text.index("[scenarios.base.indicators.forest_cover]")
    text = text[:a] + text[b:]
    text = text.replace("indicators.poverty_rate.speed = -0.1054   # ln(0.90)\n", "")
    text = text.replace("indicators.poverty_rate.speed = -0.2231   # ln(0.80)\n", "")
    a = text.index("[[targets]]\nid = \"poverty_reduction_2021_2030\"")
    b = text.index("[[targets]]\nid = \"ntm_2025\"")
    path.write_text(text[:a] + text[b:], encoding="utf-8")
    with pytest.raises(quyhoach.PlanError) as exc:
        quyhoach.simulate(path, scenarios=["base"], draws=10, seed=1)
    only([str(p) for p in exc.value.problems],
         'uncertainty.parameters."indicators.poverty_rate.speed"', "does not model this indicator")


def test_monte_carlo_needs_a_seed_and_enough_draws():
    from conftest import LAI_CHAU

    with pytest.raises(ValueError, match="needs a seed"):
        quyhoach.simulate(LAI_CHAU, draws=100)
    with pytest.raises(ValueError, match="at least 2"):
        quyhoach.simulate(LAI_CHAU, draws=1, seed=1)


# ================================================================ issue 8: input validation

@pytest.mark.parametrize("block, fragments", [
    ('[uncertainty]\nshocks = 3000', ("uncertainty.shocks: expected a table of shock groups",
                                      "found 3000")),
    ('[uncertainty]\nparameters = "all"', ("uncertainty.parameters: expected a table of "
                                           "parameter paths",)),
    ('[uncertainty.parameters]\n"growth.services" = { dist = { a = 1 }, sd = 1.0 }',
     ('"growth.services".dist', "unknown distribution {'a': 1}", "expected one of")),
    ('[uncertainty.parameters]\n"growth.services" = { dist = "normal" }',
     ('"growth.services".sd', "missing; expected a number (the standard deviation of the "
      "normal distribution)")),
    ('[uncertainty.parameters]\n"growth.services" = { dist = "normal", sd = nan }',
     ('"growth.services".sd', "expected a finite number, found nan")),
    ('[uncertainty.parameters]\n"growth.services" = { dist = "pert", min = -inf, mode = 0.0, '
     'max = 1.0 }', ('"growth.services".min', "expected a finite number, found -inf")),
    ('[uncertainty.parameters]\n"growth.services" = { dist = "normal", sd = 1e308 }',
     ('"growth.services".sd', "1e+308 is wider than every plausible value of growth.services",
      "a range 60 wide")),
    ('[uncertainty.parameters]\n"investment.icor" = { dist = "lognormal", sigma = 5.0 }',
     ('"investment.icor".sigma', "5 is more than 3")),
    ('[uncertainty.shocks.growth]\nsd = { agriculture = "x" }',
     ("shocks.growth.sd.agriculture", "expected a number, found 'x'")),
    ('[uncertainty.shocks.growth]\nsd = { agriculture = 1e308 }',
     ("shocks.growth.sd", "is wider than every plausible value of growth")),
    ('[uncertainty.shocks."tourism.visitor_growth"]\nsd = nan',
     ('"tourism.visitor_growth".sd', "expected a finite number, found nan")),
    ('[uncertainty.shocks.growth]\nsd = { services = 1.0 }\npersistence = nan',
     ("shocks.growth.persistence", "expected a number in (-1, 1), found nan")),
    ('[uncertainty.shocks.growth]\nsd = { services = 1.0 }\n'
     'correlation = [[1, nan, 0, 0], [nan, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]',
     ("shocks.growth.correlation", "expected a 4x4 matrix of finite numbers")),
    ('[uncertainty.shocks.growth]\nsd = { services = 1.0 }\n'
     'correlation = [[1, "0", 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]',
     ("shocks.growth.correlation", "expected a 4x4 matrix of finite numbers")),
    ('[uncertainty.shocks.growth]\nsd = { services = 1.0 }\ncorrelation = [[1, 0], [0]]',
     ("shocks.growth.correlation", "found 2 rows that are not all lists of the same length")),
    ('[[uncertainty.disruptions]]\nname = "x"\nprobability = nan\ndepth = { services = -5.0 }',
     ("disruptions[0].probability", "expected a finite number, found nan")),
    ('[[uncertainty.disruptions]]\nname = "x"\nprobability = 0.1\ndepth = { services = -inf }',
     ("disruptions[0].depth.services", "expected a negative number of points, found -inf")),
    ('[[uncertainty.disruptions]]\nname = "x"\nprobability = 0.1\ndepth = { services = -5.0 }\n'
     'recovery_years = 9223372036854775807',
     ("disruptions[0].recovery_years", "expected a whole number from 0 to 50",
      "found 9223372036854775807")),
    ('[[uncertainty.disruptions]]\nname = 5\nprobability = 0.1\ndepth = { services = -5.0 }',
     ("disruptions[0].name", "expected a name (text), found 5")),
    ('[[uncertainty.disruptions]]\nname = "x"\nprobability = 0.1\ndepth = { services = -5.0 }\n'
     '[[uncertainty.disruptions]]\nname = "x"\nprobability = 0.2\ndepth = { services = -1.0 }',
     ("disruptions[1].name", "'x' is also disruption [0]", "each needs its own name")),
    ("\n".join(f'[[uncertainty.disruptions]]\nname = "d{i}"\nprobability = 0.01\n'
               'depth = { services = -1.0 }' for i in range(21)),
     ("uncertainty.disruptions", "21 disruptions; at most 20")),
], ids=["shocks_number", "parameters_text", "dist_table", "missing_sd", "sd_nan", "min_inf",
        "sd_huge", "sigma_huge", "sector_sd_text", "sector_sd_huge", "shock_sd_nan",
        "persistence_nan", "correlation_nan", "correlation_text", "correlation_ragged",
        "probability_nan", "depth_inf", "recovery_huge", "name_number", "name_duplicate",
        "too_many"])
def test_uncertainty_validation(tmp_path, block, fragments):
    only(problems_of(tmp_path, block), *fragments)


def test_missing_distribution_argument_does_not_say_none(tmp_path):
    problems = problems_of(tmp_path, '[uncertainty.parameters]\n"growth.services" = '
                           '{ dist = "triangular", min = -1.0, max = 1.0 }')
    msg = only(problems, '"growth.services".mode', "missing")
    assert "None" not in msg and "most likely offset of the triangular distribution" in msg


def test_invalid_entries_are_not_kept(tmp_path):
    """A problem found in an entry never leaves a half-checked draw behind."""
    from quyhoach.errors import Problems
    from quyhoach.uncertainty import parse

    problems = Problems("plan.toml")
    u = parse({"parameters": {"growth.services": {"dist": "normal", "sd": -1.0}},
               "shocks": {"growth": {"sd": {"services": -1.0}}}}, "uncertainty", problems)
    assert len(problems.items) == 2 and u.is_empty


def test_run_refuses_nothing_that_check_accepts(tmp_path):
    """A plan `check` accepts also runs a Monte Carlo (a tiny one) without error."""
    path = plan_with_uncertainty(
        tmp_path, '[uncertainty.parameters]\n"growth.services" = { dist = "normal", sd = 2.0 }\n'
        '[uncertainty.shocks.growth]\nsd = { services = 1.0, agriculture = 2.0 }\n'
        'persistence = 0.5\n[[uncertainty.disruptions]]\nname = "flood"\nprobability = 0.5\n'
        'depth = { agriculture = -20.0, tourism = -50.0 }\nrecovery_years = 50')
    from quyhoach.simulate import check_plan

    check_plan(path)
    res = quyhoach.simulate(path, draws=4, seed=2**64 - 1, chunk_size=1)
    assert not res.feasibility().empty


def test_reclassification_events_raise_urbanization_only_after_its_history(tmp_path):
    block = ('[[uncertainty.disruptions]]\nname = "towns"\nprobability = 0.5\n'
             'depth = { urbanization = 2.0 }\n')
    plain = quyhoach.simulate(plan_with_uncertainty(tmp_path, "", "a.toml"),
                              scenarios=["base"], draws=200, seed=3)
    events = quyhoach.simulate(plan_with_uncertainty(tmp_path, block, "b.toml"),
                               scenarios=["base"], draws=200, seed=3)
    a = plain.bands("urbanization_rate").set_index("year")
    b = events.bands("urbanization_rate").set_index("year")
    last = max(events.history.series("urbanization_rate"))
    assert (b.loc[:last, "q50"] == a.loc[:last, "q50"]).all()  # history is never disrupted
    after = b.index[b.index > last]
    # a 50 % chance a year of 2 points: about a point a year above the plain path
    gain = b.loc[after[-1], "mean"] - a.loc[after[-1], "mean"]
    assert gain == pytest.approx(len(after) * 1.0, rel=0.25)
    assert (b.loc[after, "q95"] <= 100).all()
    # the economy does not move: the event hits the urban share only
    assert events.values("base", "grdp_real").tolist() == plain.values("base", "grdp_real").tolist()


def test_a_plans_disruptions_merge_with_its_models_by_name():
    from quyhoach.uncertainty import merge

    model = {"disruptions": [{"name": "reclassification_1", "probability": 0.03},
                             {"name": "pandemic", "probability": 0.01}]}
    plan = {"disruptions": [{"name": "pandemic", "probability": 0.05}]}
    merged = merge(model, plan)["disruptions"]
    assert merged == [{"name": "pandemic", "probability": 0.05},
                      {"name": "reclassification_1", "probability": 0.03}]


def test_shocks_on_an_indicator_speed_are_drawn(tmp_path):
    """A yearly shock on a bounded indicator's speed widens its band after its history
    (it was once keyed to a start year it never had, and silently never drawn)."""
    block = ('[uncertainty.shocks."indicators.forest_cover.speed"]\nsd = 1.0\n'
             'persistence = 0.0\n')
    res = quyhoach.simulate(plan_with_uncertainty(tmp_path, block), scenarios=["base"],
                            draws=300, seed=2)
    b = res.bands("forest_cover").set_index("year")
    assert b.loc[2030, "q95"] - b.loc[2030, "q05"] > 2.0
    first = b.index.min()  # the last observed year: history, the same in every draw
    assert b.loc[first, "q95"] == b.loc[first, "q05"]
