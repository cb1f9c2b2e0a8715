"""Year-keyed values, as planners write them, expanded to one value per year.

``{ "2021-2025" = 9.0, "2026-2030" = 10.5 }`` holds 9 % for 2021-2025 and 10.5 %
after; a single year key ``{ 2031 = 7.0 }`` holds from 2031 until the next key or the
horizon; a bare number holds for every year.
"""

from __future__ import annotations

import math
import re

import numpy as np

from .errors import shown

_PERIOD = re.compile(r"^\s*(\d{4})\s*(?:-\s*(\d{4}))?\s*$")


def parse_period(text) -> tuple[int, int | None] | None:
    """``"2021-2030"`` → (2021, 2030); ``"2031"`` → (2031, None); anything else → None."""
    m = _PERIOD.match(str(text))
    if not m:
        return None
    first = int(m.group(1))
    last = int(m.group(2)) if m.group(2) else None
    return first, last


def as_number(value) -> float | None:
    """``value`` as a finite float, or None when it is not one.

    None for booleans, text, tables, NaN, infinities and integers too large for a float
    (TOML allows all of them; no plan value can use them).
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def number_problem(value) -> str:
    """Why ``value`` is not a usable number, for a message."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"expected a finite number, found {shown(value)}"
    return f"expected a number, found {shown(value)}"


def expand(value, first_year: int, last_year: int, where: str, problems) -> np.ndarray:
    """Expand a number or a year-keyed table to an array over first_year..last_year.

    Parameters
    ----------
    value : float or dict
        What the plan file says.
    first_year, last_year : int
        The plan's years (base year to horizon).
    where : str
        Key path, for error messages.
    problems : quyhoach.errors.Problems
        Collects what is wrong.

    Returns
    -------
    numpy.ndarray, shape (last_year - first_year + 1,)
        Value per year in the file's units; NaN where the table says nothing.
    """
    n = last_year - first_year + 1
    out = np.full(n, np.nan)
    if isinstance(value, bool):
        problems.add(where, f"expected a number or a table of periods, found {value!r}")
        return out
    if isinstance(value, (int, float)):
        number = as_number(value)
        if number is None:
            problems.add(where, number_problem(value))
        else:
            out[:] = number
        return out
    if not isinstance(value, dict):
        problems.add(where, f"expected a number or a table like {{ \"2021-2030\" = 9.5 }}, "
                            f"found {shown(value)}")
        return out
    spans = [s for s in (_span(key, v, first_year, last_year, f'{where}["{key}"]', problems)
                         for key, v in value.items()) if s is not None]
    spans.sort(key=lambda s: (s[0], -1 if s[1] is None else s[1]))  # a year before its periods
    for i, (a, b, v, key) in enumerate(spans):
        if b is None:  # a single year carries forward to the next key
            b = spans[i + 1][0] - 1 if i + 1 < len(spans) else last_year
            if b < a:  # the next key starts the same year: this one holds for none
                problems.add(f'{where}["{key}"]', "overlaps another period of the same "
                             "table; each year may have one value")
                continue
        lo, hi = max(a, first_year), min(b, last_year)
        if lo > hi:
            continue
        seg = out[lo - first_year: hi - first_year + 1]
        if np.any(~np.isnan(seg)):
            problems.add(f'{where}["{key}"]', "overlaps another period of the same table; "
                         "each year may have one value")
        seg[:] = v
    return out


def _span(key: str, v, first_year: int, last_year: int, where: str, problems):
    """(first, last or None, value, key) of one entry of a year-keyed table, or None."""
    span = parse_period(key)
    if span is None:
        problems.add(where, "expected a year (\"2031\") or a period (\"2021-2030\") as key; "
                            "write periods with a hyphen")
        return None
    number = as_number(v)
    if number is None:
        problems.add(where, number_problem(v))
        return None
    a, b = span
    if b is not None and b < a:
        problems.add(where, f"period ends before it starts ({a} > {b}); did you mean "
                            f"\"{b}-{a}\"?")
        return None
    for y in (a, b):
        if y is not None and not first_year <= y <= last_year:
            problems.add(where, f"year {y} is outside the plan's years {first_year}-{last_year}")
    return a, b, number, key


def describe_missing(mask: np.ndarray, first_year: int) -> str:
    """Turn a boolean mask over years into ``"2031-2050, 2052"``."""
    years = [first_year + i for i in np.flatnonzero(mask)]
    runs, start = [], None
    for i, y in enumerate(years):
        if start is None:
            start = y
        if i + 1 == len(years) or years[i + 1] != y + 1:
            runs.append(f"{start}" if start == y else f"{start}-{y}")
            start = None
    return ", ".join(runs)
