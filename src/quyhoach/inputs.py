"""Observed history: ``inputs/<province>/history.csv``, loaded and validated.

One row per figure: ``indicator,year,value,unit,status,source,note``. ``status`` is
``official``, ``estimate`` or ``derived`` (a derived row's note gives its formula);
figures a plan assumes are added with status ``assumed``. Indicators the engine does
not use may be present (they serve calibration and back-tests) but must be well formed.

Every value must be a finite number and every year plausible; a figure of an indicator
the model reads must also lie in that indicator's possible range (no negative
population, no share above 100). Messages never quote what a file says unless it is a
history table (the right header): a path pointing at another file is not echoed.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .errors import InputDataError, PlanError, Problems, did_you_mean, shown

COLUMNS = ("indicator", "year", "value", "unit", "status", "source", "note")
STATUSES = ("official", "estimate", "derived")
# Indicators the model reads, with the unit their rows must carry.
MODEL_UNITS = {
    "population": "thousand persons",
    "urbanization_rate": "%",
    "grdp_nominal": "billion VND",
    "grdp_growth": "%",
    "share_agriculture": "% of GRDP",
    "share_industry_construction": "% of GRDP",
    "share_services": "% of GRDP",
    "share_product_taxes": "% of GRDP",
    "budget_revenue": "billion VND",
    "tourists": "visits",
    "tourism_revenue": "billion VND",
    "income_per_capita": "million VND",
    "poverty_rate": "% households",
    "forest_cover": "%",
    "ntm_communes_share": "% of communes",
    "electricity_access": "% households",
    "rural_clean_water": "% rural population",
}
# What a figure can be, in the model's unit: (lowest, highest, lowest excluded). Levels
# the model grows geometrically and divides by must be positive.
_LEVEL = (0.0, 1e12, True)
_SHARE = (0.0, 100.0, False)
MODEL_RANGES = {
    "population": _LEVEL,
    "urbanization_rate": _SHARE,
    "grdp_nominal": _LEVEL,
    "grdp_growth": (-100.0, 1000.0, True),
    "share_agriculture": _SHARE,
    "share_industry_construction": _SHARE,
    "share_services": _SHARE,
    "share_product_taxes": (-100.0, 100.0, False),  # less subsidies: may be negative
    "budget_revenue": (0.0, 1e12, False),
    "tourists": (0.0, 1e12, False),
    "tourism_revenue": (0.0, 1e12, False),
    "income_per_capita": _LEVEL,
    "poverty_rate": _SHARE,
    "forest_cover": _SHARE,
    "ntm_communes_share": _SHARE,
    "electricity_access": _SHARE,
    "rural_clean_water": _SHARE,
}
YEARS = (1900, 2200)  # plausible years of a figure
MAX_HISTORY_BYTES = 64 * 2**20
SHOWN_HEADER = 3  # quote a header's names only when it has this many of the columns


def value_range(indicator: str) -> tuple[float, float, bool]:
    """(lowest, highest, lowest excluded) a figure of a model indicator can take."""
    return MODEL_RANGES[indicator]


@dataclass(frozen=True)
class History:
    """Validated history of one province.

    Attributes
    ----------
    table : pandas.DataFrame
        Columns ``COLUMNS``; one row per (indicator, year).
    sha256 : dict[str, str]
        Hash of each file read, for the results manifest.
    """

    table: pd.DataFrame
    sha256: dict

    def series(self, indicator: str) -> dict[int, float]:
        """Observed values of one indicator, {year: value} in the input's unit."""
        rows = self.table[self.table["indicator"] == indicator]
        return dict(zip(rows["year"].astype(int), rows["value"].astype(float), strict=True))

    def status(self, indicator: str, year: int) -> str:
        rows = self.table[(self.table["indicator"] == indicator) & (self.table["year"] == year)]
        return str(rows["status"].iloc[0]) if len(rows) else ""

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
            if self.series(a.indicator).get(a.year) is not None:
                problems.add(w, f"{a.indicator} {a.year} is already observed in the inputs "
                             f"({self.series(a.indicator)[a.year]:g}); remove the assumption")
            rows.append({"indicator": a.indicator, "year": a.year, "value": a.value,
                         "unit": a.unit, "status": "assumed",
                         "source": f"assumed in {Path(plan_path).name}", "note": a.note})
        problems.raise_if_any(PlanError)
        if not rows:
            return self
        table = pd.concat([self.table, pd.DataFrame(rows)], ignore_index=True)
        return History(table.sort_values(["indicator", "year"], ignore_index=True), self.sha256)


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
    table = pd.DataFrame(records, columns=list(COLUMNS))
    return History(table.sort_values(["indicator", "year"], ignore_index=True),
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
    line = 1
    try:
        for line, row in enumerate(reader, start=2):
            record = _read_row(row, f"line {line}", problems)
            if record is None:
                continue
            key = (record["indicator"], record["year"])
            if key in seen:
                problems.add(f"line {line} ({key[0]})", f"duplicate of line {seen[key]} "
                             f"({key[0]} {key[1]}); keep one figure per indicator and year "
                             "(put variants under another name)")
            seen[key] = line
            records.append(record)
    except csv.Error as exc:
        problems.add(f"line {line + 1}", f"not readable as CSV ({str(exc)[:80]}); check "
                     "quotes and separators")
    return records


def _read_row(row: dict, w: str, problems: Problems) -> dict | None:
    """One row as a record, or None (reported)."""
    ind = (row["indicator"] or "").strip()
    if not ind:
        problems.add(w, "empty indicator")
        return None
    w = f"{w} ({shown(ind)[1:-1]})"
    year = _year(row["year"], w, problems)
    value = _value(row["value"], ind, w, problems)
    status = (row["status"] or "").strip()
    if status not in STATUSES:
        problems.add(w, f"status {shown(status)} unknown" + did_you_mean(status, STATUSES))
    unit = (row["unit"] or "").strip()
    if ind in MODEL_UNITS and unit != MODEL_UNITS[ind]:
        problems.add(w, f"unit {shown(unit)} but the model reads {ind} in "
                     f"'{MODEL_UNITS[ind]}'; convert the value or fix the unit")
    if not (row["source"] or "").strip():
        problems.add(w, "empty source; every figure needs its source")
    if status == "derived" and not (row["note"] or "").strip():
        problems.add(w, "derived figure without a note; give the formula and inputs")
    if year is None or value is None:
        return None
    return {"indicator": ind, "year": year, "value": value, "unit": unit, "status": status,
            "source": row["source"], "note": row["note"] or ""}


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


def _value(text, indicator: str, w: str, problems: Problems) -> float | None:
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
    if indicator in MODEL_RANGES:
        lo, hi, open_lo = MODEL_RANGES[indicator]
        if value < lo or (open_lo and value == lo) or value > hi:
            above = "more than " if open_lo else ""
            problems.add(w, f"value {value:g} is impossible for {indicator} "
                         f"({MODEL_UNITS[indicator]}): expected {above}{lo:g} up to {hi:g}")
            return None
    return value
