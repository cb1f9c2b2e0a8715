"""The projection kernel: every model block, every draw, every year.

Arrays in, ``out`` filled; no objects, no I/O. The central path is this kernel with
every shock at zero; the Monte Carlo feeds it non-zero shocks. Its index constants are
generated into ``kernels/layout.py`` out of the model registry (``quyhoach.registry``).

Conventions
-----------
- Region axis: regions in kernel order, children before their parent, the whole
  province last. A block is projected in a region (``MODE_STEP``), formed from its
  children's values of the same draw by the registry's rules (``MODE_CHILDREN``), or
  not modelled there (``MODE_ABSENT``, NaN).
- Time axis: index 0 is the plan's base year, one step per year to the horizon.
- Rates are fractions per year (0.095), crude demographic rates per 1000.
- Real values are at base-year prices; sector deflators are 1 in the base year.
- ``fastmath`` stays off: results are compared bit for bit across thread counts.
- A level never turns negative: a rate pushed by a draw's shocks to -100 %/yr or below
  takes the level to 0 (``grow``); plan values cannot reach -100 % (see the registry).
"""

import math

import numpy as np
from numba import njit, prange

from .jit import inlined, no_refcount
from .layout import (  # generated from quyhoach.registry
    B_BUDGET,
    B_ECONOMY,
    B_INCOME,
    B_INDICATORS,
    B_INVESTMENT,
    B_POPULATION,
    B_TOURISM,
    B_URBANIZATION,
    C_BIRTH,
    C_BUOYANCY,
    C_DEATH,
    C_FX,
    C_GROWTH,
    C_ICOR,
    C_IMPORT_EXPORT_GROWTH,
    C_INCOME_ELASTICITY,
    C_INDICATOR,
    C_INFLATION,
    C_LAND_USE_GROWTH,
    C_MIGRATION,
    C_RECLASS,
    C_REVISION,
    C_SPENDING_GROWTH,
    C_TOURIST_GROWTH,
    C_URBAN_SPEED,
    H_BUDGET,
    H_DOMESTIC,
    H_IMPORT_EXPORT,
    H_INCOME,
    H_INDICATOR,
    H_LAND_USE,
    H_POPULATION,
    H_SPENDING,
    H_TOURISTS,
    H_URBAN,
    N_SECTORS,
    V_BUDGET_DOMESTIC,
    V_BUDGET_IMPORT_EXPORT,
    V_BUDGET_LAND_USE,
    V_BUDGET_REVENUE,
    V_BUDGET_REVENUE_SHARE,
    V_GRDP_DEFLATOR,
    V_GRDP_GROWTH,
    V_GRDP_NOMINAL,
    V_GRDP_PER_CAPITA,
    V_GRDP_PER_CAPITA_USD,
    V_GRDP_REAL,
    V_INCOME_PER_CAPITA,
    V_INDICATOR,
    V_INVESTMENT_NEED,
    V_INVESTMENT_NEED_REAL,
    V_INVESTMENT_RATE,
    V_POPULATION,
    V_POPULATION_GROWTH,
    V_POPULATION_RURAL,
    V_POPULATION_URBAN,
    V_SHARE,
    V_SPENDING_PER_VISITOR,
    V_TOURISM_REVENUE,
    V_TOURISTS,
    V_URBANIZATION_RATE,
    V_VA_GROWTH,
    V_VA_NOMINAL,
    V_VA_REAL,
)
from .layout import LAYOUT_STAMP as _CURRENT

# Written by ``python -m quyhoach.layout`` with kernels/layout.py: a new layout changes
# this file, so numba rebuilds its cache of the kernels here instead of reusing them.
LAYOUT_STAMP = 9211251963120511514

if LAYOUT_STAMP != _CURRENT:  # a half-regenerated layout: never run with it
    raise ImportError("kernels/projection.py and kernels/layout.py disagree; run "
                      "python -m quyhoach.layout")

# Where a region gets each block (mode[r, b]).
MODE_STEP = 0  # projected here from its own assumptions
MODE_CHILDREN = 1  # formed from the children, in every draw, by the registry's rules
MODE_ABSENT = 2  # not modelled here (NaN)

# How a parent forms an output from its children (agg_rule[v]; see registry.Parent).
AGG_SUM = 0
AGG_RATIO = 1
AGG_GROWTH = 2
AGG_WEIGHTED = 3

# Saturating-indicator forms.
FORM_POINTS = 0  # x + speed
FORM_PROPORTIONAL = 1  # x * (1 + speed)
FORM_GAP_CLOSING = 2  # closes a fraction |speed| of the gap to the bound it moves to
FORM_LOGISTIC = 3  # logit((x - lower) / (upper - lower)) + speed


@no_refcount
def step_saturating(x, speed, form, lower, upper):
    """One year of a bounded indicator; result clipped to [lower, upper]."""
    if form == FORM_POINTS:
        y = x + speed
    elif form == FORM_PROPORTIONAL:
        y = x * (1.0 + speed)
    elif form == FORM_GAP_CLOSING:
        if speed >= 0.0:
            y = x + speed * (upper - x)
        else:
            y = x + speed * (x - lower)
    else:
        z = (x - lower) / (upper - lower)
        z = min(max(z, 1e-9), 1.0 - 1e-9)
        z = 1.0 / (1.0 + math.exp(-(math.log(z / (1.0 - z)) + speed)))
        y = lower + z * (upper - lower)
    return min(max(y, lower), upper)


@inlined
def grow(level, factor):
    """level × factor (1 + the year's rate), floored at 0: nothing falls by more than
    all of it."""
    return level * max(factor, 0.0)


@no_refcount
def step_urban_share(u, speed, reclassified):
    """Urban share after one year: logistic drift plus administrative reclassification."""
    u = min(max(u, 1e-9), 1.0 - 1e-9)
    z = math.log(u / (1.0 - u)) + speed
    return min(max(1.0 / (1.0 + math.exp(-z)) + reclassified, 0.0), 1.0)


@inlined
def follow_history(out, d, r, t, v, hist, h, jump):
    """Copy an observed value; return True while year t is still history for block h."""
    if jump[r, h] < 0:
        out[d, r, t, v] = np.nan
        return True
    if t <= jump[r, h]:
        out[d, r, t, v] = hist[r, t, h]
        return True
    return False


@no_refcount
def from_children(out, d, r, t, first, end, child_ptr, child_idx, agg_rule, agg_a, agg_b,
                  agg_scale):
    """Outputs first..end-1 of region r in year t from its children's, in draw d.

    Levels are summed first; shares, per-capita values, growth rates and structure are
    then recomputed from the sums (ratios, growth of a summed level, or the mean of the
    children weighted by a summed level).
    """
    for v in range(first, end):
        if agg_rule[v] == AGG_SUM:
            total = 0.0
            for i in range(child_ptr[r], child_ptr[r + 1]):
                if t >= child_idx[i, 1]:  # a part counts from the year it joins
                    total += out[d, child_idx[i, 0], t, v]
            out[d, r, t, v] = total
    for v in range(first, end):
        rule = agg_rule[v]
        if rule == AGG_RATIO:
            out[d, r, t, v] = out[d, r, t, agg_a[v]] / out[d, r, t, agg_b[v]] * agg_scale[v]
        elif rule == AGG_GROWTH:
            if t > 0:
                out[d, r, t, v] = out[d, r, t, agg_a[v]] / out[d, r, t - 1, agg_a[v]] - 1.0
            else:
                out[d, r, t, v] = np.nan
        elif rule == AGG_WEIGHTED:
            total = 0.0
            weight = 0.0
            for i in range(child_ptr[r], child_ptr[r + 1]):
                if t < child_idx[i, 1]:
                    continue
                c = child_idx[i, 0]
                total += out[d, c, t, agg_a[v]] * out[d, c, t, v]
                weight += out[d, c, t, agg_a[v]]
            out[d, r, t, v] = total / weight


@inlined
def not_stepped(out, d, r, t, b, mode, blocks, agg):
    """Fill block b of region r in year t unless it is projected there; True if filled.

    ``agg``: (child_ptr, child_idx, agg_rule, agg_a, agg_b, agg_scale), see
    ``from_children``.
    """
    m = mode[r, b]
    if m == MODE_STEP:
        return False
    if m == MODE_CHILDREN:
        from_children(out, d, r, t, blocks[b, 0], blocks[b, 1], *agg)
    else:
        for v in range(blocks[b, 0], blocks[b, 1]):
            out[d, r, t, v] = np.nan
    return True


@inlined
def step_budget(out, d, r, t, rates, shocks, hist, jump, total_nominal):
    """Budget revenue in year t: buoyancy on nominal GRDP, or the sum of its components.

    Where the inputs split revenue, domestic revenue grows with nominal GRDP
    (buoyancy), import-export duties and land-use fees at their own rates, and the total
    is their sum; otherwise the total grows with nominal GRDP.
    """
    ratio = total_nominal / out[d, r, t - 1, V_GRDP_NOMINAL] if t > 0 else 1.0
    buoyancy = rates[r, t, C_BUOYANCY] + shocks[d, r, t, C_BUOYANCY]
    split = jump[r, H_DOMESTIC] >= 0
    total = 0.0
    if not follow_history(out, d, r, t, V_BUDGET_DOMESTIC, hist, H_DOMESTIC, jump):
        out[d, r, t, V_BUDGET_DOMESTIC] = out[d, r, t - 1, V_BUDGET_DOMESTIC] * ratio ** buoyancy
    if split:
        total += out[d, r, t, V_BUDGET_DOMESTIC]
    for v, h, c in ((V_BUDGET_IMPORT_EXPORT, H_IMPORT_EXPORT, C_IMPORT_EXPORT_GROWTH),
                    (V_BUDGET_LAND_USE, H_LAND_USE, C_LAND_USE_GROWTH)):
        if not follow_history(out, d, r, t, v, hist, h, jump):
            out[d, r, t, v] = grow(out[d, r, t - 1, v], 1.0 + rates[r, t, c] + shocks[d, r, t, c])
        if split and jump[r, h] >= 0:
            total += out[d, r, t, v]
    if split and t > jump[r, H_BUDGET]:  # the total is observed no later than its parts
        out[d, r, t, V_BUDGET_REVENUE] = total
    elif not follow_history(out, d, r, t, V_BUDGET_REVENUE, hist, H_BUDGET, jump):
        out[d, r, t, V_BUDGET_REVENUE] = out[d, r, t - 1, V_BUDGET_REVENUE] * ratio ** buoyancy
    out[d, r, t, V_BUDGET_REVENUE_SHARE] = out[d, r, t, V_BUDGET_REVENUE] / total_nominal


@inlined
def step_economy(out, d, r, t, rates, shocks, growth_actual, nominal_actual,
                 per_capita_actual, anchor_shares, real, price):
    """Real growth, sector prices and structure at current prices in year t.

    ``real`` and ``price`` (per sector) carry the state from year to year.
    """
    pop = out[d, r, t, V_POPULATION]
    if t > 0:
        pinned = not math.isnan(growth_actual[r, t])
        for s in range(N_SECTORS):
            if pinned:  # observed total growth; sector detail unknown
                g = growth_actual[r, t]
            else:
                g = rates[r, t, C_GROWTH + s] + shocks[d, r, t, C_GROWTH + s]
            real[s] = grow(real[s], 1.0 + g)
            price[s] = grow(price[s], 1.0 + rates[r, t, C_INFLATION + s]
                            + shocks[d, r, t, C_INFLATION + s])
        if not math.isnan(anchor_shares[r, t, 0]):
            # observed structure re-anchors the split, keeping both totals
            total_r = 0.0
            total_n = 0.0
            for s in range(N_SECTORS):
                total_r += real[s]
                total_n += real[s] * price[s]
            for s in range(N_SECTORS):
                real[s] = anchor_shares[r, t, s] * total_r
                price[s] = total_n / total_r
        observed = nominal_actual[r, t]
        if math.isnan(observed):  # GRDP per capita observed without the population
            observed = per_capita_actual[r, t] * pop
        if not math.isnan(observed):
            # observed GRDP at current prices fixes the price level of the year
            total_n = 0.0
            for s in range(N_SECTORS):
                total_n += real[s] * price[s]
            for s in range(N_SECTORS):
                price[s] *= observed / total_n
    total_real = 0.0
    total_nominal = 0.0
    for s in range(N_SECTORS):
        total_real += real[s]
        total_nominal += real[s] * price[s]
    # observed figures are written as observed, not as sums that differ in the last
    # bit from draw to draw
    if t > 0 and not math.isnan(nominal_actual[r, t]):
        total_nominal = nominal_actual[r, t]
    elif t > 0 and not math.isnan(per_capita_actual[r, t]):
        total_nominal = per_capita_actual[r, t] * pop
    anchored = not math.isnan(anchor_shares[r, t, 0])
    for s in range(N_SECTORS):
        nominal = real[s] * price[s]
        if t > 0:
            out[d, r, t, V_VA_GROWTH + s] = real[s] / out[d, r, t - 1, V_VA_REAL + s] - 1.0
        else:
            out[d, r, t, V_VA_GROWTH + s] = np.nan
        out[d, r, t, V_VA_REAL + s] = real[s]
        out[d, r, t, V_VA_NOMINAL + s] = nominal
        out[d, r, t, V_SHARE + s] = anchor_shares[r, t, s] if anchored else nominal / total_nominal
    out[d, r, t, V_GRDP_REAL] = total_real
    out[d, r, t, V_GRDP_NOMINAL] = total_nominal
    out[d, r, t, V_GRDP_DEFLATOR] = total_nominal / total_real
    if t > 0:
        if math.isnan(growth_actual[r, t]):
            out[d, r, t, V_GRDP_GROWTH] = total_real / out[d, r, t - 1, V_GRDP_REAL] - 1.0
        else:
            out[d, r, t, V_GRDP_GROWTH] = growth_actual[r, t]
    else:
        out[d, r, t, V_GRDP_GROWTH] = np.nan


@no_refcount
def rake_members(out, d, r, t, hist, jump, child_ptr, child_idx):
    """Pin region r's observed population in year t: its children whose population is
    projected that year are scaled so that all children add up to the observation
    (children with an observed or interpolated figure keep it). True when pinned."""
    if t > jump[r, H_POPULATION] or math.isnan(hist[r, t, H_POPULATION]):
        return False
    fixed = 0.0
    free = 0.0
    for i in range(child_ptr[r], child_ptr[r + 1]):
        c = child_idx[i, 0]  # the province's members: every year
        if t <= jump[c, H_POPULATION]:
            fixed += out[d, c, t, V_POPULATION]
        else:
            free += out[d, c, t, V_POPULATION]
    left = hist[r, t, H_POPULATION] - fixed
    if free <= 0.0 or left <= 0.0:
        return False  # every child observed (their sum stands), or nothing to scale
    factor = left / free
    for i in range(child_ptr[r], child_ptr[r + 1]):
        c = child_idx[i, 0]
        if t > jump[c, H_POPULATION]:
            out[d, c, t, V_POPULATION] *= factor
            if t > 0:
                out[d, c, t, V_POPULATION_GROWTH] = (out[d, c, t, V_POPULATION]
                                                     / out[d, c, t - 1, V_POPULATION] - 1.0)
    return True


@no_refcount
def population_from_children(d, r, t, pinned, hist, blocks, child_ptr, child_idx, agg_rule,
                             agg_a, agg_b, agg_scale, out):
    """Population of region r in year t as its children's sum; written as observed where
    the region pinned its children to its own observation."""
    from_children(out, d, r, t, blocks[B_POPULATION, 0], blocks[B_POPULATION, 1],
                  child_ptr, child_idx, agg_rule, agg_a, agg_b, agg_scale)
    if pinned:  # as observed, not a sum that differs in the last bit by draw
        out[d, r, t, V_POPULATION] = hist[r, t, H_POPULATION]
        if t > 0:
            out[d, r, t, V_POPULATION_GROWTH] = (out[d, r, t, V_POPULATION]
                                                 / out[d, r, t - 1, V_POPULATION] - 1.0)


@inlined
def step_population(d, r, t, rates, shocks, hist, jump, mode, blocks, child_ptr, child_idx,
                    agg_rule, agg_a, agg_b, agg_scale, out):
    """Population of region r in year t from crude-rate components (or NaN where the
    region does not model it)."""
    if not_stepped(out, d, r, t, B_POPULATION, mode, blocks,
                   (child_ptr, child_idx, agg_rule, agg_a, agg_b, agg_scale)):
        return
    if not follow_history(out, d, r, t, V_POPULATION, hist, H_POPULATION, jump):
        natural = (rates[r, t, C_BIRTH] + shocks[d, r, t, C_BIRTH]
                   - rates[r, t, C_DEATH] - shocks[d, r, t, C_DEATH]
                   + rates[r, t, C_MIGRATION] + shocks[d, r, t, C_MIGRATION])
        if t == jump[r, H_POPULATION] + 1:  # a census revision moves the level, once
            natural += rates[r, t, C_REVISION] + shocks[d, r, t, C_REVISION]
        out[d, r, t, V_POPULATION] = grow(out[d, r, t - 1, V_POPULATION],
                                          1.0 + natural / 1000.0)
    if t > 0:
        out[d, r, t, V_POPULATION_GROWTH] = (out[d, r, t, V_POPULATION]
                                             / out[d, r, t - 1, V_POPULATION] - 1.0)
    else:
        out[d, r, t, V_POPULATION_GROWTH] = np.nan


@inlined
def step_region(d, r, t, rates, shocks, growth_actual, nominal_actual, per_capita_actual,
                anchor_shares, hist, jump, ind_form, ind_lower, ind_upper, mode, blocks,
                child_ptr, child_idx, agg_rule, agg_a, agg_b, agg_scale, real, price, out):
    """Every block but population of region r in year t (its children done already).

    ``real`` and ``price`` (per sector) carry the region's economy from year to year.
    """
    pop = out[d, r, t, V_POPULATION]
    # --- economy: real growth, sector prices, structure at current prices
    agg = (child_ptr, child_idx, agg_rule, agg_a, agg_b, agg_scale)
    if not not_stepped(out, d, r, t, B_ECONOMY, mode, blocks, agg):
        step_economy(out, d, r, t, rates, shocks, growth_actual, nominal_actual,
                     per_capita_actual, anchor_shares, real, price)
    total_nominal = out[d, r, t, V_GRDP_NOMINAL]

    # --- investment need: ICOR x increase in real GRDP (none when GRDP falls)
    if not not_stepped(out, d, r, t, B_INVESTMENT, mode, blocks, agg):
        if t > 0:
            icor = rates[r, t, C_ICOR] + shocks[d, r, t, C_ICOR]
            added = out[d, r, t, V_GRDP_REAL] - out[d, r, t - 1, V_GRDP_REAL]
            inv_real = icor * max(added, 0.0)
            out[d, r, t, V_INVESTMENT_NEED_REAL] = inv_real
            out[d, r, t, V_INVESTMENT_NEED] = inv_real * out[d, r, t, V_GRDP_DEFLATOR]
            out[d, r, t, V_INVESTMENT_RATE] = out[d, r, t, V_INVESTMENT_NEED] / total_nominal
        else:
            out[d, r, t, V_INVESTMENT_NEED_REAL] = np.nan
            out[d, r, t, V_INVESTMENT_NEED] = np.nan
            out[d, r, t, V_INVESTMENT_RATE] = np.nan

    # --- urbanization
    if not not_stepped(out, d, r, t, B_URBANIZATION, mode, blocks, agg):
        if not follow_history(out, d, r, t, V_URBANIZATION_RATE, hist, H_URBAN, jump):
            out[d, r, t, V_URBANIZATION_RATE] = step_urban_share(
                out[d, r, t - 1, V_URBANIZATION_RATE],
                rates[r, t, C_URBAN_SPEED] + shocks[d, r, t, C_URBAN_SPEED],
                rates[r, t, C_RECLASS] + shocks[d, r, t, C_RECLASS])
        out[d, r, t, V_POPULATION_URBAN] = out[d, r, t, V_URBANIZATION_RATE] * pop
        out[d, r, t, V_POPULATION_RURAL] = pop - out[d, r, t, V_POPULATION_URBAN]

    # --- per capita: billion VND / thousand persons = million VND per person
    if not not_stepped(out, d, r, t, B_INCOME, mode, blocks, agg):
        gdp_pc = total_nominal / pop
        if t > 0 and not math.isnan(per_capita_actual[r, t]):
            gdp_pc = per_capita_actual[r, t]  # as observed, in every draw
        out[d, r, t, V_GRDP_PER_CAPITA] = gdp_pc
        out[d, r, t, V_GRDP_PER_CAPITA_USD] = gdp_pc * 1e6 / (rates[r, t, C_FX]
                                                            + shocks[d, r, t, C_FX])
        if not follow_history(out, d, r, t, V_INCOME_PER_CAPITA, hist, H_INCOME, jump):
            elasticity = rates[r, t, C_INCOME_ELASTICITY] + shocks[d, r, t, C_INCOME_ELASTICITY]
            ratio = gdp_pc / out[d, r, t - 1, V_GRDP_PER_CAPITA]
            previous = out[d, r, t - 1, V_INCOME_PER_CAPITA]
            out[d, r, t, V_INCOME_PER_CAPITA] = previous * ratio ** elasticity

    # --- budget revenue
    if not not_stepped(out, d, r, t, B_BUDGET, mode, blocks, agg):
        step_budget(out, d, r, t, rates, shocks, hist, jump, total_nominal)

    # --- tourism: arrivals x spending per visit (visits x million VND / 1000 = bn VND)
    if not not_stepped(out, d, r, t, B_TOURISM, mode, blocks, agg):
        if not follow_history(out, d, r, t, V_TOURISTS, hist, H_TOURISTS, jump):
            growth = rates[r, t, C_TOURIST_GROWTH] + shocks[d, r, t, C_TOURIST_GROWTH]
            out[d, r, t, V_TOURISTS] = grow(out[d, r, t - 1, V_TOURISTS], 1.0 + growth)
        if not follow_history(out, d, r, t, V_SPENDING_PER_VISITOR, hist, H_SPENDING, jump):
            growth = rates[r, t, C_SPENDING_GROWTH] + shocks[d, r, t, C_SPENDING_GROWTH]
            previous = out[d, r, t - 1, V_SPENDING_PER_VISITOR]
            out[d, r, t, V_SPENDING_PER_VISITOR] = grow(previous, 1.0 + growth)
        spending = out[d, r, t, V_SPENDING_PER_VISITOR]
        out[d, r, t, V_TOURISM_REVENUE] = out[d, r, t, V_TOURISTS] * spending / 1000.0

    # --- bounded indicators (as many as the plan models)
    if not not_stepped(out, d, r, t, B_INDICATORS, mode, blocks, agg):
        for i in range(ind_form.shape[0]):
            v = V_INDICATOR + i
            if not follow_history(out, d, r, t, v, hist, H_INDICATOR + i, jump):
                speed = rates[r, t, C_INDICATOR + i] + shocks[d, r, t, C_INDICATOR + i]
                out[d, r, t, v] = step_saturating(out[d, r, t - 1, v], speed, ind_form[i],
                                                  ind_lower[i], ind_upper[i])


@no_refcount
def simulate_draw(d, rates, shocks, growth_actual, nominal_actual, per_capita_actual,
                  anchor_shares, grdp0, hist, jump, ind_form, ind_lower, ind_upper,
                  mode, blocks, child_ptr, child_idx, agg_rule, agg_a, agg_b, agg_scale,
                  real, price, pinned, out):
    """Fill out[d] (all regions, years and variables) for one draw.

    Year by year: first every region's population (a parent pins its children to its own
    observed population before any sum is taken), then every other block, children first.
    ``real``, ``price`` (regions × sectors) and ``pinned`` (regions) are scratch,
    overwritten here (the Monte Carlo reuses one set per thread across draws).
    """
    n_regions, n_years = rates.shape[0], rates.shape[1]
    for r in range(n_regions):
        for s in range(N_SECTORS):
            real[r, s] = anchor_shares[r, 0, s] * grdp0[r]
            price[r, s] = 1.0
        pinned[r] = False
    for t in range(n_years):
        # population: the regions that project it, then each parent's pin of its
        # children to its own observation, then the sums (a group of members, reported
        # beside the province, sums the members after they are pinned)
        for r in range(n_regions):
            if mode[r, B_POPULATION] != MODE_CHILDREN:
                step_population(d, r, t, rates, shocks, hist, jump, mode, blocks, child_ptr,
                                child_idx, agg_rule, agg_a, agg_b, agg_scale, out)
        for r in range(n_regions):
            pinned[r] = mode[r, B_POPULATION] == MODE_CHILDREN and rake_members(
                out, d, r, t, hist, jump, child_ptr, child_idx)
        for r in range(n_regions):
            if mode[r, B_POPULATION] == MODE_CHILDREN:
                population_from_children(d, r, t, pinned[r], hist, blocks, child_ptr,
                                         child_idx, agg_rule, agg_a, agg_b, agg_scale, out)
        for r in range(n_regions):
            step_region(d, r, t, rates, shocks, growth_actual, nominal_actual,
                        per_capita_actual, anchor_shares, hist, jump, ind_form, ind_lower,
                        ind_upper, mode, blocks, child_ptr, child_idx, agg_rule, agg_a, agg_b,
                        agg_scale, real[r], price[r], out)


@njit(cache=True, parallel=True, error_model="numpy")
def simulate_paths(rates, shocks, growth_actual, nominal_actual, per_capita_actual,
                   anchor_shares, grdp0, hist, jump, ind_form, ind_lower, ind_upper,
                   mode, blocks, child_ptr, child_idx, agg_rule, agg_a, agg_b, agg_scale, out):
    """Project every draw of one scenario, in every region.

    Parameters
    ----------
    rates : float64[n_regions, n_years, n_channels]
        Central assumptions per region and year (layout: the ``C_*`` constants; the
        bounded indicators take ``C_INDICATOR + i`` for i < n_indicators).
    shocks : float64[n_draws, n_regions, n_years, n_channels]
        Additive deviations from ``rates`` per draw; zeros give the central path.
    growth_actual : float64[n_regions, n_years]
        Observed real GRDP growth (fraction), NaN where the year is projected.
    nominal_actual : float64[n_regions, n_years]
        Observed GRDP at current prices (billion VND), NaN where not observed; it
        scales the year's sector prices so that nominal GRDP equals it.
    per_capita_actual : float64[n_regions, n_years]
        Observed GRDP per capita (million VND) where the population is projected (NaN
        elsewhere): nominal GRDP is then this × the draw's population.
    anchor_shares : float64[n_regions, n_years, N_SECTORS]
        Observed structure at current prices (fractions summing to 1), NaN rows where
        none; row 0 must be set where the economy is projected (it splits the base-year
        GRDP).
    grdp0 : float64[n_regions]
        GRDP at current prices in the base year, billion VND (where projected).
    hist : float64[n_regions, n_years, n_history]
        Observed levels (fractions for shares), NaN where not observed.
    jump : int64[n_regions, n_history]
        Index of the last observed year of each history channel (-1: not modelled).
    ind_form : int64[n_indicators]
        ``FORM_*`` code of each bounded indicator.
    ind_lower, ind_upper : float64[n_indicators]
        Bounds of each bounded indicator (fractions).
    mode : int64[n_regions, n_blocks]
        ``MODE_*`` of each block in each region (layout: the ``B_*`` constants).
    blocks : int64[n_blocks, 2]
        First output and one past the last output of each block.
    child_ptr : int64[n_regions + 1]
        Region r's children are ``child_idx[child_ptr[r]:child_ptr[r + 1], 0]`` (earlier
        in the region order).
    child_idx : int64[n_links, 2]
        Each link's child and the first year index it counts in its parent from (a part
        that joins a group later; 0 otherwise).
    agg_rule, agg_a, agg_b : int64[n_variables]
        ``AGG_*`` rule of each output and the outputs it reads (see ``from_children``).
    agg_scale : float64[n_variables]
        Factor of a ratio (1000 for spending per visitor).
    out : float64[n_draws, n_regions, n_years, n_variables]
        Filled with every variable (fractions for shares and rates).
    """
    n_regions = rates.shape[0]
    for d in prange(out.shape[0]):
        real = np.empty((n_regions, N_SECTORS))
        price = np.empty((n_regions, N_SECTORS))
        pinned = np.empty(n_regions, dtype=np.bool_)
        simulate_draw(d, rates, shocks, growth_actual, nominal_actual, per_capita_actual,
                      anchor_shares, grdp0, hist, jump, ind_form, ind_lower, ind_upper,
                      mode, blocks, child_ptr, child_idx, agg_rule, agg_a, agg_b, agg_scale,
                      real, price, pinned, out)
