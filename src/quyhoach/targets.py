"""Evaluate plan targets on projected paths, and the effort needed to meet them.

Works on an array of draws (one row for the central path) in the planners' units, so
the deterministic table and the Monte Carlo probabilities share one definition.
Averages over periods are geometric: growth over "2021-2030" is
``(x[2030] / x[2020]) ** (1 / 10) - 1``.
"""

from __future__ import annotations

import numpy as np

from .plan import Target
from .variables import BY_NAME


def target_metric(target: Target, x: np.ndarray, base_year: int) -> np.ndarray:
    """The quantity a target is about, per draw.

    Parameters
    ----------
    target : Target
    x : numpy.ndarray, shape (n_draws, n_years)
        The target's indicator in its table unit (e.g. percent for shares).
    base_year : int
        Calendar year of column 0.

    Returns
    -------
    numpy.ndarray, shape (n_draws,)
        Level (level, share), % per year (average_growth), unit per year
        (change_per_year) or sum (cumulative).
    """
    end = target.year - base_year
    if target.kind in ("level", "share"):
        return x[:, end]
    start = target.first_year - base_year
    n = end - start + 1
    if target.kind == "average_growth":
        return ((x[:, end] / x[:, start - 1]) ** (1.0 / n) - 1.0) * 100.0
    if target.kind == "change_per_year":
        return (x[:, end] - x[:, start - 1]) / n
    return np.cumsum(x[:, start: end + 1], axis=1)[:, -1]  # cumulative, summed in year order


def is_met(target: Target, metric: np.ndarray) -> np.ndarray:
    """Boolean per draw; NaN metrics count as not met."""
    with np.errstate(invalid="ignore"):
        if target.comparison == ">=":
            return metric >= target.value
        if target.comparison == "<=":
            return metric <= target.value
        return np.abs(metric - target.value) <= target.tolerance + 1e-12


def gap(target: Target, metric: np.ndarray) -> np.ndarray:
    """Signed distance to the accepted region, in the target's unit (0 when met)."""
    if target.comparison == ">=":
        return np.minimum(metric - target.value, 0.0)
    if target.comparison == "<=":
        return np.maximum(metric - target.value, 0.0)
    hi, lo = target.value + target.tolerance, target.value - target.tolerance
    return np.where(metric > hi, metric - hi, np.where(metric < lo, metric - lo, 0.0))


def metric_unit(target: Target) -> str:
    var = BY_NAME[target.indicator]
    if target.kind == "average_growth":
        return "%/yr"
    if target.kind == "change_per_year":
        return f"{'points' if var.kind == 'share' else var.unit}/yr"
    return var.unit


def required_effort(target: Target, x: np.ndarray, base_year: int, fixed_index: int):
    """What the indicator must do in the years left to meet the target.

    The years left run from the year after ``fixed_index`` (the indicator's last
    observed year) to the target year. The answer is an average growth (%/yr) for
    levels, points per year for shares and changes, and an amount per year for sums,
    together with what the scenario projects for the same years.

    Parameters
    ----------
    x : numpy.ndarray, shape (n_draws, n_years)
        Indicator in its table unit.
    fixed_index : int
        Index of the last year fixed by history.

    Returns
    -------
    required, projected : numpy.ndarray, shape (n_draws,)
        NaN where nothing is left to decide.
    unit : str
    first_year : int
        First of the years left.
    """
    var = BY_NAME[target.indicator]
    end = target.year - base_year
    j = fixed_index
    nan = np.full(x.shape[0], np.nan)
    if j >= end:
        return nan, nan, "", base_year + j + 1
    left = end - j
    xj, xe = x[:, j], x[:, end]
    growth_like = var.kind == "level" and target.kind in ("level", "average_growth")
    if target.kind in ("level", "share"):
        goal = np.full(x.shape[0], target.value)
    elif target.kind in ("average_growth", "change_per_year"):
        start = target.first_year - base_year
        n = end - start + 1
        if j < start - 1:  # the period has not started: the target itself is the effort
            return (np.full(x.shape[0], target.value), target_metric(target, x, base_year),
                    metric_unit(target), target.first_year)
        x0 = x[:, start - 1]
        goal = x0 * (1 + target.value / 100.0) ** n if target.kind == "average_growth" \
            else x0 + target.value * n
        if target.kind == "change_per_year":
            return (goal - xj) / left, (xe - xj) / left, metric_unit(target), base_year + j + 1
    else:  # cumulative: amount per remaining year
        start = target.first_year - base_year
        done = x[:, start: j + 1].sum(axis=1) if j >= start else 0.0
        return ((target.value - done) / left, x[:, j + 1: end + 1].mean(axis=1),
                f"{var.unit}/yr", base_year + j + 1)
    if growth_like:
        with np.errstate(invalid="ignore", divide="ignore"):
            req = ((goal / xj) ** (1.0 / left) - 1.0) * 100.0
            proj = ((xe / xj) ** (1.0 / left) - 1.0) * 100.0
        return req, proj, "%/yr", base_year + j + 1
    return (goal - xj) / left, (xe - xj) / left, "points/yr", base_year + j + 1
