"""The projection kernel: every model block, every draw, every year.

Arrays in, ``out`` filled; no objects, no I/O. The central path is this kernel with
every shock at zero; the Monte Carlo feeds it non-zero shocks. Its index constants are
generated into ``kernels/layout.py`` out of the model registry (``quyhoach.registry``).

Conventions
-----------
- Time axis: index 0 is the plan's base year, one step per year to the horizon.
- Rates are fractions per year (0.095), crude demographic rates per 1000.
- Real values are at base-year prices; sector deflators are 1 in the base year.
- ``fastmath`` stays off: results are compared bit for bit across thread counts.
"""

import math

import numpy as np
from numba import njit, prange

from .layout import (  # generated from quyhoach.registry
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
    N_INDICATORS,
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
LAYOUT_STAMP = 3240414129266724671

if LAYOUT_STAMP != _CURRENT:  # a half-regenerated layout: never run with it
    raise ImportError("kernels/projection.py and kernels/layout.py disagree; run "
                      "python -m quyhoach.layout")

# Saturating-indicator forms.
FORM_POINTS = 0  # x + speed
FORM_PROPORTIONAL = 1  # x * (1 + speed)
FORM_GAP_CLOSING = 2  # closes a fraction |speed| of the gap to the bound it moves to
FORM_LOGISTIC = 3  # logit((x - lower) / (upper - lower)) + speed

@njit(cache=True, error_model="numpy")
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


@njit(cache=True, error_model="numpy")
def step_urban_share(u, speed, reclassified):
    """Urban share after one year: logistic drift plus administrative reclassification."""
    u = min(max(u, 1e-9), 1.0 - 1e-9)
    z = math.log(u / (1.0 - u)) + speed
    return min(max(1.0 / (1.0 + math.exp(-z)) + reclassified, 0.0), 1.0)


@njit(cache=True, error_model="numpy")
def follow_history(out, d, t, v, hist, h, jump):
    """Copy an observed value; return True while year t is still history for block h."""
    if jump[h] < 0:
        out[d, t, v] = np.nan
        return True
    if t <= jump[h]:
        out[d, t, v] = hist[t, h]
        return True
    return False


@njit(cache=True, error_model="numpy")
def step_budget(out, d, t, rates, shocks, hist, jump, total_nominal):
    """Budget revenue in year t: buoyancy on nominal GRDP, or the sum of its components.

    Where the inputs split revenue, domestic revenue grows with nominal GRDP
    (buoyancy), import-export duties and land-use fees at their own rates, and the total
    is their sum; otherwise the total grows with nominal GRDP.
    """
    ratio = total_nominal / out[d, t - 1, V_GRDP_NOMINAL] if t > 0 else 1.0
    buoyancy = rates[t, C_BUOYANCY] + shocks[d, t, C_BUOYANCY]
    split = jump[H_DOMESTIC] >= 0
    total = 0.0
    if not follow_history(out, d, t, V_BUDGET_DOMESTIC, hist, H_DOMESTIC, jump):
        out[d, t, V_BUDGET_DOMESTIC] = out[d, t - 1, V_BUDGET_DOMESTIC] * ratio ** buoyancy
    if split:
        total += out[d, t, V_BUDGET_DOMESTIC]
    for v, h, c in ((V_BUDGET_IMPORT_EXPORT, H_IMPORT_EXPORT, C_IMPORT_EXPORT_GROWTH),
                    (V_BUDGET_LAND_USE, H_LAND_USE, C_LAND_USE_GROWTH)):
        if not follow_history(out, d, t, v, hist, h, jump):
            out[d, t, v] = out[d, t - 1, v] * (1.0 + rates[t, c] + shocks[d, t, c])
        if split and jump[h] >= 0:
            total += out[d, t, v]
    if split and t > jump[H_BUDGET]:  # the total is observed no later than its parts
        out[d, t, V_BUDGET_REVENUE] = total
    elif not follow_history(out, d, t, V_BUDGET_REVENUE, hist, H_BUDGET, jump):
        out[d, t, V_BUDGET_REVENUE] = out[d, t - 1, V_BUDGET_REVENUE] * ratio ** buoyancy
    out[d, t, V_BUDGET_REVENUE_SHARE] = out[d, t, V_BUDGET_REVENUE] / total_nominal


@njit(cache=True, error_model="numpy")
def simulate_draw(d, rates, shocks, growth_actual, nominal_actual, per_capita_actual,
                  anchor_shares, grdp0, hist, jump, ind_form, ind_lower, ind_upper, out):
    """Fill out[d] (all years, all variables) for one draw."""
    n_years = rates.shape[0]
    real = np.empty(N_SECTORS)
    price = np.empty(N_SECTORS)
    for s in range(N_SECTORS):
        real[s] = anchor_shares[0, s] * grdp0
        price[s] = 1.0
    total_real_prev = grdp0
    for t in range(n_years):
        # --- population: crude-rate components
        if not follow_history(out, d, t, V_POPULATION, hist, H_POPULATION, jump):
            natural = (rates[t, C_BIRTH] + shocks[d, t, C_BIRTH]
                       - rates[t, C_DEATH] - shocks[d, t, C_DEATH]
                       + rates[t, C_MIGRATION] + shocks[d, t, C_MIGRATION])
            out[d, t, V_POPULATION] = out[d, t - 1, V_POPULATION] * (1.0 + natural / 1000.0)
        pop = out[d, t, V_POPULATION]
        if t > 0:
            out[d, t, V_POPULATION_GROWTH] = pop / out[d, t - 1, V_POPULATION] - 1.0
        else:
            out[d, t, V_POPULATION_GROWTH] = np.nan

        # --- economy: real growth, sector prices, structure at current prices
        if t > 0:
            pinned = not math.isnan(growth_actual[t])
            for s in range(N_SECTORS):
                if pinned:  # observed total growth; sector detail unknown
                    g = growth_actual[t]
                else:
                    g = rates[t, C_GROWTH + s] + shocks[d, t, C_GROWTH + s]
                real[s] *= 1.0 + g
                price[s] *= 1.0 + rates[t, C_INFLATION + s] + shocks[d, t, C_INFLATION + s]
            if not math.isnan(anchor_shares[t, 0]):
                # observed structure re-anchors the split, keeping both totals
                total_r = 0.0
                total_n = 0.0
                for s in range(N_SECTORS):
                    total_r += real[s]
                    total_n += real[s] * price[s]
                for s in range(N_SECTORS):
                    real[s] = anchor_shares[t, s] * total_r
                    price[s] = total_n / total_r
            observed = nominal_actual[t]
            if math.isnan(observed):  # GRDP per capita observed without the population
                observed = per_capita_actual[t] * pop
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
        if t > 0 and not math.isnan(nominal_actual[t]):
            total_nominal = nominal_actual[t]
        elif t > 0 and not math.isnan(per_capita_actual[t]):
            total_nominal = per_capita_actual[t] * pop
        anchored = not math.isnan(anchor_shares[t, 0])
        for s in range(N_SECTORS):
            nominal = real[s] * price[s]
            if t > 0:
                out[d, t, V_VA_GROWTH + s] = real[s] / out[d, t - 1, V_VA_REAL + s] - 1.0
            else:
                out[d, t, V_VA_GROWTH + s] = np.nan
            out[d, t, V_VA_REAL + s] = real[s]
            out[d, t, V_VA_NOMINAL + s] = nominal
            out[d, t, V_SHARE + s] = anchor_shares[t, s] if anchored else nominal / total_nominal
        out[d, t, V_GRDP_REAL] = total_real
        out[d, t, V_GRDP_NOMINAL] = total_nominal
        deflator = total_nominal / total_real
        out[d, t, V_GRDP_DEFLATOR] = deflator

        # --- investment need: ICOR x increase in real GRDP (none when GRDP falls)
        if t > 0:
            if math.isnan(growth_actual[t]):
                out[d, t, V_GRDP_GROWTH] = total_real / total_real_prev - 1.0
            else:
                out[d, t, V_GRDP_GROWTH] = growth_actual[t]
            icor = rates[t, C_ICOR] + shocks[d, t, C_ICOR]
            inv_real = icor * max(total_real - total_real_prev, 0.0)
            out[d, t, V_INVESTMENT_NEED_REAL] = inv_real
            out[d, t, V_INVESTMENT_NEED] = inv_real * deflator
            out[d, t, V_INVESTMENT_RATE] = inv_real * deflator / total_nominal
        else:
            out[d, t, V_GRDP_GROWTH] = np.nan
            out[d, t, V_INVESTMENT_NEED_REAL] = np.nan
            out[d, t, V_INVESTMENT_NEED] = np.nan
            out[d, t, V_INVESTMENT_RATE] = np.nan
        total_real_prev = total_real

        # --- urbanization
        if not follow_history(out, d, t, V_URBANIZATION_RATE, hist, H_URBAN, jump):
            out[d, t, V_URBANIZATION_RATE] = step_urban_share(
                out[d, t - 1, V_URBANIZATION_RATE],
                rates[t, C_URBAN_SPEED] + shocks[d, t, C_URBAN_SPEED],
                rates[t, C_RECLASS] + shocks[d, t, C_RECLASS])
        out[d, t, V_POPULATION_URBAN] = out[d, t, V_URBANIZATION_RATE] * pop
        out[d, t, V_POPULATION_RURAL] = pop - out[d, t, V_POPULATION_URBAN]

        # --- per capita: billion VND / thousand persons = million VND per person
        gdp_pc = total_nominal / pop
        if t > 0 and not math.isnan(per_capita_actual[t]):
            gdp_pc = per_capita_actual[t]  # as observed, in every draw
        out[d, t, V_GRDP_PER_CAPITA] = gdp_pc
        out[d, t, V_GRDP_PER_CAPITA_USD] = gdp_pc * 1e6 / (rates[t, C_FX] + shocks[d, t, C_FX])
        if not follow_history(out, d, t, V_INCOME_PER_CAPITA, hist, H_INCOME, jump):
            elasticity = rates[t, C_INCOME_ELASTICITY] + shocks[d, t, C_INCOME_ELASTICITY]
            ratio = gdp_pc / out[d, t - 1, V_GRDP_PER_CAPITA]
            previous = out[d, t - 1, V_INCOME_PER_CAPITA]
            out[d, t, V_INCOME_PER_CAPITA] = previous * ratio ** elasticity

        # --- budget revenue
        step_budget(out, d, t, rates, shocks, hist, jump, total_nominal)

        # --- tourism: arrivals x spending per visit (visits x million VND / 1000 = bn VND)
        if not follow_history(out, d, t, V_TOURISTS, hist, H_TOURISTS, jump):
            growth = rates[t, C_TOURIST_GROWTH] + shocks[d, t, C_TOURIST_GROWTH]
            out[d, t, V_TOURISTS] = out[d, t - 1, V_TOURISTS] * (1.0 + growth)
        if not follow_history(out, d, t, V_SPENDING_PER_VISITOR, hist, H_SPENDING, jump):
            growth = rates[t, C_SPENDING_GROWTH] + shocks[d, t, C_SPENDING_GROWTH]
            previous = out[d, t - 1, V_SPENDING_PER_VISITOR]
            out[d, t, V_SPENDING_PER_VISITOR] = previous * (1.0 + growth)
        spending = out[d, t, V_SPENDING_PER_VISITOR]
        out[d, t, V_TOURISM_REVENUE] = out[d, t, V_TOURISTS] * spending / 1000.0

        # --- saturating indicators
        for i in range(N_INDICATORS):
            v = V_INDICATOR + i
            if not follow_history(out, d, t, v, hist, H_INDICATOR + i, jump):
                speed = rates[t, C_INDICATOR + i] + shocks[d, t, C_INDICATOR + i]
                out[d, t, v] = step_saturating(out[d, t - 1, v], speed, ind_form[i],
                                               ind_lower[i], ind_upper[i])


@njit(cache=True, parallel=True, error_model="numpy")
def simulate_paths(rates, shocks, growth_actual, nominal_actual, per_capita_actual,
                   anchor_shares, grdp0, hist, jump, ind_form, ind_lower, ind_upper, out):
    """Project every draw of one scenario.

    Parameters
    ----------
    rates : float64[n_years, N_CHANNELS]
        Central assumptions per year (layout: the ``C_*`` constants).
    shocks : float64[n_draws, n_years, N_CHANNELS]
        Additive deviations from ``rates`` per draw; zeros give the central path.
    growth_actual : float64[n_years]
        Observed real GRDP growth (fraction), NaN where the year is projected.
    nominal_actual : float64[n_years]
        Observed GRDP at current prices (billion VND), NaN where not observed; it
        scales the year's sector prices so that nominal GRDP equals it.
    per_capita_actual : float64[n_years]
        Observed GRDP per capita (million VND) where the population is projected (NaN
        elsewhere): nominal GRDP is then this × the draw's population.
    anchor_shares : float64[n_years, N_SECTORS]
        Observed structure at current prices (fractions summing to 1), NaN rows where
        none; row 0 must be set (it splits the base-year GRDP).
    grdp0 : float
        GRDP at current prices in the base year, billion VND.
    hist : float64[n_years, N_HISTORY]
        Observed levels (fractions for shares), NaN where not observed.
    jump : int64[N_HISTORY]
        Index of the last observed year of each history channel (-1: block not modelled).
    ind_form : int64[N_INDICATORS]
        ``FORM_*`` code of each saturating indicator.
    ind_lower, ind_upper : float64[N_INDICATORS]
        Bounds of each saturating indicator (fractions).
    out : float64[n_draws, n_years, N_VARIABLES]
        Filled with every variable (fractions for shares and rates).
    """
    for d in prange(out.shape[0]):
        simulate_draw(d, rates, shocks, growth_actual, nominal_actual, per_capita_actual,
                      anchor_shares, grdp0, hist, jump, ind_form, ind_lower, ind_upper, out)
