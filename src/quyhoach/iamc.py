"""Results in the IAMC long format, and the IAMC name of every model variable.

The IAMC format (Integrated Assessment Modeling Consortium; read by ``pyam``) has one
row per model, scenario, region, variable, unit and year. Its variable names are
hierarchies joined by ``|``, named here by three rules:

- a level is named by its quantity, then its price basis, then its part, so that the
  parts of a level sum to it (what ``pyam``'s ``check_aggregate`` checks):
  ``GRDP|Real`` = the sum of ``GRDP|Real|<sector>``, ``Population`` = ``Population|Urban``
  + ``Population|Rural``;
- a growth rate is ``Growth Rate|`` and the name of the level it is the growth of
  (``Growth Rate|GRDP|Real|Services``);
- a share of GRDP is ``Share of GRDP|`` and the part (``Share of GRDP|Services``,
  ``Share of GRDP|Investment``).

Rates and shares thus never sit under a level, where they would spoil its sum. Units
are the registry's (``quyhoach.registry``), as in ``Results.paths``. A variable this
table does not name yet is named by its English label.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from .errors import ResultsError
from .registry import BY_NAME, SECTOR_LABELS

# The columns of the IAMC long format, in pyam's order (its index, then year and value).
IAMC_COLUMNS = ["model", "scenario", "region", "variable", "unit", "year", "value"]
IAMC_INDEX = ["model", "scenario", "region", "variable", "year"]  # one row each


def _sector_names() -> dict[str, str]:
    """The sector detail: value added (real, nominal), its share and its growth."""
    names = {}
    for sector, (_, en) in SECTOR_LABELS.items():
        names[f"va_real_{sector}"] = f"GRDP|Real|{en}"
        names[f"va_nominal_{sector}"] = f"GRDP|Nominal|{en}"
        names[f"share_{sector}"] = f"Share of GRDP|{en}"
        names[f"va_growth_{sector}"] = f"Growth Rate|GRDP|Real|{en}"
    return names


IAMC_NAMES: dict[str, str] = {
    "grdp_real": "GRDP|Real",
    "grdp_nominal": "GRDP|Nominal",
    "grdp_growth": "Growth Rate|GRDP|Real",
    "grdp_deflator": "Price|GRDP Deflator",
    **_sector_names(),
    "investment_need": "Investment|Nominal",
    "investment_need_real": "Investment|Real",
    "investment_rate": "Share of GRDP|Investment",
    "population": "Population",
    "population_growth": "Growth Rate|Population",
    "urbanization_rate": "Urbanization Rate",
    "population_urban": "Population|Urban",
    "population_rural": "Population|Rural",
    "grdp_per_capita": "GRDP per Capita|MVND",
    "grdp_per_capita_usd": "GRDP per Capita|USD",
    "income_per_capita": "Income per Capita",
    "budget_revenue": "Budget Revenue",
    "budget_domestic": "Budget Revenue|Domestic",
    "budget_import_export": "Budget Revenue|Import-Export",
    "budget_land_use": "Budget Revenue|Land Use",
    "budget_revenue_share": "Share of GRDP|Budget Revenue",
    "tourists": "Tourism|Arrivals",
    "tourism_revenue": "Tourism|Revenue",
    "spending_per_visitor": "Tourism|Spending per Arrival",
    "poverty_rate": "Poverty Rate",
    "forest_cover": "Forest Cover",
    "ntm_communes_share": "New Rural Communes",
    "electricity_access": "Electricity Access",
    "rural_clean_water": "Rural Clean Water Access",
}


def iamc_name(variable: str) -> str:
    """The IAMC name of a model variable, e.g. ``"GRDP|Real|Services"``.

    Raises
    ------
    KeyError
        Not a variable of the registry.
    """
    if variable in IAMC_NAMES:
        return IAMC_NAMES[variable]
    return BY_NAME[variable].label_en


def to_iamc(paths: pd.DataFrame, model: str, province: str | None,
            region: str | Mapping[str, str] | None = None) -> pd.DataFrame:
    """Central paths (``Results.paths``) in the IAMC long format.

    Parameters
    ----------
    paths : pandas.DataFrame
        Columns scenario, variable, year, value, unit, and optionally region or province
        (batch datasets).
    model : str
    province : str or None
        The region of every row when ``paths`` has no region or province column.
    region : str or mapping, optional
        A name for the one region (e.g. ``"Lai Chau"``), or a mapping from region keys
        to names (keys it does not name are kept). Default: the keys.

    Returns
    -------
    pandas.DataFrame
        Columns ``IAMC_COLUMNS``, one row per model, scenario, region, variable and year.

    Raises
    ------
    ResultsError
        One name given for several regions, or regions whose rows would coincide.
    """
    names = {v: iamc_name(v) for v in pd.unique(paths["variable"].astype(str))}
    df = pd.DataFrame({
        "model": np.full(len(paths), model, dtype=object),
        "scenario": paths["scenario"].astype(str).to_numpy(),
        "region": _regions(paths, province, region),
        "variable": paths["variable"].astype(str).map(names).to_numpy(),
        "unit": paths["unit"].astype(str).to_numpy(),
        "year": paths["year"].to_numpy().astype(np.int64),
        "value": paths["value"].to_numpy().astype(np.float64),
    }, columns=IAMC_COLUMNS)
    for col in ("model", "scenario", "region", "variable", "unit"):
        df[col] = df[col].astype(str)
    if df.duplicated(IAMC_INDEX).any():
        raise ResultsError("the IAMC table would hold two values for one model, scenario, "
                           "region, variable and year: give each region its own name")
    return df


def _regions(paths: pd.DataFrame, province: str | None,
             region: str | Mapping[str, str] | None) -> np.ndarray:
    """The region of each row: its region (or province) key, renamed by ``region``."""
    column = next((c for c in ("region", "province") if c in paths.columns), None)
    if column is not None:
        keys = paths[column].astype(str).to_numpy()
    else:
        keys = np.full(len(paths), province or "", dtype=object)
    if region is None:
        return keys
    if isinstance(region, str):
        found = sorted(set(keys))
        if len(found) > 1:
            raise ResultsError(f"these results hold {len(found)} regions ({', '.join(found)})"
                               f"; name them with a mapping, e.g. region={{'{found[0]}': "
                               f"'...'}}")
        return np.full(len(paths), region, dtype=object)
    return np.array([region.get(k, k) for k in keys], dtype=object)
