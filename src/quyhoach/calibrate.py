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
from .registry import SECTORS

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
        if exclude_jumps and len(y) > 3:  # reclassification: drop years after a jump
            step = np.diff(y)
            med = np.median(step)
            mad = np.median(np.abs(step - med)) * 1.4826 + 1e-9
            keep = np.concatenate([[True], np.abs(step - med) <= 4 * mad])
            offsets = np.concatenate([[0.0], np.cumsum(np.where(keep[1:], 0.0, step - med))])
            y = y - offsets  # remove the jumps, keep the drift
        if len(y) < 3 or not np.all(np.isfinite(y)):
            continue
        fit = _ols_trend(years, y)
        rows.append({"province": prov, "slope": fit.params[1], "se": fit.bse[1],
                     "step_sd": float(np.std(np.diff(y), ddof=1)) if len(y) > 2 else np.nan,
                     "level": fit.params[0] + fit.params[1] * (years[-1] - years[0]),
                     "last_year": int(years[-1]), "first_year": int(years[0]), "n": len(y),
                     "resid_sd": float(np.sqrt(fit.scale)), "r2": float(fit.rsquared),
                     "fit": fit})
    return pd.DataFrame(rows).set_index("province")


def provincial_mean(panel, province, indicator, name, unit, source) -> Estimate:
    """A province's mean level (statsmodels OLS on a constant) for trendless, noisy series."""
    import statsmodels.api as sm

    s = _series(panel, province, indicator)
    if len(s) < 3:
        raise InputDataError([Problem(source, f"no {indicator} series for '{province}' (need "
                                      "at least 3 years); nothing to estimate from")])
    fit = sm.OLS(s.to_numpy(), np.ones(len(s))).fit()
    flags = [] if len(s) >= MIN_POINTS else [f"short series (n = {len(s)})"]
    return Estimate(name, float(fit.params[0]), float(fit.bse[0]), unit,
                    "statsmodels OLS on a constant (no trend: the series is noise around a "
                    "level)", f"{s.index.min()}-{s.index.max()}", len(s), [source],
                    residual_sd=float(np.sqrt(fit.scale)),
                    extra={"level_at_se": float(fit.bse[0])}, flags=flags)


def logit(p):
    p = np.clip(np.asarray(p, float) / 100.0, 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


def provincial_trend(panel, province, indicator, name, unit, source, transform=None,
                     exclude_jumps=False, at_year=None) -> Estimate:
    """A province's trend, shrunk toward all provinces; the level predicted at ``at_year``."""
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
    r2 = 1 - resid.var() / s.to_numpy().var()
    flags = [] if len(s) >= MIN_POINTS else [f"short series (n = {len(s)})"]
    if r2 < POOR_R2:
        flags.append(f"poor fit: R² = {r2:.2f}")
    return Estimate(name, float(params[1]), float(np.sqrt(cov[1, 1])), "points/yr",
                    "scipy curve_fit of a straight line", f"{s.index.min()}-{s.index.max()}",
                    len(s), [source], residual_sd=float(np.std(np.diff(resid), ddof=1)),
                    r_squared=float(r2), covariance=cov.tolist(), flags=flags)


# ---------------------------------------------------------------- the model file

# Back-test family of each calibrated parameter: its bands are widened or narrowed by the
# family's scale factor from models/band_scales.toml when that file exists.
FAMILY = {"population.birth_rate": "crude_birth_rate", "population.death_rate":
          "crude_death_rate", "population.net_migration_rate": "net_migration_rate",
          "urbanization.speed": "urbanization_rate", "indicators.poverty_rate.speed":
          "poverty_rate", "indicators.forest_cover.speed": "forest_cover",
          "indicators.electricity_access.speed": "electricity_access"}
FORMS = {"indicators.poverty_rate.speed": "logistic", "indicators.forest_cover.speed":
         "points", "indicators.electricity_access.speed": "logistic"}


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
    migration = str(pop / "In-migration rate, out-migration rate and net-migration rate by "
                          "province.csv")
    health = gso_dir / "Health, Culture and Living Standard"
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
    est["population.net_migration_rate"] = provincial_mean(
        panel, key, "net_migration_rate", "population.net_migration_rate", "per 1000", migration)
    est["urbanization.speed"] = provincial_trend(
        panel, key, "urbanization_rate_old_vintage", "urbanization.speed", "logit points/yr",
        str(pop / "Average population by province.csv"), transform=logit, exclude_jumps=True)
    est["indicators.poverty_rate.speed"] = logistic_speed(
        panel, key, "poverty_rate_gso", "indicators.poverty_rate.speed",
        str(health / "Poverty rate by province.csv"))
    est["indicators.forest_cover.speed"] = linear_speed(
        panel, key, "forest_cover", "indicators.forest_cover.speed",
        str(gso_dir / "Agriculture, Forestry and Fishery" / "Area of forest as of 31 December "
                      "by province.csv"))
    est["indicators.electricity_access.speed"] = logistic_speed(
        panel, key, "electricity_household_share_gso", "indicators.electricity_access.speed",
        str(health / "Percentage of household using electricity by province.csv"))
    return _document(province, est, scales, band_scales, history, gso_dir, all_dir)


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


def _document(province, est, scales, scales_path, history, gso_dir, all_dir) -> dict:
    """The model file as a dict: [model], [uncertainty] (plan form), [estimates]."""
    params, shocks = {}, {}
    for name in ("population.birth_rate", "population.death_rate",
                 "population.net_migration_rate"):
        e, f = est[name], scales.get(FAMILY[name], 1.0)
        params[name] = {"dist": "normal", "sd": round(e.extra["level_at_se"] * f, 4)}
        shocks[name] = {"sd": round(e.residual_sd * f, 4), "persistence": 0.0}
    for name in ("urbanization.speed", "indicators.poverty_rate.speed",
                 "indicators.forest_cover.speed", "indicators.electricity_access.speed"):
        e, f = est[name], scales.get(FAMILY[name], 1.0)
        params[name] = {"dist": "normal", "sd": round(e.se * f, 5)}
    shocks["urbanization.speed"] = {
        "sd": round(est["urbanization.speed"].extra["step_sd"]
                    * scales.get("urbanization_rate", 1.0), 5), "persistence": 0.0}
    params["investment.icor"] = {"dist": "lognormal",
                                 "sigma": round(est["investment.icor"].residual_sd, 4)}
    params["budget.buoyancy"] = {"dist": "normal", "sd": round(est["budget.buoyancy"].se, 4)}
    shocks["budget.buoyancy"] = {"sd": round(est["budget.buoyancy"].residual_sd, 4),
                                 "persistence": 0.0}
    for group in ("growth", "inflation"):
        e = est[f"shocks.{group}"]
        shocks[group] = {"sd": {s: round(e.extra["sd"][s] * 100, 3) for s in SECTORS},
                         "persistence": round(e.value, 3),
                         "correlation": e.extra["correlation"]}
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
        "uncertainty": {"parameters": params, "shocks": shocks},
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
