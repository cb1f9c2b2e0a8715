"""Run a plan: every scenario through the kernel, results labelled and checked."""

from __future__ import annotations

import numpy as np

from . import montecarlo
from .assemble import KernelInputs, build_baseline, fixed_through, kernel_inputs
from .errors import PlanError, Problems, ProblemsError, did_you_mean
from .inputs import load_history
from .kernels import projection as k
from .plan import Plan, load_plan
from .results import DrawSpool, Results, ScenarioRun


def run_kernel(inputs: KernelInputs, shocks: np.ndarray) -> np.ndarray:
    """Run the projection kernel on one scenario.

    Parameters
    ----------
    inputs : KernelInputs
    shocks : numpy.ndarray, shape (n_draws, n_years, N_CHANNELS)
        Additive deviations from the central assumptions (zeros: central path).

    Returns
    -------
    numpy.ndarray, shape (n_draws, n_years, N_VARIABLES)
        Engine units (fractions for shares and rates).
    """
    n_years = inputs.rates.shape[0]
    if shocks.shape[1:] != (n_years, k.N_CHANNELS) or shocks.dtype != np.float64:
        raise ValueError(f"shocks must be float64 of shape (n_draws, {n_years}, "
                         f"{k.N_CHANNELS}); got {shocks.dtype} {shocks.shape}")
    out = np.empty((shocks.shape[0], n_years, k.N_VARIABLES))
    k.simulate_paths(inputs.rates, np.ascontiguousarray(shocks), inputs.growth_actual,
                     inputs.anchor_shares, inputs.grdp0, inputs.hist, inputs.jump,
                     inputs.ind_form, inputs.ind_lower, inputs.ind_upper, out)
    return out


def simulate(plan, scenarios=None, *, draws: int = 0, seed: int | None = None,
             chunk_size: int = 32768, keep_draws: bool = False,
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
    if draws and seed is None:
        raise ValueError("a Monte Carlo run needs a seed: simulate(plan, draws=..., seed=...)")
    if draws < 0 or draws == 1:
        raise ValueError(f"draws must be 0 (central path only) or at least 2, got {draws}")
    if not isinstance(plan, Plan):
        plan = load_plan(plan)
    history = load_history(plan.inputs_dir).with_assumed(plan.assumed_data, plan.path)
    baseline = build_baseline(plan, history)
    names = plan.scenario_names if scenarios is None else list(scenarios)
    problems, runs = Problems(str(plan.path)), []
    for name in names:
        if name not in plan.scenario_names:
            problems.add("scenarios", f"no scenario '{name}'"
                         + did_you_mean(name, plan.scenario_names))
    problems.raise_if_any(PlanError)
    for name in names:
        try:
            inputs = kernel_inputs(plan, plan.scenario(name), baseline)
        except ProblemsError as exc:
            problems.items.extend(exc.problems)
            continue
        fixed = fixed_through(plan, inputs)
        _check_targets_computable(plan, name, fixed, problems)
        central = run_kernel(inputs, np.zeros((1, len(plan.years), k.N_CHANNELS)))[0]
        runs.append(ScenarioRun(plan.scenario(name), central, fixed, inputs))
    problems.raise_if_any(PlanError)
    spool = DrawSpool(plan) if keep_draws and draws else None
    summaries = {}
    for run in runs if draws else []:
        sink = spool.sink(run.scenario.name) if spool else None
        summaries[run.scenario.name] = montecarlo.run(
            plan, run.scenario, run.inputs, baseline, draws=draws, seed=seed,
            chunk_size=chunk_size, on_chunk=sink, progress=progress)
        if spool:
            spool.close()
    return Results(plan, history, baseline, runs, summaries, draws, seed, spool)


def _check_targets_computable(plan: Plan, scenario: str, fixed: dict, problems) -> None:
    for i, t in enumerate(plan.targets):
        if fixed.get(t.indicator, 0) < 0:
            problems.add(f"targets[{i}] (id '{t.id}')",
                         f"scenario '{scenario}' does not model {t.indicator} (no input "
                         "data or no assumptions for it); add them or remove the target")
