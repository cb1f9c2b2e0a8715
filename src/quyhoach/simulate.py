"""Run a plan: its compiled scenarios (``quyhoach.compile``) through the Monte Carlo.

``quyhoach check`` runs the compile step alone, which raises whatever ``quyhoach run``
would refuse, so it fails on whatever a run would fail on.
"""

from __future__ import annotations

import numbers
from typing import cast

import numpy as np

from . import montecarlo
from .assemble import KernelInputs
from .compile import compile_plan
from .errors import OptionError
from .kernels import layout as L
from .kernels import projection as k
from .results import DrawSpool, Results

MAX_SEED = 2**64 - 1  # seeds are unsigned 64-bit


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
             progress: bool = False, on_draws=None, bands="reported") -> Results:
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
    on_draws : callable, optional
        ``on_draws(scenario)`` returns ``on_chunk(first_draw, values)``, called with every
        chunk of draws (values float64, shape (draws in chunk, n_series), engine units;
        the first n_regions × n_years × n_variables series in that order): the draws
        themselves, in memory (``quyhoach.backtest`` scores them). Not with keep_draws.
    bands : "reported", "all" or a list of variable names
        Which bands the Monte Carlo computes (target probabilities and every target's
        quantiles are always computed, from every draw). "reported" (default): every
        variable at the milestone years (the base year, every fifth year, the horizon,
        the targets' years), every target's variable at every year in its region, and
        the fan charts' variables at every year in the province
        (``montecarlo.band_series``). "all": every region × variable × year (the
        reduction then costs about a third of the run). Variable names: the reported
        bands and these variables at every year. A band computed either way has the
        same bits.

    Returns
    -------
    Results

    Raises
    ------
    PlanError, InputDataError
        With every problem found across the plan, its inputs and all scenarios.
    """
    _check_options(draws, seed, chunk_size)
    check_bands(bands)
    compiled = compile_plan(plan, scenarios)
    plan, history, baseline, runs = (compiled.plan, compiled.history, compiled.baselines,
                                     compiled.runs)
    spool = (DrawSpool(plan, history, draws, seed, directory=spool_dir)
             if keep_draws and draws else None)
    summaries = {}
    for run in runs if draws else []:
        sink = spool.sink(run.scenario.name) if spool else \
            on_draws(run.scenario.name) if on_draws else None
        summaries[run.scenario.name] = montecarlo.run(
            plan, run.scenario, cast(KernelInputs, run.inputs), baseline, draws=draws,
            seed=cast(int, seed),
            chunk_size=chunk_size, on_chunk=sink, progress=progress, bands=bands)
        if spool:
            spool.close()
    return Results(plan, history, baseline, runs, summaries, draws, seed, spool)


def check_plan(plan) -> Results:
    """Everything ``quyhoach run`` checks before it writes anything: ``compile_plan``.

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
    compiled = compile_plan(plan)
    results = Results(compiled.plan, compiled.history, compiled.baselines, compiled.runs)
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


def check_bands(bands) -> None:
    """Refuse a ``bands`` option that names nothing the Monte Carlo can reduce."""
    from .errors import did_you_mean
    from .registry import VARIABLE_INDEX

    if isinstance(bands, str):
        if bands not in montecarlo.BANDS:
            raise OptionError(f"bands must be 'reported', 'all' or a list of variable "
                              f"names, got {bands!r}" + did_you_mean(bands, montecarlo.BANDS))
        return
    for name in bands:
        if name not in VARIABLE_INDEX:
            raise OptionError(f"bands: unknown variable {name!r}"
                              + did_you_mean(str(name), VARIABLE_INDEX))


def _whole(x) -> bool:
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


