"""Calibrate a province's uncertainty from history: statsmodels and scipy fits.

``calibrate(province)`` writes ``models/<province>.toml``: for every estimated parameter
its value, standard error (and covariance where estimated jointly), the data window and
sources, and fit diagnostics; plus an ``[uncertainty]`` table in plan-file form that a
plan can reference (``[plan] model = "../models/<province>.toml"``).

Where a provincial series is too short, estimates are pooled: a province's slope is
shrunk toward the all-province mean by empirical Bayes, with weight
``w = tau² / (tau² + se²)`` on its own estimate (``tau²``: the between-province variance
of the slopes, by the DerSimonian-Laird estimator). National GSO series stand in where no
provincial series exists (sector growth and deflators, ICOR, budget buoyancy); the
model file says so for each one.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from . import __version__
from .errors import InputDataError, Problem
from .registry import SECTORS, spread_limit

GSO = Path("inputs/gso")
ALL_PROVINCES = Path("inputs/all_provinces")
NATIONAL_ACCOUNTS = "National Accounts"
# National-accounts activities making up the engine's four sectors.
INDUSTRY = ("Mining and quarrying", "Manufacturing",
            "Electricity, gas, stream and air conditioning supply",
            "Water supply, sewerage, waste management and remediation activities",
            "Construction")
AGRICULTURE = "Agriculture, forestry and fishing"
TAXES = "Products taxes less subsidies on production"
MIN_POINTS = 5  # fewer points than this: the province's own estimate is not used
POOR_R2 = 0.1


@dataclass
class Estimate:
    """One estimated quantity with its diagnostics (units: the engine parameter's)."""

    name: str
    value: float
    se: float
    unit: str
    method: str
    window: str
    n: int
    sources: list
    residual_sd: float = float("nan")
    r_squared: float = float("nan")
    shrinkage: float = 1.0
    covariance: list | None = None
    extra: dict = field(default_factory=dict)
    flags: list = field(default_factory=list)


def _ols_trend(years, values):
    """statsmodels OLS of values on (1, year - first year); returns the results object."""
    import statsmodels.api as sm

    t = np.asarray(years, float) - float(years[0])
    return sm.OLS(np.asarray(values, float), sm.add_constant(t)).fit()


def shrink(slopes: pd.Series, ses: pd.Series):
    """Empirical-Bayes shrinkage of provincial slopes toward their precision-weighted mean.

    Returns the shrunk slopes, their standard errors (posterior), the weight on each
    province's own estimate, and the pooled mean.
    """
    ok = np.isfinite(slopes) & np.isfinite(ses) & (ses > 0)
    s, e = slopes[ok], ses[ok]
    w0 = 1.0 / e**2
    mean = float((w0 * s).sum() / w0.sum())
    # between-province variance: DerSimonian-Laird (robust to very unequal standard errors)
    q = float((w0 * (s - mean) ** 2).sum())
    denom = float(w0.sum() - (w0**2).sum() / w0.sum())
    tau2 = max((q - (len(s) - 1)) / denom, 0.0) if len(s) > 2 and denom > 0 else 0.0
    weight = tau2 / (tau2 + ses**2) if tau2 > 0 else ses * 0.0
    weight = weight.where(ok, 0.0)
    shrunk = weight * slopes.where(ok, mean) + (1 - weight) * mean
    se = np.sqrt(weight * ses.where(ok, 0.0) ** 2 + (1 - weight) ** 2 / w0.sum())
    return shrunk, se, weight, mean


def _series(panel: pd.DataFrame, province: str, indicator: str, last_year=None) -> pd.Series:
    rows = panel[(panel["province"] == province) & (panel["indicator"] == indicator)]
    s = rows.set_index("year")["value"].sort_index().dropna()
    return s if last_year is None else s[s.index <= last_year]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---------------------------------------------------------------- national estimates

def national_sectors(gso_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Real growth and deflator inflation (fractions) of the four sectors, 2006-2016."""
    from .gso import read_national_table

    folder = gso_dir / NATIONAL_ACCOUNTS
    frames = {}
    for kind, name in (("real", "constant 2010"), ("nominal", "current")):
        t = read_national_table(folder / f"Gross domestic product at {name} prices by kinds of "
                                         "economic activity.csv")
        t = t[t["series"].str.startswith("Total")].pivot_table(index="year", columns="item",
                                                               values="value")
        sectors = pd.DataFrame({
            "agriculture": t[AGRICULTURE],
            "industry_construction": t[list(INDUSTRY)].sum(axis=1),
            "product_taxes": t[TAXES]})
        sectors["services"] = t["TOTAL"] - sectors.sum(axis=1)
        frames[kind] = sectors[list(SECTORS)]
    growth = frames["real"].pct_change().dropna()
    deflator = (frames["nominal"] / frames["real"]).pct_change().dropna()
    return growth, deflator


def ar1_group(data: pd.DataFrame, name: str, source: str) -> Estimate:
    """AR(1) of each column (statsmodels AutoReg); residual sd and correlation."""
    from statsmodels.tsa.ar_model import AutoReg

    phis, sds, resid = [], [], {}
    for col in data.columns:
        fit = AutoReg(data[col].to_numpy(), lags=1, trend="c").fit()
        phis.append(float(fit.params[1]))
        sds.append(float(np.sqrt(fit.sigma2)))
        resid[col] = fit.resid
    corr = np.corrcoef(np.array(list(resid.values())))
    vals, vecs = np.linalg.eigh(corr)  # keep it positive definite
    corr = vecs @ np.diag(np.maximum(vals, 0.05)) @ vecs.T
    d = np.sqrt(np.diag(corr))
    corr = corr / np.outer(d, d)
    phi = float(np.clip(np.mean(phis), -0.5, 0.8))
    years = f"{data.index.min()}-{data.index.max()}"
    flags = ["national series stands in for the province"]
    if len(data) < 10:
        flags.append(f"short series (n = {len(data)}: the sector split exists from "
                     f"{data.index.min() - 1})")
    return Estimate(name, phi, float(np.std(phis, ddof=1) / math.sqrt(len(phis))), "AR(1)",
                    "statsmodels AutoReg(1) per sector on national series; persistence = mean "
                    "of the sector coefficients (clipped to [-0.5, 0.8]); residual correlation "
                    "made positive definite", years, len(data), [source],
                    extra={"sd": dict(zip(data.columns, sds, strict=True)),
                           "phi_by_sector": dict(zip(data.columns, phis, strict=True)),
                           "correlation": corr.round(3).tolist()},
                    flags=flags)


def national_icor(gso_dir: Path) -> Estimate:
    import statsmodels.api as sm

    from .gso import national_icor as read_icor

    t = read_icor(gso_dir)
    logs = np.log(t["icor"].to_numpy())
    fit = sm.OLS(logs, np.ones_like(logs)).fit()
    return Estimate("investment.icor", float(np.exp(fit.params[0])), float(fit.bse[0]),
                    "ratio (value: geometric mean; se: of log ICOR mean)",
                    "statsmodels OLS of log ICOR on a constant; lognormal sigma = sd(log ICOR)",
                    f"{t.year.min()}-{t.year.max()}", len(t),
                    ["inputs/gso/Investment and Construction/Investment as percentage of GDP "
                     "and Incremental capital output ratio (ICOR).csv"],
                    residual_sd=float(np.sqrt(fit.scale)),
                    flags=["national series stands in for the province"])


def national_buoyancy(gso_dir: Path) -> Estimate:
    import statsmodels.api as sm

    from .gso import read_national_table

    folder = gso_dir / NATIONAL_ACCOUNTS
    rev = read_national_table(folder / "State budget revenue final accounts.csv")
    rev = rev[(rev["item"] == "TOTAL") & rev["series"].str.startswith("Total")]
    rev = rev.set_index("year")["value"]
    gdp = read_national_table(folder / "Gross domestic product at current prices by kinds of "
                                       "economic activity.csv")
    gdp = gdp[(gdp["item"] == "TOTAL") & gdp["series"].str.startswith("Total")]
    gdp = gdp.set_index("year")["value"]
    both = pd.concat({"rev": np.log(rev), "gdp": np.log(gdp)}, axis=1).dropna().diff().dropna()
    fit = sm.OLS(both["rev"].to_numpy(), sm.add_constant(both["gdp"].to_numpy())).fit()
    mean_growth = float(both["gdp"].mean())
    return Estimate("budget.buoyancy", float(fit.params[1]), float(fit.bse[1]), "ratio",
                    "statsmodels OLS of Δlog revenue on Δlog nominal GDP (national); yearly "
                    "shock sd = residual sd / mean Δlog GDP", f"{both.index.min()}-"
                    f"{both.index.max()}", len(both),
                    ["inputs/gso/National Accounts/State budget revenue final accounts.csv",
                     "inputs/gso/National Accounts/Gross domestic product at current prices by "
                     "kinds of economic activity.csv"],
                    residual_sd=float(np.sqrt(fit.scale) / mean_growth),
                    r_squared=float(fit.rsquared), covariance=fit.cov_params().tolist(),
                    flags=["national series stands in for the province"]
                    + (["poor fit"] if fit.rsquared < POOR_R2 else []))


# ---------------------------------------------------------------- provincial estimates

def trend_all(panel: pd.DataFrame, indicator: str, transform=None, last_year=None,
              exclude_jumps=False) -> pd.DataFrame:
    """OLS trend of one indicator in every province: slope, se, level, residual sd."""
    rows = []
    for prov, g in panel[panel["indicator"] == indicator].groupby("province"):
        s = g.set_index("year")["value"].sort_index().dropna()
        if last_year is not None:
            s = s[s.index <= last_year]
        y = transform(s.to_numpy()) if transform else s.to_numpy()
        years = s.index.to_numpy()
        if exclude_jumps:  # reclassification: drawn as events, not drift
            y = without_jumps(y)
        if len(y) < 3 or not np.all(np.isfinite(y)):
            continue
        fit = _ols_trend(years, y)
        with np.errstate(divide="ignore", invalid="ignore"):  # a flat series: R² is NaN
            r2 = float(fit.rsquared)
        rows.append({"province": prov, "slope": fit.params[1], "se": fit.bse[1],
                     "step_sd": float(np.std(np.diff(y), ddof=1)) if len(y) > 2 else np.nan,
                     "level": fit.params[0] + fit.params[1] * (years[-1] - years[0]),
                     "last_year": int(years[-1]), "first_year": int(years[0]), "n": len(y),
                     "resid_sd": float(np.sqrt(fit.scale)), "r2": r2,
                     "fit": fit})
    return pd.DataFrame(rows).set_index("province")


def slope_change(panel: pd.DataFrame, indicator: str, transform=None,
                 exclude_jumps: bool = False, window: int = 5) -> Estimate:
    """How much a trend's slope changes from one period to the next, over every province.

    Each province's latest ``2 window`` observations (fewer where the series is
    shorter, at least 3 per half) are split in two halves; the slopes of the halves
    (OLS on the ``transform`` scale, jumps removed as in :func:`trend_all`) differ by
    ``d``. Their sampling variances ``se1² + se2²`` are part of ``d²``; what remains
    (method of moments, pooled: ``mean(d²) - mean(se1² + se2²)``, at least 0) is the
    variance of a real change of slope: the drift of a trend is not known to its
    standard error, it moves.
    """
    changes, noise = [], []
    for _, g in panel[panel["indicator"] == indicator].groupby("province"):
        s = g.set_index("year")["value"].sort_index().dropna().iloc[-2 * window:]
        if len(s) < 6:
            continue
        y = transform(s.to_numpy()) if transform else s.to_numpy()
        t = s.index.to_numpy(float)
        if exclude_jumps:
            y = without_jumps(y)
        half = len(y) // 2
        (early, v1), (late, v2) = _slope(t[:half], y[:half]), _slope(t[half:], y[half:])
        changes.append(late - early)
        noise.append(v1 + v2)
    if not changes:
        raise InputDataError([Problem(indicator, "no series of 6 observations or more; "
                                      "nothing to estimate the change of its slope from")])
    variance = max(float(np.mean(np.square(changes)) - np.mean(noise)), 0.0)
    return Estimate(f"{indicator}.slope_change", math.sqrt(variance), float("nan"),
                    "per year (transformed scale)", "method of moments on the change between "
                    f"the slopes of the two halves of each province's latest {2 * window} "
                    "observations, less their sampling variance", "", len(changes),
                    [indicator])


def _slope(t: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """OLS slope of y on t and its sampling variance (3 points or more)."""
    tc = t - t.mean()
    sxx = float(tc @ tc)
    slope = float(tc @ (y - y.mean())) / sxx
    resid = y - y.mean() - slope * tc
    return slope, float(resid @ resid) / (len(y) - 2) / sxx


def jumps(step: np.ndarray) -> np.ndarray:
    """Which yearly steps are jumps: more than 4 robust sds (MAD) from the median step."""
    if len(step) < 3:
        return np.zeros(len(step), dtype=bool)
    med = np.median(step)
    mad = np.median(np.abs(step - med)) * 1.4826 + 1e-9
    return np.abs(step - med) > 4 * mad


def without_jumps(y: np.ndarray) -> np.ndarray:
    """The series with each jump (:func:`jumps`) replaced by the median step: the drift
    (too short a series to tell a jump, 3 points or fewer, is left as it is)."""
    if len(y) < 4:
        return y
    step = np.diff(y)
    return y - np.concatenate([[0.0], np.cumsum(np.where(jumps(step),
                                                         step - np.median(step), 0.0))])


def reclassification(panel: pd.DataFrame, source: str,
                     indicator: str = "urbanization_rate_old_vintage") -> Estimate:
    """Administrative reclassification as a rare event, pooled over every province.

    A jump is an upward yearly step of the urban share (logit scale) more than 4 robust
    sds above the province's median step (:func:`jumps`); its size is the step less the
    median step, in points of population. Value: the yearly probability of a jump
    (jumps / steps); ``extra.tiers``: three tiers of size, each with its probability and
    median size (points). Calibration removes the jumps from the drift
    (:func:`trend_all`); the Monte Carlo draws them as events.
    """
    sizes, steps = [], 0
    for _, g in panel[panel["indicator"] == indicator].groupby("province"):
        s = g.set_index("year")["value"].sort_index().dropna()
        if len(s) < 4:
            continue
        share = s.to_numpy()
        step = np.diff(logit(share))
        up = jumps(step) & (step > 0)
        points = np.diff(share)
        sizes += list(points[up] - np.median(points))
        steps += len(step)
    if not steps:
        raise InputDataError([Problem(source, f"no {indicator} series of 4 years or more; "
                                      "nothing to estimate reclassification from")])
    p = len(sizes) / steps
    years = panel.loc[panel["indicator"] == indicator, "year"]
    first, last = int(years.min()), int(years.max())
    # sizes are heavy-tailed (a town upgraded, or a whole district): three tiers, each
    # an event with its own probability and its median size
    tiers = np.array_split(np.sort(sizes), 3) if len(sizes) >= 3 else [np.array(sizes)]
    return Estimate("urbanization.reclassification", p, math.sqrt(p * (1 - p) / steps),
                    "probability per year",
                    "jumps of the urban share (|step - median| > 4 MAD on the logit scale, "
                    "upward), pooled over every province: probability = jumps / steps, size = "
                    "jump less the province's median step, in three tiers of size (each: "
                    "its share of the jumps and median size)", f"{first}-{last}", steps,
                    [source], extra={"jumps": len(sizes), "tiers": [
                        {"probability": len(t) / steps, "size": float(np.median(t))}
                        for t in tiers if len(t)]},
                    flags=[] if len(sizes) >= 10 else [f"few jumps ({len(sizes)})"])


def residual_migration(panel: pd.DataFrame, province: str, source: str,
                       population: str = "population") -> Estimate:
    """Net migration that closes the population identity, per 1000 a year.

    GSO's migration rates come from a survey and do not add up: birth - death +
    migration misses the population series (Lai Châu 2012-2016: 1.0 %/yr from the
    rates, 2.1 %/yr observed). The residual ``1000 (P_t / P_t-1 - 1) - (b_t - d_t)`` is
    the migration the population series implies; its yearly sd and the se of its mean
    are the spreads of the net migration rate (the level: init's centre,
    ``quyhoach.init.population_trend``).
    """
    import statsmodels.api as sm

    pop = _series(panel, province, population)
    birth = _series(panel, province, "crude_birth_rate")
    death = _series(panel, province, "crude_death_rate")
    years = [y for y in pop.index if y - 1 in pop.index and y in birth.index
             and y in death.index]
    if len(years) < 3:
        raise InputDataError([Problem(source, f"'{province}': {len(years)} years with "
                                      f"population ({population}), the year before, and birth "
                                      "and death rates; need 3 to estimate residual migration")])
    resid = np.array([1000 * (pop[y] / pop[y - 1] - 1) - (birth[y] - death[y]) for y in years])
    fit = sm.OLS(resid, np.ones(len(resid))).fit()
    gso = _series(panel, province, "net_migration_rate")
    flags = [] if len(resid) >= MIN_POINTS else [f"short series (n = {len(resid)})"]
    return Estimate("population.net_migration_rate", float(fit.params[0]), float(fit.bse[0]),
                    "per 1000", "residual of the population identity: population growth "
                    "less (birth - death), yearly; statsmodels OLS on a constant",
                    f"{years[0]}-{years[-1]}", len(resid), [source],
                    residual_sd=float(np.sqrt(fit.scale)),
                    extra={"level_at_se": float(fit.bse[0]), "population_series": population,
                           **({"gso_net_migration_mean": float(gso.mean())} if len(gso) else {})},
                    flags=flags)


def census_revision(panel: pd.DataFrame, source: str) -> Estimate:
    """How much a census moved the provinces' population series, per 1000.

    The 2019 census revised GSO's series: in the latest year that both the published
    (``population_old_vintage``) and the revised (``population``) series cover, each
    province's ``1000 (revised / published - 1)``. Value: their mean; se: their root
    mean square about 0, the sd of the revision a plan's base population may still
    meet at the next census (2029), drawn once, in the first projected year.
    """
    old = panel[panel["indicator"] == "population_old_vintage"].set_index(["province", "year"])
    new = panel[panel["indicator"] == "population"].set_index(["province", "year"])
    both = pd.merge(old[["value"]], new[["value"]], left_index=True, right_index=True,
                    suffixes=("_old", "_new"))
    if both.empty:
        raise InputDataError([Problem(source, "no year with both the published and the "
                                      "census-revised population; nothing to estimate a "
                                      "revision from")])
    year = int(both.index.get_level_values("year").max())
    latest = both.xs(year, level="year")
    revision = 1000 * (latest["value_new"] / latest["value_old"] - 1)
    return Estimate("population.revision", float(revision.mean()),
                    float(np.sqrt(np.mean(np.square(revision)))), "per 1000",
                    f"the 2019 census's revision of the {year} population of every province "
                    "(revised / published - 1); se: root mean square about 0",
                    str(year), len(revision), [source],
                    extra={"largest": float(revision.abs().max())})


def logit(p):
    p = np.clip(np.asarray(p, float) / 100.0, 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


def provincial_trend(panel, province, indicator, name, unit, source, transform=None,
                     exclude_jumps=False, at_year=None, table=None) -> Estimate:
    """A province's trend, shrunk toward all provinces; the level predicted at ``at_year``.

    ``table``: :func:`trend_all` of the same arguments when already computed (the
    back-test estimates every province at one cut-off from one table).
    """
    if table is None:
        table = trend_all(panel, indicator, transform, exclude_jumps=exclude_jumps)
    if province not in table.index:
        raise InputDataError([Problem(f"{source}", f"no {indicator} series for '{province}' "
                                      f"(need at least 3 years); nothing to estimate from")])
    shrunk, se, weight, mean = shrink(table["slope"], table["se"])
    row = table.loc[province]
    flags = []
    if row["n"] < MIN_POINTS:
        flags.append(f"short series (n = {row['n']}): pooled estimate dominates")
    if row["r2"] < POOR_R2:
        flags.append(f"poor fit: R² = {row['r2']:.2f}")
    fit = row["fit"]
    extra = {"own_slope": float(row["slope"]), "own_slope_se": float(row["se"]),
             "all_province_mean_slope": mean, "step_sd": float(row["step_sd"])}
    value, level_se = float(shrunk[province]), float(se[province])
    if at_year is not None:  # the level where the projection starts, with its own se
        t = np.array([[1.0, at_year - row["first_year"]]])
        pred = fit.get_prediction(t)
        extra.update(level_at=float(pred.predicted_mean[0]), level_at_year=int(at_year),
                     level_at_se=float(pred.se_mean[0]))
    return Estimate(name, value, level_se, unit,
                    "statsmodels OLS trend per province; slope shrunk toward the all-province "
                    "mean (empirical Bayes)" + ("; reclassification jumps removed (|step - "
                                                 "median| > 4 MAD)" if exclude_jumps else ""),
                    f"{row['first_year']}-{row['last_year']}", int(row["n"]), [source],
                    residual_sd=float(row["resid_sd"]), r_squared=float(row["r2"]),
                    shrinkage=float(weight[province]),
                    covariance=fit.cov_params().tolist(), extra=extra, flags=flags)


def logistic_speed(panel, province, indicator, name, source, lower=0.0, upper=100.0) -> Estimate:
    """scipy curve_fit of x(t) = lower + (upper - lower) / (1 + exp(-(a + k t))): speed k."""
    from scipy.optimize import curve_fit

    s = _series(panel, province, indicator)
    if len(s) < 3:
        raise InputDataError([Problem(source, f"no {indicator} series for '{province}' (need "
                                      "at least 3 years); nothing to estimate from")])
    t = (s.index - s.index[0]).to_numpy(float)

    def curve(t, a, k):
        return lower + (upper - lower) / (1 + np.exp(-(a + k * t)))

    z0 = logit((s.to_numpy() - lower) / (upper - lower) * 100)
    guess = np.polyfit(t, z0, 1)[::-1]
    params, cov = curve_fit(curve, t, s.to_numpy(), p0=guess, maxfev=10000)
    resid = s.to_numpy() - curve(t, *params)
    z_resid = z0 - (params[0] + params[1] * t)
    r2 = 1 - resid.var() / s.to_numpy().var() if s.to_numpy().var() > 0 else float("nan")
    flags = [] if len(s) >= MIN_POINTS else [f"short series (n = {len(s)})"]
    if not np.isfinite(r2) or r2 < POOR_R2:
        flags.append(f"poor fit: R² = {r2:.2f}")
    return Estimate(name, float(params[1]), float(np.sqrt(cov[1, 1])), "logit points/yr",
                    f"scipy curve_fit of a logistic curve between {lower:g} and {upper:g} %",
                    f"{s.index.min()}-{s.index.max()}", len(s), [source],
                    residual_sd=float(np.std(z_resid, ddof=2)) if len(s) > 2 else float("nan"),
                    r_squared=float(r2), covariance=cov.tolist(), flags=flags)


def linear_speed(panel, province, indicator, name, source) -> Estimate:
    """scipy curve_fit of a straight line: points per year."""
    from scipy.optimize import curve_fit

    s = _series(panel, province, indicator)
    if len(s) < 3:
        raise InputDataError([Problem(source, f"no {indicator} series for '{province}' (need "
                                      "at least 3 years); nothing to estimate from")])
    t = (s.index - s.index[0]).to_numpy(float)
    params, cov = curve_fit(lambda t, a, b: a + b * t, t, s.to_numpy())
    resid = s.to_numpy() - (params[0] + params[1] * t)
    r2 = 1 - resid.var() / s.to_numpy().var() if s.to_numpy().var() > 0 else float("nan")
    flags = [] if len(s) >= MIN_POINTS else [f"short series (n = {len(s)})"]
    if not np.isfinite(r2) or r2 < POOR_R2:
        flags.append(f"poor fit: R² = {r2:.2f}")
    return Estimate(name, float(params[1]), float(np.sqrt(cov[1, 1])), "points/yr",
                    "scipy curve_fit of a straight line", f"{s.index.min()}-{s.index.max()}",
                    len(s), [source], residual_sd=float(np.std(np.diff(resid), ddof=1)),
                    r_squared=float(r2), covariance=cov.tolist(), flags=flags)


SPEED_FITS = {"logistic": logistic_speed, "points": linear_speed}
# The urban share's slope moves between periods (calibrate.slope_change): an AR(1) shock
# on the speed whose stationary sd is that change and whose memory is about 5 years, so
# a changed slope lasts a period and the spread grows with the square root of the horizon
# beyond it, not in proportion to it (a slope offset held to 2050 would).
SLOPE_PERSISTENCE = 0.8
SPEED_YEARS = 6  # an indicator's speed is fitted on its latest years (the back-test's choice)


def speed_all(panel: pd.DataFrame, indicator: str, form: str, name: str,
              source: str) -> dict[str, Estimate]:
    """Every province's own speed fit of one indicator over its latest
    :data:`SPEED_YEARS` years (a fit that fails, or has no finite standard error, is left
    out: a flat or saturated series)."""
    import warnings

    from scipy.optimize import OptimizeWarning

    fit, out = SPEED_FITS[form], {}
    rows = panel[panel["indicator"] == indicator]
    last = rows.groupby("province")["year"].transform("max")
    panel = rows[rows["year"] > last - SPEED_YEARS]  # the recent path, not old poverty lines
    # a degenerate series (flat, saturated) fails or gives no finite se: checked below
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", OptimizeWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        for province in panel.loc[panel["indicator"] == indicator, "province"].unique():
            try:
                e = fit(panel, province, indicator, name, source)
            except (InputDataError, RuntimeError, ValueError, ArithmeticError):
                continue
            if math.isfinite(e.value) and math.isfinite(e.se) and e.se > 0 \
                    and math.isfinite(e.residual_sd):
                out[province] = e
    return out


def shrunk_speed(panel: pd.DataFrame, province: str, indicator: str, form: str, name: str,
                 source: str, fits: dict | None = None) -> Estimate:
    """A province's speed shrunk toward all provinces' (empirical Bayes, as the trends):
    a noisy survey's fitted speed overshoots; the pooled one holds up out of sample.

    ``fits``: :func:`speed_all` of the same arguments when already computed.
    """
    import dataclasses

    fits = speed_all(panel, indicator, form, name, source) if fits is None else fits
    if province not in fits:
        raise InputDataError([Problem(source, f"no usable {indicator} series for "
                                      f"'{province}' (at least 3 years, and a fit with a "
                                      "finite standard error); nothing to estimate from")])
    slopes = pd.Series({p: e.value for p, e in fits.items()})
    ses = pd.Series({p: e.se for p, e in fits.items()})
    shrunk, se, weight, mean = shrink(slopes, ses)
    own = fits[province]
    return dataclasses.replace(
        own, value=float(shrunk[province]), se=float(se[province]),
        shrinkage=float(weight[province]),
        method=own.method + "; speed shrunk toward the all-province mean (empirical Bayes)",
        extra={**own.extra, "own_speed": own.value, "own_speed_se": own.se,
               "all_province_mean_speed": mean, "median_speed_se": float(ses.median())})


# ---------------------------------------------------------------- the model file

# Back-test family of each calibrated parameter: its spreads are multiplied by the family's
# factor from models/band_scales.toml when that file exists (the population rates by the
# factor of the population they project: what the back-test scores).
FAMILY = {"population.birth_rate": "population", "population.death_rate": "population",
          "population.net_migration_rate": "population",
          "urbanization.speed": "urbanization_rate", "indicators.poverty_rate.speed":
          "poverty_rate", "indicators.forest_cover.speed": "forest_cover",
          "indicators.electricity_access.speed": "electricity_access"}
# (engine indicator, GSO panel series, its table under inputs/gso)
INDICATOR_SERIES = (
    ("poverty_rate", "poverty_rate_gso", "Health, Culture and Living Standard/Poverty rate by "
                                         "province.csv"),
    ("forest_cover", "forest_cover", "Agriculture, Forestry and Fishery/Area of forest as of "
                                     "31 December by province.csv"),
    ("electricity_access", "electricity_household_share_gso",
     "Health, Culture and Living Standard/Percentage of household using electricity by "
     "province.csv"))
FORMS = {"indicators.poverty_rate.speed": "logistic", "indicators.forest_cover.speed":
         "points", "indicators.electricity_access.speed": "points"}


def calibrate(province: str, *, inputs_dir=None, gso_dir=GSO, all_dir=ALL_PROVINCES,
              band_scales=Path("models/band_scales.toml")) -> dict:
    """Estimate a province's uncertainty and return the model document (a dict).

    Parameters
    ----------
    province : str
        Canonical key, e.g. ``"lai_chau"``; its history is ``inputs/<province>/``.
    inputs_dir, gso_dir, all_dir : path
        The province's inputs, the GSO yearbook tables, the all-province tables.
    band_scales : path
        Band factors written by ``quyhoach backtest``; without the file the calibrated
        spreads are the raw statistical ones, and the model file says so.

    Raises
    ------
    InputDataError
        When a series needed for an estimate is missing (nothing to estimate from).
    """
    from .gso import normalise_province
    from .gso import panel as read_panel
    from .inputs import load_history

    gso_dir, all_dir, band_scales = Path(gso_dir), Path(all_dir), Path(band_scales)
    inputs_dir = Path(inputs_dir or Path("inputs") / province)
    key = normalise_province(province)
    history = load_history(inputs_dir)
    panel = read_panel(gso_dir, all_dir)
    scales = _band_scales(band_scales)
    pop = gso_dir / "Population and Employment"
    births = str(pop / "Crude birth rate, crude death rate and natural increase rate by "
                       "province.csv")
    start = max(history.series("population")) + 1  # first projected year of population

    est = {}
    growth, deflator = national_sectors(gso_dir)
    accounts = str(gso_dir / NATIONAL_ACCOUNTS / "Gross domestic product at constant 2010 "
                                                 "prices by kinds of economic activity.csv")
    est["shocks.growth"] = ar1_group(growth, "shocks.growth", accounts)
    est["shocks.inflation"] = ar1_group(deflator, "shocks.inflation", accounts)
    _scale_growth_to_province(est["shocks.growth"], history)
    est["investment.icor"] = national_icor(gso_dir)
    est["budget.buoyancy"] = national_buoyancy(gso_dir)
    for name, ind in (("population.birth_rate", "crude_birth_rate"),
                      ("population.death_rate", "crude_death_rate")):
        est[name] = provincial_trend(panel, key, ind, name, "per 1000", births, at_year=start)
    est["population.net_migration_rate"] = residual_migration(panel, key, births)
    est["population.revision"] = census_revision(panel, str(pop / "Average population by "
                                                                   "province.csv"))
    est["urbanization.speed"] = provincial_trend(
        panel, key, "urbanization_rate_old_vintage", "urbanization.speed", "logit points/yr",
        str(pop / "Average population by province.csv"), transform=logit, exclude_jumps=True)
    est["urbanization.reclassification"] = reclassification(
        panel, str(pop / "Average population by province.csv"))
    est["urbanization.speed"].extra["slope_change"] = slope_change(
        panel, "urbanization_rate_old_vintage", logit, exclude_jumps=True).value
    skipped = {}
    for name, indicator, table in INDICATOR_SERIES:
        path = f"indicators.{name}.speed"
        try:
            est[path] = shrunk_speed(panel, key, indicator, FORMS[path], path,
                                     str(gso_dir / table))
        except InputDataError as exc:  # a saturated series: the plan states its own spread
            skipped[path] = exc.problems[0].message
    doc = _document(province, est, scales, band_scales, history, gso_dir, all_dir)
    if skipped:
        doc["model"]["not_estimated"] = skipped
    return doc


def _scale_growth_to_province(growth: Estimate, history) -> None:
    """Add a common provincial shock so total growth has the province's observed volatility.

    Sector covariance = national covariance + c² (one shock common to every sector), with
    c chosen so that the sd of total growth (weights: the province's latest observed
    structure) equals the sd of the province's observed growth over its latest run of
    consecutive years (an isolated older year belongs to another period).
    """
    observed = history.series("grdp_growth")
    years = _latest_run(observed)
    recent = [observed[y] for y in years]
    structure_year = _latest_structure_year(history)
    if len(recent) < 3 or structure_year is None:
        growth.flags.append("no recent provincial growth series (3 consecutive years) or "
                            "sector structure: national volatility used")
        return
    shares = np.array([history.series(f"share_{s}")[structure_year] for s in SECTORS]) / 100
    sd = np.array([growth.extra["sd"][s] for s in SECTORS])
    cov = np.outer(sd, sd) * np.array(growth.extra["correlation"])
    national_total = float(np.sqrt(shares @ cov @ shares))
    provincial = float(np.std(recent, ddof=1)) / 100
    common = math.sqrt(max(provincial**2 - national_total**2, 0.0)) / shares.sum()
    cov = cov + common**2
    sd = np.sqrt(np.diag(cov))
    growth.extra.update(sd=dict(zip(SECTORS, sd, strict=True)), common_provincial_sd=common,
                        correlation=(cov / np.outer(sd, sd)).round(3).tolist())
    short = ": short series" if len(recent) < MIN_POINTS else ""
    growth.flags.append(f"a common provincial shock of sd {common * 100:.2f} points added to "
                        f"every sector so total growth has the province's observed sd "
                        f"{provincial * 100:.2f} points (n = {len(recent)}, {years[0]}-"
                        f"{years[-1]}{short}; weights: the {structure_year} structure)")


def _latest_run(series: dict) -> list[int]:
    """Years of a series' latest run of consecutive years, oldest first ([] if empty)."""
    years = sorted(series)
    run = years[-1:]
    for year in reversed(years[:-1]):
        if year != run[0] - 1:
            break
        run.insert(0, year)
    return run


def _latest_structure_year(history) -> int | None:
    """Latest year in which every sector's share of GRDP is observed (None: no such year)."""
    years = set.intersection(*(set(history.series(f"share_{s}")) for s in SECTORS))
    return max(years) if years else None


def _band_scales(path: Path) -> dict:
    """Band factors by back-test family from ``quyhoach backtest`` ({} without the file)."""
    import tomllib

    if not path.is_file():
        return {}
    try:
        scales = tomllib.loads(path.read_text(encoding="utf-8")).get("scale", {})
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputDataError([Problem(str(path), f"not a band-factor file ({exc}); expected "
                                      "the TOML that quyhoach backtest writes, with a [scale] "
                                      "table; re-run quyhoach backtest or pass --scales")]) \
            from None
    bad = {k: v for k, v in scales.items() if isinstance(v, bool)
           or not isinstance(v, (int, float)) or not 0 < v < math.inf} \
        if isinstance(scales, dict) else {"scale": scales}
    if bad:
        raise InputDataError([Problem(f"{path}: scale", f"expected a table of positive, "
                                      f"finite factors by family, found {bad}; re-run "
                                      "quyhoach backtest")])
    return scales


def uncertainty_tables(est: dict, scales: dict) -> dict:
    """The ``[uncertainty]`` table (plan form) of the estimates present in ``est``.

    What ``quyhoach calibrate`` writes and what ``quyhoach backtest`` runs at each
    cut-off: each family's spreads multiplied by its factor in ``scales`` (1 without),
    and never wider than the parameter's plausible range (``registry.spread_limit``).
    """
    params: dict = {}
    shocks: dict = {}
    disruptions = _reclassification_events(est.get("urbanization.reclassification"))

    def spread(name: str, raw: float, digits: int) -> float:
        return round(min(raw * scales.get(FAMILY[name], 1.0), spread_limit(name)), digits)

    for name in ("population.birth_rate", "population.death_rate",
                 "population.net_migration_rate"):
        if name in est:
            e = est[name]
            params[name] = {"dist": "normal", "sd": spread(name, e.extra["level_at_se"], 4)}
            shocks[name] = {"sd": spread(name, e.residual_sd, 4), "persistence": 0.0}
    if "population.revision" in est:  # measured on its own: no band factor
        params["population.revision"] = {"dist": "normal",
                                         "sd": round(est["population.revision"].se, 2)}
    if "urbanization.speed" in est:
        e = est["urbanization.speed"]
        params[e.name] = {"dist": "normal", "sd": spread(e.name, e.se, 5)}
    for name in FORMS:  # the centre is shrunk; the spread is the province's own se, at least
        if name in est:  # the median province's (a flat series' se of 0 is no certainty)
            e = est[name]
            params[name] = {"dist": "normal", "sd": spread(name, max(
                e.extra["own_speed_se"], e.extra["median_speed_se"]), 5)}
    if "urbanization.speed" in est:  # yearly noise, and a slope that moves between periods
        e = est["urbanization.speed"]
        moving = e.extra["slope_change"] * math.sqrt(1 - SLOPE_PERSISTENCE**2)
        shocks[e.name] = {"sd": spread(e.name, math.hypot(e.extra["step_sd"], moving), 5),
                          "persistence": SLOPE_PERSISTENCE}
    _national_tables(est, params, shocks)
    out = {"parameters": params, "shocks": shocks}
    return {**out, "disruptions": disruptions} if disruptions else out


def _national_tables(est: dict, params: dict, shocks: dict) -> None:
    """The entries estimated on national series (no band factor: not back-tested)."""
    if "investment.icor" in est:
        params["investment.icor"] = {"dist": "lognormal",
                                     "sigma": round(est["investment.icor"].residual_sd, 4)}
    if "budget.buoyancy" in est:
        params["budget.buoyancy"] = {"dist": "normal", "sd": round(est["budget.buoyancy"].se, 4)}
        shocks["budget.buoyancy"] = {"sd": round(est["budget.buoyancy"].residual_sd, 4),
                                     "persistence": 0.0}
    for group in ("growth", "inflation"):
        if f"shocks.{group}" in est:
            e = est[f"shocks.{group}"]
            shocks[group] = {"sd": {s: round(e.extra["sd"][s] * 100, 3) for s in SECTORS},
                             "persistence": round(e.value, 3),
                             "correlation": e.extra["correlation"]}


def _reclassification_events(events: Estimate | None) -> list:
    """The reclassification estimate as disruptions, one per tier of size."""
    if events is None:
        return []
    tiers = [t for t in events.extra["tiers"] if t["probability"] > 0 and t["size"] > 0]
    return [{"name": f"reclassification_{i + 1}", "probability": round(t["probability"], 4),
             "depth": {"urbanization": round(t["size"], 3)}, "recovery_years": 0,
             "note": f"towns reclassified urban, tier {i + 1} of {len(tiers)} by size: "
                     f"{events.extra['jumps']} jumps in {events.n} province-years "
                     f"({events.window})"} for i, t in enumerate(tiers)]


def _document(province, est, scales, scales_path, history, gso_dir, all_dir) -> dict:
    """The model file as a dict: [model], [uncertainty] (plan form), [estimates]."""
    files = {**history.sha256}
    for path in sorted(Path(gso_dir).rglob("*.csv")) + sorted(Path(all_dir).glob("*.csv")):
        files[str(path)] = _sha(path)
    return {
        "model": {"province": province, "engine_version": __version__,
                  "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
                  "forms": FORMS, "band_scales": scales,
                  "band_scales_file": str(scales_path) if scales else
                  f"none found at {scales_path}: raw statistical spreads (run quyhoach "
                  "backtest first)", "inputs_sha256": files},
        "uncertainty": uncertainty_tables(est, scales),
        "estimates": {name: _estimate_table(e) for name, e in est.items()},
    }


def _estimate_table(e: Estimate) -> dict:
    out = {"value": e.value, "se": e.se, "unit": e.unit, "method": e.method,
           "window": e.window, "n": e.n, "sources": e.sources}
    for key in ("residual_sd", "r_squared"):
        v = getattr(e, key)
        if v == v:  # not NaN
            out[key] = v
    if e.shrinkage != 1.0:
        out["shrinkage_weight_own"] = e.shrinkage
    if e.covariance is not None:
        out["covariance"] = e.covariance
    out.update(e.extra)
    out["flags"] = e.flags
    return out


def write_model(doc: dict, path, *, overwrite: bool = False) -> Path:
    """Write a model document as TOML, atomically; never silently over an existing file."""
    import os

    from .errors import ResultsError

    path = Path(path)
    if path.is_dir():
        raise ResultsError(f"{path} is a folder; give the model file's path, e.g. "
                           f"{path / 'province.toml'}")
    if path.exists() and not overwrite:
        raise ResultsError(f"{path} already exists; pass --force to replace it (review the "
                           "diff like code)")
    text = to_toml(doc)  # refuses a bad document before anything is written
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk must not leave a half file behind
        raise
    return path


def to_toml(doc: dict, header: str = "Written by `quyhoach calibrate`: estimated from "
                                     "history, reviewed like code.") -> str:
    """A model document as TOML (written by ``tomli-w``), every number exact.

    Floats are written in full (shortest repr that reads back to the same float), text
    with TOML escapes (so multi-line text and non-ASCII keys read back unchanged).

    Raises
    ------
    ResultsError
        For a number that is not finite (NaN or ±inf), naming its key: a model file is
        reviewed and read as plan uncertainty, where such a number is a failed fit.
    """
    import tomli_w

    return f"# {header}\n\n" + tomli_w.dumps(_plain(doc, ""))


def _plain(value, where: str):
    """``value`` with numpy scalars and arrays made plain Python; refuses non-finite."""
    if isinstance(value, dict):
        return {str(k): _plain(v, f"{where}.{k}" if where else str(k))
                for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        if not math.isfinite(value):
            from .errors import ResultsError

            raise ResultsError(f"model value {where} is {float(value)}: a model file holds "
                               "finite numbers only; the estimate behind it failed (check "
                               "its series for too few or constant values) — fix it before "
                               "writing the model")
        return float(value)
    if isinstance(value, str):
        return str(value)
    raise TypeError(f"model value {where}: cannot write {type(value).__name__} as TOML")


def common_shock_share(panel: pd.DataFrame, indicator: str = "population") -> tuple[float, str]:
    """The share of a yearly shock's variance common to all provinces, and how it was got.

    Each province's yearly log change of ``indicator`` is standardised (less its mean, over
    its sd); with n provinces the variance of their cross-province mean is
    ``(1 + (n - 1) rho) / n``, so the mean pairwise correlation ``rho`` (method of
    moments, clipped to [0, 1]) is the common share: the kernel's members' shocks
    correlate by it.
    """
    wide = panel[panel["indicator"] == indicator].pivot_table(
        index="year", columns="province", values="value")
    change = np.log(wide).diff().dropna(how="all").dropna(axis=1)
    z = (change - change.mean()) / change.std(ddof=1)
    n = z.shape[1]
    rho = (n * float(z.mean(axis=1).var(ddof=1)) - 1.0) / (n - 1)
    share = min(max(rho, 0.0), 1.0)
    how = (f"estimated: mean pairwise correlation of the {n} provinces' yearly {indicator} "
           f"changes {change.index.min() - 1}-{change.index.max()} (standardised by "
           f"province; method of moments on their cross-province mean), {rho:.3f}")
    return round(share, 2), how
