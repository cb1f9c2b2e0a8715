"""Evaluate plan targets on projected paths, and the effort needed to meet them.

Works on an array of draws (one row for the central path) in the planners' units. The
metric of each target kind and the rule of each comparison are defined once, in the
kernels (``kernels/montecarlo.py``), and used here as they are there.
Averages over periods are geometric: growth over "2021-2030" is
``(x[2030] / x[2020]) ** (1 / 10) - 1``.
"""

from __future__ import annotations

import numpy as np

from .kernels import montecarlo as mk
from .plan import Target
from .registry import BY_NAME

KIND_CODES = {"level": mk.KIND_LEVEL, "share": mk.KIND_LEVEL,
              "average_growth": mk.KIND_GROWTH, "change_per_year": mk.KIND_CHANGE,
              "cumulative": mk.KIND_CUMULATIVE}
CMP_CODES = {">=": mk.CMP_GE, "<=": mk.CMP_LE, "about": mk.CMP_ABOUT}


def kernel_terms(target: Target, base_year: int) -> tuple[int, int, int]:
    """(kind code, start index, end index) of a target for ``mk.target_metric``: start is
    the year before the period for growth and change, its first year for a sum."""
    end = target.year - base_year
    if target.kind in ("level", "share"):
        start = end
    elif target.kind == "cumulative":
        start = _first(target) - base_year
    else:
        start = _first(target) - base_year - 1
    return KIND_CODES[target.kind], start, end


def target_metric(target: Target, x: np.ndarray, base_year: int) -> np.ndarray:
    """The quantity a target is about, per draw, by the kernels' one definition
    (``kernels.montecarlo.target_metric``).

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
    kind, start, end = kernel_terms(target, base_year)
    paths = np.ascontiguousarray(x, dtype=np.float64)[:, None, :, None]
    return np.array([mk.target_metric(paths, w, 0, kind, 0, start, end, 1.0)
                     for w in range(paths.shape[0])])


def _first(target: Target) -> int:
    """First year of a target's period (its year for a level or share target)."""
    return target.first_year if target.first_year is not None else target.year


def is_met(target: Target, metric: np.ndarray) -> np.ndarray:
    """Boolean per draw, by the kernels' rule (``kernels.montecarlo.is_met``); NaN
    metrics count as not met."""
    code = CMP_CODES[target.comparison]
    return np.array([mk.is_met(float(x), code, target.value, target.tolerance)
                     for x in np.ravel(metric)], dtype=bool).reshape(np.shape(metric))


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


def effort_aim(target: Target, metric: np.ndarray) -> np.ndarray:
    """The value the effort column aims at, per draw.

    For ``>=`` and ``<=`` targets, the target value. For an ``about`` target, the edge
    of its accepted band nearest the projection: the lower edge when the projected
    metric is below the centre, the upper edge when above (the centre on a tie), since
    reaching either edge already meets the target.

    Parameters
    ----------
    metric : numpy.ndarray, shape (n_draws,)
        The projected metric (``target_metric``), in the target's unit.

    Returns
    -------
    numpy.ndarray, shape (n_draws,)
        In the target's unit.
    """
    centre = np.full(metric.shape, float(target.value))
    if target.comparison != "about":
        return centre
    with np.errstate(invalid="ignore"):
        return np.where(metric < target.value, target.value - target.tolerance,
                        np.where(metric > target.value, target.value + target.tolerance,
                                 centre))


def required_effort(target: Target, x: np.ndarray, base_year: int, fixed_index: int):
    """What the indicator must do in the years left to meet the target.

    The years left run from the year after ``fixed_index`` (the indicator's last
    observed year) to the target year. The answer is an average growth (%/yr) for
    levels, points per year for shares and changes, and an amount per year for sums,
    together with what the scenario projects for the same years. An ``about`` target
    is aimed at the nearest edge of its band (``effort_aim``). For a period that has
    not started, the effort runs over the period itself.

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
    end = target.year - base_year
    j = fixed_index
    if j >= end:
        nan = np.full(x.shape[0], np.nan)
        return nan, nan, "", base_year + j + 1
    goal = effort_aim(target, target_metric(target, x, base_year))
    if target.first_year is not None and j < _first(target) - base_year - 1:
        return _effort_not_started(target, x, base_year, goal)
    if target.kind == "cumulative":
        return _effort_cumulative(target, x, base_year, j, goal)
    if target.kind in ("average_growth", "change_per_year"):
        goal = _period_goal(target, x, base_year, goal)
        if target.kind == "change_per_year":
            return _effort_points(x, j, end, goal, metric_unit(target), base_year)
    growth_like = BY_NAME[target.indicator].kind == "level" and \
        target.kind in ("level", "average_growth")
    if growth_like:
        return _effort_growth(x, j, end, goal, base_year)
    return _effort_points(x, j, end, goal, "points/yr", base_year)


def _period_goal(target: Target, x: np.ndarray, base_year: int, goal: np.ndarray):
    """Level (average_growth) or value (change_per_year) the target year must reach."""
    start = _first(target) - base_year
    n = target.year - _first(target) + 1
    x0 = x[:, start - 1]
    if target.kind == "average_growth":
        return x0 * (1 + goal / 100.0) ** n
    return x0 + goal * n


def _effort_not_started(target: Target, x: np.ndarray, base_year: int, goal: np.ndarray):
    """The period lies wholly after the last observation: the target is the effort.

    Sums become an amount per year of the period; growth and change targets are
    already averages per year over it.
    """
    if target.kind == "cumulative":
        start, end = _first(target) - base_year, target.year - base_year
        n = end - start + 1
        return (goal / n, x[:, start: end + 1].mean(axis=1),
                f"{BY_NAME[target.indicator].unit}/yr", _first(target))
    return goal, target_metric(target, x, base_year), metric_unit(target), _first(target)


def _effort_cumulative(target: Target, x: np.ndarray, base_year: int, j: int,
                       goal: np.ndarray):
    """Amount per remaining year still needed for a sum whose period has started."""
    start, end = _first(target) - base_year, target.year - base_year
    done = x[:, start: j + 1].sum(axis=1)  # zero columns (and a zero sum) if j == start - 1
    return ((goal - done) / (end - j), x[:, j + 1: end + 1].mean(axis=1),
            f"{BY_NAME[target.indicator].unit}/yr", base_year + j + 1)


def _effort_growth(x: np.ndarray, j: int, end: int, goal: np.ndarray, base_year: int):
    """Average growth (%/yr) from year j to the target year: needed and projected."""
    left = end - j
    xj, xe = x[:, j], x[:, end]
    with np.errstate(invalid="ignore", divide="ignore"):
        req = ((goal / xj) ** (1.0 / left) - 1.0) * 100.0
        proj = ((xe / xj) ** (1.0 / left) - 1.0) * 100.0
    return req, proj, "%/yr", base_year + j + 1


def _effort_points(x: np.ndarray, j: int, end: int, goal: np.ndarray, unit: str,
                   base_year: int):
    """Average change per year from year j to the target year: needed and projected."""
    left = end - j
    return (goal - x[:, j]) / left, (x[:, end] - x[:, j]) / left, unit, base_year + j + 1
