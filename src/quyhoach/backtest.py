"""Back-test: fit on data up to a cut-off year, forecast 1-6 years, compare with what happened.

For every province and indicator family with enough history, at every cut-off year:

* the **engine's forecast** uses the same models as ``quyhoach.calibrate``: statsmodels
  OLS fits of a trend (or a drift, or a mean) on a transformed scale (log for levels,
  logit for shares), slopes shrunk toward the all-province mean by empirical Bayes at
  the same cut-off, and normal prediction bands (50 % and 90 %) that include parameter
  and residual uncertainty;
* two **naive benchmarks**: the last value, and the last trend (the change between
  the last two observations, per year, carried forward).

**Band rule.** With z the forecast error over the forecast sd (transformed scale), the
factor ``s90 = q90(|z|) / 1.645`` is what makes the 90 % bands cover 90 %, and
``s50 = median(|z|) / 0.674`` the 50 % bands (errors are heavier-tailed than normal, so
one factor cannot do both). They are estimated per family and horizon on one half of
the provinces and applied to the other half (cross-fitting, so no forecast is scored
with a factor fitted to it); coverage is reported before and after. Trends are damped
(the slope fades by 0.8 a year beyond the data), which beat straight-line trends.
Each family's factor over all provinces is written to ``models/band_scales.toml``, and
``quyhoach calibrate`` widens or narrows that family's calibrated uncertainty by it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .calibrate import shrink
from .errors import ResultsError

Z50, Z90 = 0.6744897501960817, 1.6448536269514722
MIN_TRAIN = 3
MAX_HORIZON = 6
DAMPING = 0.8  # a fitted trend fades by this factor a year beyond the data (damped trend)


@dataclass(frozen=True)
class Family:
    """How one indicator family is forecast."""

    indicator: str  # in quyhoach.gso.panel
    label: str
    transform: str  # "log", "logit" or "none"
    model: str  # "trend", "drift" or "mean"


FAMILIES = (
    Family("population", "population", "log", "drift"),
    Family("urbanization_rate_old_vintage", "urbanization_rate", "logit", "drift"),
    Family("crude_birth_rate", "crude_birth_rate", "none", "trend"),
    Family("crude_death_rate", "crude_death_rate", "none", "trend"),
    Family("net_migration_rate", "net_migration_rate", "none", "mean"),
    Family("poverty_rate_gso", "poverty_rate", "logit", "trend"),
    Family("forest_cover", "forest_cover", "none", "trend"),
    Family("electricity_household_share_gso", "electricity_access", "logit", "trend"),
    Family("income_per_capita", "income_per_capita", "log", "trend"),
    Family("tourism_turnover", "tourism_turnover", "log", "trend"),
)


def _fwd(x, kind):
    x = np.asarray(x, float)
    if kind == "log":
        return np.log(np.maximum(x, 1e-9))
    if kind == "logit":
        p = np.clip(x / 100.0, 1e-4, 1 - 1e-4)
        return np.log(p / (1 - p))
    return x


def _back(z, kind):
    z = np.asarray(z, float)
    if kind == "log":
        return np.exp(z)
    if kind == "logit":
        return 100.0 / (1.0 + np.exp(-z))
    return z


def _fit(years: np.ndarray, y: np.ndarray, model: str) -> dict:
    """statsmodels OLS fit of one training series: slope, its se, residual variance."""
    import statsmodels.api as sm

    if model == "drift":
        steps = np.diff(y) / np.diff(years)  # per-year drift, gaps spread evenly
        fit = sm.OLS(steps, np.ones(len(steps))).fit()
        return {"slope": fit.params[0], "se": fit.bse[0], "sigma2": fit.scale,
                "last_year": years[-1], "last": y[-1], "n": len(y)}
    if model == "mean":
        fit = sm.OLS(y, np.ones(len(y))).fit()
        return {"slope": 0.0, "se": 0.0, "sigma2": fit.scale, "level": fit.params[0],
                "level_se": fit.bse[0], "n": len(y)}
    t = years - years.mean()
    fit = sm.OLS(y, sm.add_constant(t)).fit()
    return {"slope": fit.params[1], "se": fit.bse[1], "sigma2": fit.scale,
            "mean_y": y.mean(), "mean_t": years.mean(), "last_year": years[-1], "n": len(y)}


def _forecast(f: dict, model: str, year: np.ndarray, slope: float, se: float):
    """Mean and sd (transformed scale) of the forecast for ``year``."""
    if model == "drift":
        h = year - f["last_year"]
        return f["last"] + h * slope, np.sqrt(h * f["sigma2"] + h**2 * se**2)
    if model == "mean":
        return np.full(len(year), f["level"]), np.full(len(year), np.sqrt(
            f["sigma2"] + f["level_se"] ** 2))
    # damped trend: from the fitted value at the last training year, the slope fades
    h = year - f["last_year"]
    fade = np.array([np.sum(DAMPING ** np.arange(1, k + 1)) for k in h])
    dt = f["last_year"] - f["mean_t"] + fade
    return f["mean_y"] + slope * dt, np.sqrt(f["sigma2"] * (1 + 1 / f["n"]) + dt**2 * se**2)


MIN_PROVINCES = 3  # trends are shrunk across provinces (_forecasts_at)


def backtest_family(panel: pd.DataFrame, family: Family, provinces=None) -> pd.DataFrame:
    """Every (province, cut-off, horizon) forecast of one family, with naive benchmarks."""
    data = panel[panel["indicator"] == family.indicator]
    if provinces is not None:
        data = data[data["province"].isin(provinces)]
    series = {p: g.set_index("year")["value"].sort_index().dropna()
              for p, g in data.groupby("province")}
    years = sorted({y for s in series.values() for y in s.index})
    rows: list[dict] = []
    for cutoff in years[MIN_TRAIN - 1:-1]:
        rows += _forecasts_at(series, family, cutoff)
    return pd.DataFrame(rows)


def _forecasts_at(series: dict, family: Family, cutoff: int) -> list[dict]:
    """Forecasts from data up to ``cutoff`` of every province with enough history."""
    fits = {}
    for prov, s in series.items():
        train = s[s.index <= cutoff]
        if len(train) < MIN_TRAIN or not (s.index > cutoff).any():
            continue
        x = _fwd(train.to_numpy(), family.transform)
        fits[prov] = (_fit(train.index.to_numpy(float), x, family.model), train)
    if len(fits) < 3:
        return []
    slopes = pd.Series({p: f["slope"] for p, (f, _) in fits.items()})
    ses = pd.Series({p: f["se"] for p, (f, _) in fits.items()})
    if family.model == "mean":
        shrunk, post_se = slopes, ses
    else:
        shrunk, post_se, _, _ = shrink(slopes, ses)
    rows = []
    for prov, (f, train) in fits.items():
        test = series[prov]
        test = test[(test.index > cutoff) & (test.index <= cutoff + MAX_HORIZON)]
        if test.empty:
            continue
        yrs = test.index.to_numpy(float)
        mean, sd = _forecast(f, family.model, yrs, shrunk[prov], post_se[prov])
        last, prev = train.iloc[-1], train.iloc[-2]
        step = (last - prev) / (train.index[-1] - train.index[-2])
        trend = last + step * (yrs - train.index[-1])
        if family.transform == "logit":
            trend = np.clip(trend, 0.0, 100.0)
        elif family.transform == "log":
            trend = np.maximum(trend, 0.0)
        for i, (year, actual) in enumerate(test.items()):
            rows.append({"family": family.label, "province": prov, "cutoff": cutoff,
                         "year": year, "horizon": int(year - cutoff), "actual": actual,
                         "forecast": float(_back(mean[i], family.transform)),
                         "z": float((_fwd(actual, family.transform) - mean[i]) / sd[i]),
                         "mean_t": float(mean[i]), "sd_t": float(sd[i]),
                         "naive_last": float(last), "naive_trend": float(trend[i])})
    return rows


def _scales(rows: pd.DataFrame, level: float = 0.9) -> dict:
    """(family, horizon) → q(|z|) / z_q for a band of ``level``; a family's pooled factor
    where a horizon has fewer than 30 forecasts."""
    zq = Z90 if level == 0.9 else Z50
    out = {}
    for fam, g in rows.groupby("family"):
        pooled = float(np.quantile(np.abs(g["z"]), level) / zq)
        out[(fam, None)] = pooled
        for h, gh in g.groupby("horizon"):
            out[(fam, h)] = (float(np.quantile(np.abs(gh["z"]), level) / zq)
                             if len(gh) >= 30 else pooled)
    return out


def band_scales(forecasts: pd.DataFrame) -> dict:
    """Per family, the factor that makes 90 % bands cover 90 % over all provinces
    (written to models/band_scales.toml for ``quyhoach calibrate``)."""
    return {fam: v for (fam, h), v in _scales(forecasts).items() if h is None}


def score(forecasts: pd.DataFrame) -> pd.DataFrame:
    """Coverage and errors by family and horizon, with bands scaled out of sample.

    Provinces are split in two folds (alternately, in key order); each fold's bands are
    scaled by the factors estimated on the other fold, so no forecast is scored with a
    factor fitted to it.
    """
    provinces = sorted(forecasts["province"].unique())
    fold = forecasts["province"].map({p: i % 2 for i, p in enumerate(provinces)})
    scale = {0.5: pd.Series(1.0, index=forecasts.index),
             0.9: pd.Series(1.0, index=forecasts.index)}
    for level, series in scale.items():
        for k in (0, 1):
            factors = _scales(forecasts[fold != k], level)
            rows = forecasts[fold == k]
            series[rows.index] = [factors.get((f, h), factors.get((f, None), 1.0))
                                  for f, h in zip(rows["family"], rows["horizon"], strict=True)]
    data = forecasts.assign(absz=np.abs(forecasts["z"]), scale50=scale[0.5],
                            scale90=scale[0.9])
    out = []
    for (fam, h), g in data.groupby(["family", "horizon"]):
        actual = g["actual"].to_numpy()
        nonzero = np.where(np.abs(actual) > 0, np.abs(actual), np.nan)
        ape = {c: float(np.nanmean(np.abs(g[c].to_numpy() - actual) / nonzero) * 100)
               for c in ("forecast", "naive_last", "naive_trend")}
        mae = {c: float(np.mean(np.abs(g[c].to_numpy() - actual)))
               for c in ("forecast", "naive_last", "naive_trend")}
        out.append({
            "family": fam, "horizon": int(h), "n": len(g),
            "coverage50_raw": float(np.mean(g["absz"] <= Z50)),
            "coverage90_raw": float(np.mean(g["absz"] <= Z90)),
            "coverage50": float(np.mean(g["absz"] <= Z50 * g["scale50"])),
            "coverage90": float(np.mean(g["absz"] <= Z90 * g["scale90"])),
            "coverage50_with_90_factor": float(np.mean(g["absz"] <= Z50 * g["scale90"])),
            "band_scale": float(g["scale90"].mean()),
            "mape_engine": ape["forecast"], "mape_last_value": ape["naive_last"],
            "mape_last_trend": ape["naive_trend"], "mae_engine": mae["forecast"],
            "mae_last_value": mae["naive_last"], "mae_last_trend": mae["naive_trend"]})
    return pd.DataFrame(out)


def run_backtest(gso_dir="inputs/gso", all_dir="inputs/all_provinces", provinces=None,
                 families=FAMILIES):
    """Back-test every family; returns (forecasts, scores, scales, seconds).

    Raises
    ------
    ResultsError
        With fewer than ``MIN_PROVINCES`` provinces (trends are shrunk across
        provinces), or when no province has enough history for a forecast.
    """
    from .gso import panel as read_panel

    if provinces is not None and len(set(provinces)) < MIN_PROVINCES:
        raise ResultsError(f"--provinces {','.join(provinces)}: the back-test needs at least "
                           f"{MIN_PROVINCES} provinces (trends are shrunk across provinces"
                           "); name more, or leave --provinces out to use all 63")
    start = time.perf_counter()
    panel = read_panel(Path(gso_dir), Path(all_dir))
    forecasts = pd.concat([backtest_family(panel, f, provinces) for f in families],
                          ignore_index=True)
    if forecasts.empty:
        raise ResultsError(f"no forecast could be made: each cut-off needs {MIN_PROVINCES} "
                           f"provinces with {MIN_TRAIN} or more years of history up to it; "
                           "check the province keys and the data folders")
    return (forecasts, score(forecasts), band_scales(forecasts),
            time.perf_counter() - start)


def summary_table(scores: pd.DataFrame, horizons=(3, 4, 5, 6)) -> pd.DataFrame:
    """One row per family over the given horizons (weighted by the number of forecasts)."""
    g = scores[scores["horizon"].isin(horizons)]
    g = g if not g.empty else scores
    cols = ["coverage50_raw", "coverage90_raw", "coverage50", "coverage90",
            "coverage50_with_90_factor", "mape_engine",
            "mape_last_value", "mape_last_trend", "mae_engine", "mae_last_value",
            "mae_last_trend"]
    out = g.groupby("family").apply(
        lambda x: pd.Series({"n": x["n"].sum(), "band_scale": x["band_scale"].iloc[0],
                             **{c: np.average(x[c], weights=x["n"]) for c in cols}}),
        include_groups=False)
    out["beats_naive"] = (out["mape_engine"] < out["mape_last_value"]) & (
        out["mape_engine"] < out["mape_last_trend"])
    return out


def write_backtest(forecasts, scores, scales, seconds, out, scales_path, *, overwrite=False):
    """Parquet (forecasts, scores), ``summary.json`` and ``manifest.json`` under ``out``,
    and the band factors at ``scales_path``, each replaced atomically.

    ``out`` is written whole under a temporary name and renamed into place
    (``quyhoach.outdir.replacing``): one writer at a time, and ``overwrite`` replaces
    only a back-test output (a quyhoach manifest, or the three files an older version
    wrote), never any other folder.

    Raises
    ------
    ResultsError
        If an output exists and ``overwrite`` is false, ``out`` is not a back-test
        output, is a link or is being written, or a file cannot be written.
    """
    import json
    import os

    from . import __version__
    from .calibrate import to_toml
    from .errors import ResultsError
    from .outdir import replacing, write_error

    out, scales_path = Path(out), Path(scales_path)
    if scales_path.exists() and not overwrite:
        raise ResultsError(f"{scales_path} already exists; pass --force to replace it")
    with replacing(out, overwrite=overwrite, accept=_legacy_backtest) as tmp:
        forecasts.to_parquet(tmp / "forecasts.parquet", compression="zstd", index=False)
        scores.to_parquet(tmp / "scores.parquet", compression="zstd", index=False)
        (tmp / "summary.json").write_text(json.dumps(
            {"seconds": seconds, "forecasts": len(forecasts), "band_scales": scales},
            indent=2), encoding="utf-8")
        (tmp / "manifest.json").write_text(json.dumps(
            {"engine": "quyhoach", "engine_version": __version__, "kind": "backtest",
             "files": sorted(p.name for p in tmp.iterdir())}, indent=2), encoding="utf-8")
    scales_path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"backtest": {"method": "s90 = q90(|z|) / 1.645 per family, all provinces and "
                                  "horizons; see quyhoach.backtest",
                        "forecasts": len(forecasts)},
           "scale": {k: round(v, 4) for k, v in sorted(scales.items())}}
    part = scales_path.with_name(f".{scales_path.name}.tmp-{os.getpid()}")
    try:
        part.write_text(to_toml(doc, "Written by `quyhoach backtest`: band factors read by "
                                     "`quyhoach calibrate`."), encoding="utf-8")
        os.replace(part, scales_path)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise write_error(scales_path, exc) from exc


def _legacy_backtest(folder: Path) -> bool:
    """A back-test folder written before outputs had a manifest: exactly its three files."""
    return {p.name for p in folder.iterdir()} == {"forecasts.parquet", "scores.parquet",
                                                 "summary.json"}


def format_summary(scores: pd.DataFrame) -> str:
    """The back-test table: coverage and errors by family (horizons 3-6) and horizon."""
    table = summary_table(scores)
    lines = ["Back-test by family, horizons 3-6 years (bands scaled out of sample):", "",
             "| family | n | 50% band | 90% band | raw 50% / 90% | MAPE engine | MAPE last "
             "value | MAPE last trend | engine beats both |", "|---" * 9 + "|"]
    for fam, r in table.iterrows():
        lines.append(f"| {fam} | {int(r['n'])} | {r['coverage50']:.0%} | {r['coverage90']:.0%}"
                     f" | {r['coverage50_raw']:.0%} / {r['coverage90_raw']:.0%} | "
                     f"{r['mape_engine']:.1f} | {r['mape_last_value']:.1f} | "
                     f"{r['mape_last_trend']:.1f} | {'yes' if r['beats_naive'] else 'no'} |")
    lines += ["", "By horizon (MAPE %, engine / last value / last trend; 90% coverage):", ""]
    for fam, g in scores.groupby("family"):
        cells = [f"h{int(r.horizon)}: {r.mape_engine:.1f}/{r.mape_last_value:.1f}/"
                 f"{r.mape_last_trend:.1f} ({r.coverage90:.0%})" for r in g.itertuples()]
        lines.append(f"- {fam}: " + "; ".join(cells))
    return "\n".join(lines)
