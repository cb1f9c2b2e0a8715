"""Observed history: ``inputs/<province>/history.csv``, loaded and validated.

One row per figure: ``indicator,year,value,unit,status,source,note``. ``status`` is
``official``, ``estimate`` or ``derived`` (a derived row's note gives its formula);
figures a plan assumes are added with status ``assumed``. Indicators the engine does
not use may be present (they serve calibration and back-tests) but must be well formed.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .errors import InputDataError, PlanError, Problems, did_you_mean

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
        return dict(zip(rows["year"].astype(int), rows["value"].astype(float)))

    def status(self, indicator: str, year: int) -> str:
        rows = self.table[(self.table["indicator"] == indicator) & (self.table["year"] == year)]
        return str(rows["status"].iloc[0]) if len(rows) else ""

    def with_assumed(self, assumed, plan_path) -> "History":
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
        wrong unit on an indicator the model reads.
    """
    path = Path(directory) / "history.csv"
    problems = Problems(str(path))
    if not path.is_file():
        problems.add("", f"not found; expected the province's history table at {path} "
                         "(see inputs/README.md for the format)")
        problems.raise_if_any(InputDataError)
    raw = path.read_bytes()
    text = raw.decode("utf-8-sig", errors="replace")
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        problems.add("header", f"missing column(s) {', '.join(missing)}; expected "
                     f"{','.join(COLUMNS)}, found {','.join(header)}")
        problems.raise_if_any(InputDataError)
    records, seen = [], {}
    for line, row in enumerate(reader, start=2):
        w = f"line {line}"
        ind = (row["indicator"] or "").strip()
        if not ind:
            problems.add(w, "empty indicator")
            continue
        w = f"line {line} ({ind})"
        try:
            year = int(row["year"])
        except (TypeError, ValueError):
            problems.add(w, f"year {row['year']!r} is not a whole number")
            continue
        try:
            value = float(row["value"])
        except (TypeError, ValueError):
            problems.add(w, f"value {row['value']!r} is not a number; write plain numbers "
                         "with a dot for decimals and no thousands separators")
            continue
        status = (row["status"] or "").strip()
        if status not in STATUSES:
            problems.add(w, f"status {status!r} unknown" + did_you_mean(status, STATUSES))
        unit = (row["unit"] or "").strip()
        if ind in MODEL_UNITS and unit != MODEL_UNITS[ind]:
            problems.add(w, f"unit '{unit}' but the model reads {ind} in "
                         f"'{MODEL_UNITS[ind]}'; convert the value or fix the unit")
        if not (row["source"] or "").strip():
            problems.add(w, "empty source; every figure needs its source")
        if status == "derived" and not (row["note"] or "").strip():
            problems.add(w, "derived figure without a note; give the formula and inputs")
        if (ind, year) in seen:
            problems.add(w, f"duplicate of line {seen[(ind, year)]} ({ind} {year}); keep "
                         "one figure per indicator and year (put variants under another name)")
        seen[(ind, year)] = line
        records.append({"indicator": ind, "year": year, "value": value, "unit": unit,
                        "status": status, "source": row["source"], "note": row["note"] or ""})
    problems.raise_if_any(InputDataError)
    table = pd.DataFrame(records, columns=list(COLUMNS))
    return History(table.sort_values(["indicator", "year"], ignore_index=True),
                   {str(path): hashlib.sha256(raw).hexdigest()})
