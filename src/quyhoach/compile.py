"""The compile step: a plan and its history → every scenario's kernel inputs, checked.

One function, ``compile_plan``, reads the inputs, builds every region's baseline, turns
each scenario into kernel arrays (``quyhoach.assemble``), reads its uncertainty as the
Monte Carlo will, and runs its central path through the Monte Carlo's own driver with
the shocks off; it raises every problem any of these finds, together. ``quyhoach check``
runs it and nothing else; ``quyhoach.simulate`` runs it, then the draws.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import montecarlo
from .assemble import Baselines, build_baselines, kernel_inputs, unmodelled
from .errors import PlanError, Problems, ProblemsError, did_you_mean
from .inputs import History, load_history
from .layout import check_kernels
from .plan import Plan, load_plan
from .registry import VARIABLE_INDEX, VARIABLES
from .results import ScenarioRun
from .status import region_statuses
from .targets import kernel_terms

LARGEST = 1e100  # no figure in any unit the model uses comes near this
FAR = 10.0  # a level target this many times off every projection is in the wrong unit


@dataclass(frozen=True)
class Compiled:
    """A plan ready for the Monte Carlo: its inputs, baselines and central runs."""

    plan: Plan
    history: History
    baselines: Baselines
    runs: list


def compile_plan(plan, scenarios=None) -> Compiled:
    """Compile a plan: every scenario's kernel inputs and central path, every problem.

    Parameters
    ----------
    plan : Plan or str or pathlib.Path
    scenarios : list of str, optional
        Scenario names; all by default.

    Raises
    ------
    PlanError, InputDataError
        With every problem found across the plan, its inputs and all scenarios.
    """
    check_kernels()
    if not isinstance(plan, Plan):
        plan = load_plan(plan)
    history = load_history(plan.inputs_dir).with_assumed(plan.assumed_data, plan.path)
    baselines = build_baselines(plan, history)
    names = plan.scenario_names if scenarios is None else list(scenarios)
    problems = Problems(str(plan.path))
    for name in names:
        if name not in plan.scenario_names:
            problems.add("scenarios", f"no scenario '{name}'"
                         + did_you_mean(name, plan.scenario_names))
    problems.raise_if_any(PlanError)
    runs = [run for run in (_central_run(plan, name, baselines, history, problems)
                            for name in names) if run is not None]
    if not problems.items:
        _check_level_targets(plan, runs, problems)
    problems.raise_if_any(PlanError)
    return Compiled(plan, history, baselines, runs)


def _central_run(plan: Plan, name: str, baseline, history,
                 problems: Problems) -> ScenarioRun | None:
    """One scenario's central path, or None; its problems (and those its Monte Carlo
    would meet) are added to ``problems``."""
    scenario = plan.scenario(name)
    try:
        inputs = kernel_inputs(plan, scenario, baseline)
    except ProblemsError as exc:
        problems.items.extend(exc.problems)
        inputs = None
    try:
        montecarlo.uncertainty_arrays(plan, scenario, baseline)
    except ProblemsError as exc:
        problems.items.extend(exc.problems)
    if inputs is None:
        return None
    regional, metrics, met = montecarlo.central(plan, inputs)
    statuses = region_statuses(plan.years, baseline, inputs, history)
    # per region, the last year history fixes (effort counts from the year after it);
    # the base year when none is (investment); -1 where the scenario does not model it
    fixed = [{var: -1 if var in unmodelled(inputs, r) else _last_known(s)
              for var, s in status.items()} for r, status in enumerate(statuses)]
    order = plan.regions.order(plan.province)
    for r, region in enumerate(order):
        where = f"scenarios.{name}" + (f" [region {region}]" if r < len(order) - 1 else "")
        _check_magnitudes(plan, where, regional[r], fixed[r], problems)
    _check_targets_computable(plan, name, fixed, regional, problems)
    return ScenarioRun(scenario, regional, tuple(fixed), tuple(statuses), inputs, metrics, met)


def _last_known(status: np.ndarray) -> int:
    known = np.flatnonzero(status != "projected")
    return int(known[-1]) if known.size else 0


def _check_magnitudes(plan: Plan, where: str, central: np.ndarray, fixed: dict,
                      problems: Problems) -> None:
    """A projected figure that overflows says the assumptions compound beyond meaning.

    Each value alone may be possible (a confirmed 300 %/yr growth, a buoyancy of 8)
    while their compound over decades is not; the first such figure is reported.
    """
    with np.errstate(invalid="ignore", over="ignore"):
        for i, var in enumerate(VARIABLES):
            j = fixed.get(var.name, -1)
            if j < 0:
                continue  # not modelled in this scenario
            x = central[j + 1:, i] * var.factor
            bad = np.flatnonzero(np.isinf(x) | (np.abs(x) > LARGEST))
            if len(bad):
                year = plan.base_year + j + 1 + int(bad[0])
                problems.add(where, f"the projection of {var.name} reaches "
                             f"{x[bad[0]]:.3g} {var.unit} in {year}: the assumptions compound "
                             "beyond any meaningful figure; check this scenario's largest "
                             "growth rates, elasticities and confirmed values")
                return


def _check_targets_computable(plan: Plan, scenario: str, fixed: list, regional: np.ndarray,
                              problems) -> None:
    """Every target must have the values it is measured on in this scenario's path."""
    order = plan.regions.order(plan.province)
    for i, t in enumerate(plan.targets):
        where = f"targets[{i}] (id '{t.id}')"
        r = order.index(t.region or plan.province)
        central = regional[r]
        if fixed[r].get(t.indicator, 0) < 0:
            if t.region:
                problems.add(where, f"{t.indicator} is not projected in region '{t.region}' "
                             "(regions.blocks leaves its block province-wide, or the "
                             "member's inputs lack it); add the block or remove the target")
                continue
            problems.add(where, f"scenario '{scenario}' does not model {t.indicator} (no input "
                         "data or no assumptions for it); add them or remove the target")
            continue
        years = _target_years(t, plan.base_year)
        x = central[years - plan.base_year, VARIABLE_INDEX[t.indicator]]
        if np.isnan(x).any():
            hint = (f" (it needs [scenarios.{scenario}.exchange_rate]: vnd_per_usd, "
                    "reference_year and depreciation)" if t.indicator == "grdp_per_capita_usd"
                    else " (not observed there, and not projected)")
            missing = ", ".join(str(y) for y in years[np.isnan(x)])
            problems.add(where, f"scenario '{scenario}' has no {t.indicator} for {missing}"
                         f"{hint}; add what it needs or change the target's years")


def _check_level_targets(plan: Plan, runs: list[ScenarioRun], problems: Problems) -> None:
    """A level target far from every scenario's projection is likely in the wrong unit.

    A target more than ``FAR`` times above or below what the closest scenario projects
    for it (thousand persons for persons, billion for million VND) is refused unless
    the planner confirms it (``confirm = true``).
    """
    for i, t in enumerate(plan.targets):
        var = VARIABLES[VARIABLE_INDEX[t.indicator]]
        if t.confirmed or var.kind != "level" or t.kind not in ("level", "cumulative") \
                or t.value <= 0 or not runs:
            continue
        years = _target_years(t, plan.base_year) - plan.base_year
        region = plan.regions.order(plan.province).index(t.region or plan.province)
        projected = {r.scenario.name: float(r.regional[region, years,
                                                       VARIABLE_INDEX[t.indicator]].sum())
                     * var.factor for r in runs}
        ratios = {s: max(t.value / p, p / t.value) for s, p in projected.items() if p > 0}
        if ratios and min(ratios.values()) > FAR:
            closest = min(ratios, key=lambda s: ratios[s])
            side = "above" if t.value > projected[closest] else "below"
            problems.add(f"targets[{i}] (id '{t.id}').value",
                         f"{t.value:g} {var.unit} is {ratios[closest]:.0f} times {side} what "
                         f"every scenario projects (closest: {projected[closest]:.4g} in "
                         f"'{closest}'); check the unit, or if it is meant, add confirm = true "
                         "to this target")


def _target_years(t, base_year: int) -> np.ndarray:
    """Calendar years a target's metric reads (``targets.kernel_terms``): the year (level,
    share), the period (cumulative), or the year before the period and its last year."""
    _, start, end = kernel_terms(t, base_year)
    if t.kind == "cumulative":
        return np.arange(start, end + 1) + base_year
    return np.unique([start, end]) + base_year
