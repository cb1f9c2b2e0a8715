"""Start a province: its inputs, a starter plan and its calibrated model (``quyhoach init``).

``init_province("Thái Nguyên")`` writes, for any of the 63 provinces before 1 July 2025
(``boundaries="pre2025"``) or the 34 since (``"2025"``, the default):

* ``inputs/<province>/history.csv``: every figure the GSO tables in ``inputs/gso`` and
  ``inputs/all_provinces`` hold for the province (read with :mod:`quyhoach.gso`), each
  row with its source table and the unit the model reads it in; GRDP at current prices
  is derived (GRDP per capita × average population, formula in the note), and so is the
  urbanization rate (urban / total population of the same yearbook table);
* ``inputs/<province>/README.md``: the series, their sources and caveats, what the data
  lack, and the checks made;
* ``models/<province>.toml``: the uncertainty calibrated from history with
  :mod:`quyhoach.calibrate`'s estimators;
* ``scenarios/<province>.toml``: a starter plan (base year = the latest year with what
  the model needs; a trend scenario from the province's own history, low and high at a
  stated margin, the calibrated model, and a commented targets section to fill).

A province merged on 1 July 2025 (Thái Nguyên = Bắc Kạn + Thái Nguyên) is a plan whose
members (``[regions]``) are its former provinces: their rows carry their id in the
``region`` column, the province's own rows are left empty where the province is the sum
of its members in every draw, and each member has its own trend assumptions.

The model needs GRDP by sector (the structure) in some year from the base year on. No
table here has it for any province, so without it ``init_province`` refuses with a
message naming it (nothing is written). The planner either gives the province's
structure (``structure=`` a CSV in the history format, e.g. from the provincial
statistical yearbook) or accepts the national structure of the GSO national accounts as
a stated stand-in (``national_structure=True``: an ``[[assumed_data]]`` entry, flagged
``assumed`` in every output; with equal sector rates, as in the starter scenarios, it
changes no total, only the sector detail).
"""

from __future__ import annotations

import csv
import functools
import io
import json
import math
import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from .errors import (
    InputDataError,
    OptionError,
    Problem,
    ResultsError,
    did_you_mean,
    shown,
)
from .registry import BLOCK_OF_HISTORY, MODEL_UNITS, PARAMETER_BY_PATH, SECTORS

BOUNDARIES = ("2025", "pre2025")
GSO = Path("inputs/gso")
ALL_PROVINCES = Path("inputs/all_provinces")
BAND_SCALES = Path("models/band_scales.toml")
CROSSWALK_FILES = ("province_crosswalk_2025.csv", "provinces_2025_34.csv")
# Where the 63 -> 34 crosswalk is looked for when not given: a copy in inputs/, or the
# project's shared data folder (in the repository or beside it), from the working
# directory and from the repository of this package.
_ROOT = Path(__file__).resolve().parents[2]
CROSSWALK_DIRS = tuple(base / rel for base in (Path("."), _ROOT)
                       for rel in (Path("inputs/boundaries_2025"),
                                   Path("shared/data/boundaries_2025"),
                                   Path("../shared/data/boundaries_2025")))
HORIZON = 2050
GROWTH_MARGIN = 2.0      # low / high: every sector's real growth -/+ this, points per year
MIGRATION_MARGIN = 1.0   # low / high: net migration -/+ this, per 1000
RECENT = 5               # years of history a trend averages (vital rates, population growth)
SHARES = tuple(f"share_{s}" for s in SECTORS)
SHARE_UNIT = MODEL_UNITS["share_agriculture"]
MERGED_SUFFIX = "_2025"  # thai_nguyen_2025 = bac_kan + thai_nguyen
# The whole country as one plan: the 63 former provinces are its members (and, with 2025
# boundaries, the 23 merged provinces groups of them), so national totals are sums in
# every draw.
COUNTRY = "viet_nam"
COUNTRY_NAMES = {"viet_nam", "vietnam", "ca_nuoc", "toan_quoc", "national", "country"}
CROSSWALK_TOLERANCE = 0.05  # thousand persons: rounding of the crosswalk's derived sums

# indicator in history.csv <- (panel indicator, note)
SERIES = {
    "population": ("population", "GSO average population (series revised after the 2019 "
                                 "census)"),
    "area": ("area", "GSO area"),
    "grdp_per_capita": ("grdp_per_capita", "GRDP per capita at current prices (unit inferred "
                                           "by the source folder: it matches provincial "
                                           "reports)"),
    "population_old_vintage": ("population_old_vintage", "GSO yearbook vintage before the "
                                                         "revision after the 2019 census"),
    "population_urban_old_vintage": ("population_urban_old_vintage", "GSO yearbook vintage "
                                     "before the revision after the 2019 census"),
    "urbanization_rate": ("urbanization_rate_old_vintage", "= population_urban_old_vintage / "
                          "population_old_vintage x 100 (the same table and vintage)"),
    "crude_birth_rate": ("crude_birth_rate", ""),
    "crude_death_rate": ("crude_death_rate", ""),
    "net_migration_rate": ("net_migration_rate", ""),
    "poverty_rate_gso": ("poverty_rate_gso", "poverty line of each period: not comparable "
                                             "across standard changes"),
    "electricity_household_share_gso": ("electricity_household_share_gso", "GSO VHLSS, "
                                        "households using electricity (any source)"),
    "income_per_capita": ("income_per_capita", "= monthly income per capita 'Total' "
                                               "(thousand VND per person) x 12 / 1000 (VHLSS)"),
    "forest_cover": ("forest_cover", "Proportion of forest coverage (%)"),
    "tourism_turnover": ("tourism_turnover", "turnover of travel (tour-operator) businesses, "
                                             "not total tourism revenue; not read by the model"),
}


# ------------------------------------------------------------------------ provinces

@dataclass(frozen=True)
class Former:
    """One of the 63 provinces before 1 July 2025.

    Attributes
    ----------
    key : str
        Canonical key (``quyhoach.gso.PROVINCES``), e.g. ``"bac_kan"``.
    code : int
        GSO province code.
    name_vi, name_en : str
        ``"Tỉnh Bắc Kạn"``, ``"Bac Kan"``.
    new_key : str
        Key of the 2025 province it is part of.
    """

    key: str
    code: int
    name_vi: str
    name_en: str
    new_key: str


@dataclass(frozen=True)
class Province:
    """A province to start: its names, boundaries and former provinces (members).

    Attributes
    ----------
    key : str
        Plan key, e.g. ``"thai_nguyen"``.
    name_vi, name_en : str
        ``"Tỉnh Thái Nguyên"``, ``"Thai Nguyen"``.
    boundaries : str
        ``"2025"`` or ``"pre2025"``.
    members : tuple of Former
        The former provinces it covers (one where unmerged).
    population_2022 : float or None
        The crosswalk's derived 2022 average population (sum of the former provinces in
        ``all_provinces/population_2022.csv``), thousand persons; None before 2025.
    basis : str
        The legal basis of its boundaries.
    """

    key: str
    name_vi: str
    name_en: str
    boundaries: str
    members: tuple[Former, ...]
    population_2022: float | None
    basis: str
    groups: tuple[Province, ...] = ()

    @property
    def merged(self) -> bool:
        return len(self.members) > 1

    @property
    def country(self) -> bool:
        return self.key == COUNTRY


@dataclass(frozen=True)
class Crosswalk:
    """The 63 former provinces and the 34 of 2025, by key."""

    formers: dict[str, Former]
    provinces: dict[str, Province]
    source: str


def _ascii(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in text if not unicodedata.combining(c))


def _bare(name_vi: str) -> str:
    """``"Tỉnh Bắc Kạn"`` -> ``"Bac Kan"``; ``"Thành phố Hồ Chí Minh"`` -> ``"Ho Chi Minh"``."""
    for prefix in ("Thành phố ", "Tỉnh "):
        name_vi = name_vi.removeprefix(prefix)
    return _ascii(name_vi)


def find_crosswalk(directory=None) -> Path:
    """The folder of the 2025 crosswalk (``province_crosswalk_2025.csv``).

    Raises
    ------
    InputDataError
        When it is not in ``directory`` (or, without one, in any of
        :data:`CROSSWALK_DIRS`).
    """
    candidates = [Path(directory)] if directory is not None else list(CROSSWALK_DIRS)
    for d in candidates:
        if all((d / name).is_file() for name in CROSSWALK_FILES):
            return d
    where = str(candidates[0]) if directory is not None else "inputs/boundaries_2025"
    raise InputDataError([Problem(where, "no 2025 crosswalk (" + ", ".join(CROSSWALK_FILES)
                                  + "); copy shared/data/boundaries_2025/ there, or pass "
                                  "its folder")])


@functools.lru_cache(maxsize=4)
def _crosswalk(directory: str) -> Crosswalk:
    from .gso import PROVINCE_CODES

    by_code = {code: key for key, code in PROVINCE_CODES.items()}
    d = Path(directory)
    old_rows = _csv_rows(d / CROSSWALK_FILES[0])
    new_rows = _csv_rows(d / CROSSWALK_FILES[1])
    problems: list[Problem] = []
    formers = {}
    basis = {}
    for line, r in old_rows:
        key = by_code.get(int(r["code_old"])) if r["code_old"].strip().isdigit() else None
        if key is None:
            problems.append(Problem(f"{d / CROSSWALK_FILES[0]}: line {line}",
                                    f"code_old {shown(r['code_old'])} is no GSO province code"))
            continue
        new = next((n for n in new_rows if n[1]["code_new"] == r["code_new"]), None)
        new_key = _new_key(new[1]["unit_new"]) if new else ""
        formers[key] = Former(key, PROVINCE_CODES[key], r["name_old_vi"].strip(),
                              _bare(r["name_old_vi"].strip()), new_key)
        basis[new_key] = r.get("legal_basis", "").strip()
    provinces = {}
    for line, r in new_rows:
        key = _new_key(r["unit_new"])
        members = tuple(formers[by_code[int(c)]] for c in r["old_codes"].split(";")
                        if c.strip().isdigit() and int(c) in by_code
                        and by_code[int(c)] in formers)
        if len(members) != int(r["n_old_units"]):
            problems.append(Problem(f"{d / CROSSWALK_FILES[1]}: line {line}",
                                    f"{r['unit_new']}: old_codes {shown(r['old_codes'])} do "
                                    f"not name {r['n_old_units']} of the 63 provinces"))
            continue
        # a merged province's key differs from its members' (one of which has its name)
        plan_key = f"{key}{MERGED_SUFFIX}" if len(members) > 1 else key
        provinces[key] = Province(plan_key, r["unit_new"].strip(), _bare(r["unit_new"].strip()),
                                  "2025", members,
                                  _number(r.get("population_avg_2022_gso_sum_thousand")),
                                  basis.get(key, ""))
    if len(formers) != len(PROVINCE_CODES) or len(provinces) != 34:
        problems.append(Problem(str(d), f"{len(formers)} former and {len(provinces)} new "
                                "provinces read; expected 63 and 34"))
    if problems:
        raise InputDataError(problems)
    return Crosswalk(formers, provinces, str(d))


def _new_key(unit_new: str) -> str:
    from .gso import normalise_province

    return normalise_province(unit_new)


def _number(text) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _csv_rows(path: Path) -> list[tuple[int, dict]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        return [(reader.line_num, row) for row in reader]


def resolve_province(name: str, boundaries: str = "2025", crosswalk=None) -> Province:
    """The province a name means, with or without diacritics, in any case.

    Parameters
    ----------
    name : str
        ``"Thái Nguyên"``, ``"thai nguyen"``, ``"thai_nguyen"``, ``"TP. Hồ Chí Minh"``.
    boundaries : str
        ``"2025"`` (the 34 provinces since 1 July 2025) or ``"pre2025"`` (the 63 before).
    crosswalk : path, optional
        The folder of the 2025 crosswalk (see :func:`find_crosswalk`).

    Raises
    ------
    OptionError
        For unknown boundaries or an unknown name (with a suggestion), or a former
        province asked for with 2025 boundaries (naming the province it is part of).
    """
    from .gso import normalise_province

    if boundaries not in BOUNDARIES:
        raise OptionError(f"boundaries {shown(boundaries)}: expected '2025' (the 34 provinces "
                          "since 1 July 2025) or 'pre2025' (the 63 before)")
    cw = _crosswalk(str(find_crosswalk(crosswalk).resolve()))
    key = normalise_province(str(name))
    if key in COUNTRY_NAMES:
        return _country(cw, boundaries)
    if boundaries == "2025" and key.endswith(MERGED_SUFFIX):
        key = normalise_province(key.removesuffix(MERGED_SUFFIX))
    if boundaries == "pre2025":
        if key in cw.formers:
            f = cw.formers[key]
            return Province(key, f.name_vi, f.name_en, "pre2025", (f,), None,
                            "GSO list of the 63 provinces (before 1 July 2025)")
        raise OptionError(f"unknown province {shown(str(name))} (pre-2025 boundaries, 63 "
                          "provinces)" + did_you_mean(key, cw.formers))
    if key in cw.provinces:
        return cw.provinces[key]
    if key in cw.formers:
        f = cw.formers[key]
        new = cw.provinces[f.new_key]
        raise OptionError(f"{shown(str(name))} is not one of the 34 provinces of 2025: "
                          f"{f.name_vi} became part of {new.name_vi} ('{new.key}') on 1 July "
                          f"2025; init '{new.key}', or pass boundaries='pre2025' for the "
                          "former province")
    raise OptionError(f"unknown province {shown(str(name))} (2025 boundaries, 34 provinces)"
                      + did_you_mean(key, cw.provinces))


def _country(cw: Crosswalk, boundaries: str) -> Province:
    """Việt Nam: the 63 former provinces as members; with 2025 boundaries the merged
    provinces are groups of them (an unmerged province is a member as it is)."""
    formers = tuple(sorted(cw.formers.values(), key=lambda f: f.code))
    groups: tuple[Province, ...] = ()
    known: float | None = None
    if boundaries == "2025":
        groups = tuple(p for p in cw.provinces.values() if p.merged)
        sizes = [p.population_2022 for p in cw.provinces.values()]
        known = math.fsum(v for v in sizes if v is not None) if None not in sizes else None
    return Province(COUNTRY, "Việt Nam", "Viet Nam", boundaries, formers, known,
                    f"the 63 provinces before 1 July 2025 ({cw.source})", groups)


# ------------------------------------------------------------------------ the tables

@functools.lru_cache(maxsize=2)
def _panel(gso_dir: str, all_dir: str) -> pd.DataFrame:
    from .gso import panel

    return panel(gso_dir, all_dir)


def _source(raw: str) -> tuple[str, str]:
    """(source, formula) of a panel row's source: the table file, and how it was derived."""
    if raw.startswith("DERIVED = "):
        formula, _, table = raw.removeprefix("DERIVED = ").rpartition(" from ")
        return f"DERIVED from inputs/gso/{table} (GSO statistical yearbook)", formula
    if "/" in raw:
        return f"inputs/gso/{raw} (GSO statistical yearbook)", ""
    return f"inputs/all_provinces/{raw} (GSO)", ""


def _row(indicator, year, value, unit, status, source, note, region) -> dict:
    return {"indicator": indicator, "year": int(year), "value": float(value), "unit": unit,
            "status": status, "source": source, "note": note, "region": region}


def member_rows(panel: pd.DataFrame, member: Former, region: str) -> list[dict]:
    """Every figure the tables hold for one former province, as history rows.

    GRDP at current prices is added where GRDP per capita and population are both known
    (status ``derived``, formula in the note).
    """
    mine = panel[panel["province"] == member.key]
    rows = []
    for indicator, (name, note) in SERIES.items():
        part = mine[mine["indicator"] == name].sort_values("year")
        for r in part.itertuples(index=False):
            source, formula = _source(str(r.source))
            status = "derived" if formula or indicator == "urbanization_rate" else (
                "estimate" if r.preliminary else "official")
            text = "; ".join(t for t in (note, "GSO preliminary (Prel.) figure"
                                         if r.preliminary else "") if t)
            rows.append(_row(indicator, r.year, r.value, str(r.unit), status, source, text,
                             region))
    return rows + nominal_rows(rows, region)


def nominal_rows(rows: list[dict], region: str) -> list[dict]:
    """GRDP at current prices = GRDP per capita x average population, where both exist."""
    per_capita = _series(rows, "grdp_per_capita", region)
    population = _series(rows, "population", region)
    out = []
    for year in sorted(set(per_capita) & set(population)):
        pc, pop = per_capita[year], population[year]
        out.append(_row("grdp_nominal", year, round(pc * pop, 4), MODEL_UNITS["grdp_nominal"],
                        "derived", f"DERIVED from inputs/all_provinces/grdp_per_capita_{year}"
                        f".csv and population_{year}.csv (GSO)",
                        f"= grdp_per_capita x population = {pc:g} million VND x {pop:g} "
                        "thousand persons (billion VND)", region))
    return out


def _series(rows: Iterable[dict], indicator: str, region: str) -> dict[int, float]:
    return {r["year"]: r["value"] for r in rows
            if r["indicator"] == indicator and r["region"] == region}


def sum_rows(rows: list[dict], indicator: str, members: list[str], note: str) -> list[dict]:
    """The province's figure as the sum of its members', in the years all have one."""
    series = [_series(rows, indicator, m) for m in members]
    years = sorted(set.intersection(*(set(s) for s in series)))
    unit = next(r["unit"] for r in rows if r["indicator"] == indicator)
    return [_row(indicator, y, round(sum(s[y] for s in series), 4), unit, "derived",
                 "DERIVED from this file's rows of " + ", ".join(members),
                 f"= sum of the former provinces' {indicator} ({' + '.join(members)}); {note}",
                 "") for y in years]


def read_structure(path, members: list[str], merged: bool) -> list[dict]:
    """The planner's sector structure rows (history format), validated.

    Raises
    ------
    InputDataError
        Naming the file and line: a malformed row (the history rules), an indicator other
        than the four ``share_*``, or a region that is not a former province.
    """
    from .inputs import load_history

    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="quyhoach-structure-") as tmp:
        try:
            shutil.copyfile(path, Path(tmp) / "history.csv")
        except OSError as exc:
            raise InputDataError([Problem(str(path), f"cannot be read ({exc.strerror or exc}); "
                                          "expected a CSV in the history.csv format")]) from None
        try:
            table = load_history(tmp).table
        except InputDataError as exc:
            inner = str(Path(tmp) / "history.csv")
            raise InputDataError([Problem(p.where.replace(inner, str(path)), p.message)
                                  for p in exc.problems]) from None
    problems = []
    rows = []
    for r in table.to_dict("records"):
        region = r["region"]
        where = f"{path}: {r['indicator']} {r['year']}" + (f" ({region})" if region else "")
        if r["indicator"] not in SHARES:
            problems.append(Problem(where, "only the sector structure (" + ", ".join(SHARES)
                                    + ") is added by init; add other rows to history.csv "
                                    "after init"))
        elif merged and region not in members:
            problems.append(Problem(where, "a merged province's structure is given for each "
                                    f"former province: region one of {', '.join(members)}"))
        elif not merged and region:
            problems.append(Problem(where, "leave region empty for an unmerged province"))
        rows.append(_row(r["indicator"], r["year"], r["value"], r["unit"], r["status"],
                         r["source"], r["note"], region if merged else ""))
    if problems:
        raise InputDataError(problems)
    return rows


def structure_years(rows: list[dict], region: str) -> set[int]:
    """Years in which all four sector shares are given for ``region``."""
    return set.intersection(*(set(_series(rows, s, region)) for s in SHARES))


# ------------------------------------------------------------------------ national stand-ins

@dataclass(frozen=True)
class National:
    """National series from the GSO national accounts (``inputs/gso/National Accounts``)."""

    structure_year: int
    structure: dict[str, float]      # % of GDP at current prices, by sector
    deflator: float                  # GDP deflator growth, %/yr, geometric mean
    deflator_years: tuple[int, int]  # first and last year of that mean
    source_current: str
    source_constant: str


@functools.lru_cache(maxsize=2)
def national(gso_dir: str) -> National:
    """The latest national structure and the recent GDP deflator growth."""
    from .calibrate import AGRICULTURE, INDUSTRY, NATIONAL_ACCOUNTS, TAXES
    from .gso import read_national_table

    folder = Path(gso_dir) / NATIONAL_ACCOUNTS
    names = {kind: f"Gross domestic product at {kind} prices by kinds of economic activity.csv"
             for kind in ("current", "constant 2010")}
    totals = {}
    for kind, name in names.items():
        t = read_national_table(folder / name)
        totals[kind] = t[t["series"].str.startswith("Total")].pivot_table(
            index="year", columns="item", values="value")
    cur = totals["current"]
    year = int(cur.index.max())
    row = cur.loc[year]
    parts = {"agriculture": row[AGRICULTURE],
             "industry_construction": sum(row[i] for i in INDUSTRY),
             "product_taxes": row[TAXES]}
    parts["services"] = row["TOTAL"] - sum(parts.values())
    structure = {s: 100.0 * float(parts[s]) / float(row["TOTAL"]) for s in SECTORS}
    deflator = (cur["TOTAL"] / totals["constant 2010"]["TOTAL"]).dropna()
    last = int(deflator.index.max())
    first = last - RECENT
    rate = (float(deflator[last] / deflator[first]) ** (1 / RECENT) - 1) * 100
    return National(year, structure, rate, (first + 1, last),
                    f"inputs/gso/{NATIONAL_ACCOUNTS}/{names['current']}",
                    f"inputs/gso/{NATIONAL_ACCOUNTS}/{names['constant 2010']}")


# ------------------------------------------------------------------------ trends

@dataclass(frozen=True)
class Trend:
    """One region's trend assumptions, from its own history, each with how (comments)."""

    birth: float
    death: float
    migration: float
    real: float
    inflation: float
    why: dict[str, str] = field(default_factory=dict)


def _mean_recent(series: dict[int, float]) -> tuple[float, int, int, int]:
    years = sorted(series)[-RECENT:]
    return sum(series[y] for y in years) / len(years), years[0], years[-1], len(years)


def _needed(rows: list[dict], region: str, last: int, need: dict[str, str],
            label: str) -> dict[str, dict[int, float]]:
    series = {k: {y: v for y, v in _series(rows, k, region).items() if y <= last}
              for k in need}
    short = [f"{need[k]} ({k})" for k, s in series.items() if len(s) < 2]
    if short:
        raise InputDataError([Problem(label, "missing data: no trend without two years or "
                                      "more of " + ", ".join(short))])
    return series


def population_trend(rows: list[dict], region: str, last: int,
                     label: str) -> tuple[dict[str, float], dict[str, str]]:
    """Birth, death and net migration rates of one region (per 1000), and how.

    Birth and death rates: means of the latest GSO years. Net migration: what makes
    birth - death + migration equal the region's average population growth over the
    latest :data:`RECENT` years.

    Raises
    ------
    InputDataError
        When a series it needs is missing (named).
    """
    series = _needed(rows, region, last, {"crude_birth_rate": "birth rates",
                                          "crude_death_rate": "death rates",
                                          "population": "population"}, label)
    birth, b0, b1, nb = _mean_recent(series["crude_birth_rate"])
    death, d0, d1, nd = _mean_recent(series["crude_death_rate"])
    pop = series["population"]
    p1 = max(pop)
    p0 = max(min(pop), p1 - RECENT)
    growth = ((pop[p1] / pop[p0]) ** (1 / (p1 - p0)) - 1) * 1000
    gso = _series(rows, "net_migration_rate", region)
    compare = ""
    if gso:
        mean, m0, m1, _ = _mean_recent(gso)
        compare = f"; the GSO net migration rate averaged {mean:.2f} in {m0}-{m1}"
    values = {"birth": birth, "death": death, "migration": growth - (birth - death)}
    why = {"birth": f"mean of the GSO crude birth rate {b0}-{b1} (n = {nb})",
           "death": f"mean of the GSO crude death rate {d0}-{d1} (n = {nd})",
           "migration": f"= {growth:.2f} - ({birth:.2f} - {death:.2f}): average population "
                        f"growth {p0}-{p1} ({growth:.2f} per 1000/yr) less natural "
                        f"increase{compare}"}
    return values, why


def economy_trend(rows: list[dict], region: str, nat: National, last: int,
                  label: str) -> tuple[dict[str, float], dict[str, str]]:
    """Real growth and inflation of one region (%/yr), and how.

    Real growth: the nominal GRDP growth over the observed years deflated by the
    national GDP deflator's recent growth (no provincial deflator exists), every sector
    alike; inflation: that national deflator.

    Raises
    ------
    InputDataError
        When GRDP at current prices is missing (named).
    """
    gdp = _needed(rows, region, last, {"grdp_nominal": "GRDP at current prices"},
                  label)["grdp_nominal"]
    g1, g0 = max(gdp), min(gdp)
    nominal = ((gdp[g1] / gdp[g0]) ** (1 / (g1 - g0)) - 1) * 100
    real = ((1 + nominal / 100) / (1 + nat.deflator / 100) - 1) * 100
    years = f"{nat.deflator_years[0]}-{nat.deflator_years[1]}"
    why = {"real": f"= (1 + {nominal:.2f} %) / (1 + {nat.deflator:.2f} %) - 1: nominal GRDP "
                   f"growth {g0}-{g1} (GRDP per capita x population) deflated by the national "
                   f"GDP deflator's {years} growth",
           "inflation": f"national GDP deflator, average growth {years} (no provincial "
                        "deflator in the tables)"}
    return {"real": real, "inflation": nat.deflator}, why


def trend(rows: list[dict], region: str, nat: National, last: int, label: str) -> Trend:
    """One region's trend: :func:`population_trend` and :func:`economy_trend`."""
    pop, pop_why = population_trend(rows, region, last, label)
    eco, eco_why = economy_trend(rows, region, nat, last, label)
    return Trend(pop["birth"], pop["death"], pop["migration"], eco["real"], eco["inflation"],
                 {**pop_why, **eco_why})


def weighted(trends: dict[str, Trend], weights: dict[str, float], gdp_weights: dict[str, float],
             members: str) -> Trend:
    """The province-level trend of a merged province: its members' weighted means."""
    def mean(attr: str, w: dict[str, float]) -> float:
        total = sum(w.values())
        return sum(getattr(trends[m], attr) * w[m] for m in trends) / total

    pop = f"population-weighted mean of the former provinces' ({members}; base-year weights)"
    gdp = f"GRDP-weighted mean of the former provinces' ({members}; base-year weights)"
    return Trend(mean("birth", weights), mean("death", weights), mean("migration", weights),
                 mean("real", gdp_weights), mean("inflation", gdp_weights),
                 {"birth": pop, "death": pop, "migration": pop, "real": gdp, "inflation": gdp})


# ------------------------------------------------------------------------ the setup

@dataclass
class Setup:
    """Everything the plan, the README and the model are written from."""

    province: Province
    rows: list[dict]
    base: int
    last: int
    by_member: tuple[str, ...]          # blocks projected in every former province
    blocks: tuple[str, ...]             # blocks the plan projects
    stand_in: bool                      # national structure as assumed data
    nat: National
    trends: dict[str, Trend]            # "" (the province) and each member
    weights: dict[str, float]           # members' base-year population
    icor: float                         # national ICOR (geometric mean)
    missing: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    shock_share: tuple[float, str] | None = None  # the country's estimate, and how


@dataclass(frozen=True)
class InitResult:
    """What :func:`init_province` wrote and found.

    Attributes
    ----------
    province : str
        The plan key (``"thai_nguyen"``).
    name_vi : str
        Its Vietnamese name.
    boundaries : str
        ``"2025"`` or ``"pre2025"``.
    members : tuple of str
        The former provinces (members of the plan's regions where merged).
    base_year, last_actual_year : int
        Of the plan.
    blocks : tuple of str
        The blocks the plan projects; ``by_member`` those projected in each member.
    by_member : tuple of str
    structure : str
        Where the base-year sector structure comes from.
    plan, history, readme, model : pathlib.Path
        The files written.
    missing : tuple of str
        What the data lack, one line each.
    checks : tuple of str
        The consistency checks made, one line each.
    """

    province: str
    name_vi: str
    boundaries: str
    members: tuple[str, ...]
    base_year: int
    last_actual_year: int
    blocks: tuple[str, ...]
    by_member: tuple[str, ...]
    structure: str
    plan: Path
    history: Path
    readme: Path
    model: Path
    missing: tuple[str, ...]
    checks: tuple[str, ...]

    def summary(self) -> str:
        """A few lines for the command line."""
        members = f" = {' + '.join(self.members)}" if len(self.members) > 1 else ""
        if len(self.members) > 5:
            members = f" = {len(self.members)} former provinces"
        lines = [f"{self.plan}: {self.name_vi} ({self.boundaries} boundaries{members}), base "
                 f"year {self.base_year}, projects {', '.join(self.blocks)}"
                 + (f" (by former province: {', '.join(self.by_member)})" if self.by_member
                    else ""),
                 f"  inputs {self.history}, model {self.model}; structure: {self.structure}"]
        lines += [f"  check: {c}" for c in self.checks]
        lines += [f"  missing: {m}" for m in self.missing]
        return "\n".join(lines)


def init_province(name: str, boundaries: str = "2025", out: Path = Path("."),
                  force: bool = False, *, national_structure: bool = False,
                  structure=None, gso_dir=GSO, all_dir=ALL_PROVINCES, crosswalk=None,
                  band_scales=BAND_SCALES, check: bool = True) -> InitResult:
    """Write a province's inputs, calibrated model and starter plan.

    Parameters
    ----------
    name : str
        The province, with or without diacritics, any case (``"Thái Nguyên"``,
        ``"thai nguyen"``, ``"thai_nguyen"``).
    boundaries : str
        ``"2025"`` (34 provinces, merged ones as regions of their former provinces) or
        ``"pre2025"`` (the 63 provinces before 1 July 2025).
    out : path
        Folder under which ``inputs/<province>/``, ``scenarios/<province>.toml`` and
        ``models/<province>.toml`` are written.
    force : bool
        Replace those files if they exist.
    national_structure : bool
        Without the province's own sector structure, let the national one (latest year of
        the GSO national accounts) stand in, as assumed data.
    structure : path, optional
        A CSV in the ``history.csv`` format with the province's sector shares (the four
        ``share_*`` rows of a year or more; a merged province's for each former province,
        ``region`` = its key).
    gso_dir, all_dir : path
        The GSO yearbook tables and the all-province tables.
    crosswalk : path, optional
        The folder of the 2025 crosswalk (:func:`find_crosswalk`).
    band_scales : path
        Band factors for the calibrated spreads (``quyhoach backtest``).
    check : bool
        Load and compile the written plan (as ``quyhoach check``) before it is put in
        place.

    Returns
    -------
    InitResult

    Raises
    ------
    OptionError
        Unknown boundaries or province (with a suggestion).
    InputDataError
        Data the model needs are missing (named, with what to add), or a table cannot be
        read.
    ResultsError
        An output file exists (without ``force``) or cannot be written.
    """
    province = resolve_province(name, boundaries, crosswalk)
    out = Path(out)
    targets = _targets(out, province.key)
    if not force:
        existing = [p for p in targets.values() if p.exists()]
        if existing:
            raise ResultsError(f"{existing[0]} already exists; pass force=True (--force) to "
                               "replace it, or choose another out folder (--out DIR)")
    setup = build_setup(province, Path(gso_dir), Path(all_dir), national_structure, structure)
    return _write(setup, out, targets, Path(gso_dir), Path(all_dir), Path(band_scales), check)


def init_all(boundaries: str = "2025", out: Path = Path("."), force: bool = False, *,
             national_structure: bool = False, progress: bool = False,
             **tables) -> tuple[list[InitResult], dict[str, str]]:
    """Start every province of ``boundaries`` and the whole country (``viet_nam``).

    A national team's starting point: ``quyhoach batch OUT/scenarios`` then runs every
    province and the country, whose members are the provinces, so its national totals
    are sums in every draw. Parameters as :func:`init_province` (``tables``: its
    ``gso_dir``, ``all_dir``, ``crosswalk``, ``band_scales``).

    Returns
    -------
    written : list of InitResult
    failed : dict
        Province key → why it could not start (the data it lacks); the others are
        written.
    """
    cw = _crosswalk(str(find_crosswalk(tables.get("crosswalk")).resolve()))
    keys = sorted(cw.provinces if boundaries == "2025" else cw.formers) + [COUNTRY]
    if progress:
        from tqdm import tqdm

        keys = tqdm(keys, unit="province", desc="init")
    written, failed = [], {}
    for key in keys:
        try:
            written.append(init_province(key, boundaries, out, force,
                                         national_structure=national_structure, **tables))
        except (InputDataError, ResultsError) as exc:
            failed[key] = str(exc)
    return written, failed


def _targets(out: Path, key: str) -> dict[str, Path]:
    return {"history": out / "inputs" / key / "history.csv",
            "readme": out / "inputs" / key / "README.md",
            "plan": out / "scenarios" / f"{key}.toml",
            "model": out / "models" / f"{key}.toml"}


def build_setup(province: Province, gso_dir: Path, all_dir: Path, national_structure: bool,
                structure=None) -> Setup:
    """Rows, base year, blocks and trends of a province (nothing written).

    Raises
    ------
    InputDataError
        When the model's base-year needs are missing, naming them and what to add.
    """
    panel = _panel(str(gso_dir.resolve()), str(all_dir.resolve()))
    merged = province.merged
    ids = [m.key for m in province.members]
    rows = [r for m in province.members for r in member_rows(panel, m, m.key if merged else "")]
    regions = ids if merged else [""]
    if structure is not None:
        rows += read_structure(structure, ids, merged)
    own = all(structure_years(rows, r) for r in regions)
    if not own and not national_structure:
        raise InputDataError([_no_structure(province, rows, regions)])
    base = _base_year(rows, regions, own, province)
    last = max([base, *(y for r in regions for y in structure_years(rows, r))]) if own else base
    nat = national(str(gso_dir.resolve()))
    by_member: tuple[str, ...] = ()
    if merged:
        by_member = ("economy", "investment", "population") if own else ("population",)
        if not own:  # the economy is the province's: its GRDP is the members' sum
            rows += sum_rows([r for r in rows if r["indicator"] == "grdp_nominal"],
                             "grdp_nominal", ids, "the economy is projected province-wide")
    setup = Setup(province, rows, base, last, by_member, ("economy", "investment", "population"),
                  not own, nat, {}, _weights(rows, ids, merged, base),
                  _national_icor(str(gso_dir.resolve())))
    if province.country:
        from .calibrate import common_shock_share

        setup.shock_share = common_shock_share(panel)
    setup.trends = _trends(setup)
    setup.missing = missing_data(setup)
    setup.checks = population_checks(setup)
    return setup


def _no_structure(province: Province, rows: list[dict], regions: list[str]) -> Problem:
    lacking = [r or province.key for r in regions if not structure_years(rows, r)]
    per = (f" for each former province (region = {', '.join(lacking)})" if province.merged
           else "")
    gdp = sorted({r["year"] for r in rows if r["indicator"] == "grdp_nominal"})
    span = f"{gdp[0]}-{gdp[-1]}" if gdp else "a year with GRDP"
    return Problem(province.key, "missing data: no sector structure (" + ", ".join(SHARES)
                   + f", % of GRDP at current prices) for {province.name_vi}: the GSO and "
                   "all-province tables hold none for any province, and the model splits "
                   "the base-year GRDP by it. Add the four shares of one year in "
                   f"{span} or later{per}, from the provincial statistical yearbook, in a "
                   "CSV in the history.csv format (structure=FILE), or let the national "
                   "structure stand in as assumed data (national_structure=True)")


def _base_year(rows: list[dict], regions: list[str], own: bool, province: Province) -> int:
    """The latest year in which every region has population and GRDP at current prices
    (and, with its own structure, a structure in that year or later)."""
    candidates = set.intersection(*(set(_series(rows, "population", r))
                                    & set(_series(rows, "grdp_nominal", r)) for r in regions))
    if own:
        candidates = {y for y in candidates
                      if all(max(structure_years(rows, r)) >= y for r in regions)}
    if not candidates:
        raise InputDataError([Problem(province.key, "missing data: no year in which "
                                      + ("every former province has " if province.merged
                                         else "the province has ")
                                      + "population, GRDP at current prices and a sector "
                                      "structure then or later; the model needs all three "
                                      "in its base year")])
    return max(candidates)


def _weights(rows: list[dict], ids: list[str], merged: bool, base: int) -> dict[str, float]:
    region = (lambda m: m) if merged else (lambda m: "")
    return {m: _series(rows, "population", region(m))[base] for m in ids}


def _trends(setup: Setup) -> dict[str, Trend]:
    p = setup.province
    if not p.merged:
        return {"": trend(setup.rows, "", setup.nat, setup.last, p.key)}
    trends = {m.key: trend(setup.rows, m.key, setup.nat, setup.last, f"{p.key}: {m.key}")
              for m in p.members}
    gdp = {m: _series(setup.rows, "grdp_nominal", m)[setup.base] for m in trends}
    province = weighted(trends, setup.weights, gdp, " + ".join(trends))
    if setup.stand_in:  # the economy is the province's: its GRDP is the members' sum
        eco, why = economy_trend(setup.rows, "", setup.nat, setup.last, p.key)
        province = Trend(province.birth, province.death, province.migration, eco["real"],
                         eco["inflation"], {**province.why, **why, "real": why["real"]
                                            + " (GRDP: the former provinces' sum)"})
    return {"": province, **trends}


# Model indicators whose GSO series is a different concept (kept under its own name).
KIN = {"poverty_rate": "poverty_rate_gso: GSO rates to 2016 under changing poverty lines",
       "electricity_access": "electricity_household_share_gso: any source, to 2016",
       "tourism_revenue": "tourism_turnover: travel businesses only, to 2015"}


def missing_data(setup: Setup) -> list[str]:
    """What the data lack for the model, one line each."""
    out = []
    if setup.stand_in:
        out.append(f"sector structure ({', '.join(SHARES)}): in no table for this province; "
                   f"the national {setup.nat.structure_year} structure stands in (assumed "
                   "data in the plan): replace it with the province's")
    out.append("real GRDP growth (grdp_growth): no provincial series; the national GDP "
               f"deflator ends in {setup.nat.deflator_years[1]}, before the first GRDP year, "
               f"so none is derived: {setup.base + 1} on is projected from the scenarios' "
               "growth")
    regions = [m.key for m in setup.province.members] if setup.province.merged else [""]
    by_block: dict[str, list[str]] = {}
    for indicator in MODEL_UNITS:
        block = BLOCK_OF_HISTORY[indicator]
        if block in setup.blocks:
            continue
        what = _lacking(setup, indicator, regions)
        if what:
            by_block.setdefault(block, []).append(what)
    for block, items in by_block.items():
        out.append(f"{block} (not projected): " + "; ".join(items))
    return out


def _lacking(setup: Setup, indicator: str, regions: list[str]) -> str:
    """How the tables fall short of ``indicator`` from the base year on ('' if they do not)."""
    latest = [max(_series(setup.rows, indicator, r), default=None) for r in regions]
    kin = f" ({KIN[indicator]})" if indicator in KIN else ""
    if all(y is None for y in latest):
        return f"{indicator} not in the tables{kin}"
    if any(y is None or y < setup.base for y in latest):
        last = max(y for y in latest if y is not None)
        return (f"{indicator} last observed {last}, before the base year {setup.base} (add a "
                f"figure of {setup.base} or later)")
    return ""


def population_checks(setup: Setup) -> list[str]:
    """The province's population: the sum of its former provinces, and the crosswalk's.

    Raises
    ------
    InputDataError
        When the sum of the former provinces' 2022 population differs from the
        crosswalk's derived figure beyond its rounding.
    """
    p = setup.province
    if p.population_2022 is None:
        return []
    regions = [m.key for m in p.members] if p.merged else [""]
    series = [_series(setup.rows, "population", r) for r in regions]
    years = sorted(set.intersection(*(set(s) for s in series)))
    total = sum(s.get(2022, math.nan) for s in series)
    line = (f"population 2022 = {' + '.join(f'{s.get(2022, math.nan):g}' for s in series)} = "
            f"{total:.2f} thousand; the crosswalk's derived sum "
            f"(population_avg_2022_gso_sum_thousand) is {p.population_2022:.2f}")
    if not abs(total - p.population_2022) <= CROSSWALK_TOLERANCE:
        raise InputDataError([Problem(p.key, line + ": they disagree; check the tables")])
    checks = [line + ": agree"]
    if p.merged:
        checks.append(f"population {years[0]}-{years[-1]}: the province's is the sum of its "
                      f"{len(regions)} former provinces in every year and draw (the plan "
                      "projects population by former province and leaves the province's "
                      "rows empty)")
    return checks


# ------------------------------------------------------------------------ writing

def _write(setup: Setup, out: Path, targets: dict[str, Path], gso_dir: Path, all_dir: Path,
           band_scales: Path, check: bool) -> InitResult:
    """Write into a private folder under ``out``, check, then move the files in place."""
    key = setup.province.key
    try:
        out.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=f".quyhoach-init-{key}-", dir=out))
    except OSError as exc:
        raise ResultsError(f"cannot write in {out}: {exc.strerror or exc}; choose another "
                           "out folder (--out DIR)") from None
    try:
        staged = _targets(stage, key)
        staged["history"].parent.mkdir(parents=True)
        staged["history"].write_text(history_csv(setup.rows), encoding="utf-8")
        model_doc = model_document(setup, staged["history"].parent, gso_dir, all_dir,
                                   band_scales)
        _write_model(model_doc, staged["model"])
        staged["plan"].parent.mkdir(parents=True, exist_ok=True)
        staged["plan"].write_text(plan_text(setup), encoding="utf-8")
        staged["readme"].write_text(readme_text(setup), encoding="utf-8")
        if check:
            from .compile import compile_plan

            compile_plan(staged["plan"])
        for name, path in targets.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged[name], path)
    except OSError as exc:
        raise ResultsError(f"cannot write in {out}: {exc.strerror or exc}; nothing was put in "
                           "place; free space or choose another out folder (--out DIR)") \
            from None
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return _result(setup, targets)


def _write_model(doc: dict, path: Path) -> None:
    from .calibrate import to_toml

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_toml(doc, "Written by `quyhoach init` with quyhoach.calibrate's "
                                 "estimators: estimated from history, reviewed like code."),
                    encoding="utf-8")


def _result(setup: Setup, targets: dict[str, Path]) -> InitResult:
    p = setup.province
    where = (f"national {setup.nat.structure_year} structure (assumed data; stand-in)"
             if setup.stand_in else "the province's own (structure file)")
    return InitResult(p.key, p.name_vi, p.boundaries, tuple(m.key for m in p.members),
                      setup.base, setup.last, setup.blocks, setup.by_member, where,
                      targets["plan"], targets["history"], targets["readme"], targets["model"],
                      tuple(setup.missing), tuple(setup.checks))


def _number_text(value: float) -> str:
    return repr(round(float(value), 6))


def history_csv(rows: list[dict]) -> str:
    """The rows as ``history.csv`` text, sorted by region, indicator and year."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["indicator", "year", "value", "unit", "status", "source", "note", "region"])
    for r in sorted(rows, key=lambda r: (r["region"], r["indicator"], r["year"])):
        w.writerow([r["indicator"], r["year"], _number_text(r["value"]), r["unit"],
                    r["status"], r["source"], r["note"], r["region"]])
    return buf.getvalue()


# ------------------------------------------------------------------------ the model

POPULATION_PARAMETERS = ("population.birth_rate", "population.death_rate",
                         "population.net_migration_rate")


def _member_estimates(panel, key: str, start: int, gso_dir: Path) -> dict:
    """Calibrated population estimates of one former province (quyhoach.calibrate)."""
    from .calibrate import provincial_trend, residual_migration
    from .gso import VITAL_TABLE

    births = str(gso_dir / VITAL_TABLE)
    est = {name: provincial_trend(panel, key, ind, name, "per 1000", births, at_year=start)
           for name, ind in (("population.birth_rate", "crude_birth_rate"),
                             ("population.death_rate", "crude_death_rate"))}
    # the centre is the migration that closes the population identity: so is its spread
    est["population.net_migration_rate"] = residual_migration(panel, key, births)
    return est


def model_document(setup: Setup, inputs_dir: Path, gso_dir: Path, all_dir: Path,
                   band_scales: Path) -> dict:
    """The calibrated model: population per former province, national economy series.

    The population rates' spreads are each former province's calibration (as
    ``quyhoach calibrate``); a merged province's plan draws one offset per parameter for
    all its members, so its spread is the members' population-weighted mean. Sector
    growth and deflator shocks and the ICOR are national series (flagged).
    """
    from . import __version__
    from .calibrate import (
        FAMILY,
        _band_scales,
        _estimate_table,
        _scale_growth_to_province,
        _sha,
        ar1_group,
        census_revision,
        national_icor,
        national_sectors,
    )
    from .gso import POPULATION_TABLE
    from .inputs import load_history

    panel = _panel(str(gso_dir.resolve()), str(all_dir.resolve()))
    scales = _band_scales(band_scales)
    start = setup.base + 1
    members = {m.key: _member_estimates(panel, m.key, start, gso_dir)
               for m in setup.province.members}
    growth, deflator = national_sectors(gso_dir)
    accounts = str(gso_dir / "National Accounts" / "Gross domestic product at constant 2010 "
                                                   "prices by kinds of economic activity.csv")
    shocks_growth = ar1_group(growth, "shocks.growth", accounts)
    _scale_growth_to_province(shocks_growth, load_history(inputs_dir))
    icor = national_icor(gso_dir)
    total = sum(setup.weights.values())
    w = {m: setup.weights[m] / total for m in members}
    params: dict = {"investment.icor": {"dist": "lognormal", "sigma": round(icor.residual_sd, 4)}}
    shocks: dict = {}
    estimates: dict = {}
    for name in POPULATION_PARAMETERS:
        f = scales.get(FAMILY[name], 1.0)
        level_se = sum(w[m] * members[m][name].extra["level_at_se"] for m in members)
        resid = sum(w[m] * members[m][name].residual_sd for m in members)
        params[name] = {"dist": "normal", "sd": round(level_se * f, 4)}
        shocks[name] = {"sd": round(resid * f, 4), "persistence": 0.0}
        estimates[name] = _combined(name, {m: _estimate_table(members[m][name]) for m in members},
                                    w)
    revision = census_revision(panel, f"inputs/gso/{POPULATION_TABLE}")
    params["population.revision"] = {"dist": "normal", "sd": round(revision.se, 2)}
    estimates["population.revision"] = _estimate_table(revision)
    for group, est in (("growth", shocks_growth),
                       ("inflation", ar1_group(deflator, "shocks.inflation", accounts))):
        shocks[group] = {"sd": {s: round(est.extra["sd"][s] * 100, 3) for s in SECTORS},
                         "persistence": round(est.value, 3),
                         "correlation": est.extra["correlation"]}
        estimates[f"shocks.{group}"] = _estimate_table(est)
    estimates["investment.icor"] = _estimate_table(icor)
    files = {f"inputs/{setup.province.key}/history.csv": _sha(inputs_dir / "history.csv")}
    files.update({f"inputs/gso/{p.relative_to(gso_dir).as_posix()}": _sha(p)
                  for p in sorted(gso_dir.rglob("*.csv"))})
    files.update({f"inputs/all_provinces/{p.name}": _sha(p) for p in sorted(all_dir.glob("*.csv"))})
    how = ("each former province's calibration, combined by base-year population weights "
           f"({', '.join(f'{m} {w[m]:.3f}' for m in w)}): the plan draws one offset per "
           "parameter for every member" if setup.province.merged else
           "the province's calibration")
    return {"model": {"province": setup.province.key, "engine_version": __version__,
                      "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
                      "written_by": "quyhoach init (quyhoach.calibrate estimators)",
                      "population_spreads": how, "band_scales": scales,
                      "band_scales_file": str(band_scales) if scales else
                      f"none found at {band_scales}: raw statistical spreads",
                      "inputs_sha256": files},
            "uncertainty": {"parameters": params, "shocks": shocks},
            "estimates": estimates}


def _combined(name: str, tables: dict[str, dict], w: dict[str, float]) -> dict:
    if len(tables) == 1:
        return next(iter(tables.values()))
    first = next(iter(tables.values()))
    return {"value": sum(w[m] * t["value"] for m, t in tables.items()),
            "se": sum(w[m] * t["se"] for m, t in tables.items()), "unit": first["unit"],
            "method": "population-weighted mean of the former provinces' estimates below "
                      "(base-year weights)", "weights": w, "members": tables,
            "flags": sorted({f for t in tables.values() for f in t["flags"]})}


# ------------------------------------------------------------------------ the plan

def _comment(text: str, first: str = "# ", rest: str = "# ") -> list[str]:
    """``text`` as comment lines of at most 96 characters."""
    import textwrap

    return textwrap.wrap(text, 96, initial_indent=first, subsequent_indent=rest,
                         break_on_hyphens=False)


def _q(text: str) -> str:
    """A TOML basic string."""
    return json.dumps(text, ensure_ascii=False)


def _confirm(values: dict[str, float]) -> list[str]:
    """Parameters whose values the plan loader would ask the planner to confirm."""
    out = []
    for path, v in values.items():
        p = PARAMETER_BY_PATH[path]
        slip = p.slip is not None and 0 < abs(v) < 1 and p.slip[0] <= 100 * abs(v) <= p.slip[1]
        if slip or not p.lower <= v <= p.upper:
            out.append(path)
    return out


def _values(t: Trend, growth_shift: float = 0.0, migration_shift: float = 0.0,
            economy: bool = True, population: bool = True) -> dict[str, float]:
    out: dict[str, float] = {}
    if economy:
        out.update({f"growth.{s}": round(t.real + growth_shift, 2) for s in SECTORS})
        out.update({f"inflation.{s}": round(t.inflation, 2) for s in SECTORS})
    if population:
        out.update({"population.birth_rate": round(t.birth, 2),
                    "population.death_rate": round(t.death, 2),
                    "population.net_migration_rate": round(t.migration + migration_shift, 2)})
    return out


_SHIFTED = {*(f"growth.{s}" for s in SECTORS), "population.net_migration_rate"}


def _section(header: str, values: dict[str, float], why: dict[str, str]) -> list[str]:
    """``[header.<section>]`` tables of dotted values, with their comments."""
    lines: list[str] = []
    current = ""
    for path, v in values.items():
        section, key = path.split(".")
        if section != current:
            lines += ["", f"[{header}.{section}]"]
            current = section
        comment = why.get(path, "")
        lines.append(f"{key} = {v:g}" + (f"   # {comment}" if comment else ""))
    return lines


def _why(t: Trend, shift: str = "") -> dict[str, str]:
    out = {f"growth.{s}": (t.why["real"] if s == SECTORS[0] else "as agriculture: no sector "
                           "detail in the tables") + shift for s in SECTORS}
    out.update({f"inflation.{s}": t.why["inflation"] if s == SECTORS[0] else "" for s in SECTORS})
    out.update({"population.birth_rate": t.why["birth"], "population.death_rate": t.why["death"],
                "population.net_migration_rate": t.why["migration"]})
    return out


_LABELS = {"trend": ("Xu hướng", "Trend", "The province's own history continued: recent "
                     "population growth and nominal GRDP growth (deflated nationally)."),
           "low": ("Thấp", "Low", f"The trend with real growth {GROWTH_MARGIN:g} points lower "
                   f"in every sector and net migration {MIGRATION_MARGIN:g} per 1000 lower (a "
                   "stated margin, not an estimate)."),
           "high": ("Cao", "High", f"The trend with real growth {GROWTH_MARGIN:g} points "
                    f"higher in every sector and net migration {MIGRATION_MARGIN:g} per 1000 "
                    "higher (a stated margin, not an estimate).")}


def _shifted_why(t: Trend, name: str, growth: float, migration: float) -> dict[str, str]:
    """Comments of a low or high scenario's values: the trend's, shifted."""
    out = {f"growth.{s}": f"the trend's {t.real:.2f} {growth:+g} points ({name}: a stated "
                          "margin)" for s in SECTORS}
    out["population.net_migration_rate"] = (f"the trend's {t.migration:.2f} {migration:+g} "
                                            f"per 1000 ({name}: a stated margin)")
    return out


def _scenario_values(setup: Setup, region: str, name: str, growth: float,
                     migration: float) -> tuple[dict[str, float], dict[str, str]]:
    """A scenario's values for the province ("") or a member, and their comments."""
    t = setup.trends[region]
    economy = not region or "economy" in setup.by_member
    values = _values(t, growth, migration, economy=economy)
    if name == "trend":
        return values, _why(t)
    return {k: v for k, v in values.items() if k in _SHIFTED}, _shifted_why(t, name, growth,
                                                                            migration)


def _scenario(setup: Setup, name: str, growth: float, migration: float) -> list[str]:
    vi, en, text = _LABELS[name]
    lines = ["", f"[scenarios.{name}]"] + ([] if name == "trend" else ['inherits = "trend"'])
    lines += [f"label_vi = {_q(vi)}", f"label_en = {_q(en)}", f"description = {_q(text)}"]
    values, why = _scenario_values(setup, "", name, growth, migration)
    confirm = _confirm(values)
    if confirm:
        lines.append(f"confirm = {json.dumps(confirm)}   # near 0 or outside the usual range: "
                     "review")
    lines += _section(f"scenarios.{name}", values, why)
    if name == "trend":
        lines += ["", f"[scenarios.{name}.investment]",
                  f"icor = {setup.icor:g}   # national ICOR, geometric mean of the GSO "
                  "series (quyhoach.calibrate; no provincial investment series)"]
    return lines + _member_tables(setup, name, growth, migration)


def _member_tables(setup: Setup, name: str, growth: float, migration: float) -> list[str]:
    lines: list[str] = []
    for m in setup.province.members if setup.province.merged else ():
        values, why = _scenario_values(setup, m.key, name, growth, migration)
        header = f"scenarios.{name}.regions.{m.key}"
        body = _section(header, values, why)
        confirm = _confirm(values)
        if confirm:  # a member confirms its own values, in its own table
            body = ["", f"[{header}]", f"confirm = {json.dumps(confirm)}"] + body
        lines += ["", f"# {m.name_vi}: its own history"] + body
    return lines


@functools.lru_cache(maxsize=2)
def _national_icor(gso_dir: str) -> float:
    from .calibrate import national_icor

    return round(national_icor(Path(gso_dir)).value, 2)


def _header(setup: Setup) -> list[str]:
    p = setup.province
    members = (f" = {' + '.join(m.name_vi for m in p.members)}" if p.merged else "")
    if p.country:
        members = f" = the {len(p.members)} provinces before 1 July 2025"
    today = datetime.now(UTC).date().isoformat()
    lines = [f"# Starter plan file: {p.name_vi} ({p.boundaries} boundaries{members}).",
             *_comment(f"Written by `quyhoach init {p.key} --boundaries {p.boundaries}"
                       + (" --national-structure" if setup.stand_in else " --structure FILE")
                       + f"` on {today} from the GSO tables (inputs/gso, inputs/all_provinces; "
                       f"sources row by row in inputs/{p.key}/history.csv and its README)."),
             "#",
             "# Units: growth and inflation in %/yr; crude demographic rates per 1000; shares in",
             "# percent; money in billion VND. Every number under [scenarios] is an ASSUMPTION",
             "# taken from the province's own history (the comment beside it says how); the",
             "# plan's targets are not filled in: add them with their sources (see the end).",
             "#",
             "# What the data lack (say so in any use of this plan):"]
    return lines + [line for m in setup.missing for line in _comment(m, "# - ", "#   ")]


def _plan_head(setup: Setup) -> list[str]:
    p = setup.province
    return ["", "[plan]", f"province = {_q(p.key)}",
            f"name_vi = {_q('Quy hoạch ' + p.name_vi[0].lower() + p.name_vi[1:])}",
            f"name_en = {_q(p.name_en + ' provincial plan (starter, ' + p.boundaries + ' boundaries)')}",  # noqa: E501
            f'inputs = "../inputs/{p.key}"',
            f"base_year = {setup.base}          # the latest year with population, GRDP at "
            "current prices" + (" and a structure" if not setup.stand_in else ""),
            f"last_actual_year = {setup.last}   # no later figure in the tables",
            f"horizon = {HORIZON}",
            f'model = "../models/{p.key}.toml"   # calibrated uncertainty (written by init)']


def _assumed(setup: Setup) -> list[str]:
    if not setup.stand_in:
        return []
    nat = setup.nat
    lines = ["", "# The province's sector structure is in no table: the national structure of "
             f"{nat.structure_year}", "# (GSO national accounts, current prices) stands in. "
             "With every sector at the same", "# rates (below) it changes no total (GRDP, "
             "growth, per capita), only the sector detail.", "# Replace it with the "
             "province's own (the statistical yearbook) as history rows."]
    for s in SECTORS:
        lines += ["", "[[assumed_data]]", f'indicator = "share_{s}"', f"year = {setup.base}",
                  f"value = {round(nat.structure[s], 2):g}", f"unit = {_q(SHARE_UNIT)}",
                  f"note = {_q(f'NATIONAL structure {nat.structure_year} (not the province): ' + _structure_note(nat, s))}"]  # noqa: E501
    return lines


def _structure_note(nat: National, sector: str) -> str:
    how = {"agriculture": "'Agriculture, forestry and fishing'",
           "industry_construction": "mining, manufacturing, electricity, water and "
                                    "construction", "product_taxes":
           "'Products taxes less subsidies on production'",
           "services": "TOTAL less the other three"}[sector]
    return (f"{how} / TOTAL x 100 in {nat.source_current}; stands in because no table holds "
            "the province's structure")


def _regions(setup: Setup) -> list[str]:
    p = setup.province
    if not p.merged:
        return []
    economy = ("economy, investment and population by former province: each has its own "
               "GRDP, structure and population; the province is their sum in every draw"
               if "economy" in setup.by_member else
               "population by former province; the economy province-wide, because its base-"
               "year structure is a national stand-in that the plan states for the province "
               "only (its GRDP rows are the former provinces' sum)")
    since = (f"{p.name_vi}: {p.basis}." if p.country
             else f"{p.name_vi} since 1 July 2025 ({p.basis}).")
    lines = ["", "# ---------------------------------------------------------------- former "
             "provinces", f"# {since}", *_comment(f"Projected: {economy}."),
             "# Other blocks: no former province has data from the base year on (README).",
             "[regions]", 'label_vi = "Tỉnh cũ (trước 1/7/2025)"',
             'label_en = "Former provinces (before 1 July 2025)"',
             f"blocks = {json.dumps(list(setup.by_member))}"]
    if setup.shock_share is not None:
        share, how = setup.shock_share
        lines += [*_comment(f"{share:g} ({how}): the provinces' yearly shocks partly move "
                            "together, so the country's spread is not one province's"),
                  f"shock_share = {share:g}"]
    else:
        lines += ["# 1 (assumed): the former provinces' yearly shocks move together, so their "
                  "sum has", "# the spread of one province, as the calibrated model (one "
                  "province's history)", "shock_share = 1.0"]
    for m in p.members:
        note = (f"GSO code {m.code}; since 1 July 2025 part of {m.new_key}" if p.country
                else f"GSO code {m.code}; part of {p.name_vi} since 1 July 2025")
        lines += ["", "[[regions.members]]", f"id = {_q(m.key)}", f"name_vi = {_q(m.name_vi)}",
                  f"name_en = {_q(m.name_en)}", f"note = {_q(note)}"]
    for g in p.groups:  # a province of 2025: the sum of its former provinces in every draw
        lines += ["", "[[regions.members]]", f"id = {_q(g.key)}", f"name_vi = {_q(g.name_vi)}",
                  f"name_en = {_q(g.name_en)}",
                  f"parts = {json.dumps([m.key for m in g.members])}",
                  f"note = {_q(f'since 1 July 2025 ({g.basis})')}"]
    return lines


def _targets_template(setup: Setup) -> list[str]:
    return ["", "# ---------------------------------------------------------------- uncertainty",
            "# All calibrated (models/ file): population rates from the province's history "
            "(each former", "# province's, population-weighted where merged), sector growth "
            "and deflator shocks and the ICOR", "# from national series (flagged there). "
            "State expert ranges in [uncertainty] to override.", "",
            "# ---------------------------------------------------------------- targets",
            "# None filled in: quote each target from its source (the approved plan, a "
            "resolution),", "# never from this file. The inputs end in "
            f"{setup.last}, the base year: a target over 2021-2030", "# needs 2021-"
            f"{setup.base} figures the tables lack; state periods from {setup.base + 1} or "
            "add the", "# observed figures (and a later base year) first. The form:", "#",
            "# [[targets]]", '# id = "grdp_growth_2026_2030"', '# indicator = "grdp_real"',
            '# kind = "average_growth"', '# period = "2026-2030"', '# comparison = ">="',
            "# value = ...                 # from the source", '# label_vi = "..."',
            '# label_en = "..."', '# source = "..."']


def plan_text(setup: Setup) -> str:
    """The starter plan file."""
    lines = _header(setup) + _plan_head(setup) + _assumed(setup) + _regions(setup)
    lines += ["", "# ---------------------------------------------------------------- scenarios"]
    for name, growth, migration in (("trend", 0.0, 0.0),
                                    ("low", -GROWTH_MARGIN, -MIGRATION_MARGIN),
                                    ("high", GROWTH_MARGIN, MIGRATION_MARGIN)):
        lines += _scenario(setup, name, growth, migration)
    lines += _targets_template(setup)
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------ the README

def _coverage(rows: list[dict], region: str) -> list[str]:
    out = []
    for indicator in dict.fromkeys(r["indicator"] for r in rows if r["region"] == region):
        mine = [r for r in rows if r["region"] == region and r["indicator"] == indicator]
        years = sorted(r["year"] for r in mine)
        statuses = ", ".join(sorted({r["status"] for r in mine}))
        sources = sorted({re.sub(r"_(19|20)\d\d\.csv", "_YYYY.csv", r["source"]) for r in mine})
        source = "; ".join(sources)
        out.append(f"| {indicator} | {mine[0]['unit']} | {_span(years)} | {statuses} | "
                   f"{source} |")
    return out


def _span(years: list[int]) -> str:
    if years == list(range(years[0], years[-1] + 1)):
        return f"{years[0]}-{years[-1]}" if len(years) > 1 else str(years[0])
    return ", ".join(map(str, years)) if len(years) <= 4 else (
        f"{years[0]}-{years[-1]} ({len(years)} years)")


def _population_table(setup: Setup) -> list[str]:
    """A merged province's population by year: each former province's and their sum."""
    p = setup.province
    if not p.merged:
        return []
    series = {m.key: _series(setup.rows, "population", m.key) for m in p.members}
    years = sorted(set.intersection(*(set(s) for s in series.values())))
    lines = ["", f"## Population of {p.name_vi} (thousand persons): the sum of its former "
             "provinces", "", "| year | " + " | ".join(series) + " | sum |",
             "|---" * (len(series) + 2) + "|"]
    for y in years:
        values = [series[m][y] for m in series]
        lines.append(f"| {y} | " + " | ".join(f"{v:g}" for v in values)
                     + f" | {sum(values):.2f} |")
    return lines


def readme_text(setup: Setup) -> str:
    """The inputs README: series, sources, derivations, caveats, what is missing, checks."""
    p = setup.province
    regions = [(m.key, m.name_vi) for m in p.members] if p.merged else [("", p.name_vi)]
    if p.merged:
        regions.append(("", f"{p.name_vi} (the province's own rows)"))
    lines = [f"# {p.name_vi} — historical inputs (`history.csv`)", "",
             f"Written by `quyhoach init` ({p.boundaries} boundaries) from the GSO tables in "
             "`inputs/gso/` (statistical yearbook 1995-2016) and `inputs/all_provinces/` "
             "(2011-2022), read with `quyhoach.gso`. Nothing is invented: every row is a "
             "published figure or a derivation of them (status `derived`, formula in the "
             "note). Rows marked `estimate` are GSO preliminary (Prel.) figures.", "",
             f"Plan: base year {setup.base}, last actual year {setup.last} "
             f"(`scenarios/{p.key}.toml`); calibrated model `models/{p.key}.toml`."]
    if p.country:
        lines += ["", f"{p.name_vi}: {p.basis}. Each province's rows carry its key in the "
                  "`region` column; the country is their sum in every draw"
                  + (", and each province of 2025 the sum of its former provinces."
                     if p.groups else ".")]
    elif p.merged:
        lines += ["", f"{p.name_vi} = " + " + ".join(m.name_vi for m in p.members)
                  + f" since 1 July 2025 ({p.basis}). Each former province's rows carry its "
                  "key in the `region` column; the province is their sum in every draw."]
    for region, label in regions:
        body = _coverage(setup.rows, region)
        if body:
            lines += ["", f"## {label}" + (f" (`region = {region}`)" if region else ""), "",
                      "| indicator | unit | years | status | source |", "|---|---|---|---|---|",
                      *body]
    lines += _population_table(setup)
    lines += ["", "## Derivations", "",
              "- `grdp_nominal` = `grdp_per_capita` (million VND) × `population` (thousand "
              "persons) = billion VND, year by year (GSO publishes no provincial GRDP level "
              "in these tables).",
              "- `urbanization_rate` = urban / total population × 100 of the yearbook table "
              "(pre-2019-census vintage; both from it).",
              "- `income_per_capita` = monthly income per capita (thousand VND) × 12 / 1000."]
    lines += ["", "## Caveats", "",
              "- Two population vintages: `population` (2011-2022) is GSO's series revised "
              "after the 2019 census; `population_old_vintage` (to 2016) is not, and differs.",
              "- Poverty rates follow the poverty line of each period (not comparable across "
              "standard changes); electricity is any source, not the national grid.",
              "- `tourism_turnover` is the turnover of travel businesses, not tourism revenue.",
              "- GRDP per capita's unit (million VND, current prices) is inferred by the "
              "source folder."]
    lines += ["", "## What the data lack", ""] + [f"- {m}" for m in setup.missing]
    if setup.checks:
        lines += ["", "## Checks", ""] + [f"- {c}" for c in setup.checks]
    return "\n".join(lines) + "\n"


__all__ = ["BOUNDARIES", "Former", "InitResult", "Province", "find_crosswalk", "init_province",
           "resolve_province"]
