"""Which figures are observed, derived from observations, or projected — per year.

A figure is *history* when the observations alone fix it, so it is identical in every
draw: ``observed`` when an input row gives it, ``derived`` when it is computed from
observed figures only (interpolated between two observations, GRDP per capita ×
population, a real level chained from observed growth...). Everything else is
``projected``: it depends on a scenario's assumptions, and may vary by draw.

The rules follow the kernel (``kernels/projection.py``): real GRDP is chained from
observed growth; observed GRDP at current prices fixes the price level; an observed
structure fixes the split by sector; the other blocks follow their history channel up
to its jump-off year. A province's figure formed from its members is ``derived`` where
every member's is history, ``projected`` elsewhere.
"""

from __future__ import annotations

import numpy as np

from .assemble import BUDGET_PARTS, HISTORY_CHANNELS
from .regions import MODE_CHILDREN
from .registry import BLOCKS, HISTORY, SECTORS, VARIABLES

OBSERVED, DERIVED, ASSUMED, PROJECTED = "observed", "derived", "assumed", "projected"
# output: (history channel, input indicator whose rows it follows, or None if derived)
_LEVEL_BLOCKS = {h.pins[0]: (HISTORY_CHANNELS[h.indicator], None if h.derived_from else
                             h.indicator) for h in HISTORY if h.channel}


def region_statuses(years: np.ndarray, baselines, inputs, history) -> list[dict]:
    """``figure_status`` of every region (kernel order) of one scenario."""
    out: list[dict] = []
    n = len(baselines.regions)
    for r, (region, part) in enumerate(zip(baselines.regions, baselines.parts, strict=True)):
        own = history if r == n - 1 else history.for_region(region)
        lo, hi = inputs.child_ptr[r], inputs.child_ptr[r + 1]
        children = [out[c] for c in inputs.child_idx[lo:hi, 0]]
        formed = {v.name for b, block in enumerate(BLOCKS) for v in block.outputs
                  if inputs.mode[r, b] == MODE_CHILDREN}
        given = {name: np.logical_and.reduce([c[name] != PROJECTED for c in children])
                 for name in formed}
        pinned = _pinned_population(part, inputs, r, given)
        if pinned is not None:
            given["population"] = given["population"] | pinned
        status = figure_status(years, part, inputs.jump[r], own, given)
        if pinned is not None:
            _label_pinned(status, part, pinned, years, own)
        out.append(status)
    return out


def _pinned_population(part, inputs, r: int, given: dict) -> np.ndarray | None:
    """Years whose population a region with members observes itself (the kernel pins
    the members' sum to it), where not every member's is history already."""
    h = HISTORY_CHANNELS["population"]
    if "population" not in given or inputs.jump[r, h] < 0:
        return None
    n = len(part.growth_actual)
    mask = (np.arange(n) <= inputs.jump[r, h]) & ~np.isnan(part.hist[:, h])
    return mask & ~given["population"]


def _label_pinned(status: dict, part, pinned: np.ndarray, years, history) -> None:
    """Observed (or interpolated: derived) population in the years it pins."""
    h = HISTORY_CHANNELS["population"]
    for t in np.flatnonzero(pinned):
        row = history.status("population", int(years[t]))
        status["population"][t] = DERIVED if part.interpolated[t, h] or row == DERIVED \
            else ASSUMED if row == ASSUMED else OBSERVED


def figure_status(years: np.ndarray, baseline, jump, history,
                  given: dict | None = None) -> dict[str, np.ndarray]:
    """Status of every output in every year of one scenario in one region.

    Parameters
    ----------
    years : numpy.ndarray of int, shape (n_years,)
        Calendar years of the model axis.
    baseline : quyhoach.assemble.Baseline
    jump : numpy.ndarray of int, shape (n_history,)
        The region's jump-off per history channel in this scenario (-1: not modelled).
    history : quyhoach.inputs.History
        Where a figure's input row says ``derived`` or ``assumed``, so does its status.
    given : dict, optional
        Outputs formed from the region's members → where every member's is history.

    Returns
    -------
    dict[str, numpy.ndarray]
        Variable name → array of str, shape (n_years,): ``"observed"``, ``"derived"``,
        ``"assumed"`` or ``"projected"``.
    """
    given = given or {}
    level = {name: _level_pins(name, baseline, jump) for name in _LEVEL_BLOCKS}
    hist = {**_economy_pins(baseline), **{name: h for name, (h, _) in level.items()}}
    hist.update(given)
    parts = [level[n][0] for n in BUDGET_PARTS if jump[HISTORY_CHANNELS[n]] >= 0]
    if parts:  # a split budget's total is the sum of its parts
        hist["budget_revenue"] = hist["budget_revenue"] | np.logical_and.reduce(parts)
    hist.update({k: v for k, v in _combined(hist).items() if k not in given})
    status = {v.name: np.where(hist[v.name], DERIVED, PROJECTED).astype(object)
              for v in VARIABLES}
    # figures that an input row gives directly, and the row they come from
    observed = {name: (level[name][1], indicator)
                for name, (_, indicator) in _LEVEL_BLOCKS.items()}
    structure = ~np.isnan(baseline.anchor_shares[:, 0])
    # the base year has its own rows, or borrows the first observed structure
    structure[0] = baseline.first_structure_year == years[0]
    nominal = ~np.isnan(baseline.nominal_actual) & ~baseline.nominal_derived
    nominal[0] = True
    per_capita = baseline.nominal_derived | ~np.isnan(baseline.per_capita_actual)
    observed.update({
        "grdp_growth": (~np.isnan(baseline.growth_actual), "grdp_growth"),
        "grdp_nominal": (nominal, "grdp_nominal"),
        "grdp_per_capita": (per_capita, "grdp_per_capita"),
        # revenue in a year whose visits and spending per visit both come from rows
        "tourism_revenue": (hist["tourism_revenue"], "tourism_revenue"),
        **{f"share_{s}": (structure, f"share_{s}") for s in SECTORS}})
    # no exchange rate is observed: a USD figure of a known year converts it at the rate
    # the plan assumes (the same in every draw, not in every scenario)
    if "grdp_per_capita_usd" not in given:
        status["grdp_per_capita_usd"][hist["grdp_per_capita_usd"]] = ASSUMED
    for name, (mask, indicator) in observed.items():
        if indicator is None or name in given:
            continue
        for t in np.flatnonzero(mask):
            row = history.status(indicator, int(years[t]))
            status[name][t] = row if row in (DERIVED, ASSUMED) else OBSERVED
    return status


def _economy_pins(baseline) -> dict[str, np.ndarray]:
    """History masks of the economy block (real chain, price level, sector split)."""
    g = ~np.isnan(baseline.growth_actual)  # observed growth (never in the base year)
    real = np.logical_and.accumulate(np.concatenate([[True], g[1:]]))
    nominal = ~np.isnan(baseline.nominal_actual)
    nominal[0] = True  # grdp0
    structure = ~np.isnan(baseline.anchor_shares[:, 0])
    split_real, split_nominal = structure.copy(), structure.copy()
    split_real[0] = split_nominal[0] = True
    for t in range(1, len(g)):
        # every sector grows at the observed total rate, so the real split carries on;
        # the nominal split moves with each sector's inflation unless observed
        split_real[t] = structure[t] or (split_real[t - 1] and g[t])
    none = np.zeros_like(g)
    out = {"per_capita_actual": ~np.isnan(baseline.per_capita_actual),
           "grdp_real": real, "grdp_growth": g, "grdp_nominal": nominal,
           "grdp_deflator": nominal & real, "investment_need": none,
           "investment_need_real": none, "investment_rate": none}
    va_real = real & split_real
    for s in SECTORS:
        out[f"va_real_{s}"] = va_real
        out[f"va_nominal_{s}"] = nominal & split_nominal
        out[f"share_{s}"] = split_nominal
        out[f"va_growth_{s}"] = va_real & np.concatenate([[False], va_real[:-1]])
    return out


def _level_pins(name: str, baseline, jump) -> tuple[np.ndarray, np.ndarray]:
    """(history, observed) masks of a block that follows its history channel."""
    h, indicator = _LEVEL_BLOCKS[name]
    j = int(jump[h])
    hist = np.zeros(len(baseline.growth_actual), dtype=bool)
    if j >= 0:
        hist[: j + 1] = ~np.isnan(baseline.hist[: j + 1, h])
    observed = hist & ~baseline.interpolated[:, h] if indicator is not None else hist & False
    return hist, observed


def _combined(hist: dict) -> dict[str, np.ndarray]:
    """Outputs computed from several blocks: history where all their parts are."""
    pop, urban = hist["population"], hist["urbanization_rate"]
    per_capita = (hist["grdp_nominal"] & pop) | hist["per_capita_actual"]
    return {
        "population_growth": pop & np.concatenate([[False], pop[:-1]]),
        "population_urban": pop & urban, "population_rural": pop & urban,
        "grdp_per_capita": per_capita, "grdp_per_capita_usd": per_capita,
        "budget_revenue_share": hist["budget_revenue"] & hist["grdp_nominal"],
        "tourism_revenue": hist["tourists"] & hist["spending_per_visitor"],
    }
