"""What it would take, and what drives a miss: analyses on a run's Monte Carlo.

Both rerun the Monte Carlo of one scenario with **common random numbers**: every source
of uncertainty has its own counter-based stream, so a run with a lever moved, or with
one source fixed at its centre, sees exactly the same draws of every other source.

``effort`` finds, for each target, the shift of the plan lever that drives it (sector
growth, visitor growth, net migration, ...) at which the target is met in a given share
of draws (80 % by default): a root search on the quantile of the target's metric, smooth
in the shift because the draws do not change.

``drivers`` measures how much of each target's variance each source accounts for:
the share of the variance that disappears when that source alone is fixed at its
centre (``1 - Var(metric | source fixed) / Var(metric)``, a total-effect index; with
independent sources and additive effects it is the first-order Sobol index).

Where the misses concentrate in the sampled inputs, and each input's effect (a tornado
chart), are in ``quyhoach.misses``.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from . import montecarlo
from . import targets as tg
from .assemble import CHANNELS, FORM_SCALE, PERCENT, first_projected_index
from .kernels import layout as L
from .registry import BY_NAME, FORMS, INDICATORS, LEVERS, PARAMETER_BY_PATH, VARIABLE_INDEX

STEP = {"%/yr": 1.0, "per 1000": 2.0, "ratio": 0.2, "logit points/yr": 0.05}
MAX_DOUBLINGS = 7  # the bracket grows to 2**7 steps before the target is called unreachable
DRAWS = 2000


def seed_of(results, seed: int | None) -> int:
    """The seed given, else the run's, else 0 (a run without draws)."""
    for s in (seed, results.seed):
        if s is not None:
            return int(s)
    return 0


def _lever(target, scenario, plan, baselines) -> list[tuple[str, int, float, int]] | None:
    """(plan key, kernel channel, file→kernel factor, first year index) of each rate the
    target's lever moves; None when no single lever drives it."""
    if target.indicator in INDICATORS:
        spec = scenario.indicators.get(target.indicator)
        if spec is None:
            return None
        i = INDICATORS.index(target.indicator)
        first = int(baselines.root.jump[L.H_INDICATOR + i]) + 1
        return [(f"indicators.{target.indicator}.speed", L.C_INDICATOR + i,
                 FORM_SCALE[spec.form], first)]
    paths = LEVERS.get(target.indicator)
    if not paths:
        return None
    starts = first_projected_index(plan, baselines)
    return [(p, CHANNELS[p], 0.01 if p in PERCENT else 1.0, starts[p]) for p in paths
            if p in starts]


def _step(path: str) -> float:
    if path.startswith("indicators."):
        return 1.0
    return STEP.get(PARAMETER_BY_PATH[path].unit, 1.0)


def _shifted(inputs, lever, delta: float, end: int):
    """Kernel inputs with the lever's rates moved by ``delta`` (file units) up to ``end``."""
    rates = inputs.rates.copy()
    for _, channel, factor, first in lever:
        rates[:, first:end + 1, channel] += delta * factor
    return dataclasses.replace(inputs, rates=rates)


def _aim(target, central: float) -> tuple[str, float] | None:
    """(comparison, value) a chance is sought for: an ``about`` target aims at the
    edge of its band nearer the central projection; None when the central projection
    is inside the band already (the spread of outcomes, not a lever, limits its chance)."""
    if target.comparison != "about":
        return target.comparison, target.value
    if central < target.value - target.tolerance:
        return ">=", target.value - target.tolerance
    if central > target.value + target.tolerance:
        return "<=", target.value + target.tolerance
    return None


def effort(results, scenario: str | None = None, *, probability: float = 0.8,
           draws: int = DRAWS, seed: int | None = None, targets=None) -> pd.DataFrame:
    """The lever shift that meets each target in ``probability`` of the draws.

    Parameters
    ----------
    results : quyhoach.Results
        A simulated run (it needs the plan and its kernel inputs).
    scenario : str, optional
        Default: the first scenario.
    probability : float
        The chance sought, 0 < probability < 1.
    draws, seed : int
        The Monte Carlo of each evaluation (the same draws every time); seed defaults
        to the run's.
    targets : list of str, optional
        Target ids to search for (default: every target); each search reruns the
        Monte Carlo some ten times.

    Returns
    -------
    pandas.DataFrame
        One row per target: target_id, lever (plan keys moved), lever_unit,
        shift (added to the lever in every year from its first projected year to the
        target year; NaN when out of reach or no lever), lever_mean (the lever's
        average over those years after the shift; NaN for a lever of several keys),
        probability_before,
        probability_after (re-measured at the shift), needed_rate and its unit (what
        the target's own indicator then averages over the years left, central path),
        best_observed (the highest yearly rate in the inputs, for comparison), beyond_history
        (the needed rate exceeds it), note and note_vi (English and Vietnamese).
    """
    if not 0.0 < probability < 1.0:
        raise ValueError(f"probability must lie strictly between 0 and 1, got {probability}")
    plan = results.plan
    name = scenario or results.scenarios[0]
    run = results._runs[name]
    sc = plan.scenario(name)
    ua = montecarlo.uncertainty_arrays(plan, sc, results.baselines)
    seed = seed_of(results, seed)
    rows = []
    base = montecarlo.target_draws(plan, run.inputs, ua, draws=draws, seed=seed)
    for j, t in enumerate(plan.targets):
        if targets is None or t.id in targets:
            rows.append(_effort_row(results, name, run, ua, j, t, base[:, j], probability,
                                    draws, seed))
    return pd.DataFrame(rows)


# Why an effort row has no shift, or what to read into it: (Vietnamese, English).
NOTES = {
    "no_lever": ("không có đòn bẩy nào của quy hoạch quyết định riêng chỉ tiêu này",
                 "no single plan lever drives this indicator"),
    "past": ("các năm của đòn bẩy đều trước năm mục tiêu (đã có số liệu)",
             "the lever's years are all before the target year (history)"),
    "inside": ("dự báo trung tâm đã nằm trong khoảng mục tiêu: độ phân tán của kết quả, "
               "không phải đòn bẩy, giới hạn khả năng đạt",
               "the central projection is inside the band already: the spread of outcomes, "
               "not a lever, limits the chance"),
    "out_of_reach": ("không thể đạt chỉ bằng đòn bẩy này",
                     "out of reach by moving this lever alone"),
    "narrow": ("khoảng mục tiêu (± {tolerance:g}) hẹp hơn độ phân tán của kết quả: ở biên "
               "của nó trong {p:.0%} số lần, mục tiêu đạt trong {after:.0%}",
               "the band (± {tolerance:g}) is narrower than the spread of outcomes: at its "
               "edge in {p:.0%} of draws, the target is met in {after:.0%}"),
    "spare": ("đã cao hơn khả năng cần: mức điều chỉnh là phần dư",
              "already above the chance sought: the shift is the room to spare"),
}


def _note(row: dict, code: str, **values) -> None:
    vi, en = NOTES[code]
    row["note"], row["note_vi"] = en.format(**values), vi.format(**values)


def _effort_row(results, name, run, ua, j, t, metric, probability, draws, seed) -> dict:
    plan = results.plan
    row = {"target_id": t.id, "lever": "", "lever_unit": "", "shift": np.nan,
           "lever_mean": np.nan, "probability_before": float(np.mean(tg.is_met(t, metric))),
           "probability_after": np.nan, "needed_rate": np.nan, "needed_unit": "",
           "best_observed": np.nan, "beyond_history": False, "note": "", "note_vi": ""}
    lever = _lever(t, plan.scenario(name), plan, results.baselines)
    if not lever:
        _note(row, "no_lever")
        return row
    end = t.year - plan.base_year
    lever = [x for x in lever if x[3] <= end]
    if not lever:
        _note(row, "past")
        return row
    row["lever"] = ", ".join(x[0] for x in lever)
    row["lever_unit"] = lever_unit(lever[0][0], plan.scenario(name))
    aim = _aim(t, float(run.metrics[j]))
    if aim is None:
        _note(row, "inside")
        return row
    comparison, value = aim
    q = 1.0 - probability if comparison == ">=" else probability

    def gap(delta: float) -> float:
        m = montecarlo.target_draws(plan, _shifted(run.inputs, lever, delta, end), ua,
                                    draws=draws, seed=seed)[:, j]
        with np.errstate(invalid="ignore"):
            return float(np.nanquantile(m, q)) - value

    delta = _root(gap, _step(lever[0][0]))
    if delta is None:
        _note(row, "out_of_reach")
        return row
    shifted = _shifted(run.inputs, lever, delta, end)
    after = montecarlo.target_draws(plan, shifted, ua, draws=draws, seed=seed)[:, j]
    row.update(shift=delta, lever_mean=_lever_mean(plan.scenario(name), lever, delta, end),
               probability_after=float(np.mean(tg.is_met(t, after))))
    row.update(_needed(results, name, t, shifted))
    if t.comparison == "about" and row["probability_after"] < probability - 0.02:
        _note(row, "narrow", tolerance=t.tolerance, p=probability,
              after=row["probability_after"])
    elif row["probability_before"] > probability:
        _note(row, "spare")
    return row


def _root(gap, step: float) -> float | None:
    """The shift where ``gap`` changes sign, searching outward from 0 (None: none)."""
    g0 = gap(0.0)
    if g0 == 0.0:
        return 0.0
    direction = 1.0 if g0 < 0 else -1.0  # the metric grows with the lever
    lo, g_lo = 0.0, g0
    for k in range(MAX_DOUBLINGS + 1):
        hi = direction * step * 2**k
        g_hi = gap(hi)
        if math.isnan(g_hi):
            return None
        if (g_hi > 0) != (g_lo > 0):
            return brentq(gap, min(lo, hi), max(lo, hi), xtol=1e-4 * step)
        lo, g_lo = hi, g_hi
    return None


def lever_unit(path: str, scenario) -> str:
    """The file unit of a plan key (an indicator speed's: its form's)."""
    if path.startswith("indicators."):
        return FORMS[scenario.indicators[path.split(".")[1]].form]
    return PARAMETER_BY_PATH[path].unit


def _lever_mean(scenario, lever, delta: float, end: int) -> float:
    """The lever's average (file units) over its shifted years, after the shift; NaN for
    a lever of several keys (each sector's growth moved by the same points)."""
    if len(lever) > 1:
        return float("nan")
    path, _, _, first = lever[0]
    if path.startswith("indicators."):
        values = scenario.indicators[path.split(".")[1]].speed
    else:
        values = scenario.values[path]
    return float(np.nanmean(values[first:end + 1])) + delta


def _needed(results, name, t, shifted) -> dict:
    """The target's own indicator over the years left, central path at the shift, and
    the best yearly rate the inputs show."""
    plan = results.plan
    run = results._runs[name]
    regional, _, _ = montecarlo.central(plan, shifted)
    r = results._order.index(t.region or plan.province)
    x = regional[r, :, VARIABLE_INDEX[t.indicator]][None, :] * BY_NAME[t.indicator].factor
    _, proj, unit, _ = tg.required_effort(t, x, plan.base_year,
                                          run.region_fixed[r][t.indicator])
    best = _best_observed(results.history, t.indicator, unit)
    return {"needed_rate": float(proj[0]), "needed_unit": unit, "best_observed": best,
            "beyond_history": bool(np.isfinite(best) and proj[0] > best)}


def _best_observed(history, indicator: str, unit: str) -> float:
    """The highest yearly growth (%/yr) or change (points/yr) in the inputs' series of
    the indicator (real GRDP: observed real growth); NaN when the inputs have none."""
    if indicator == "grdp_real":
        growth = history.series("grdp_growth")
        return max(growth.values()) if growth else np.nan
    series = history.series(indicator)
    years = sorted(series)
    pairs = [(series[a], series[b]) for a, b in zip(years, years[1:], strict=False)
             if b == a + 1]
    if not pairs:
        return np.nan
    if unit == "%/yr":
        return max((b / a - 1.0) * 100.0 for a, b in pairs if a > 0)
    return max(b - a for a, b in pairs)


def drivers(results, scenario: str | None = None, *, draws: int = DRAWS,
            seed: int | None = None) -> pd.DataFrame:
    """Each uncertain source's share of each target's variance.

    For every source (a parameter draw, a shock group, a disruption) the Monte Carlo is
    rerun with that source alone fixed at its centre, on the same draws of the others;
    its share is ``1 - Var(fixed) / Var(all)``.

    Returns
    -------
    pandas.DataFrame
        One row per target and source: target_id, source, share (0-1; NaN when the
        target's metric does not vary), sd_all, sd_fixed (target units).
    """
    plan = results.plan
    name = scenario or results.scenarios[0]
    run = results._runs[name]
    ua = montecarlo.uncertainty_arrays(plan, plan.scenario(name), results.baselines)
    seed = seed_of(results, seed)
    every = montecarlo.target_draws(plan, run.inputs, ua, draws=draws, seed=seed)
    with np.errstate(invalid="ignore"):
        var_all = np.nanvar(every, axis=0)
    rows = []
    for source, reduced in without_each_source(ua):
        fixed = montecarlo.target_draws(plan, run.inputs, reduced, draws=draws, seed=seed)
        with np.errstate(invalid="ignore", divide="ignore"):
            var_fixed = np.nanvar(fixed, axis=0)
            share = np.where(var_all > 0, 1.0 - var_fixed / var_all, np.nan)
        for j, t in enumerate(plan.targets):
            rows.append({"target_id": t.id, "source": source, "share": float(share[j]),
                         "sd_all": float(np.sqrt(var_all[j])),
                         "sd_fixed": float(np.sqrt(var_fixed[j]))})
    return pd.DataFrame(rows)


def without_each_source(ua: dict):
    """(source name, uncertainty arrays without it) for every source drawn."""
    for prefix in ("p", "s", "e"):
        for i, source in enumerate(ua[f"{prefix}_name"]):
            reduced = {key: np.delete(arr, i, axis=0) if key.startswith(prefix + "_") else arr
                       for key, arr in ua.items()}
            yield source, reduced
