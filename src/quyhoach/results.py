"""Results of a run: tidy tables for planners, the feasibility table, Parquet output."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from . import targets as tg
from .plan import Scenario
from .errors import did_you_mean
from .variables import BY_NAME, SECTORS, VARIABLE_INDEX, VARIABLES

PATH_COLUMNS = ["scenario", "variable", "year", "value", "unit", "status"]
SECTOR_DETAIL = {f"{p}_{s}" for s in SECTORS for p in ("va_real", "va_nominal", "share",
                                                         "va_growth")}


@dataclass(frozen=True)
class ScenarioRun:
    """Central path of one scenario.

    Attributes
    ----------
    central : numpy.ndarray, shape (n_years, n_variables)
        Engine units (fractions for shares and rates).
    fixed : dict[str, int]
        Per variable, index of the last year fixed by history (-1: none).
    """

    scenario: Scenario
    central: np.ndarray
    fixed: dict


class Results:
    """What ``quyhoach.simulate`` returns.

    Attributes
    ----------
    plan : quyhoach.plan.Plan
    history : quyhoach.inputs.History
        Inputs as used, assumed figures included.
    notes : list of str
        What the engine assumed where the inputs were silent.
    """

    def __init__(self, plan, history, baseline, runs):
        self.plan = plan
        self.history = history
        self.notes = list(baseline.notes)
        self._first_structure_year = baseline.first_structure_year
        self._runs = {r.scenario.name: r for r in runs}

    @property
    def scenarios(self) -> list[str]:
        return list(self._runs)

    def values(self, scenario: str, variable: str) -> np.ndarray:
        """Central path of one variable in table units, shape (n_years,)."""
        i = _index(variable)
        if scenario not in self._runs:
            raise KeyError(f"no scenario '{scenario}'" + did_you_mean(scenario, self._runs))
        return self._runs[scenario].central[:, i] * VARIABLES[i].factor

    @cached_property
    def paths(self) -> pd.DataFrame:
        """Central paths as a tidy table.

        Columns: scenario, variable, year, value (table units), unit, status
        (``history`` up to the variable's last observed year, else ``projection``).
        Sector detail before the first observed structure year is left out: the
        inputs cannot split GRDP by sector there.
        """
        years = self.plan.years
        frames = []
        for name, run in self._runs.items():
            for i, var in enumerate(VARIABLES):
                vals = run.central[:, i] * var.factor
                keep = ~np.isnan(vals)
                if var.name in SECTOR_DETAIL:
                    keep &= years >= self._first_structure_year
                status = np.where(np.arange(len(years)) <= run.fixed[var.name],
                                  "history", "projection")
                frames.append(pd.DataFrame({
                    "scenario": name, "variable": var.name, "year": years[keep],
                    "value": vals[keep], "unit": var.unit, "status": status[keep]}))
        df = pd.concat(frames, ignore_index=True)
        for col in ("scenario", "variable", "unit", "status"):
            df[col] = df[col].astype("category")
        return df[PATH_COLUMNS]

    def compare(self, scenarios=None, year: int | None = None, variables=None,
                lang: str = "en") -> pd.DataFrame:
        """Scenarios side by side for one year.

        Parameters
        ----------
        scenarios : list of str, optional
            Default: all.
        year : int, optional
            Default: the latest target year (e.g. 2030), else the horizon.
        variables : list of str, optional
            Default: the headline indicators.
        lang : {"en", "vi"}
            Language of the variable labels.

        Returns
        -------
        pandas.DataFrame
            Index (variable, label, unit); one column per scenario.
        """
        scenarios = scenarios or self.scenarios
        year = year or max((t.year for t in self.plan.targets), default=self.plan.horizon)
        if not self.plan.base_year <= year <= self.plan.horizon:
            raise ValueError(f"year {year} is outside {self.plan.base_year}-{self.plan.horizon}")
        variables = variables or HEADLINE
        rows = []
        for v in variables:
            var = BY_NAME[v]
            rows.append({"variable": v, "label": var.label_vi if lang == "vi" else var.label_en,
                         "unit": var.unit,
                         **{s: self.values(s, v)[year - self.plan.base_year] for s in scenarios}})
        return pd.DataFrame(rows).set_index(["variable", "label", "unit"])

    def feasibility(self) -> pd.DataFrame:
        """Target-feasibility table: every scenario × target.

        Columns: scenario, target_id, label_vi, label_en, indicator, kind, period,
        comparison, target, tolerance, unit, projected, met, gap, effort_years, required,
        projected_rate, effort_unit, source, note.
        ``required`` is what the indicator must average over ``effort_years`` (the years
        after its last observation) to meet the target; ``projected_rate`` is what the
        scenario gives over the same years.
        """
        rows = []
        base = self.plan.base_year
        for name, run in self._runs.items():
            for t in self.plan.targets:
                x = self.values(name, t.indicator)[None, :]
                metric = tg.target_metric(t, x, base)
                req, proj, eff_unit, eff_first = tg.required_effort(
                    t, x, base, run.fixed[t.indicator])
                period = f"{t.first_year}-{t.year}" if t.first_year else str(t.year)
                rows.append({
                    "scenario": name, "target_id": t.id, "label_vi": t.label_vi,
                    "label_en": t.label_en, "indicator": t.indicator, "kind": t.kind,
                    "period": period, "comparison": t.comparison, "target": t.value,
                    "tolerance": t.tolerance, "unit": tg.metric_unit(t),
                    "projected": float(metric[0]), "met": bool(tg.is_met(t, metric)[0]),
                    "gap": float(tg.gap(t, metric)[0]),
                    "effort_years": _span(eff_first, t.year),
                    "required": float(req[0]), "projected_rate": float(proj[0]),
                    "effort_unit": eff_unit, "source": t.source, "note": t.note})
        df = pd.DataFrame(rows)
        df["scenario"] = pd.Categorical(df["scenario"], categories=self.scenarios)
        df["target_id"] = pd.Categorical(df["target_id"],
                                         categories=[t.id for t in self.plan.targets])
        for col in ("indicator", "kind", "comparison", "unit"):
            df[col] = df[col].astype("category")
        return df

    def to_parquet(self, directory, *, overwrite: bool = False):
        """Write paths, feasibility and a manifest atomically; see ``quyhoach.store``."""
        from .store import write_results
        return write_results(self, directory, overwrite=overwrite)


HEADLINE = ["grdp_real", "grdp_growth", "grdp_nominal", "share_agriculture",
            "share_industry_construction", "share_services", "share_product_taxes",
            "grdp_per_capita", "grdp_per_capita_usd", "income_per_capita", "population",
            "urbanization_rate", "budget_revenue", "investment_need", "tourists",
            "tourism_revenue", "poverty_rate", "forest_cover", "ntm_communes_share",
            "electricity_access", "rural_clean_water"]


def _span(first: int, last: int) -> str:
    if first > last:
        return ""
    return str(last) if first == last else f"{first}-{last}"


def _index(variable: str) -> int:
    if variable not in VARIABLE_INDEX:
        raise KeyError(f"unknown variable '{variable}'" + did_you_mean(variable, VARIABLE_INDEX))
    return VARIABLE_INDEX[variable]
