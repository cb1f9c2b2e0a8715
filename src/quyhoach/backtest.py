"""Back-test of the engine that ships: its own plans, kernel and bands, scored in time.

At every cut-off year ``c`` and for every province with the data, the back-test does
what a planner starting a plan in year ``c`` would have done with this engine, using
only the data published up to ``c``:

* **inputs as known then**: history to ``c`` from the GSO yearbook (population on the
  pre-census vintage, so the 2019 census revision counts as an error, as it did for
  plans drafted before it);
* **the starter plan's centre** (``quyhoach.init``): birth and death rates, the recent
  means; net migration, what closes the population identity (population growth less
  natural increase); urbanization and indicator speeds, the calibrated trends;
* **the calibrated uncertainty** (``quyhoach.calibrate.uncertainty_tables``, estimated
  on the data to ``c``, trends shrunk across provinces at ``c``), with reclassification
  drawn as events whose frequency and size come from the jumps to ``c``;
* **the band factor known at c**: each family's spreads are multiplied by
  ``q90(k)`` over the raw forecasts already realised by ``c`` (``k``: the factor by
  which a forecast's raw 90 % half-band had to grow to reach the figure published when
  it was realised), none before 30 such errors exist. This is the rule ``quyhoach
  calibrate`` ships, applied to every error realised by now
  (``models/band_scales.toml``);
* **the engine's Monte Carlo** (``quyhoach.simulate``: plan file, compile step, numba
  kernel, histogram bands), scored against what happened 1-6 years later, on the best
  series today (the census-revised population).

Scores, by family and horizon: coverage of the 50 % and 90 % bands that ship (and of
the raw ones), CRPS from the draws and the 90 % interval score, against two naive
benchmarks (last value, last trend) whose bands follow the same rule (a spread
``s sqrt(h)`` with ``s`` from their own errors realised by ``c``); a province-cluster
bootstrap gives intervals for the engine's CRPS against the better benchmark.
"""

from __future__ import annotations

import math
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .calibrate import FORMS, logit
from .errors import InputDataError, ProblemsError, ResultsError

Z50, Z90 = 0.6744897501960817, 1.6448536269514722
HORIZON = 6
DRAWS = 1000
SEED = 20261130
MIN_ERRORS = 30  # a factor needs this many realised errors
MIN_PROVINCES = 3  # trends are shrunk across provinces
FIRST_CUTOFF = 2007  # vital rates start in 2005: three years for a residual migration
BOOTSTRAP = 1000


@dataclass(frozen=True)
class Family:
    """One indicator family: the engine's variable and the series it is scored on.

    ``known`` is the series as a planner had it at the cut-off (``quyhoach.gso.panel``
    indicator), ``actual`` the best series today; ``transform`` the scale of the
    benchmarks' bands; ``scale`` how CRPS and errors are reported ("percent" of the
    actual value, or "points").
    """

    name: str
    block: str
    known: str
    actual: tuple[str, ...]
    transform: str
    scale: str


FAMILIES = (
    Family("population", "population", "population_old_vintage",
           ("population", "population_old_vintage"), "log", "percent"),
    Family("urbanization_rate", "urbanization", "urbanization_rate_old_vintage",
           ("urbanization_rate_old_vintage",), "logit", "points"),
    Family("poverty_rate", "indicators", "poverty_rate_gso", ("poverty_rate_gso",), "logit",
           "points"),
    Family("forest_cover", "indicators", "forest_cover", ("forest_cover",), "none", "points"),
    Family("electricity_access", "indicators", "electricity_household_share_gso",
           ("electricity_household_share_gso",), "logit", "points"),
)
BY_NAME = {f.name: f for f in FAMILIES}
# The engine's indicator forms, as calibrated.
INDICATOR_FORMS = {path.split(".")[1]: form for path, form in FORMS.items()}
# Years whose figures a planner at an earlier cut-off saw only in the series then
# published: the population of 2011-2016 was revised after the 2019 census.
NOT_SCORED = (
    "income_per_capita, grdp_per_capita, budget_revenue and tourism: the engine projects "
    "them from GRDP, which no table gives by province before 2018 (GRDP per capita "
    "2018-2022 only: at most 2 years of horizon); not back-tested")


# ------------------------------------------------------------------ transforms

def forward(x, kind: str):
    """Values on the benchmarks' scale: log for levels, logit for percentages."""
    x = np.asarray(x, float)
    if kind == "log":
        return np.log(np.maximum(x, 1e-9))
    if kind == "logit":
        return logit(x)
    return x


def backward(z, kind: str):
    z = np.asarray(z, float)
    if kind == "log":
        return np.exp(z)
    if kind == "logit":
        return 100.0 / (1.0 + np.exp(-z))
    return z


# ------------------------------------------------------------------ scores

def crps_sample(draws: np.ndarray, y: float) -> float:
    """CRPS of an ensemble (any number of draws) at outcome ``y``, exact for the ensemble:
    ``mean|X - y| - mean|X - X'| / 2``, via the sorted draws (O(n log n))."""
    x = np.sort(np.asarray(draws, float))
    n = len(x)
    spread = 2.0 * np.sum(x * (2 * np.arange(1, n + 1) - n - 1)) / n**2
    return float(np.mean(np.abs(x - y)) - 0.5 * spread)


def interval_score(lo: float, hi: float, y: float, alpha: float = 0.1) -> float:
    """Interval score of a central (1 - alpha) band: width plus 2/alpha times the miss."""
    return (hi - lo) + 2 / alpha * (max(lo - y, 0.0) + max(y - hi, 0.0))


def exceedance(y: float, q05: float, q50: float, q95: float) -> float:
    """The factor by which the 90 % half-band on the side of ``y`` must grow to reach it
    (<= 1: inside the band)."""
    half = q95 - q50 if y >= q50 else q50 - q05
    gap = abs(y - q50)
    return gap / half if half > 0 else (0.0 if gap == 0 else math.inf)


def factor_at(errors: pd.DataFrame, cutoff: int, column: str = "k") -> float | None:
    """q90 of ``column`` over the errors realised by ``cutoff`` (None: fewer than
    :data:`MIN_ERRORS`)."""
    known = errors.loc[errors["year"] <= cutoff, column].astype(float)
    known = known[np.isfinite(known)]  # a band of zero width cannot be widened by a factor
    if len(known) < MIN_ERRORS:
        return None
    factor = float(np.quantile(known, 0.9))
    return factor if factor > 0 else None


# ------------------------------------------------------------------ the data at a cut-off

class Data:
    """The GSO panel, series by (indicator, province), and the trends at each cut-off."""

    def __init__(self, panel: pd.DataFrame, provinces=None):
        self.panel = panel
        keep = panel if provinces is None else panel[panel["province"].isin(provinces)]
        self.provinces = sorted(keep["province"].unique())
        self.series = {key: g.set_index("year")["value"].sort_index()
                       for key, g in panel.groupby(["indicator", "province"])}
        self._cache: dict = {}

    def get(self, indicator: str, province: str, last: int | None = None) -> pd.Series:
        s = self.series.get((indicator, province), pd.Series(dtype=float))
        return s if last is None else s[s.index <= last]

    def actual(self, family: Family, province: str, year: int) -> float | None:
        for indicator in family.actual:
            s = self.get(indicator, province)
            if year in s.index:
                return float(s[year])
        return None

    def known_value(self, family: Family, province: str, year: int) -> float:
        """The figure as first published (the series a planner then had; NaN if none)."""
        s = self.get(family.known, province)
        return float(s[year]) if year in s.index else math.nan

    def known(self, cutoff: int) -> pd.DataFrame:
        """The panel as known at ``cutoff``: every series to that year."""
        return self.panel[self.panel["year"] <= cutoff]

    def reclassification(self, cutoff: int):
        """Reclassification events estimated on every province's data to ``cutoff``."""
        from .calibrate import reclassification

        if ("reclassification", cutoff) not in self._cache:
            self._cache[("reclassification", cutoff)] = reclassification(
                self.known(cutoff), "gso")
        return self._cache[("reclassification", cutoff)]

    def slope_change(self, cutoff: int) -> float:
        """How much the urban share's slope changed between periods, to ``cutoff`` (0
        where no series is long enough), as ``quyhoach.calibrate`` estimates it."""
        from .calibrate import slope_change

        if ("change", cutoff) not in self._cache:
            try:
                change = slope_change(self.known(cutoff), "urbanization_rate_old_vintage",
                                      logit, exclude_jumps=True).value
            except InputDataError:
                change = 0.0  # too short to tell: the slope's se alone (the factor corrects)
            self._cache[("change", cutoff)] = change
        return self._cache[("change", cutoff)]

    def speeds(self, cutoff: int, name: str) -> dict:
        """Every province's own speed fit of an indicator on the data to ``cutoff``."""
        from .calibrate import speed_all

        if ("speeds", cutoff, name) not in self._cache:
            self._cache[("speeds", cutoff, name)] = speed_all(
                self.known(cutoff), BY_NAME[name].known, INDICATOR_FORMS[name],
                f"indicators.{name}.speed", "gso")
        return self._cache[("speeds", cutoff, name)]

    def trend_table(self, cutoff: int, indicator: str, transform=None, jumps=False):
        from .calibrate import trend_all

        key = (cutoff, indicator, jumps)
        if key not in self._cache:
            self._cache[key] = trend_all(self.known(cutoff), indicator, transform,
                                          exclude_jumps=jumps)
        return self._cache[key]


def estimates_at(data: Data, province: str, cutoff: int) -> tuple[dict, dict, dict]:
    """What calibration and init give at ``cutoff``: (estimates, scenario values,
    projected families), each family only where its series reaches the cut-off."""
    from scipy.optimize import OptimizeWarning

    with warnings.catch_warnings():  # a fit without a covariance is skipped below
        warnings.simplefilter("ignore", OptimizeWarning)
        return _estimates_at(data, province, cutoff)


def _estimates_at(data: Data, province: str, cutoff: int) -> tuple[dict, dict, dict]:
    from .calibrate import provincial_trend, residual_migration, shrunk_speed
    from .init import population_trend

    known = data.known(cutoff)
    est: dict = {}
    values: dict = {}
    families: dict[str, float] = {}
    rows = [{"indicator": ind, "year": int(y), "value": float(v), "region": ""}
            for ind in ("crude_birth_rate", "crude_death_rate", "net_migration_rate")
            for y, v in data.get(ind, province, cutoff).items()]
    pop = data.get("population_old_vintage", province, cutoff)
    rows += [{"indicator": "population", "year": int(y), "value": float(v), "region": ""}
             for y, v in pop.items()]
    if cutoff not in pop.index:
        return est, values, families
    try:
        centre, _ = population_trend(rows, "", cutoff, province)
        for name, ind in (("population.birth_rate", "crude_birth_rate"),
                          ("population.death_rate", "crude_death_rate")):
            est[name] = provincial_trend(known, province, ind, name, "per 1000", "gso",
                                         at_year=cutoff + 1,
                                         table=data.trend_table(cutoff, ind))
        est["population.net_migration_rate"] = residual_migration(
            known, province, "gso", population="population_old_vintage")
    except (InputDataError, KeyError):
        return {}, values, families
    values["population"] = {"birth_rate": centre["birth"], "death_rate": centre["death"],
                            "net_migration_rate": centre["migration"]}
    families["population"] = float(pop[cutoff])
    urban = data.get("urbanization_rate_old_vintage", province, cutoff)
    if cutoff in urban.index and len(urban) >= 4:
        table = data.trend_table(cutoff, "urbanization_rate_old_vintage", logit, jumps=True)
        if province in table.index:
            e = provincial_trend(known, province, "urbanization_rate_old_vintage",
                                 "urbanization.speed", "logit points/yr", "gso", logit, True,
                                 table=table)
            e.extra["slope_change"] = data.slope_change(cutoff)
            est["urbanization.speed"] = e
            est["urbanization.reclassification"] = data.reclassification(cutoff)
            values["urbanization"] = {"speed": e.value}
            families["urbanization_rate"] = float(urban[cutoff])
    for name, form in INDICATOR_FORMS.items():
        family = BY_NAME[name]
        s = data.get(family.known, province, cutoff)
        fits = data.speeds(cutoff, name)
        if cutoff not in s.index or province not in fits or not 0 < s[cutoff] < 100:
            continue  # no usable fit (a flat or saturated series): not projected
        e = shrunk_speed(known, province, family.known, form, f"indicators.{name}.speed",
                         "gso", fits)
        est[f"indicators.{name}.speed"] = e
        values.setdefault("indicators", {})[name] = {"form": form, "speed": e.value}
        families[name] = float(s[cutoff])
    return est, values, families


def plan_document(province: str, cutoff: int, values: dict, families: dict,
                  uncertainty: dict) -> dict:
    """The plan a planner would have written at ``cutoff``: base year ``cutoff``, the
    starter plan's centre, the calibrated uncertainty."""
    blocks = sorted({BY_NAME[f].block for f in families})
    sections = {k: v for k, v in values.items() if k == "population" or k in blocks}
    # every value comes from the province's own data: confirmed, as a planner would
    # confirm Bình Dương's net migration of 60 per 1000
    confirm = [f"{k}.{n}" if k != "indicators" else f"indicators.{n}.speed"
               for k, table in sections.items() for n in table]
    return {"plan": {"province": province, "name_vi": province, "name_en": province,
                     "inputs": "inputs", "base_year": cutoff, "last_actual_year": cutoff,
                     "horizon": cutoff + HORIZON, "blocks": blocks},
            "scenarios": {"trend": {"label_vi": "Xu hướng", "label_en": "Trend",
                                    "confirm": confirm, **sections}},
            "uncertainty": uncertainty}


def history_csv(cutoff: int, families: dict) -> str:
    """The plan's history: each family's figure in the base year."""
    from .init import history_csv as rows_csv
    from .registry import BY_NAME as VARIABLES

    return rows_csv([{"indicator": name, "year": cutoff, "value": value,
                      "unit": VARIABLES[name].unit, "status": "official",
                      "source": f"GSO yearbook ({BY_NAME[name].known})",
                      "note": f"as known at {cutoff}", "region": ""}
                     for name, value in families.items()])


# ------------------------------------------------------------------ one engine run

def run_engine(province: str, cutoff: int, values: dict, families: dict, uncertainty: dict,
               draws: int, seed: int, folder: Path) -> dict:
    """The engine's Monte Carlo of one cut-off plan: {family: (years, q05-q95 bands that
    ship, draws)} for the projected years."""
    import tomli_w

    from .registry import VARIABLE_INDEX, VARIABLES
    from .simulate import simulate

    (folder / "inputs").mkdir(parents=True, exist_ok=True)
    (folder / "inputs" / "history.csv").write_text(history_csv(cutoff, families),
                                                   encoding="utf-8")
    plan_path = folder / "plan.toml"
    plan_path.write_text(tomli_w.dumps(plan_document(province, cutoff, values, families,
                                                     uncertainty)), encoding="utf-8")
    chunks: list[np.ndarray] = []
    n_years, n_vars = HORIZON + 1, len(VARIABLES)

    def collect(_scenario):
        def on_chunk(_first, block):
            chunks.append(block[:, : n_years * n_vars].reshape(-1, n_years, n_vars).copy())
        return on_chunk

    res = simulate(plan_path, draws=draws, seed=seed, on_draws=collect,
                   bands=list(families))  # every year of what is scored
    every = np.concatenate(chunks)
    out = {}
    for name in families:
        i = VARIABLE_INDEX[name]
        bands = res.bands(name).set_index("year")
        out[name] = (bands, every[:, 1:, i] * VARIABLES[i].factor)
    return out


# ------------------------------------------------------------------ the back-test

def _benchmarks(data: Data, family: Family, province: str, cutoff: int, years) -> dict:
    """Last value and last trend (per year, on the family's scale) at ``years``."""
    s = data.get(family.known, province, cutoff).dropna()
    z = forward(s.to_numpy(), family.transform)
    h = np.asarray(years) - cutoff
    step = (z[-1] - z[-2]) / (s.index[-1] - s.index[-2]) if len(s) >= 2 else 0.0
    return {"last_value": np.full(len(h), z[-1]), "last_trend": z[-1] + step * h}


def run_backtest(gso_dir="inputs/gso", all_dir="inputs/all_provinces", provinces=None,
                 families=None, *, draws: int = DRAWS, seed: int = SEED, cutoffs=None,
                 progress: bool = False):
    """Back-test the engine at every cut-off; returns (forecasts, scores, factors, seconds).

    Two passes over every (province, cut-off): the raw calibration (factor 1), whose
    errors realised by each cut-off give that cut-off's factor; then the calibration
    with those factors: what ships, and what is scored.

    Raises
    ------
    ResultsError
        With fewer than ``MIN_PROVINCES`` provinces, or when no forecast could be made.
    """
    from .gso import panel as read_panel

    if provinces is not None and len(set(provinces)) < MIN_PROVINCES:
        raise ResultsError(f"--provinces {','.join(provinces)}: the back-test needs at least "
                           f"{MIN_PROVINCES} provinces (trends are shrunk across provinces"
                           "); name more, or leave --provinces out to use all 63")
    start = time.perf_counter()
    data = Data(read_panel(Path(gso_dir), Path(all_dir)), provinces)
    wanted = [BY_NAME[f] for f in families] if families else list(FAMILIES)
    last = int(data.panel.loc[data.panel["indicator"] == "crude_birth_rate", "year"].max())
    cutoffs = list(cutoffs or range(FIRST_CUTOFF, last + 1))
    tasks = [(p, c) for c in cutoffs for p in data.provinces]
    setups = {}
    for p, c in tasks:
        est, values, fams = estimates_at(data, p, c)
        if any(BY_NAME[f] in wanted for f in fams):
            setups[(p, c)] = (est, values, fams)
    if not setups:
        raise ResultsError(f"no forecast could be made: each cut-off needs population, "
                           f"birth and death rates to it ({FIRST_CUTOFF} or later) for "
                           f"{MIN_PROVINCES} provinces; check the province keys and folders")
    names = {f.name for f in wanted}
    raw = _pass(data, setups, names, lambda c: {}, draws, seed, progress, "raw")
    raw["k"] = [exceedance(r.actual, r.q05, r.q50, r.q95) for r in raw.itertuples()]
    # an error is measured against the figure published when it was realised (the
    # pre-census population): a census revision is a level error that no factor on the
    # rates should stand for (README); scoring is against the best figure today
    raw["k_then"] = [exceedance(r.known, r.q05, r.q50, r.q95) for r in raw.itertuples()]
    today = int(raw["year"].max())  # every error realised by the latest data
    factors = {(f.name, c): factor_at(raw[raw["family"] == f.name], c, "k_then")
               for f in wanted for c in [*cutoffs, today]}
    shipped = _pass(data, setups, names, lambda c: {f: v for (f, cc), v in factors.items()
                                             if cc == c and v is not None},
                    draws, seed, progress, "shipped")
    forecasts = shipped.merge(
        raw[["family", "province", "cutoff", "year", "q05", "q25", "q50", "q75", "q95",
             "k", "k_then"]].rename(columns=lambda c: f"raw_{c}" if c[0] in "qk" else c),
        on=["family", "province", "cutoff", "year"])
    forecasts["factor"] = [factors[(f, c)] if factors[(f, c)] is not None else np.nan
                           for f, c in zip(forecasts["family"], forecasts["cutoff"],
                                           strict=True)]
    _benchmark_bands(forecasts)
    shipped_factors = {f: v for (f, c), v in factors.items() if c == today and v is not None}
    return forecasts, score(forecasts), shipped_factors, time.perf_counter() - start


def _pass(data: Data, setups: dict, scored: set, factors_at, draws: int, seed: int,
          progress: bool, label: str) -> pd.DataFrame:
    """Every cut-off plan run through the engine with the factors known at its cut-off;
    the ``scored`` families' forecasts."""
    from tqdm.auto import tqdm

    from .calibrate import uncertainty_tables

    rows = []
    with tempfile.TemporaryDirectory(prefix="quyhoach-backtest-") as tmp:
        for (p, c), (est, values, fams) in tqdm(setups.items(), desc=f"back-test ({label})",
                                                disable=not progress, unit="plan"):
            scales = factors_at(c)
            try:
                out = run_engine(p, c, values, fams, uncertainty_tables(est, scales), draws,
                                 seed, Path(tmp) / f"{p}-{c}")
            except ProblemsError as exc:  # a plan the engine refuses is reported, not hidden
                raise ResultsError(f"back-test plan {p} {c} ({label}): {exc}") from exc
            for name, (bands, every) in out.items():
                if name not in scored:
                    continue
                family = BY_NAME[name]
                bench = _benchmarks(data, family, p, c, range(c + 1, c + HORIZON + 1))
                for h in range(1, HORIZON + 1):
                    y = data.actual(family, p, c + h)
                    if y is None:
                        continue
                    b = bands.loc[c + h]
                    x = every[:, h - 1]
                    rows.append({
                        "family": name, "province": p, "cutoff": c, "year": c + h,
                        "horizon": h, "actual": y, "known": data.known_value(family, p, c + h),
                        "jump_off": fams[name],
                        **{q: float(b[q]) for q in ("q05", "q25", "q50", "q75", "q95")},
                        "draw_min": float(x.min()), "draw_max": float(x.max()),
                        "exact_q05": float(np.quantile(x, 0.05)),
                        "exact_q95": float(np.quantile(x, 0.95)),
                        "crps": crps_sample(x, y),
                        "last_value": float(backward(bench["last_value"][h - 1],
                                                     family.transform)),
                        "last_trend": float(backward(bench["last_trend"][h - 1],
                                                     family.transform))})
    return pd.DataFrame(rows)


def _benchmark_bands(forecasts: pd.DataFrame) -> None:
    """Bands and CRPS of the benchmarks by the engine's rule: a normal spread
    ``s sqrt(h)`` on the family's scale, ``s = q90(|e| / sqrt(h)) / 1.645`` over the
    benchmark's errors realised by the cut-off (NaN before 30 exist)."""
    grid = (np.arange(DRAWS) + 0.5) / DRAWS
    from scipy.stats import norm

    unit = norm.ppf(grid)
    for bench in ("last_value", "last_trend"):
        cols = {k: np.full(len(forecasts), np.nan) for k in ("lo", "hi", "crps")}
        for name, g in forecasts.groupby("family"):
            kind = BY_NAME[name].transform
            z_err = (forward(g["actual"], kind) - forward(g[bench], kind)) / np.sqrt(g["horizon"])
            errors = pd.DataFrame({"year": g["year"], "e": np.abs(z_err) / Z90})
            for c, gc in g.groupby("cutoff"):
                s = factor_at(errors, c, "e")
                if s is None:
                    continue
                idx = forecasts.index.get_indexer(gc.index)
                centre = forward(gc[bench], kind)
                sd = s * np.sqrt(gc["horizon"].to_numpy())
                cols["lo"][idx] = backward(centre - Z90 * sd, kind)
                cols["hi"][idx] = backward(centre + Z90 * sd, kind)
                cols["crps"][idx] = [crps_sample(backward(m + v * unit, kind), y)
                                     for m, v, y in zip(centre, sd, gc["actual"], strict=True)]
        for k, v in cols.items():
            forecasts[f"{bench}_{k}"] = v


def _scaled(g: pd.DataFrame, values) -> np.ndarray:
    """Errors in the family's reporting units: percent of the actual, or points."""
    v = np.asarray(values, float)
    return v / np.abs(g["actual"].to_numpy()) * 100 if BY_NAME[g["family"].iloc[0]].scale \
        == "percent" else v


def score(forecasts: pd.DataFrame) -> pd.DataFrame:
    """Coverage and proper scores by family and horizon (forecasts with a factor known
    at their cut-off, and whose benchmarks have bands: every method on the same set)."""
    data = forecasts.dropna(subset=["factor", "last_value_crps", "last_trend_crps"])
    out = []
    for (fam, h), g in data.groupby(["family", "horizon"]):
        y = g["actual"].to_numpy()
        row = {"family": fam, "horizon": int(h), "n": len(g), "provinces": g["province"].nunique(),
               "coverage50": float(np.mean((g["q25"] <= y) & (y <= g["q75"]))),
               "coverage90": float(np.mean((g["q05"] <= y) & (y <= g["q95"]))),
               "coverage50_raw": float(np.mean((g["raw_q25"] <= y) & (y <= g["raw_q75"]))),
               "coverage90_raw": float(np.mean((g["raw_q05"] <= y) & (y <= g["raw_q95"]))),
               "factor": float(g["factor"].mean())}
        for method, centre in (("engine", "q50"), ("last_value", "last_value"),
                               ("last_trend", "last_trend")):
            crps = g["crps"] if method == "engine" else g[f"{method}_crps"]
            lo, hi = (g["q05"], g["q95"]) if method == "engine" else (g[f"{method}_lo"],
                                                                       g[f"{method}_hi"])
            iscore = [interval_score(a, b, v) for a, b, v in zip(lo, hi, y, strict=True)]
            row[f"crps_{method}"] = float(np.mean(_scaled(g, crps)))
            row[f"is90_{method}"] = float(np.mean(_scaled(g, iscore)))
            row[f"mae_{method}"] = float(np.mean(_scaled(g, np.abs(g[centre] - y))))
            if method != "engine":
                row[f"coverage90_{method}"] = float(np.mean((lo <= y) & (y <= hi)))
        out.append(row)
    return pd.DataFrame(out)


def skill(forecasts: pd.DataFrame, horizons=range(1, HORIZON + 1), reps: int = BOOTSTRAP,
          seed: int = SEED) -> pd.DataFrame:
    """Per family: the engine's mean CRPS over the better benchmark's (below 1: the
    engine is better), with a 90 % province-cluster bootstrap interval."""
    data = forecasts.dropna(subset=["factor", "last_value_crps", "last_trend_crps"])
    data = data[data["horizon"].isin(list(horizons))]
    rng = np.random.default_rng(seed)
    rows = []
    for fam, g in data.groupby("family"):
        by = pd.DataFrame({m: _scaled(g, g[c]) for m, c in (
            ("engine", "crps"), ("last_value", "last_value_crps"),
            ("last_trend", "last_trend_crps"))}, index=g.index)
        by["province"] = g["province"].to_numpy()
        sums = by.groupby("province").agg(["sum", "count"])
        best = min(("last_value", "last_trend"), key=lambda m: by[m].mean())
        provinces = sums.index.to_numpy()
        draws = rng.integers(0, len(provinces), size=(reps, len(provinces)))
        ratio = (sums[("engine", "sum")].to_numpy()[draws].sum(axis=1)
                 / sums[(best, "sum")].to_numpy()[draws].sum(axis=1))
        rows.append({"family": fam, "n": len(g), "provinces": len(provinces),
                     "best_benchmark": best, "crps_ratio": by["engine"].mean() / by[best].mean(),
                     "ratio_lo": float(np.quantile(ratio, 0.05)),
                     "ratio_hi": float(np.quantile(ratio, 0.95))})
    return pd.DataFrame(rows).set_index("family")


def summary_table(scores: pd.DataFrame) -> pd.DataFrame:
    """One row per family over every horizon (weighted by the number of forecasts)."""
    cols = [c for c in scores.columns if c not in ("family", "horizon", "n", "provinces")]
    return scores.groupby("family").apply(
        lambda x: pd.Series({"n": x["n"].sum(),
                             **{c: np.average(x[c], weights=x["n"]) for c in cols}}),
        include_groups=False)


def quantile_check(forecasts: pd.DataFrame) -> dict:
    """The bands that ship against the draws: how many leave the draws' range, and
    the largest gap between a reported and an exact 5 % / 95 % quantile, as a share of
    the 90 % band's width."""
    width = (forecasts["exact_q95"] - forecasts["exact_q05"]).where(lambda w: w > 0)
    gap = np.maximum(np.abs(forecasts["q05"] - forecasts["exact_q05"]),
                     np.abs(forecasts["q95"] - forecasts["exact_q95"])) / width
    outside = ((forecasts["q05"] < forecasts["draw_min"])
               | (forecasts["q95"] > forecasts["draw_max"]))
    return {"bands": len(forecasts), "outside_draws": int(outside.sum()),
            "max_gap_share_of_width": float(gap.max()), "median_gap_share_of_width":
            float(gap.median())}


# ------------------------------------------------------------------ output

def write_backtest(forecasts, scores, scales, seconds, out, scales_path, *, overwrite=False,
                   details=None):
    """Parquet (forecasts, scores), ``summary.json`` (with ``details``: settings, skill,
    quantile check) and ``manifest.json`` under ``out``, and the band factors at
    ``scales_path``, each replaced atomically.

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
    from .outdir import replacing, write_error

    out, scales_path = Path(out), Path(scales_path)
    if scales_path.exists() and not overwrite:
        raise ResultsError(f"{scales_path} already exists; pass --force to replace it")
    with replacing(out, overwrite=overwrite, accept=_legacy_backtest) as tmp:
        forecasts.to_parquet(tmp / "forecasts.parquet", compression="zstd", index=False)
        scores.to_parquet(tmp / "scores.parquet", compression="zstd", index=False)
        (tmp / "summary.json").write_text(json.dumps(
            {"seconds": seconds, "forecasts": len(forecasts), "band_scales": scales,
             **(details or {})}, indent=2), encoding="utf-8")
        (tmp / "manifest.json").write_text(json.dumps(
            {"engine": "quyhoach", "engine_version": __version__, "kind": "backtest",
             "files": sorted(p.name for p in tmp.iterdir())}, indent=2), encoding="utf-8")
    scales_path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"backtest": {"method": "factor = q90 of k over the engine's raw back-test "
                                  "forecasts realised by the data's last year (k: the growth "
                                  "of the 90 % half-band that reaches the outcome); see "
                                  "quyhoach.backtest", "forecasts": len(forecasts)},
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


def format_summary(scores: pd.DataFrame, forecasts: pd.DataFrame | None = None) -> str:
    """The scorecard: coverage and proper scores by family, and where the engine loses."""
    table = summary_table(scores)
    lines = ["Back-test of the engine that ships (horizons 1-6 years; every factor known at "
             "its cut-off):", "",
             "| family | n | 50% band | 90% band | raw 50% / 90% | CRPS engine | CRPS last "
             "value | CRPS last trend | 90% interval score engine / last value / last trend |",
             "|---" * 9 + "|"]
    for fam, r in table.iterrows():
        unit = "%" if BY_NAME[str(fam)].scale == "percent" else " pts"
        lines.append(f"| {fam} | {int(r['n'])} | {r['coverage50']:.0%} | {r['coverage90']:.0%}"
                     f" | {r['coverage50_raw']:.0%} / {r['coverage90_raw']:.0%} | "
                     f"{r['crps_engine']:.2f}{unit} | {r['crps_last_value']:.2f}{unit} | "
                     f"{r['crps_last_trend']:.2f}{unit} | {r['is90_engine']:.2f} / "
                     f"{r['is90_last_value']:.2f} / {r['is90_last_trend']:.2f} |")
    if forecasts is not None:
        lines += ["", "Engine CRPS / better benchmark's (below 1: the engine is better; 90 % "
                  "province-cluster bootstrap):", ""]
        for fam, r in skill(forecasts).iterrows():
            verdict = ("engine better" if r["ratio_hi"] < 1 else "engine worse"
                       if r["ratio_lo"] > 1 else "no clear difference")
            lines.append(f"- {fam}: {r['crps_ratio']:.2f} [{r['ratio_lo']:.2f}, "
                         f"{r['ratio_hi']:.2f}] vs {r['best_benchmark']} ({verdict}; "
                         f"{int(r['provinces'])} provinces)")
        q = quantile_check(forecasts)
        lines += ["", f"Bands against their draws: {q['outside_draws']} of {q['bands']} leave "
                      f"the draws' range; reported 5 %/95 % quantiles differ from the exact "
                      f"ones by at most {q['max_gap_share_of_width']:.1%} of the band's width "
                      f"(median {q['median_gap_share_of_width']:.2%})."]
    lines += ["", "By horizon (90 % coverage; CRPS engine / last value / last trend):", ""]
    for fam, g in scores.groupby("family"):
        cells = [f"h{int(r.horizon)}: {r.coverage90:.0%}, {r.crps_engine:.2f}/"
                 f"{r.crps_last_value:.2f}/{r.crps_last_trend:.2f}" for r in g.itertuples()]
        lines.append(f"- {fam}: " + "; ".join(cells))
    lines += ["", f"Not back-tested: {NOT_SCORED}."]
    return "\n".join(lines)
