"""The projection model written in plain numpy, vectorised over draws.

A second implementation of ``quyhoach.kernels.projection.simulate_paths`` for the
benchmarks (numba vs numpy) and for a test that both give the same numbers.
"""

import numpy as np

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
    """Same inputs and output layout as the numba kernel: (draws, years, variables)."""
    n, n_years, _ = shocks.shape
    r = inputs.rates[None, :, :] + shocks
    out = np.empty((n, n_years, k.N_VARIABLES))
    real = np.tile(inputs.anchor_shares[0] * inputs.grdp0, (n, 1))
    price = np.ones((n, k.N_SECTORS))
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
            if not history(t, k.V_POPULATION, k.H_POPULATION):
                natural = r[:, t, k.C_BIRTH] - r[:, t, k.C_DEATH] + r[:, t, k.C_MIGRATION]
                out[:, t, k.V_POPULATION] = out[:, t - 1, k.V_POPULATION] * (1 + natural / 1000)
            pop = out[:, t, k.V_POPULATION]
            out[:, t, k.V_POPULATION_GROWTH] = (pop / out[:, t - 1, k.V_POPULATION] - 1.0
                                                if t > 0 else np.nan)
            if t > 0:
                if not np.isnan(inputs.growth_actual[t]):
                    real *= 1.0 + inputs.growth_actual[t]
                else:
                    real *= 1.0 + r[:, t, k.C_GROWTH:k.C_GROWTH + 4]
                price *= 1.0 + r[:, t, k.C_INFLATION:k.C_INFLATION + 4]
                if not np.isnan(inputs.anchor_shares[t, 0]):
                    tr = real.sum(axis=1, keepdims=True)
                    tn = (real * price).sum(axis=1, keepdims=True)
                    real = inputs.anchor_shares[t][None, :] * tr
                    price = np.repeat(tn / tr, k.N_SECTORS, axis=1)
                observed = np.full(real.shape[0], inputs.nominal_actual[t])
                if np.isnan(inputs.nominal_actual[t]):
                    observed = inputs.per_capita_actual[t] * out[:, t, k.V_POPULATION]
                if not np.isnan(observed).any():
                    tn = (real * price).sum(axis=1)
                    price = price * (observed / tn)[:, None]
            nominal = real * price
            total_real, total_nominal = real.sum(axis=1), nominal.sum(axis=1)
            if t > 0 and not np.isnan(inputs.nominal_actual[t]):
                total_nominal = np.full_like(total_nominal, inputs.nominal_actual[t])
            elif t > 0 and not np.isnan(inputs.per_capita_actual[t]):
                total_nominal = inputs.per_capita_actual[t] * out[:, t, k.V_POPULATION]
            out[:, t, k.V_VA_GROWTH:k.V_VA_GROWTH + 4] = (
                real / out[:, t - 1, k.V_VA_REAL:k.V_VA_REAL + 4] - 1.0 if t > 0 else np.nan)
            out[:, t, k.V_VA_REAL:k.V_VA_REAL + 4] = real
            out[:, t, k.V_VA_NOMINAL:k.V_VA_NOMINAL + 4] = nominal
            out[:, t, k.V_SHARE:k.V_SHARE + 4] = (
                inputs.anchor_shares[t] if not np.isnan(inputs.anchor_shares[t, 0])
                else nominal / total_nominal[:, None])
            out[:, t, k.V_GRDP_REAL] = total_real
            out[:, t, k.V_GRDP_NOMINAL] = total_nominal
            deflator = total_nominal / total_real
            out[:, t, k.V_DEFLATOR] = deflator
            if t > 0:
                out[:, t, k.V_GRDP_GROWTH] = (
                    inputs.growth_actual[t] if not np.isnan(inputs.growth_actual[t])
                    else total_real / prev_real - 1.0)
                inv = r[:, t, k.C_ICOR] * np.maximum(total_real - prev_real, 0.0)
                out[:, t, k.V_INVESTMENT_REAL] = inv
                out[:, t, k.V_INVESTMENT] = inv * deflator
                out[:, t, k.V_INVESTMENT_RATE] = inv * deflator / total_nominal
            else:
                out[:, t, [k.V_GRDP_GROWTH, k.V_INVESTMENT_REAL, k.V_INVESTMENT,
                           k.V_INVESTMENT_RATE]] = np.nan
            prev_real = total_real
            if not history(t, k.V_URBAN_RATE, k.H_URBAN):
                u = np.clip(out[:, t - 1, k.V_URBAN_RATE], 1e-9, 1 - 1e-9)
                z = np.log(u / (1 - u)) + r[:, t, k.C_URBAN_SPEED]
                out[:, t, k.V_URBAN_RATE] = np.minimum(1 / (1 + np.exp(-z)) + r[:, t, k.C_RECLASS],
                                                       1.0)
            out[:, t, k.V_URBAN_POP] = out[:, t, k.V_URBAN_RATE] * pop
            out[:, t, k.V_RURAL_POP] = pop - out[:, t, k.V_URBAN_POP]
            gdp_pc = total_nominal / pop
            if t > 0 and not np.isnan(inputs.per_capita_actual[t]):
                gdp_pc = np.full_like(gdp_pc, inputs.per_capita_actual[t])
            out[:, t, k.V_GRDP_PC] = gdp_pc
            out[:, t, k.V_GRDP_PC_USD] = gdp_pc * 1e6 / r[:, t, k.C_FX]
            if not history(t, k.V_INCOME_PC, k.H_INCOME):
                ratio = gdp_pc / out[:, t - 1, k.V_GRDP_PC]
                out[:, t, k.V_INCOME_PC] = (out[:, t - 1, k.V_INCOME_PC]
                                            * ratio ** r[:, t, k.C_INCOME_ELASTICITY])
            if not history(t, k.V_BUDGET, k.H_BUDGET):
                ratio = total_nominal / out[:, t - 1, k.V_GRDP_NOMINAL]
                out[:, t, k.V_BUDGET] = out[:, t - 1, k.V_BUDGET] * ratio ** r[:, t, k.C_BUOYANCY]
            out[:, t, k.V_BUDGET_SHARE] = out[:, t, k.V_BUDGET] / total_nominal
            if not history(t, k.V_TOURISTS, k.H_TOURISTS):
                out[:, t, k.V_TOURISTS] = (out[:, t - 1, k.V_TOURISTS]
                                           * (1 + r[:, t, k.C_TOURIST_GROWTH]))
            if not history(t, k.V_SPENDING, k.H_SPENDING):
                out[:, t, k.V_SPENDING] = (out[:, t - 1, k.V_SPENDING]
                                           * (1 + r[:, t, k.C_SPENDING_GROWTH]))
            out[:, t, k.V_TOURISM_REVENUE] = (out[:, t, k.V_TOURISTS] * out[:, t, k.V_SPENDING]
                                              / 1000)
            for i in range(k.N_INDICATORS):
                v = k.V_INDICATOR + i
                if not history(t, v, k.H_INDICATOR + i):
                    out[:, t, v] = _saturating(out[:, t - 1, v], r[:, t, k.C_INDICATOR + i],
                                               inputs.ind_form[i], inputs.ind_lower[i],
                                               inputs.ind_upper[i])
    return out
