"""Observed history: ``inputs/<province>/history.csv``, loaded and validated.

One row per figure: ``indicator,year,value,unit,status,source,note``, and an optional
``region`` column: empty for the province, a member region's id (``[[regions.members]]``
of the plan) for a locality's or former province's figure. ``status`` is
``official``, ``estimate`` or ``derived`` (a derived row's note gives its formula);
figures a plan assumes are added with status ``assumed``. Indicators the engine does
not use may be present (they serve calibration and back-tests) but must be well formed.

Every indicator name is an identifier, every value a finite number and every year
plausible. Every figure lies in its possible range: an indicator the model reads in the
range the model can read (in the unit ``MODEL_UNITS`` gives it); any other in the range
its unit and name allow (``unit_range``: no negative count or amount, no population of
0, no share of a whole outside 0-100, no growth rate at or below -100 %, no crude rate
per 1000 above 1000), and all rows of one indicator carry one unit. Messages never
quote what a file says unless it is a history table (the right header): a path pointing
at another file is not echoed.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pandas as pd

from .errors import InputDataError, PlanError, Problems, did_you_mean, shown
from .fields import IDENTIFIER
from .registry import MODEL_RANGES, MODEL_UNITS

COLUMNS = ("indicator", "year", "value", "unit", "status", "source", "note")
REGION = "region"  # optional column: a member region's id, empty for the province
STATUSES = ("official", "estimate", "derived")
YEARS = (1900, 2200)  # plausible years of a figure
MAX_HISTORY_BYTES = 64 * 2**20
SHOWN_HEADER = 3  # quote a header's names only when it has this many of the columns

# ------------------------------------------------------------ every indicator's range
# Indicator names are identifiers; the unit of a row decides what its value can be.
NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
# Counts and amounts (levels), by base unit: the most a figure can be, in that unit,
# far above any province's (the world's population, land, output). A base unit may be
# scaled by "thousand", "million" or "billion".
_LEVEL_MAX = {"persons": 1e10, "households": 1e10, "workers": 1e10, "visits": 1e11,
              "communes": 1e6, "administrative units": 1e6, "urban areas": 1e6,
              "enterprises": 1e9, "schools": 1e8, "beds": 1e9, "VND": 1e18, "USD": 1e15,
              "ha": 1e11, "km2": 1e9, "km": 1e9, "tonnes": 1e13, "kWh": 1e16, "MW": 1e9}
_SCALES = {"": 1.0, "thousand ": 1e3, "million ": 1e6, "billion ": 1e9}
LEVEL_UNITS = {scale + base: top / factor for base, top in _LEVEL_MAX.items()
               for scale, factor in _SCALES.items()}
OTHER_UNITS = {  # (lowest, highest, lowest excluded, why)
    "years": (0.0, 150.0, False, "a duration or age in years lies in 0-150"),
    "children/woman": (0.0, 20.0, False, "a fertility rate lies in 0-20"),
    "persons/km2": (0.0, 1e6, False, "a density cannot be negative"),
}
PERCENT = re.compile(r"%( [A-Za-z][A-Za-z0-9 ,/-]{0,60})?")  # %, % households, % of GRDP
# Name parts (between "_") that mark a figure that may be negative (a difference), a
# rate of change, or a ratio that may exceed 100 %.
SIGNED = frozenset({"net", "balance", "change", "growth", "increase", "taxes", "subsidies"})
CHANGE = frozenset({"growth", "change"})
RATIO = frozenset({"ratio", "index", "gross"})
POSITIVE = frozenset({"population", "area"})  # first name part: a level that is never 0
KNOWN_UNITS = ("a count or an amount in " + ", ".join(_LEVEL_MAX) + " (scaled as in "
               "'thousand persons' or 'billion VND'; per-person amounts in the same units), "
               "a share in '%' or '% <of what>', a growth rate in '%/yr', a crude rate "
               "'per 1000', or " + ", ".join(OTHER_UNITS))


@dataclass(frozen=True)
class Range:
    """What a figure can be: ``lo`` (excluded when ``open_lo``) up to ``hi``, and why."""

    lo: float
    hi: float
    open_lo: bool
    why: str

    def holds(self, value: float) -> bool:
        return not (value < self.lo or (self.open_lo and value == self.lo) or value > self.hi)


def unit_range(indicator: str, unit: str) -> Range | None:
    """The possible range of a figure of ``indicator`` in ``unit``; None: unit unknown.

    Levels are at least 0 (populations and areas above 0; differences such as ``net_``
    or ``_change`` figures may be negative); percentages of a whole lie in 0-100 (net
    shares such as product taxes less subsidies in -100-100, ratios such as a gross
    enrolment ratio in 0-10,000); growth rates (``%/yr``, or a name with ``growth`` or
    ``change``) above -100; crude rates per 1000 in 0-1000 (net or natural-increase
    rates in -1000-1000).
    """
    parts = set(indicator.split("_"))
    if unit == "%/yr" or (PERCENT.fullmatch(unit) and parts & CHANGE):
        return Range(-100.0, 1e5, True, "a growth rate is above -100 %: nothing falls by "
                                        "all of itself or more")
    if PERCENT.fullmatch(unit):
        return _percent_range(parts)
    if unit == "per 1000":
        if parts & SIGNED:
            return Range(-1000.0, 1000.0, False, "a net rate per 1000 lies within ±1000")
        return Range(0.0, 1000.0, False, "a crude rate per 1000 lies in 0-1000")
    if unit in LEVEL_UNITS:
        return _level_range(indicator, parts, LEVEL_UNITS[unit])
    if unit in OTHER_UNITS:
        return Range(*OTHER_UNITS[unit])
    return None


def _percent_range(parts: set[str]) -> Range:
    if parts & SIGNED:
        return Range(-100.0, 100.0, False, "a net share lies within ±100 %")
    if parts & RATIO:
        return Range(0.0, 1e4, False, "a ratio cannot be negative")
    return Range(0.0, 100.0, False, "a percentage of a whole lies in 0-100")


def _level_range(indicator: str, parts: set[str], top: float) -> Range:
    if parts & SIGNED:
        return Range(-top, top, False, "a difference cannot exceed the largest possible level")
    if indicator.split("_")[0] in POSITIVE:
        return Range(0.0, top, True, "a population or an area is more than 0")
    return Range(0.0, top, False, "a count or an amount cannot be negative")


def value_range(indicator: str) -> tuple[float, float, bool]:
    """(lowest, highest, lowest excluded) a figure of a model indicator can take."""
    if indicator in MODEL_RANGES:
        return MODEL_RANGES[indicator]
    r = unit_range(indicator, MODEL_UNITS[indicator])
    assert r is not None, f"the registry's unit of {indicator} is unknown"
    return r.lo, r.hi, r.open_lo


def _model_range(indicator: str) -> Range:
    lo, hi, open_lo = value_range(indicator)
    return Range(lo, hi, open_lo, "the range the model can read")


@dataclass(frozen=True)
class History:
    """Validated history of one province.

    Attributes
    ----------
    table : pandas.DataFrame
        Columns ``COLUMNS`` and ``region`` ("" for the province); one row per (region,
        indicator, year).
    sha256 : dict[str, str]
        Hash of each file read, for the results manifest.
    """

    table: pd.DataFrame
    sha256: dict

    def series(self, indicator: str) -> dict[int, float]:
        """Observed values of one indicator, {year: value} in the input's unit."""
        rows = self.table[(self.table["indicator"] == indicator) & (self.table[REGION] == "")]
        return dict(zip(rows["year"].astype(int), rows["value"].astype(float), strict=True))

    def status(self, indicator: str, year: int) -> str:
        """The status column of the province's row of (indicator, year); "" if none."""
        return self._statuses.get((indicator, int(year)), "")

    @cached_property
    def _statuses(self) -> dict:
        """{(indicator, year): status} of the province's rows (one lookup table instead
        of a scan of the table per figure: the compile step asks for every figure)."""
        rows = self.table[self.table[REGION] == ""]
        return {(str(i), int(y)): str(s) for i, y, s in
                zip(rows["indicator"], rows["year"], rows["status"], strict=True)}

    @property
    def regions(self) -> list[str]:
        """Member regions with rows, in the order first met."""
        return [r for r in dict.fromkeys(self.table[REGION]) if r]

    def for_region(self, region: str) -> History:
        """The rows of one member region, as the history of a province of its own."""
        rows = self.table[self.table[REGION] == region].copy()
        rows[REGION] = ""
        return History(rows.reset_index(drop=True), self.sha256)

    def with_assumed(self, assumed, plan_path) -> History:
        """Add a plan's assumed figures (status ``assumed``); they may not hide observed ones."""
        problems = Problems(str(plan_path))
        rows = []
        for i, a in enumerate(assumed):
            w = f"assumed_data[{i}]"
            if a.indicator not in MODEL_UNITS:
                problems.add(f"{w}.indicator", f"'{a.indicator}' is not read by the model"
                             + did_you_mean(a.indicator, MODEL_UNITS))
                continue
            if a.unit != MODEL_UNITS[a.indicator]:
                problems.add(f"{w}.unit", f"expected '{MODEL_UNITS[a.indicator]}', found "
                             f"'{a.unit}'")
            region = a.region  # a member's figure, or "" (the province)
            observed = (self.for_region(region) if region else self).series(a.indicator)
            if observed.get(a.year) is not None:
                whose = f" of region {region}" if region else ""
                problems.add(w, f"{a.indicator} {a.year}{whose} is already observed in the "
                             f"inputs ({observed[a.year]:g}); remove the assumption")
            rows.append({"indicator": a.indicator, "year": a.year, "value": a.value,
                         "unit": a.unit, "status": "assumed",
                         "source": f"assumed in {Path(plan_path).name}", "note": a.note,
                         REGION: region})
        problems.raise_if_any(PlanError)
        if not rows:
            return self
        table = pd.concat([self.table, pd.DataFrame(rows)], ignore_index=True)
        return History(table.sort_values([REGION, "indicator", "year"], ignore_index=True),
                       self.sha256)


def load_history(directory) -> History:
    """Read ``history.csv`` of a province's input directory.

    Raises
    ------
    InputDataError
        Listing every malformed row (with its line number), duplicate figure, or
        wrong unit or impossible value on an indicator the model reads.
    """
    path = Path(directory) / "history.csv"
    problems = Problems(str(path))
    raw = _read_bytes(path, problems)
    problems.raise_if_any(InputDataError)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        problems.add("", "not a history table: the file is not UTF-8 text; save it as "
                         "UTF-8 CSV with the header " + ",".join(COLUMNS))
        problems.raise_if_any(InputDataError)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    _check_header(_fieldnames(reader, problems), problems)
    problems.raise_if_any(InputDataError)
    records = _read_rows(reader, problems)
    problems.raise_if_any(InputDataError)
    table = pd.DataFrame(records, columns=[*COLUMNS, REGION])
    return History(table.sort_values([REGION, "indicator", "year"], ignore_index=True),
                   {str(path): hashlib.sha256(raw).hexdigest()})


def _read_bytes(path: Path, problems: Problems) -> bytes:
    """The file's bytes; problems (never its content) when it cannot be a history table."""
    try:
        if not path.is_file():
            what = "is not a regular file" if path.exists() else "not found"
            problems.add("", f"{what}; expected the province's history table at {path} (see "
                             "the README, section 'Inputs', for the format)")
            return b""
        size = path.stat().st_size
        if size > MAX_HISTORY_BYTES:
            problems.add("", f"not a history table: {size:,} bytes, more than the "
                             f"{MAX_HISTORY_BYTES:,} any province's history needs")
            return b""
        return path.read_bytes()
    except (OSError, ValueError) as exc:
        problems.add("", f"cannot be read ({type(exc).__name__}); check the path and its "
                         "permissions")
        return b""


def _fieldnames(reader: csv.DictReader, problems: Problems) -> list[str]:
    try:
        return list(reader.fieldnames or [])
    except csv.Error:
        problems.add("header", "not a history table: the first line is not CSV")
        return list(COLUMNS)  # reported; nothing else to say about the header


def _check_header(header: list[str], problems: Problems) -> None:
    """The header must name every column; quote it only if it is nearly one of ours."""
    missing = [c for c in COLUMNS if c not in header]
    if not missing:
        return
    present = len(COLUMNS) - len(missing)
    if present < SHOWN_HEADER:
        problems.add("header", f"not a history table: the first line is not the header "
                     f"{','.join(COLUMNS)} (missing column(s) {', '.join(missing)}); check that "
                     "[plan] inputs points at the province's input folder")
        return
    found = ",".join(shown(h)[1:-1] if isinstance(h, str) else "?" for h in header[:12])
    problems.add("header", f"missing column(s) {', '.join(missing)}; expected "
                 f"{','.join(COLUMNS)}, found {found}")


def _read_rows(reader: csv.DictReader, problems: Problems) -> list[dict]:
    """Every well-formed row as a record; each bad one reported with its line."""
    records: list[dict] = []
    seen: dict[tuple, int] = {}
    units: dict[str, list[tuple[str, int]]] = {}  # other indicators: (unit, line) of rows
    line = 1
    try:
        for line, row in enumerate(reader, start=2):
            record = _read_row(row, f"line {line}", problems)
            if record is None:
                continue
            key = (record["indicator"], record["year"], record[REGION])
            if key in seen:
                where = f" in {key[2]}" if key[2] else ""
                problems.add(f"line {line} ({key[0]})", f"duplicate of line {seen[key]} "
                             f"({key[0]} {key[1]}{where}); keep one figure per indicator, "
                             "year and region (put variants under another name)")
            seen[key] = line
            records.append(record)
            if key[0] not in MODEL_UNITS:
                units.setdefault(key[0], []).append((record["unit"], line))
    except csv.Error as exc:
        problems.add(f"line {line + 1}", f"not readable as CSV ({str(exc)[:80]}); check "
                     "quotes and separators")
    for indicator, rows in units.items():
        _check_one_unit(indicator, rows, problems)
    return records


def _check_one_unit(indicator: str, rows: list[tuple[str, int]], problems: Problems) -> None:
    """Every row of an indicator carries one unit: the others are reported with theirs."""
    counts = Counter(unit for unit, _ in rows)
    if len(counts) < 2:
        return
    usual = counts.most_common(1)[0][0]  # ties: the first row's
    first = next(line for unit, line in rows if unit == usual)
    for unit, line in rows:
        if unit != usual:
            problems.add(f"line {line} ({indicator})", f"unit {shown(unit)} but {indicator} "
                         f"is in {shown(usual)} elsewhere (e.g. line {first}); give every row "
                         "of an indicator one unit: convert the value, or name the variant "
                         "differently")


def _read_row(row: dict, w: str, problems: Problems) -> dict | None:
    """One row as a record, or None (reported)."""
    ind = (row["indicator"] or "").strip()
    if not _is_name(ind, w, problems):
        return None
    w = f"{w} ({ind})"
    unit = (row["unit"] or "").strip()
    limits = _limits(ind, unit, w, problems)
    year = _year(row["year"], w, problems)
    value = _value(row["value"], ind, unit, limits, w, problems)
    status = (row["status"] or "").strip()
    if status not in STATUSES:
        problems.add(w, f"status {shown(status)} unknown" + did_you_mean(status, STATUSES))
    if not (row["source"] or "").strip():
        problems.add(w, "empty source; every figure needs its source")
    if status == "derived" and not (row["note"] or "").strip():
        problems.add(w, "derived figure without a note; give the formula and inputs")
    region = (row.get(REGION) or "").strip()
    if region and not IDENTIFIER.fullmatch(region):
        problems.add(w, f"region {shown(region)} is not a region id (letters a-z, digits, '_' "
                     "and '-', as in the plan's [[regions.members]]); leave it empty for the "
                     "province")
        return None
    if year is None or value is None:
        return None
    return {"indicator": ind, "year": year, "value": value, "unit": unit, "status": status,
            "source": row["source"], "note": row["note"] or "", REGION: region}


def _is_name(indicator: str, w: str, problems: Problems) -> bool:
    """An indicator is an identifier: lowercase letters, digits and '_'."""
    if not indicator:
        problems.add(w, "empty indicator")
        return False
    if NAME.fullmatch(indicator):
        return True
    fixed = re.sub(r"[\s-]+", "_", indicator.lower())
    hint = f"; did you mean '{fixed}'?" if NAME.fullmatch(fixed) else ""
    problems.add(w, f"indicator {shown(indicator)} is not a name: expected lowercase letters, "
                 f"digits and '_' (at most 64, starting with a letter, e.g. population_urban)"
                 + hint)
    return False


def _limits(indicator: str, unit: str, w: str, problems: Problems) -> Range | None:
    """The range the row's value must lie in; a wrong or unknown unit reported."""
    if indicator in MODEL_UNITS:
        if unit != MODEL_UNITS[indicator]:
            problems.add(w, f"unit {shown(unit)} but the model reads {indicator} in "
                         f"'{MODEL_UNITS[indicator]}'; convert the value or fix the unit")
        return _model_range(indicator)
    limits = unit_range(indicator, unit)
    if limits is None:
        what = f"unit {shown(unit)} is not a known unit" if unit else "empty unit"
        problems.add(w, f"{what}; expected {KNOWN_UNITS}; convert the figure to one "
                     "of them")
    return limits


def _year(text, w: str, problems: Problems) -> int | None:
    try:
        year = int(text)
    except (TypeError, ValueError):  # also Python's refusal of 4300-digit numbers
        problems.add(w, f"year {shown(text)} is not a whole number")
        return None
    if not YEARS[0] <= year <= YEARS[1]:
        problems.add(w, f"year {shown(year)} is not a plausible year ({YEARS[0]}-{YEARS[1]})")
        return None
    return year


def _value(text, indicator: str, unit: str, limits: Range | None, w: str,
           problems: Problems) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        problems.add(w, f"value {shown(text)} is not a number; write plain numbers "
                     "with a dot for decimals and no thousands separators")
        return None
    if not math.isfinite(value):
        problems.add(w, f"value {shown(text)} is not a finite number; leave the figure out "
                     "if it is not known")
        return None
    if limits is not None and not limits.holds(value):
        above = "more than " if limits.open_lo else ""
        shown_unit = MODEL_UNITS.get(indicator, unit)
        problems.add(w, f"value {value:g} is impossible for {indicator} ({shown_unit}): "
                     f"expected {above}{limits.lo:g} up to {limits.hi:g} ({limits.why}); "
                     "check the figure and its unit")
        return None
    return value
