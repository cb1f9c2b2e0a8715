"""The projection model written in plain numpy, vectorised over draws.

A second implementation of ``quyhoach.kernels.projection.simulate_paths`` for the
benchmarks (numba vs numpy) and for a test that both give the same numbers.
"""

from types import SimpleNamespace

import numpy as np

from quyhoach.kernels import layout as L
from quyhoach.kernels import projection as k


def _saturating(x, speed, form, lower, upper):
    if form == k.FORM_POINTS:
        y = x + speed
    elif form == k.FORM_PROPORTIONAL:
        y = x * (1.0 + speed)
    elif form == k.FORM_GAP_CLOSING:
        y = np.where(speed >= 0, x + speed * (upper - x), x + speed * (x - lower))
    else:
        z = np.clip((x - lower) / (upper - lower), 1e-9, 1 - 1e-9)
        z = 1.0 / (1.0 + np.exp(-(np.log(z / (1 - z)) + speed)))
        y = lower + z * (upper - lower)
    return np.minimum(np.maximum(y, lower), upper)


def simulate_paths_numpy(inputs, shocks):
    """The numba kernel for a one-region plan: shocks (draws, years, channels) in,
    (draws, years, variables) out."""
    if inputs.rates.shape[0] != 1:
        raise ValueError("the numpy model projects one region")
    inputs = SimpleNamespace(**{name: getattr(inputs, name)[0] for name in (
        "rates", "growth_actual", "nominal_actual", "per_capita_actual", "anchor_shares",
        "grdp0", "hist", "jump")}, ind_form=inputs.ind_form, ind_lower=inputs.ind_lower,
        ind_upper=inputs.ind_upper)
    n, n_years, _ = shocks.shape
    r = inputs.rates[None, :, :] + shocks
    out = np.empty((n, n_years, L.N_VARIABLES))
    real = np.tile(inputs.anchor_shares[0] * inputs.grdp0, (n, 1))
    price = np.ones((n, L.N_SECTORS))
    prev_real = np.full(n, inputs.grdp0)
    jump, hist = inputs.jump, inputs.hist

    def history(t, v, h):
        if jump[h] < 0:
            out[:, t, v] = np.nan
            return True
        if t <= jump[h]:
            out[:, t, v] = hist[t, h]
            return True
        return False

    with np.errstate(invalid="ignore"):
        for t in range(n_years):
            if not history(t, L.V_POPULATION, L.H_POPULATION):
                natural = r[:, t, L.C_BIRTH] - r[:, t, L.C_DEATH] + r[:, t, L.C_MIGRATION]
                if t == jump[L.H_POPULATION] + 1:  # a census revision, once
                    natural = natural + r[:, t, L.C_REVISION]
                out[:, t, L.V_POPULATION] = (out[:, t - 1, L.V_POPULATION]
                                             * np.maximum(1 + natural / 1000, 0))
            pop = out[:, t, L.V_POPULATION]
            out[:, t, L.V_POPULATION_GROWTH] = (pop / out[:, t - 1, L.V_POPULATION] - 1.0
                                                if t > 0 else np.nan)
            if t > 0:
                if not np.isnan(inputs.growth_actual[t]):
                    real *= max(1.0 + inputs.growth_actual[t], 0.0)
                else:
                    real *= np.maximum(1.0 + r[:, t, L.C_GROWTH:L.C_GROWTH + 4], 0.0)
                price *= np.maximum(1.0 + r[:, t, L.C_INFLATION:L.C_INFLATION + 4], 0.0)
                if not np.isnan(inputs.anchor_shares[t, 0]):
                    tr = real.sum(axis=1, keepdims=True)
                    tn = (real * price).sum(axis=1, keepdims=True)
                    real = inputs.anchor_shares[t][None, :] * tr
                    price = np.repeat(tn / tr, L.N_SECTORS, axis=1)
                observed = np.full(real.shape[0], inputs.nominal_actual[t])
                if np.isnan(inputs.nominal_actual[t]):
                    observed = inputs.per_capita_actual[t] * out[:, t, L.V_POPULATION]
                if not np.isnan(observed).any():
                    tn = (real * price).sum(axis=1)
                    price = price * (observed / tn)[:, None]
            nominal = real * price
            total_real, total_nominal = real.sum(axis=1), nominal.sum(axis=1)
            if t > 0 and not np.isnan(inputs.nominal_actual[t]):
                total_nominal = np.full_like(total_nominal, inputs.nominal_actual[t])
            elif t > 0 and not np.isnan(inputs.per_capita_actual[t]):
                total_nominal = inputs.per_capita_actual[t] * out[:, t, L.V_POPULATION]
            out[:, t, L.V_VA_GROWTH:L.V_VA_GROWTH + 4] = (
                real / out[:, t - 1, L.V_VA_REAL:L.V_VA_REAL + 4] - 1.0 if t > 0 else np.nan)
            out[:, t, L.V_VA_REAL:L.V_VA_REAL + 4] = real
            out[:, t, L.V_VA_NOMINAL:L.V_VA_NOMINAL + 4] = nominal
            out[:, t, L.V_SHARE:L.V_SHARE + 4] = (
                inputs.anchor_shares[t] if not np.isnan(inputs.anchor_shares[t, 0])
                else nominal / total_nominal[:, None])
            out[:, t, L.V_GRDP_REAL] = total_real
            out[:, t, L.V_GRDP_NOMINAL] = total_nominal
            deflator = total_nominal / total_real
            out[:, t, L.V_GRDP_DEFLATOR] = deflator
            if t > 0:
                out[:, t, L.V_GRDP_GROWTH] = (
                    inputs.growth_actual[t] if not np.isnan(inputs.growth_actual[t])
                    else total_real / prev_real - 1.0)
                inv = r[:, t, L.C_ICOR] * np.maximum(total_real - prev_real, 0.0)
                out[:, t, L.V_INVESTMENT_NEED_REAL] = inv
                out[:, t, L.V_INVESTMENT_NEED] = inv * deflator
                out[:, t, L.V_INVESTMENT_RATE] = inv * deflator / total_nominal
            else:
                out[:, t, [L.V_GRDP_GROWTH, L.V_INVESTMENT_NEED_REAL, L.V_INVESTMENT_NEED,
                           L.V_INVESTMENT_RATE]] = np.nan
            prev_real = total_real
            if not history(t, L.V_URBANIZATION_RATE, L.H_URBAN):
                u = np.clip(out[:, t - 1, L.V_URBANIZATION_RATE], 1e-9, 1 - 1e-9)
                z = np.log(u / (1 - u)) + r[:, t, L.C_URBAN_SPEED]
                u = 1 / (1 + np.exp(-z)) + r[:, t, L.C_RECLASS]
                out[:, t, L.V_URBANIZATION_RATE] = np.clip(u, 0.0, 1.0)
            out[:, t, L.V_POPULATION_URBAN] = out[:, t, L.V_URBANIZATION_RATE] * pop
            out[:, t, L.V_POPULATION_RURAL] = pop - out[:, t, L.V_POPULATION_URBAN]
            gdp_pc = total_nominal / pop
            if t > 0 and not np.isnan(inputs.per_capita_actual[t]):
                gdp_pc = np.full_like(gdp_pc, inputs.per_capita_actual[t])
            out[:, t, L.V_GRDP_PER_CAPITA] = gdp_pc
            out[:, t, L.V_GRDP_PER_CAPITA_USD] = gdp_pc * 1e6 / r[:, t, L.C_FX]
            if not history(t, L.V_INCOME_PER_CAPITA, L.H_INCOME):
                ratio = gdp_pc / out[:, t - 1, L.V_GRDP_PER_CAPITA]
                out[:, t, L.V_INCOME_PER_CAPITA] = (out[:, t - 1, L.V_INCOME_PER_CAPITA]
                                            * ratio ** r[:, t, L.C_INCOME_ELASTICITY])
            ratio = total_nominal / out[:, t - 1, L.V_GRDP_NOMINAL] if t > 0 else 1.0
            buoyant = ratio ** r[:, t, L.C_BUOYANCY]
            split = inputs.jump[L.H_DOMESTIC] >= 0
            if not history(t, L.V_BUDGET_DOMESTIC, L.H_DOMESTIC):
                out[:, t, L.V_BUDGET_DOMESTIC] = out[:, t - 1, L.V_BUDGET_DOMESTIC] * buoyant
            total = out[:, t, L.V_BUDGET_DOMESTIC] if split else 0.0
            for v, h, c in ((L.V_BUDGET_IMPORT_EXPORT, L.H_IMPORT_EXPORT,
                             L.C_IMPORT_EXPORT_GROWTH),
                            (L.V_BUDGET_LAND_USE, L.H_LAND_USE, L.C_LAND_USE_GROWTH)):
                if not history(t, v, h):
                    out[:, t, v] = out[:, t - 1, v] * np.maximum(1 + r[:, t, c], 0)
                if split and inputs.jump[h] >= 0:
                    total = total + out[:, t, v]
            if split and t > inputs.jump[L.H_BUDGET]:
                out[:, t, L.V_BUDGET_REVENUE] = total
            elif not history(t, L.V_BUDGET_REVENUE, L.H_BUDGET):
                out[:, t, L.V_BUDGET_REVENUE] = out[:, t - 1, L.V_BUDGET_REVENUE] * buoyant
            out[:, t, L.V_BUDGET_REVENUE_SHARE] = out[:, t, L.V_BUDGET_REVENUE] / total_nominal
            if not history(t, L.V_TOURISTS, L.H_TOURISTS):
                out[:, t, L.V_TOURISTS] = (out[:, t - 1, L.V_TOURISTS]
                                           * np.maximum(1 + r[:, t, L.C_TOURIST_GROWTH], 0))
            if not history(t, L.V_SPENDING_PER_VISITOR, L.H_SPENDING):
                out[:, t, L.V_SPENDING_PER_VISITOR] = (out[:, t - 1, L.V_SPENDING_PER_VISITOR]
                                           * np.maximum(1 + r[:, t, L.C_SPENDING_GROWTH], 0))
            spending = out[:, t, L.V_SPENDING_PER_VISITOR]
            out[:, t, L.V_TOURISM_REVENUE] = out[:, t, L.V_TOURISTS] * spending / 1000
            for i in range(len(inputs.ind_form)):
                v = L.V_INDICATOR + i
                if not history(t, v, L.H_INDICATOR + i):
                    out[:, t, v] = _saturating(out[:, t - 1, v], r[:, t, L.C_INDICATOR + i],
                                               inputs.ind_form[i], inputs.ind_lower[i],
                                               inputs.ind_upper[i])
    return out


def target_metric_numpy(target, x, base_year):
    """A target's metric per draw, vectorised (the engine's is ``kernels.montecarlo``)."""
    from quyhoach.targets import kernel_terms

    kind, start, end = kernel_terms(target, base_year)
    if kind == 0:
        return x[:, end]
    if kind == 1:
        return ((x[:, end] / x[:, start]) ** (1.0 / (end - start)) - 1.0) * 100.0
    if kind == 2:
        return (x[:, end] - x[:, start]) / (end - start)
    return x[:, start: end + 1].sum(axis=1)


def is_met_numpy(target, metric):
    with np.errstate(invalid="ignore"):
        if target.comparison == ">=":
            return metric >= target.value
        if target.comparison == "<=":
            return metric <= target.value
        return np.abs(metric - target.value) <= target.tolerance + 1e-12
