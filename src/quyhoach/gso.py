"""GSO statistical-yearbook tables and the all-province tables, as tidy panels.

Two sources, both copied unchanged from the project's shared data folder (see
``inputs/gso/README.md`` and ``inputs/all_provinces/README.md``):

* ``inputs/gso/<topic>/<table>.csv``: GSO (General Statistics Office) yearbook tables,
  1995-2016, as exported from GSO's online database in 2018-2019. Semicolon
  separated, quoted, a title line and a blank line before the header, one row per
  province (plus region and whole-country rows), one column per (series, year): the
  header says ``"Total 1995"``, ``"Total Prel. 2016"``, ``"2010 Total"``,
  ``"Pre. 2016"`` or ``"2008(*) Area of forest"``; ``Prel.``/``Pre.`` marks a
  preliminary figure, ``..`` a missing one.
* ``inputs/all_provinces/population_YYYY.csv`` (2011-2022) and
  ``grdp_per_capita_YYYY.csv`` (2018-2022): one row per province, ``code,name,...``.

Province names become one canonical key (``"lai_chau"``, ``"ho_chi_minh"``) with
:func:`normalise_province`; :data:`PROVINCES` lists the 63 keys (pre-2025 boundaries)
in GSO code order.

Indicators of :func:`panel` and where they come from
----------------------------------------------------
===============================  ==================  ==========================================
indicator                        unit                source table (series)
===============================  ==================  ==========================================
population                       thousand persons    all_provinces/population_YYYY.csv
                                                     (``population``), 2011-2022, GSO series
                                                     revised after the 2019 census
area                             km2                 all_provinces/population_YYYY.csv
                                                     (``area``), 2011-2022
grdp_per_capita                  million VND         all_provinces/grdp_per_capita_YYYY.csv
                                                     (``grdp``), 2018-2022, current prices
population_old_vintage           thousand persons    Average population by province (``Total``),
                                                     1995-2016, pre-2019-census yearbook vintage
population_urban_old_vintage     thousand persons    Average population by province (``Urban``)
urbanization_rate_old_vintage    %                   DERIVED = Urban / Total x 100, same table
crude_birth_rate                 per 1000            Crude birth rate, crude death rate and
                                                     natural increase rate by province
                                                     (``Crude birth rate``)
crude_death_rate                 per 1000            same table (``Crude death rate``)
net_migration_rate               per 1000            In-migration rate, out-migration rate and
                                                     net-migration rate by province
                                                     (``Net-migration rate``)
poverty_rate_gso                 % households        Poverty rate by province (single series;
                                                     poverty line of each period, not
                                                     comparable across standard changes)
electricity_household_share_gso  % households        Percentage of household using electricity
                                                     by province (single series, VHLSS years)
income_per_capita                million VND         DERIVED = monthly ``Total`` (thousand VND
                                                     per person per month) x 12 / 1000 from
                                                     Monthly average income per capita at
                                                     current prices by income source and by
                                                     province
forest_cover                     %                   Area of forest as of 31 December by province
                                                     (``Proportion of forest coverage (%)``)
tourism_turnover                 billion VND         Turnover of travelling at current prices by
                                                     province (single series)
===============================  ==================  ==========================================

The two population vintages are kept apart on purpose: the yearbook series
(``population_old_vintage``, 1995-2016) was revised after the 2019 census and
differs from the all-province series (``population``, 2011-2022) in the overlap.

Boundary changes. The yearbook gives some provinces' early figures on their old
territory (the series jumps at the change). :func:`panel` drops a province's GSO
yearbook figures before the year in :data:`BOUNDARY_CHANGES` (e.g. Lai Châu before
2004, when it was split from Điện Biên; Hà Nội before its 2008 expansion), so every
figure in the panel refers to the pre-2025 territory of its province. Rows of the
former province Hà Tây (merged into Hà Nội in 2008) are skipped like region rows.
"""

from __future__ import annotations

import csv
import io
import math
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .errors import InputDataError, Problem, Problems, did_you_mean

# --------------------------------------------------------------------------- names

#: The 63 provinces (pre-2025 boundaries), canonical keys in GSO province-code order,
#: as :func:`normalise_province` gives them for ``all_provinces/population_2022.csv``.
PROVINCE_CODES: dict[str, int] = {
    "ha_noi": 1, "vinh_phuc": 26, "bac_ninh": 27, "quang_ninh": 22, "hai_duong": 30,
    "hai_phong": 31, "hung_yen": 33, "thai_binh": 34, "ha_nam": 35, "nam_dinh": 36,
    "ninh_binh": 37, "ha_giang": 2, "cao_bang": 4, "bac_kan": 6, "tuyen_quang": 8,
    "lao_cai": 10, "yen_bai": 15, "thai_nguyen": 19, "lang_son": 20, "bac_giang": 24,
    "phu_tho": 25, "dien_bien": 11, "lai_chau": 12, "son_la": 14, "hoa_binh": 17,
    "thanh_hoa": 38, "nghe_an": 40, "ha_tinh": 42, "quang_binh": 44, "quang_tri": 45,
    "thua_thien_hue": 46, "da_nang": 48, "quang_nam": 49, "quang_ngai": 51,
    "binh_dinh": 52, "phu_yen": 54, "khanh_hoa": 56, "ninh_thuan": 58, "binh_thuan": 60,
    "kon_tum": 62, "gia_lai": 64, "dak_lak": 66, "dak_nong": 67, "lam_dong": 68,
    "binh_phuoc": 70, "tay_ninh": 72, "binh_duong": 74, "dong_nai": 75,
    "ba_ria_vung_tau": 77, "ho_chi_minh": 79, "long_an": 80, "tien_giang": 82,
    "ben_tre": 83, "tra_vinh": 84, "vinh_long": 86, "dong_thap": 87, "an_giang": 89,
    "kien_giang": 91, "can_tho": 92, "hau_giang": 93, "soc_trang": 94, "bac_lieu": 95,
    "ca_mau": 96,
}
PROVINCES: tuple[str, ...] = tuple(PROVINCE_CODES)

#: Region and whole-country header rows of the yearbook tables (skipped), as spelled
#: there, plus the common alternative spellings of the same regions.
REGION_ROWS: tuple[str, ...] = (
    "WHOLE COUNTRY",
    "Red River Delta",
    "Northern midlands and mountain areas",
    "Northern Central area and Central coastal area",
    "North Central and Central coastal areas",
    "Central Highlands",
    "South East",
    "Mekong River Delta",
)

#: Provinces that no longer exist within the 63 (their rows are skipped).
FORMER_PROVINCES: dict[str, str] = {
    "ha_tay": "merged into Ha Noi on 1 August 2008",
}

#: Names that still differ from the canonical key after normalisation.
ALIASES: dict[str, str] = {
    "hanoi": "ha_noi",
    "haiphong": "hai_phong",
    "danang": "da_nang",
    "cantho": "can_tho",
    "hcm": "ho_chi_minh",
    "hcmc": "ho_chi_minh",
    "tphcm": "ho_chi_minh",
    "saigon": "ho_chi_minh",
    "sai_gon": "ho_chi_minh",
    "hue": "thua_thien_hue",
    "dac_lac": "dak_lak",
    "dac_lak": "dak_lak",
    "dak_lac": "dak_lak",
    "daklak": "dak_lak",
    "dac_nong": "dak_nong",
    "daknong": "dak_nong",
    "bac_can": "bac_kan",
    "kontum": "kon_tum",
}

#: First year whose yearbook figures refer to the province's pre-2025 territory.
BOUNDARY_CHANGES: dict[str, tuple[int, str]] = {
    "lai_chau": (2004, "split into Lai Chau and Dien Bien on 1 January 2004 (gaining "
                       "Than Uyen from Lao Cai); earlier figures are the old Lai Chau"),
    "dien_bien": (2004, "created on 1 January 2004 from the old Lai Chau"),
    "lao_cai": (2004, "Than Uyen district moved to Lai Chau on 1 January 2004"),
    "dak_lak": (2004, "Dak Nong split off on 1 January 2004"),
    "dak_nong": (2004, "created on 1 January 2004 from Dak Lak"),
    "can_tho": (2004, "split into Can Tho city and Hau Giang on 1 January 2004"),
    "hau_giang": (2004, "created on 1 January 2004 from the old Can Tho"),
    "ha_noi": (2008, "expanded on 1 August 2008 (Ha Tay, Me Linh, 4 communes of "
                     "Luong Son)"),
    "vinh_phuc": (2008, "Me Linh district moved to Ha Noi on 1 August 2008"),
    "hoa_binh": (2008, "4 communes of Luong Son moved to Ha Noi on 1 August 2008"),
}

_PREFIXES = ("thanh_pho_", "thu_do_", "tinh_", "tp_", "city_of_", "province_of_")
_SUFFIXES = ("_city", "_province")


def normalise_province(name: str) -> str:
    """Canonical key of a province name, e.g. ``"TP. Hồ Chí Minh"`` -> ``"ho_chi_minh"``.

    Strips, removes diacritics (``đ``/``Đ`` -> ``d``), lower-cases, turns every run of
    spaces, hyphens, dots and other punctuation into one ``_``, drops prefixes and
    suffixes such as ``tinh``, ``thanh pho``, ``tp.`` and ``city``, then applies
    :data:`ALIASES`. The key is not checked against :data:`PROVINCES`: region rows and
    unknown names also get a key.

    Parameters
    ----------
    name : str
        A province name in any spelling, with or without diacritics.

    Returns
    -------
    str
        ``"lai_chau"`` for ``"Lai Châu"``, ``" Lai Chau"``, ``"LAI CHAU"``, ``"lai_chau"``.
    """
    text = str(name).replace("đ", "d").replace("Đ", "D")
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    key = re.sub(r"[^a-z0-9]+", "_", text).strip("_")
    changed = True
    while changed:
        changed = False
        for p in _PREFIXES:
            if key.startswith(p) and len(key) > len(p):
                key, changed = key[len(p):], True
        for s in _SUFFIXES:
            if key.endswith(s) and len(key) > len(s):
                key, changed = key[: -len(s)], True
    return ALIASES.get(key, key)


_REGION_KEYS = frozenset(normalise_province(r) for r in REGION_ROWS)

# --------------------------------------------------------------------- yearbook tables

_MISSING = frozenset({"", "..", "...", "-", "\u2013"})
_YEAR = r"(?:19|20)\d\d"
_NOTE = r"(?:\(\*+\))"
_HEAD_YEAR_FIRST = re.compile(
    rf"^(?P<prel>Prel?\.)?\s*(?P<year>{_YEAR})\s*{_NOTE}?(?:\s+(?P<series>.*))?$")
_HEAD_YEAR_LAST = re.compile(
    rf"^(?P<series>.*?)\s+(?P<prel>Prel?\.)?\s*(?P<year>{_YEAR})\s*{_NOTE}?$")


def _parse_header_cell(cell: str):
    """(series, year, preliminary) of a column header, or None without a year."""
    text = " ".join(cell.split())
    m = _HEAD_YEAR_FIRST.match(text) or _HEAD_YEAR_LAST.match(text)
    if not m:
        return None
    return (m.group("series") or "").strip(), int(m.group("year")), m.group("prel") is not None


def _parse_value(cell: str) -> float:
    """A table cell as float; NaN for the missing markers; ValueError otherwise."""
    text = cell.strip()
    if text in _MISSING:
        return math.nan
    value = float(text)
    if not math.isfinite(value):                 # 'nan', 'inf' are not GSO notation
        raise ValueError(text)
    return value


@dataclass
class _Wide:
    header_line: int
    columns: list          # [(series, year, preliminary)], one per value column
    rows: list             # [(line, label, [cells])]


def _read_text(path: Path, problems: Problems) -> str | None:
    if not path.is_file():
        problems.add("", "not found; expected a GSO yearbook table (semicolon-separated "
                         "CSV) here")
        return None
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as e:
        problems.add("", f"not UTF-8 text ({e}); expected the GSO export as UTF-8")
        return None


def _read_wide(path: Path) -> _Wide:
    """Header and rows of a yearbook table with one column per (series, year).

    Raises
    ------
    InputDataError
        Naming the file and line of every problem found.
    """
    problems = Problems(str(path))
    text = _read_text(path, problems)
    if text is None:
        raise InputDataError(problems.items)
    header, header_line, rows = _split_rows(text, problems)
    problems.raise_if_any(InputDataError)
    columns = _parse_columns(header, header_line, problems)
    problems.raise_if_any(InputDataError)
    out = []
    for line, cells in rows:
        if len(cells) != len(header):
            problems.add(f"line {line}", f"{len(cells)} fields, expected {len(header)} as in "
                         f"the header (line {header_line})")
            continue
        out.append((line, cells[0], cells[1:]))
    problems.raise_if_any(InputDataError)
    return _Wide(header_line, columns, out)


def _split_rows(text: str, problems: Problems) -> tuple[list[str], int, list]:
    """The header (first line with two cells or more), its line number and the rows."""
    reader = csv.reader(io.StringIO(text), delimiter=";", quotechar='"')
    header: list[str] = []
    header_line, rows = 0, []
    try:
        for cells in reader:
            if not header:
                if len(cells) >= 2:  # the title and the blank line have < 2 cells
                    header, header_line = cells, reader.line_num
            elif any(c.strip() for c in cells):
                rows.append((reader.line_num, cells))
    except csv.Error as e:
        problems.add(f"line {reader.line_num}", f"not readable as semicolon-separated CSV: {e}")
    if not header and not problems.items:
        problems.add("", "no header line; expected a title line, a blank line and a header "
                         "such as '\"Cities, provincies\";\"Total 1995\";...' (semicolon "
                         "separated)")
    return header, header_line, rows


def _parse_columns(header: list[str], header_line: int, problems: Problems) -> list:
    """(series, year, preliminary) of every value column of a header."""
    columns: list = []
    seen: dict[tuple, int] = {}
    where = f"line {header_line} (header)"
    for j, cell in enumerate(header[1:], start=2):
        parsed = _parse_header_cell(cell)
        if parsed is None:
            problems.add(where, f"column {j} {cell!r} has no year; expected headers such as "
                         "'Total 2010', 'Total Prel. 2016', '2010 Total' or 'Pre. 2016'")
            continue
        key = parsed[:2]
        if key in seen:
            problems.add(where, f"column {j} {cell!r} repeats column {seen[key]} (series "
                         f"{key[0]!r}, year {key[1]})")
        seen[key] = j
        columns.append(parsed)
    if not columns:
        problems.add(where, f"no year columns found; the header is {';'.join(header)!r}")
    return columns


def _values(wide: _Wide, line: int, cells: list, where: str, problems: Problems) -> list:
    values = []
    for (series, year, _), cell in zip(wide.columns, cells, strict=True):
        try:
            values.append(_parse_value(cell))
        except ValueError:
            problems.add(f"line {line} ({where})", f"value {cell!r} for {series or 'value'} "
                         f"{year} is not a number; expected a number or '..' for missing")
            values.append(math.nan)
    return values


def _long(records: list, label: str) -> pd.DataFrame:
    frame = pd.DataFrame(records, columns=[label, "series", "year", "value", "preliminary"])
    return frame.astype({label: str, "series": str, "year": "int64", "value": "float64",
                         "preliminary": bool})


def read_yearbook_table(path) -> pd.DataFrame:
    """Read one GSO yearbook table by province into long form.

    Parameters
    ----------
    path : str or pathlib.Path
        A ``... by province.csv`` table (see the module docstring for the format).

    Returns
    -------
    pandas.DataFrame
        Columns ``province`` (canonical key), ``series`` (the header text around the
        year, e.g. ``"Total"``, ``"Urban"``, ``"Crude birth rate"``; ``""`` when the
        table has one series), ``year`` (int), ``value`` (float, NaN for ``..``, ``-``
        and empty cells), ``preliminary`` (True where the header says ``Prel.``/``Pre.``).
        Rows in file order; region, whole-country and former-province rows are skipped.

    Raises
    ------
    InputDataError
        Naming the file and line: no header, a header column without a year, a row
        with the wrong number of fields, a value that is not a number, an unknown
        province name, a province given twice.
    """
    path = Path(path)
    wide = _read_wide(path)
    problems = Problems(str(path))
    records: list = []
    seen: dict[str, int] = {}
    for line, label, cells in wide.rows:
        key = normalise_province(label)
        if key in _REGION_KEYS or key in FORMER_PROVINCES:
            continue
        if key not in PROVINCE_CODES:
            problems.add(f"line {line}", f"unknown province name {label.strip()!r} (key "
                         f"{key!r}); expected one of the 63 provinces (gso.PROVINCES) or a "
                         "region row (gso.REGION_ROWS); add a spelling variant to "
                         "gso.ALIASES" + did_you_mean(key, PROVINCES))
            continue
        if key in seen:
            problems.add(f"line {line}", f"province {label.strip()!r} already given on line "
                         f"{seen[key]}")
            continue
        seen[key] = line
        values = _values(wide, line, cells, label.strip(), problems)
        for (series, year, prel), value in zip(wide.columns, values, strict=True):
            records.append((key, series, year, value, prel))
    problems.raise_if_any(InputDataError)
    return _long(records, "province")


def read_national_table(path) -> pd.DataFrame:
    """Read a national yearbook table (rows are items, e.g. economic activities).

    Parameters
    ----------
    path : str or pathlib.Path
        E.g. ``National Accounts/Gross domestic product at current prices by kinds of
        economic activity.csv``.

    Returns
    -------
    pandas.DataFrame
        Columns ``item`` (the row label, stripped), ``series`` (e.g.
        ``"Total (Bill.dongs)"``, ``"Structure (%)"``), ``year``, ``value``,
        ``preliminary``, as in :func:`read_yearbook_table`.

    Raises
    ------
    InputDataError
        Naming the file and line, as :func:`read_yearbook_table`.
    """
    path = Path(path)
    wide = _read_wide(path)
    problems = Problems(str(path))
    records = []
    for line, label, cells in wide.rows:
        values = _values(wide, line, cells, label.strip(), problems)
        for (series, year, prel), value in zip(wide.columns, values, strict=True):
            records.append((" ".join(label.split()), series, year, value, prel))
    problems.raise_if_any(InputDataError)
    return _long(records, "item")


# ------------------------------------------------------------------ all-province tables

_ALL_FILE = re.compile(r"^(population|grdp_per_capita)_(\d{4})\.csv$")
_ALL_COLUMNS = {
    "population": {"population": "population", "area": "area"},
    "grdp_per_capita": {"grdp": "grdp_per_capita"},
}


def read_all_provinces(directory) -> pd.DataFrame:
    """Read ``population_YYYY.csv`` and ``grdp_per_capita_YYYY.csv`` into long form.

    Parameters
    ----------
    directory : str or pathlib.Path
        The ``all_provinces`` folder.

    Returns
    -------
    pandas.DataFrame
        Columns ``province``, ``indicator`` (``population``, thousand persons;
        ``area``, km2; ``grdp_per_capita``, million VND at current prices), ``year``,
        ``value``, ``source`` (the file name); sorted by indicator, province, year.

    Raises
    ------
    InputDataError
        No such files; a missing column; an unknown or repeated province; a province
        code that disagrees with :data:`PROVINCE_CODES`; a value that is not a number;
        a file that lacks some of the 63 provinces.
    """
    directory = Path(directory)
    problems = Problems(str(directory))
    files = sorted((p, m.groups()) for p in directory.glob("*.csv")
                   if (m := _ALL_FILE.fullmatch(p.name))) if directory.is_dir() else []
    if not files:
        problems.add("", "no population_YYYY.csv or grdp_per_capita_YYYY.csv files found")
        problems.raise_if_any(InputDataError)
    records = []
    for path, (kind, year) in files:
        file_problems = Problems(str(path))
        records += _read_all_file(path, kind, int(year), file_problems)
        problems.items += file_problems.items
    problems.raise_if_any(InputDataError)
    frame = pd.DataFrame(records, columns=["province", "indicator", "year", "value", "source"])
    frame = frame.astype({"year": "int64", "value": "float64"})
    return frame.sort_values(["indicator", "province", "year"], ignore_index=True)


def _read_all_file(path: Path, kind: str, year: int, problems: Problems) -> list:
    text = _read_text(path, problems)
    if text is None:
        return []
    reader = csv.reader(io.StringIO(text))
    header = [h.strip().lower() for h in next(reader, [])]
    wanted = ["code", "name", *_ALL_COLUMNS[kind]]
    missing = [c for c in wanted if c not in header]
    if missing:
        problems.add("line 1 (header)", f"missing column(s) {', '.join(missing)}; expected "
                     f"{','.join(wanted)} (any case), found {','.join(header) or 'nothing'}")
        return []
    col = {c: header.index(c) for c in wanted}
    records: list = []
    seen: dict[str, int] = {}
    for cells in reader:
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            problems.add(f"line {line}", f"{len(cells)} fields, expected {len(header)}")
            continue
        key = _all_file_province(cells[col["name"]], cells[col["code"]], line, seen, problems)
        if key is None:
            continue
        for column, indicator in _ALL_COLUMNS[kind].items():
            value = _finite(cells[col[column]], f"line {line} ({cells[col['name']]})", column,
                            problems)
            if value is not None:
                records.append((key, indicator, year, value, path.name))
    absent = [k for k in PROVINCES if k not in seen]
    if absent and not problems.items:
        problems.add("", f"{len(absent)} of the 63 provinces missing: {', '.join(absent)}")
    return records



def _all_file_province(name: str, code: str, line: int, seen: dict, problems: Problems):
    """The province key of one all-province row, or None (problem recorded)."""
    key = normalise_province(name)
    if key not in PROVINCE_CODES:
        problems.add(f"line {line}", f"unknown province name {name!r} (key {key!r})"
                     + did_you_mean(key, PROVINCES))
        return None
    if key in seen:
        problems.add(f"line {line}", f"province {name!r} already given on line {seen[key]}")
        return None
    seen[key] = line
    if code.strip() != str(PROVINCE_CODES[key]):
        problems.add(f"line {line}", f"code {code.strip()!r} for {name!r}, expected GSO code "
                     f"{PROVINCE_CODES[key]}")
    return key


def _finite(cell: str, where: str, column: str, problems: Problems) -> float | None:
    """A finite number, or None (problem recorded)."""
    try:
        value = float(cell.strip())
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        problems.add(where, f"{column} {cell.strip()!r} is not a finite number")
        return None
    return value

# ------------------------------------------------------------------------------ panel

POPULATION_TABLE = "Population and Employment/Average population by province.csv"
VITAL_TABLE = ("Population and Employment/Crude birth rate, crude death rate and natural "
               "increase rate by province.csv")
MIGRATION_TABLE = ("Population and Employment/In-migration rate, out-migration rate and "
                   "net-migration rate by province.csv")
POVERTY_TABLE = "Health, Culture and Living Standard/Poverty rate by province.csv"
ELECTRICITY_TABLE = ("Health, Culture and Living Standard/Percentage of household using "
                     "electricity by province.csv")
INCOME_TABLE = ("Health, Culture and Living Standard/Monthly average income per capita at "
                "current prices by income source and by province.csv")
FOREST_TABLE = "Agriculture, Forestry and Fishery/Area of forest as of 31 December by province.csv"
TOURISM_TABLE = "Trade, Price and Tourism/Turnover of travelling at current prices by province.csv"
ICOR_TABLE = ("Investment and Construction/Investment as percentage of GDP and Incremental "
              "capital output ratio (ICOR).csv")

#: The yearbook tables read by province (relative to the ``inputs/gso`` folder).
PROVINCE_TABLES = (POPULATION_TABLE, VITAL_TABLE, MIGRATION_TABLE, POVERTY_TABLE,
                   ELECTRICITY_TABLE, INCOME_TABLE, FOREST_TABLE, TOURISM_TABLE)

# indicator -> (table, series, unit, factor, derived formula or "")
_GSO_INDICATORS = {
    "population_old_vintage": (POPULATION_TABLE, "Total", "thousand persons", 1.0, ""),
    "population_urban_old_vintage": (POPULATION_TABLE, "Urban", "thousand persons", 1.0, ""),
    "crude_birth_rate": (VITAL_TABLE, "Crude birth rate", "per 1000", 1.0, ""),
    "crude_death_rate": (VITAL_TABLE, "Crude death rate", "per 1000", 1.0, ""),
    "net_migration_rate": (MIGRATION_TABLE, "Net-migration rate", "per 1000", 1.0, ""),
    "poverty_rate_gso": (POVERTY_TABLE, "", "% households", 1.0, ""),
    "electricity_household_share_gso": (ELECTRICITY_TABLE, "", "% households", 1.0, ""),
    "income_per_capita": (INCOME_TABLE, "Total", "million VND", 12 / 1000,
                          "monthly 'Total' income (thousand VND per person) x 12 / 1000"),
    "forest_cover": (FOREST_TABLE, "Proportion of forest coverage (%)", "%", 1.0, ""),
    "tourism_turnover": (TOURISM_TABLE, "", "billion VND", 1.0, ""),
}
_ALL_UNITS = {"population": "thousand persons", "area": "km2",
              "grdp_per_capita": "million VND"}

#: Unit of every indicator :func:`panel` returns.
PANEL_UNITS: dict[str, str] = {
    **_ALL_UNITS,
    **{k: v[2] for k, v in _GSO_INDICATORS.items()},
    "urbanization_rate_old_vintage": "%",
}

PANEL_COLUMNS = ("province", "indicator", "year", "value", "unit", "preliminary", "source")


def _drop_before_boundary_change(frame: pd.DataFrame) -> pd.DataFrame:
    first = frame["province"].map(lambda p: BOUNDARY_CHANGES.get(p, (0, ""))[0])
    return frame[frame["year"] >= first]


def panel(directory_gso, directory_all) -> pd.DataFrame:
    """One tidy table of the engine's indicators for the 63 provinces.

    Parameters
    ----------
    directory_gso : str or pathlib.Path
        The ``inputs/gso`` folder (topic sub-folders as in the yearbook export).
    directory_all : str or pathlib.Path
        The ``inputs/all_provinces`` folder.

    Returns
    -------
    pandas.DataFrame
        Columns ``province, indicator, year, value, unit, preliminary, source``; one row
        per (province, indicator, year) with a value (missing figures are left out),
        sorted by indicator, province, year. ``source`` is the file (relative to its
        folder); derived figures have a source starting with ``DERIVED``. See the module
        docstring for the indicators; yearbook figures before a province's boundary
        change (:data:`BOUNDARY_CHANGES`) are left out.

    Raises
    ------
    InputDataError
        From the readers, naming the file and line.
    """
    directory_gso = Path(directory_gso)
    tables, errors = {}, []
    for rel in sorted({spec[0] for spec in _GSO_INDICATORS.values()}):
        try:
            tables[rel] = _drop_before_boundary_change(
                read_yearbook_table(directory_gso / rel))
        except InputDataError as e:
            errors += e.problems
    try:
        everywhere = read_all_provinces(directory_all)
    except InputDataError as e:
        errors += e.problems
    if errors:
        raise InputDataError(errors)

    parts = []
    for indicator, (rel, series, unit, factor, formula) in _GSO_INDICATORS.items():
        rows = tables[rel]
        rows = rows[rows["series"] == series]
        if rows.empty:
            found = sorted(set(tables[rel]["series"]))
            errors.append(Problem(str(directory_gso / rel), f"no series {series!r} for "
                                  f"{indicator}; found {found}"))
            continue
        part = rows[["province", "year", "preliminary"]].copy()
        part["value"] = rows["value"] * factor
        part["indicator"] = indicator
        part["unit"] = unit
        part["source"] = f"DERIVED = {formula} from {rel}" if formula else rel
        parts.append(part)
    if errors:
        raise InputDataError(errors)

    pop = tables[POPULATION_TABLE]
    both = pd.merge(pop[pop["series"] == "Total"], pop[pop["series"] == "Urban"],
                    on=["province", "year"], how="inner", suffixes=("_total", "_urban"))
    both = both[both["value_total"].notna() & both["value_urban"].notna()
                & (both["value_total"] > 0)]
    rate = pd.DataFrame({
        "value": both["value_urban"] / both["value_total"] * 100.0,
        "preliminary": both["preliminary_total"] | both["preliminary_urban"],
        "province": both["province"], "year": both["year"],
    })
    rate["indicator"] = "urbanization_rate_old_vintage"
    rate["unit"] = "%"
    rate["source"] = f"DERIVED = Urban / Total x 100 from {POPULATION_TABLE}"
    parts.append(rate)

    rest = everywhere.copy()
    rest["unit"] = rest["indicator"].map(_ALL_UNITS)
    rest["preliminary"] = False
    parts.append(rest)

    frame = pd.concat([p[list(PANEL_COLUMNS)] for p in parts], ignore_index=True)
    frame = frame[frame["value"].notna()]
    frame = frame.astype({"year": "int64", "value": "float64", "preliminary": bool})
    return frame.sort_values(["indicator", "province", "year"], ignore_index=True)


# ------------------------------------------------------------------------------- ICOR

def national_icor(directory_gso) -> pd.DataFrame:
    """Investment share of GDP and ICOR of the whole country, by year.

    Parameters
    ----------
    directory_gso : str or pathlib.Path
        The ``inputs/gso`` folder; reads
        ``Investment and Construction/Investment as percentage of GDP and Incremental
        capital output ratio (ICOR).csv`` (years as rows).

    Returns
    -------
    pandas.DataFrame
        Columns ``year`` (int), ``icor`` (at constant 2010 prices),
        ``investment_share_gdp`` (% of GDP at current prices), ``preliminary`` (bool).

    Raises
    ------
    InputDataError
        Naming the file and line: no header, a missing column, a year or value that
        cannot be read.
    """
    path = Path(directory_gso) / ICOR_TABLE
    problems = Problems(str(path))
    text = _read_text(path, problems)
    if text is None:
        raise InputDataError(problems.items)
    reader = csv.reader(io.StringIO(text), delimiter=";", quotechar='"')
    header: list[str] = []
    header_line, share_col, icor_col, records = 0, 0, 0, []
    for cells in reader:
        line = reader.line_num
        if not header:
            if len(cells) >= 2:
                header, header_line = [" ".join(c.split()) for c in cells], line
                share_col, icor_col = _icor_columns(header, line, problems)
                if problems.items:
                    break
            continue
        if any(c.strip() for c in cells):
            row = _icor_row(cells, line, len(header), (share_col, icor_col), problems)
            if row is not None:
                records.append(row)
    if not header:
        problems.add("", "no header line; expected '\"Year\";\"Investment as percentage of "
                         "GDP ...\";\"... (ICOR) ...\"'")
    elif not records and not problems.items:
        problems.add("", f"no data rows after the header (line {header_line})")
    problems.raise_if_any(InputDataError)
    frame = pd.DataFrame(records, columns=["year", "icor", "investment_share_gdp",
                                           "preliminary"])
    return frame.astype({"year": "int64", "icor": "float64",
                         "investment_share_gdp": "float64", "preliminary": bool})


def _icor_columns(header: list[str], line: int, problems: Problems) -> tuple[int, int]:
    """Indices of the investment-share and ICOR columns (problem recorded if absent)."""
    share_col = next((j for j, c in enumerate(header) if "percentage of gdp" in c.lower()), -1)
    icor_col = next((j for j, c in enumerate(header) if "icor" in c.lower()), -1)
    if share_col < 0 or icor_col < 0:
        problems.add(f"line {line} (header)", "expected columns 'Investment as percentage of "
                     "GDP ...' and '... (ICOR) ...', found " + "; ".join(repr(c) for c in header))
    return share_col, icor_col


def _icor_row(cells: list[str], line: int, width: int, cols: tuple[int, int],
              problems: Problems) -> tuple | None:
    """(year, icor, investment share, preliminary) of one row, or None (problem recorded)."""
    if len(cells) != width:
        problems.add(f"line {line}", f"{len(cells)} fields, expected {width}")
        return None
    m = re.fullmatch(rf"(Prel?\.)?\s*({_YEAR})", cells[0].strip())
    if not m:
        problems.add(f"line {line}", f"{cells[0]!r} is not a year (e.g. '2010' or "
                     "'Prel. 2016')")
        return None
    share_col, icor_col = cols
    try:
        share, icor = _parse_value(cells[share_col]), _parse_value(cells[icor_col])
    except ValueError:
        problems.add(f"line {line}", f"values {cells[share_col]!r}, {cells[icor_col]!r} "
                     "are not numbers")
        return None
    return int(m.group(2)), icor, share, m.group(1) is not None
