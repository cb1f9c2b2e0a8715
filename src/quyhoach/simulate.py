"""Run a plan: every scenario through the kernel, results labelled and checked.

The central run also checks everything a Monte Carlo run would refuse (each
scenario's uncertainty in kernel form) and that no projected figure overflows, so
``quyhoach check`` fails on whatever ``quyhoach run`` would fail on.
"""

from __future__ import annotations

import numbers
from typing import cast

import numpy as np

from . import montecarlo
from .assemble import KernelInputs, build_baselines, kernel_inputs, unmodelled
from .errors import OptionError, PlanError, Problems, ProblemsError, did_you_mean
from .inputs import load_history
from .kernels import layout as L
from .kernels import projection as k
from .layout import check_kernels
from .plan import Plan, load_plan
from .registry import VARIABLE_INDEX, VARIABLES
from .results import DrawSpool, Results, ScenarioRun
from .status import region_statuses

MAX_SEED = 2**64 - 1  # seeds are unsigned 64-bit
LARGEST = 1e100  # no figure in any unit the model uses comes near this
FAR = 10.0  # a level target this many times off every projection is in the wrong unit


def run_kernel(inputs: KernelInputs, shocks: np.ndarray) -> np.ndarray:
    """Run the projection kernel on one scenario.

    Parameters
    ----------
    inputs : KernelInputs
    shocks : numpy.ndarray, shape (n_draws, n_regions, n_years, N_CHANNELS)
        Additive deviations from the central assumptions (zeros: central path).

    Returns
    -------
    numpy.ndarray, shape (n_draws, n_regions, n_years, N_VARIABLES)
        Engine units (fractions for shares and rates); regions in kernel order.
    """
    n_regions, n_years = inputs.rates.shape[:2]
    if shocks.shape[1:] != (n_regions, n_years, L.N_CHANNELS) or shocks.dtype != np.float64:
        raise ValueError(f"shocks must be float64 of shape (n_draws, {n_regions}, {n_years}, "
                         f"{L.N_CHANNELS}); got {shocks.dtype} {shocks.shape}")
    out = np.empty((shocks.shape[0], n_regions, n_years, L.N_VARIABLES))
    k.simulate_paths(inputs.rates, np.ascontiguousarray(shocks), *inputs.kernel_args(), out)
    return out


def simulate(plan, scenarios=None, *, draws: int = 0, seed: int | None = None,
             chunk_size: int = 32768, keep_draws: bool = False, spool_dir=None,
             progress: bool = False) -> Results:
    """Project every scenario of a plan: the central path and, with draws, a Monte Carlo.

    Parameters
    ----------
    plan : Plan or str or pathlib.Path
        A loaded plan or the path of a plan file.
    scenarios : list of str, optional
        Scenario names to run; all by default.
    draws : int
        Monte Carlo draws per scenario; 0 runs the central path only.
    seed : int, optional
        Fixes every random number (with the plan and inputs). Required when draws > 0.
    chunk_size : int
        Draws simulated and reduced at a time: bounds memory, never changes results.
    keep_draws : bool
        Also keep every draw (float32, spooled to a temporary directory) so that
        ``to_parquet`` writes them, partitioned by scenario.
    spool_dir : str or pathlib.Path, optional
        Folder for the kept draws' spool (a hidden ``.quyhoach-spool-*`` removed with
        the results, or by the next run if this one is killed); default the system
        temporary folder. Best the output's parent folder: the draws are then linked
        into the output, not copied.
    progress : bool
        Progress bar on stderr for runs longer than a second.

    Returns
    -------
    Results

    Raises
    ------
    PlanError, InputDataError
        With every problem found across the plan, its inputs and all scenarios.
    """
    check_kernels()
    _check_options(draws, seed, chunk_size)
    if not isinstance(plan, Plan):
        plan = load_plan(plan)
    history = load_history(plan.inputs_dir).with_assumed(plan.assumed_data, plan.path)
    baseline = build_baselines(plan, history)
    names = plan.scenario_names if scenarios is None else list(scenarios)
    problems = Problems(str(plan.path))
    for name in names:
        if name not in plan.scenario_names:
            problems.add("scenarios", f"no scenario '{name}'"
                         + did_you_mean(name, plan.scenario_names))
    problems.raise_if_any(PlanError)
    runs = [run for run in (_central_run(plan, name, baseline, history, problems) for name in names)
            if run is not None]
    if not problems.items:
        _check_level_targets(plan, runs, problems)
    problems.raise_if_any(PlanError)
    spool = (DrawSpool(plan, history, draws, seed, directory=spool_dir)
             if keep_draws and draws else None)
    summaries = {}
    for run in runs if draws else []:
        sink = spool.sink(run.scenario.name) if spool else None
        summaries[run.scenario.name] = montecarlo.run(
            plan, run.scenario, cast(KernelInputs, run.inputs), baseline, draws=draws,
            seed=cast(int, seed),
            chunk_size=chunk_size, on_chunk=sink, progress=progress)
        if spool:
            spool.close()
    return Results(plan, history, baseline, runs, summaries, draws, seed, spool)


def check_plan(plan) -> Results:
    """Everything ``quyhoach run`` checks before it writes anything.

    Loads the plan and its inputs, runs every scenario's central path, checks its
    uncertainty as the Monte Carlo would read it, and builds the feasibility table.

    Parameters
    ----------
    plan : Plan or str or pathlib.Path

    Returns
    -------
    Results
        The central paths (no draws).

    Raises
    ------
    PlanError, InputDataError
        With every problem found.
    """
    results = simulate(plan)
    results.feasibility()
    return results


def _check_options(draws, seed, chunk_size) -> None:
    """Refuse run options the Monte Carlo cannot take, before any work is done."""
    if not _whole(draws) or draws < 0 or draws == 1:
        raise OptionError(f"draws must be 0 (central path only) or at least 2, got {draws!r}")
    if draws and seed is None:
        raise OptionError("a Monte Carlo run needs a seed: simulate(plan, draws=..., seed=...)")
    if seed is not None and (not _whole(seed) or not 0 <= seed <= MAX_SEED):
        raise OptionError(f"the seed must be a whole number from 0 to 2**64 - 1, got {seed!r}")
    if not _whole(chunk_size) or chunk_size < 1:
        raise OptionError(f"chunk_size must be a whole number >= 1, got {chunk_size!r}")


def _whole(x) -> bool:
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


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
    """Calendar years a target's metric reads (see ``quyhoach.targets.target_metric``)."""
    if t.kind in ("level", "share"):
        return np.array([t.year])
    if t.kind == "cumulative":
        return np.arange(t.first_year, t.year + 1)
    return np.array([t.first_year - 1, t.year])
