"""Results of a run: tidy tables for planners, the feasibility table, Parquet output."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import targets as tg
from .errors import ResultsError, did_you_mean
from .montecarlo import STAT_COLUMNS
from .plan import Scenario
from .registry import SECTORS, VARIABLE_INDEX, VARIABLES

PATH_COLUMNS = ["scenario", "region", "variable", "year", "value", "unit", "status"]
SECTOR_DETAIL = {f"{p}_{s}" for s in SECTORS for p in ("va_real", "va_nominal", "share",
                                                         "va_growth")}


@dataclass(frozen=True)
class ScenarioRun:
    """Central path of one scenario, in every region.

    Attributes
    ----------
    regional : numpy.ndarray, shape (n_regions, n_years, n_variables)
        Engine units (fractions for shares and rates); regions in kernel order
        (members, then the province).
    region_fixed : tuple of dict[str, int]
        Per region and variable, index of the last year of its history (-1: not
        modelled); the effort column counts the years after it.
    region_status : tuple of dict[str, numpy.ndarray]
        Per region and variable, ``"observed"``, ``"derived"``, ``"assumed"`` or
        ``"projected"`` for each year (``quyhoach.status``); all but the last are
        identical in every draw.
    inputs : quyhoach.assemble.KernelInputs
    metrics, met : numpy.ndarray, shape (n_targets,)
        Each target's metric (table units) and whether it is met, from the kernel.
    """

    scenario: Scenario
    regional: np.ndarray
    region_fixed: tuple
    region_status: tuple
    inputs: object = None
    metrics: np.ndarray | None = None
    met: np.ndarray | None = None

    @property
    def central(self) -> np.ndarray:
        """The province's central path, shape (n_years, n_variables)."""
        return self.regional[-1]

    @property
    def fixed(self) -> dict:
        """The province's ``region_fixed``."""
        return self.region_fixed[-1]

    @property
    def status(self) -> dict:
        """The province's ``region_status``."""
        return self.region_status[-1]


class Results:
    """Results of a run: what ``quyhoach.simulate`` returns and ``read_results`` reads back.

    One class for both. Every method answers from the run's tidy tables (``paths``,
    ``feasibility()``, ``bands()``) and its ``manifest``: a simulated run computes each
    table from its scenario runs on first use; results read back from disk
    (``quyhoach.read_results``, which calls ``Results.from_tables``) were given them, so
    they answer the same, and can be written again or exported.

    Attributes
    ----------
    plan : quyhoach.plan.Plan or None
        None when read back (the manifest names the plan file and its hash).
    history : quyhoach.inputs.History or None
        Inputs as used, assumed figures included; None when read back.
    notes : list of str
        What the engine assumed where the inputs were silent.
    draws : int
        Monte Carlo draws (0: central paths only).
    seed : int or None
    years : numpy.ndarray
        The years of ``values()``: base year to horizon.
    province : str or None
        The plan's province key (None for a batch dataset, whose tables have a
        ``province`` column).
    regions : list of str
        The province's key, then its member regions' ids (the ``region`` column).
    baselines : quyhoach.assemble.Baselines or None
        What history fixes in every region (None when read back).
    selection : dict
        The filters the tables were read with (``read_results``); empty otherwise.
    """

    def __init__(self, plan, history, baseline, runs, summaries=None, draws=0, seed=None,
                 spool=None):
        from . import __version__

        self.plan = plan
        self.history = history
        self.notes = list(baseline.notes)
        self.baselines = baseline  # what history fixes (quyhoach.assemble.Baselines)
        self.draws = draws
        self.seed = seed
        self.years = plan.years
        self.province = plan.province
        self._order = plan.regions.order(plan.province)  # kernel order: members, province
        self.regions = [plan.province, *plan.regions.ids]
        self._first_structure_year = baseline.first_structure_year
        self._runs = {r.scenario.name: r for r in runs}
        self._scenarios = list(self._runs)
        self._summaries = summaries or {}
        self._spool = spool
        self._kept = None
        self._last_target_year = max((t.year for t in plan.targets), default=plan.horizon)
        self._engine_version = __version__
        self._tables: dict[str, pd.DataFrame] = {}
        self._manifest: dict | None = None
        self.selection: dict = {}

    @classmethod
    def from_tables(cls, paths: pd.DataFrame, feasibility: pd.DataFrame,
                    bands: pd.DataFrame, manifest: dict, *, scenarios=None,
                    last_target_year: int | None = None, draws_dir=None,
                    selection: dict | None = None) -> Results:
        """Results made of their tables, as written by ``to_parquet`` (or a batch).

        Parameters
        ----------
        paths, feasibility, bands : pandas.DataFrame
            As ``paths``, ``feasibility()`` and ``bands()`` give them (``bands`` empty
            without draws).
        manifest : dict
            ``manifest.json`` of the results directory or batch dataset.
        scenarios : list of str, optional
            Default: the manifest's, else those in ``paths`` in their order.
        last_target_year : int, optional
            Default year of ``compare``; default: the last year of a target in
            ``feasibility``, else the horizon.
        draws_dir : pathlib.Path, optional
            Kept draws (``scenario=<name>/part-0.parquet``).
        selection : dict, optional
            The filters the tables were read with, recorded when they are written again.

        Returns
        -------
        Results
        """
        self = cls.__new__(cls)
        config = manifest.get("config", {})
        self.plan = self.history = self.baselines = None
        self.notes = list(manifest.get("assumptions", []))
        self.draws = int(manifest.get("n_draws", config.get("n_draws", 0)) or 0)
        self.seed = manifest.get("seed", config.get("seed"))
        self.years = _stored_years(manifest, paths)
        self.province = manifest.get("province")
        self.regions = _in_order(paths, "region")
        self._first_structure_year = None
        self._runs, self._summaries, self._spool = {}, {}, None
        self._kept = draws_dir
        self._scenarios = list(scenarios if scenarios is not None else
                               manifest.get("scenarios") or _in_order(paths, "scenario"))
        self._last_target_year = last_target_year or _last_target_year(
            feasibility, int(self.years[-1]) if len(self.years) else 0)
        self._engine_version = manifest.get("engine_version", "")
        self._tables = {"paths": paths, "feasibility": feasibility, "bands": bands}
        self._manifest = manifest
        self.selection = dict(selection or {})
        return self

    @property
    def draws_dir(self):
        """Directory of kept draws (``scenario=<name>/part-0.parquet``), or None."""
        return self._spool.path if self._spool is not None else self._kept

    @property
    def scenarios(self) -> list[str]:
        """The scenarios projected (read back: those read), in the plan's order."""
        return list(self._scenarios)

    @property
    def manifest(self) -> dict:
        """What ``to_parquet`` records in ``manifest.json`` (as read, when read back)."""
        if self._manifest is None:
            from .store import manifest

            self._manifest = manifest(self)
        return self._manifest

    def _table(self, name: str) -> pd.DataFrame:
        """One of the tidy tables, computed from the runs on first use."""
        if name not in self._tables:
            make = {"paths": self._make_paths, "feasibility": self._make_feasibility,
                    "bands": self._make_bands}[name]
            self._tables[name] = make()
        return self._tables[name]

    def tables(self) -> dict[str, pd.DataFrame]:
        """``paths``, ``feasibility`` and ``bands``, as ``to_parquet`` writes them
        (``bands`` empty, with its columns, for a run without draws)."""
        return {name: self._table(name) for name in ("paths", "feasibility", "bands")}

    def _check_scenario(self, scenario: str) -> None:
        if scenario not in self._scenarios:
            raise KeyError(f"no scenario '{scenario}'" + did_you_mean(scenario, self._scenarios))

    def values(self, scenario: str, variable: str, region: str | None = None) -> np.ndarray:
        """Central path of one variable in table units, shape (n_years,) over ``years``.

        ``region``: a member region's id; default the province. NaN where there is no
        value: read back, also in the years ``paths`` leaves out (sector detail before
        the first observed structure).
        """
        i = _index(variable)
        self._check_scenario(scenario)
        if region is not None and region not in self.regions:
            raise KeyError(f"no region '{region}'" + did_you_mean(region, self.regions))
        run = self._runs.get(scenario)
        if run is not None:
            r = self._order.index(region) if region is not None else -1
            return run.regional[r, :, i] * VARIABLES[i].factor
        return _path_values(self.paths, self.years, scenario, variable, region)

    def joint_probability(self, scenario: str, group: int) -> float:
        """Share of draws meeting every target of a reconciliation group together
        (``quyhoach.reconcile.groups``); NaN without draws."""
        summary = self._summaries.get(scenario)
        if summary is None or not len(summary.joint):
            return float("nan")
        return float(summary.joint[group] / summary.n_draws)

    def reconciliation(self) -> pd.DataFrame:
        """Each locality's target and projection beside the province's
        (``quyhoach.reconcile.table``); empty when no target is set in several regions."""
        from .reconcile import table

        if self.plan is None:
            raise ResultsError("the reconciliation table needs the plan: run it again "
                               "(quyhoach.simulate, or quyhoach run PLAN)")
        return table(self)

    @property
    def paths(self) -> pd.DataFrame:
        """Central paths as a tidy table.

        Columns: scenario, variable, year, value (table units), unit, status
        (``observed``, ``derived`` from observed figures, ``assumed`` by the plan, or
        ``projected``); a batch dataset's also province.
        Sector detail before the first observed structure year is left out: the
        inputs cannot split GRDP by sector there.
        """
        return self._table("paths")

    def _make_paths(self) -> pd.DataFrame:
        years = self.plan.years
        frames = []
        for name, run in self._runs.items():
            for r, region in _province_first(self._order):
                for i, var in enumerate(VARIABLES):
                    vals = run.regional[r, :, i] * var.factor
                    keep = ~np.isnan(vals)
                    if var.name in SECTOR_DETAIL:
                        keep &= years >= self._first_structure_year
                    status = run.region_status[r][var.name]
                    frames.append(pd.DataFrame({
                        "scenario": name, "region": region, "variable": var.name,
                        "year": years[keep], "value": vals[keep], "unit": var.unit,
                        "status": status[keep]}))
        df = pd.concat(frames, ignore_index=True)
        df["region"] = pd.Categorical(df["region"], categories=[r for _, r in
                                                                 _province_first(self._order)])
        for col in ("scenario", "variable", "unit", "status"):
            df[col] = df[col].astype("category")
        return df[PATH_COLUMNS]

    def _make_bands(self) -> pd.DataFrame:
        years, frames = self.plan.years, []
        n_vars, n_regions = len(VARIABLES), len(self._order)
        regions = _province_first(self._order)
        order = [r for r, _ in regions]
        factor = np.array([v.factor for v in VARIABLES])
        # sd and the Monte Carlo error scale by |factor|, the rest by the factor
        scale = np.repeat(factor[:, None], len(STAT_COLUMNS), axis=1)
        scale[:, [1, -1]] = np.abs(factor)[:, None]
        detail = np.array([v.name in SECTOR_DETAIL for v in VARIABLES])
        for name, summary in self._summaries.items():
            run = self._runs[name]
            stats = summary.stats[: n_regions * len(years) * n_vars].reshape(
                n_regions, len(years), n_vars, -1)[order].transpose(0, 2, 1, 3) * scale[:, None]
            central = run.regional[order].transpose(0, 2, 1) * factor[:, None]
            keep = ~np.isnan(stats[..., 0])  # (region, variable, year), the table's order
            if self._first_structure_year is not None:
                keep &= ~(detail[:, None] & (years < self._first_structure_year))[None]
            r, v, t = np.nonzero(keep)
            frame = pd.DataFrame(stats[keep], columns=list(STAT_COLUMNS))
            frame.insert(0, "year", years[t])
            frame.insert(0, "variable", np.array([x.name for x in VARIABLES])[v])
            frame.insert(0, "region", np.array([x for _, x in regions], dtype=object)[r])
            frame.insert(0, "scenario", name)
            frame["central"] = central[keep]
            frame["unit"] = np.array([x.unit for x in VARIABLES])[v]
            frames.append(frame)
        if not frames:
            return pd.DataFrame(columns=BAND_COLUMNS)
        df = pd.concat(frames, ignore_index=True)
        df["region"] = pd.Categorical(df["region"], categories=[r for _, r in
                                                                 _province_first(self._order)])
        for col in ("scenario", "variable", "unit"):
            df[col] = df[col].astype("category")
        return df

    def bands(self, variable: str | None = None, scenario: str | None = None,
              region: str | None = None) -> pd.DataFrame:
        """Monte Carlo bands per scenario, variable and year (table units).

        Columns: scenario, region, variable, year, mean, sd, q05, q25, q50, q75, q95,
        mcse_mean (Monte Carlo standard error of the mean), central (zero-shock path),
        unit. ``region`` selects one region (the province's key, or a member's id).
        Quantiles are read from a 256-bin histogram: error under one bin width
        (0.6 % of the range of the pilot draws).

        Rows: what the run reduced (``simulate(bands=...)``): by default every variable
        at the milestone years and the fan charts' variables at every year in the
        province (``quyhoach.montecarlo.band_series``); with ``bands="all"`` every
        region × variable × year.

        A run without draws has no bands, and says so (``to_parquet`` then writes an
        empty ``bands.parquet`` with these columns).

        Raises
        ------
        ResultsError
            The run has no draws (``draws=0``).
        KeyError
            An unknown variable, or a scenario this run did not project.
        """
        if variable is not None:
            _index(variable)
        if scenario is not None:
            self._check_scenario(scenario)
        if not self.draws:
            raise ResultsError(_NO_DRAWS)
        df = self._table("bands")
        if variable is not None:
            df = df[df["variable"] == variable]
        if scenario is not None:
            df = df[df["scenario"] == scenario]
        if region is not None:
            if region not in self.regions:
                raise KeyError(f"no region '{region}'" + did_you_mean(region, self.regions))
            df = df[df["region"] == region]
        return df.reset_index(drop=True)

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
        year = year or self._last_target_year
        first, last = int(self.years[0]), int(self.years[-1])
        if not first <= year <= last:
            raise ValueError(f"year {year} is outside {first}-{last}")
        variables = variables or HEADLINE
        rows = []
        for v in variables:
            var = VARIABLES[_index(v)]
            rows.append({"variable": v, "label": var.label_vi if lang == "vi" else var.label_en,
                         "unit": var.unit,
                         **{s: self.values(s, v)[year - first] for s in scenarios}})
        return pd.DataFrame(rows).set_index(["variable", "label", "unit"])

    def feasibility(self) -> pd.DataFrame:
        """Target-feasibility table: every scenario × target.

        Columns: scenario, target_id, label_vi, label_en, indicator, kind, period,
        comparison, target, tolerance, unit, projected, met, gap, effort_years, required,
        projected_rate, effort_unit, source, note.
        ``required`` is what the indicator must average over ``effort_years`` (the years
        after its last observation) to meet the target (an ``about`` target: to reach
        the edge of its band nearer the projection; a period not yet started: over the
        period itself); ``projected_rate`` is what the scenario gives over the same
        years. With draws: probability (share of draws
        meeting the target), probability_mcse, median, q05, q95 of the target's metric,
        and verdict (see ``verdict``); NaN and "" without draws.
        """
        return self._table("feasibility").copy()

    def _make_feasibility(self) -> pd.DataFrame:
        rows = []
        base = self.plan.base_year
        n_path = len(self._order) * len(self.plan.years) * len(VARIABLES)
        for name, run in self._runs.items():
            summary = self._summaries.get(name)
            for j, t in enumerate(self.plan.targets):
                region = t.region or self.province
                r = self._order.index(region)
                x = self.values(name, t.indicator, region)[None, :]
                metric = run.metrics[j:j + 1]  # the kernel's, as in every draw
                req, proj, eff_unit, eff_first = tg.required_effort(
                    t, x, base, run.region_fixed[r][t.indicator])
                period = f"{t.first_year}-{t.year}" if t.first_year else str(t.year)
                rows.append({
                    "scenario": name, "region": region, "target_id": t.id,
                    "label_vi": t.label_vi,
                    "label_en": t.label_en, "indicator": t.indicator, "kind": t.kind,
                    "period": period, "comparison": t.comparison, "target": t.value,
                    "tolerance": t.tolerance, "unit": tg.metric_unit(t),
                    "projected": float(metric[0]), "met": bool(run.met[j]),
                    "gap": float(tg.gap(t, metric)[0]),
                    "effort_years": _span(eff_first, t.year),
                    "required": float(req[0]), "projected_rate": float(proj[0]),
                    "effort_unit": eff_unit, **_probability(summary, n_path, j),
                    "source": t.source, "note": t.note})
        df = pd.DataFrame(rows, columns=FEASIBILITY_COLUMNS)
        df["scenario"] = pd.Categorical(df["scenario"], categories=self.scenarios)
        df["target_id"] = pd.Categorical(df["target_id"],
                                         categories=[t.id for t in self.plan.targets])
        for col in ("indicator", "kind", "comparison", "unit"):
            df[col] = df[col].astype("category")
        return df

    def to_iamc(self, model: str | None = None,
                region: str | Mapping[str, str] | None = None) -> pd.DataFrame:
        """Central paths in the IAMC long format, as ``pyam.IamDataFrame`` reads them.

        Columns: model, scenario, region, variable, unit, year, value; one row per
        model, scenario, region, variable and year. Variables have hierarchical IAMC
        names (``GRDP|Real|Industry and construction``, ``Population|Urban``; see
        ``quyhoach.iamc``), units are the registry's. Central values only: the Monte
        Carlo bands are in ``bands()``, the status of each figure in ``paths``.

        Parameters
        ----------
        model : str, optional
            Default: ``"quyhoach <engine version>"``.
        region : str or mapping, optional
            A name for the region (default: the province key, e.g. ``"lai_chau"``; a
            ``region`` or ``province`` column of ``paths`` where there is one), or a
            mapping from keys to names.

        Returns
        -------
        pandas.DataFrame
        """
        from .iamc import to_iamc

        return to_iamc(self.paths, model or f"quyhoach {self._engine_version}",
                       self.province, region)

    def to_parquet(self, directory, *, overwrite: bool = False, excel: bool = False,
                   charts=(), lang: str = "vi"):
        """Write paths, bands, feasibility and a manifest atomically (``quyhoach.store``);
        optionally ``feasibility.xlsx`` and fan charts ``fan_<variable>.png``.

        Results read back are written as read, with their manifest (and the filters
        they were read with, as ``selection``); the workbook and charts need the plan.

        Raises
        ------
        ResultsError
            As ``quyhoach.store.write_results``; or, read back, a workbook or charts
            asked for, or a batch dataset (written by ``quyhoach batch`` only).
        """
        from .store import write_results

        if self.plan is None and (excel or charts):
            raise ResultsError("the workbook and fan charts need the plan, which results "
                               "read back do not have: run the plan again "
                               "(quyhoach.simulate, or quyhoach run PLAN --excel --charts ...)")
        if "tasks" in self.manifest:
            raise ResultsError("these results were read from a batch dataset, which only "
                               "quyhoach batch writes; query it in place, or run one plan "
                               "and write that")
        return write_results(self, directory, overwrite=overwrite, excel=excel,
                             charts=charts or (), lang=lang)


HEADLINE = ["grdp_real", "grdp_growth", "grdp_nominal", "share_agriculture",
            "share_industry_construction", "share_services", "share_product_taxes",
            "grdp_per_capita", "grdp_per_capita_usd", "income_per_capita", "population",
            "urbanization_rate", "budget_revenue", "investment_need", "tourists",
            "tourism_revenue", "poverty_rate", "forest_cover", "ntm_communes_share",
            "electricity_access", "rural_clean_water"]


# Verdict thresholds on the probability of meeting a target (documented in README).
VERDICTS = ((0.80, "likely"), (0.50, "at risk"), (0.10, "unlikely"), (0.0, "off track"))


def read_results(directory, *, province=None, plan=None, region=None, scenario=None,
                 variable=None, years=None) -> Results:
    """Read a results directory (``quyhoach run``) or a batch dataset (``quyhoach batch``).

    Filters are pushed down to pyarrow, so only matching row groups and partitions are
    read.

    Parameters
    ----------
    directory : str or pathlib.Path
    province, plan, region, scenario : str or list of str, optional
        Each filters the tables that have the column (``province`` and ``plan``: batch
        datasets, e.g. ``province=["lai_chau", "lang_son"]``; ``plan`` is a plan file's
        name without ``.toml``, e.g. ``plan="lai_chau_2021_06"`` for a draft).
    variable : str or list of str, optional
        Filters ``paths`` and ``bands`` on ``variable`` and ``feasibility`` on
        ``indicator``.

        A province, plan, region, scenario or variable the results do not hold is refused,
        with the closest one they hold, so a misspelt key never reads as an empty
        selection. A batch dataset holds the provinces and scenarios of its finished
        tasks (``manifest.json``); a province whose tasks all failed is refused too.
    years : int, list of int or (first, last) tuple, optional
        Filters ``paths`` and ``bands``.

    Returns
    -------
    Results
        The same class as ``quyhoach.simulate`` returns, answering from the tables read:
        ``paths``, ``feasibility()``, ``bands()`` (a run without draws has none),
        ``values()``, ``compare()``, ``to_iamc()``, ``to_parquet()``, with ``manifest``,
        ``notes``, ``scenarios``, ``draws`` and ``seed``; ``plan`` and ``history`` are
        None. ``draws_dir`` is the results directory's ``draws`` folder when the run
        kept its draws.

    Raises
    ------
    ResultsError
        Not a results directory or dataset, a table missing, or a province, region,
        scenario or variable the results do not hold.
    """
    from .store import read_tables

    selection = {k: v for k, v in (("province", province), ("plan", plan),
                                   ("region", region), ("scenario", scenario),
                                   ("variable", variable), ("years", years))
                 if v is not None}
    stored = _stored_manifest(directory)
    if stored is not None:  # else read_tables says what is wrong
        _check_selection(directory, stored, selection)
    frames, meta, context = read_tables(directory, selection)
    return Results.from_tables(frames["paths"], frames["feasibility"], frames["bands"], meta,
                               selection=selection, **context)


def _stored_manifest(directory) -> dict | None:
    """``manifest.json`` of a results directory or dataset; None if it cannot be read."""
    import json
    from pathlib import Path

    try:
        meta = json.loads((Path(directory) / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def _as_names(value) -> list:
    return [value] if isinstance(value, str) else list(value)


def _check_selection(directory, meta: dict, selection: dict) -> None:
    """Refuse a province, plan, region, scenario or variable the results do not hold."""
    held, unfinished = _held(directory, meta, selection)
    for key, choices in held.items():
        if key not in selection or choices is None:
            continue
        for name in _as_names(selection[key]):
            if name in choices:
                continue
            if key == "province" and name in unfinished:
                raise ResultsError(f"{directory} holds no finished task of province "
                                   f"'{name}' (see its manifest.json); run the batch again "
                                   "to redo its failed tasks")
            where = (f"{directory} holds no {key} '{name}'" if choices else
                     f"{directory} holds no {key} at all, so not '{name}'")
            raise ResultsError(where + (did_you_mean(str(name), choices) if choices else ""))


def _held(directory, meta: dict, selection: dict) -> tuple[dict, set]:
    """The provinces, regions, scenarios and variables a run or dataset holds (None:
    unknown, not checked), and a dataset's provinces with tasks but none finished."""
    held: dict = {"variable": list(VARIABLE_INDEX)}
    if "tasks" not in meta:  # one run's results directory
        held["province"] = [meta["province"]] if meta.get("province") else None
        held["scenario"] = meta.get("scenarios")
        held["region"] = meta.get("regions")
        return held, set()
    if not isinstance(meta["tasks"], dict):  # not ours to judge: read_tables reads it
        return held, set()
    done = [tid.split("/") for tid, entry in meta["tasks"].items()
            if isinstance(entry, dict) and entry.get("status") == "done"
            and tid.count("/") == 2]  # province/plan/scenario
    held["province"] = sorted({p for p, _, _ in done})
    held["plan"] = sorted({d for _, d, _ in done})
    held["scenario"] = sorted({s for _, _, s in done})
    if "region" in selection:
        held["region"] = _dataset_regions(directory)
    return held, {tid.split("/", 1)[0] for tid in meta["tasks"]} - set(held["province"])


def _dataset_regions(directory) -> list[str] | None:
    """The regions of a batch dataset's ``paths`` (one column read), or None."""
    from pathlib import Path

    import pyarrow.dataset as ds

    source = Path(directory) / "paths"
    if not source.is_dir():
        return None
    data = ds.dataset(source, format="parquet", partitioning="hive")
    if "region" not in data.schema.names:
        return None
    column = data.to_table(columns=["region"]).column("region")
    return sorted({str(v) for v in column.unique().to_pylist()})


def verdict(probability: float) -> str:
    """likely (>= 80 %), at risk (50-80 %), unlikely (10-50 %), off track (< 10 %)."""
    for threshold, word in VERDICTS:
        if probability >= threshold:
            return word
    return ""


FEASIBILITY_COLUMNS = ["scenario", "region", "target_id", "label_vi", "label_en", "indicator",
                       "kind", "period", "comparison", "target", "tolerance", "unit",
                       "projected", "met", "gap", "effort_years", "required",
                       "projected_rate", "effort_unit", "probability", "probability_mcse",
                       "median", "q05", "q95", "verdict", "source", "note"]
BAND_COLUMNS = ["scenario", "region", "variable", "year", *STAT_COLUMNS, "central", "unit"]
# Why bands() refuses a run without draws.
_NO_DRAWS = ("this run has no Monte Carlo draws (draws=0), so it has no bands: run it "
             "with draws, e.g. quyhoach.simulate(plan, draws=10000) or quyhoach run PLAN "
             "--draws 10000; its central paths are in .paths and .values()")


def _probability(summary, n_path: int, j: int) -> dict:
    """Monte Carlo columns of one target: probability met, its error, metric band."""
    if summary is None:
        return {"probability": np.nan, "probability_mcse": np.nan, "median": np.nan,
                "q05": np.nan, "q95": np.nan, "verdict": ""}
    p = summary.met[j] / summary.n_draws
    stats = summary.stats[n_path + j]
    return {"probability": p,
            "probability_mcse": float(np.sqrt(p * (1 - p) / summary.n_draws)),
            "median": stats[STAT_COLUMNS.index("q50")], "q05": stats[STAT_COLUMNS.index("q05")],
            "q95": stats[STAT_COLUMNS.index("q95")], "verdict": verdict(p)}


class DrawSpool:
    """Every draw of a run, streamed to Parquet (float32) in a spool folder.

    The spool is a hidden, locked folder ``.quyhoach-spool-<pid>-*`` in ``directory``
    (default: the system temporary folder). It is removed when this object is released;
    if the process is killed, the next run that spools or writes there removes it
    (``quyhoach.outdir.SpoolFolder``). ``to_parquet`` links the files into
    ``draws/scenario=<name>/``. Columns: draw, region (the province first), year, then
    one per variable (table units). Each row group holds ``ROW_GROUP_DRAWS`` draws (fewer
    with member regions; the last group the rest), whatever the chunk size, so the
    file's bytes do not depend on ``chunk_size``.

    Parameters
    ----------
    plan : quyhoach.plan.Plan
    history : quyhoach.inputs.History, optional
        With ``draws`` and ``seed``: recorded in each file's metadata (``quyhoach`` key:
        engine version, seed, n_draws, plan and input hashes).
    draws, seed : int, optional
    directory : str or pathlib.Path, optional
        Where to put the spool; best beside the output, so the files are linked, not
        copied.
    """

    ROW_GROUP_DRAWS = 16384  # ~ 80 MB of float32 per group for 31 years; a multiple of 256

    def __init__(self, plan, history=None, draws=None, seed=None, *, directory=None):
        import json

        from . import __version__
        from .outdir import SpoolFolder

        self._folder = SpoolFolder(directory)
        self.path = self._folder.path
        self._years = plan.years
        self._order = plan.regions.order(plan.province)
        self._writer = None
        self._pending: list = []
        self._metadata = None
        if history is not None:
            self._metadata = {b"quyhoach": json.dumps({
                "engine_version": __version__, "seed": seed, "n_draws": draws,
                "plan_sha256": plan.sha256, "inputs_sha256": history.sha256}).encode()}

    def sink(self, scenario: str):
        """``write(first_draw, values)`` for ``montecarlo.run``'s ``on_chunk``; values
        float64 of shape (draws in chunk, n_series), engine units."""
        import pyarrow as pa

        folder = self.path / f"scenario={scenario}"
        n_years, n_vars, n_regions = len(self._years), len(VARIABLES), len(self._order)
        regions = _province_first(self._order)
        index = np.array([r for r, _ in regions])
        names = pa.array([name for _, name in regions]).dictionary_encode()
        factors = np.array([v.factor for v in VARIABLES], dtype=np.float32)
        try:
            folder.mkdir()
        except OSError as exc:
            raise self._error(exc) from exc

        def write(first_draw, values):
            n = values.shape[0]
            block = values[:, : n_regions * n_years * n_vars].astype(np.float32).reshape(
                n, n_regions, n_years, n_vars)[:, index].reshape(-1, n_vars)
            columns = {"draw": np.repeat(np.arange(first_draw, first_draw + n, dtype=np.int32),
                                         n_regions * n_years),
                       "region": pa.DictionaryArray.from_arrays(
                           np.tile(np.repeat(np.arange(n_regions, dtype=np.int32), n_years), n),
                           names.dictionary),
                       "year": np.tile(self._years.astype(np.int16), n * n_regions)}
            for i, var in enumerate(VARIABLES):
                columns[var.name] = block[:, i] * factors[i]
            table = pa.table(columns)
            if self._metadata is not None:
                table = table.replace_schema_metadata(self._metadata)
            self._pending.append(table)
            self._flush()

        self._path = folder / "part-0.parquet"
        group_draws = max(256, self.ROW_GROUP_DRAWS // n_regions // 256 * 256)
        self._rows = group_draws * n_years * n_regions
        return write

    def _flush(self, final: bool = False) -> None:
        """Write every full row group of pending rows (and the rest when ``final``)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        pending = sum(t.num_rows for t in self._pending)
        if pending < self._rows and not (final and pending):
            return
        table = pa.concat_tables(self._pending)
        try:
            if self._writer is None:
                self._writer = pq.ParquetWriter(self._path, table.schema, compression="zstd")
            while table.num_rows >= self._rows or (final and table.num_rows):
                # one contiguous chunk per group: the bytes then depend on the rows only
                group = table.slice(0, self._rows).combine_chunks()
                self._writer.write_table(group, row_group_size=self._rows)
                table = table.slice(self._rows)
        except OSError as exc:
            raise self._error(exc) from exc
        self._pending = [table] if table.num_rows else []

    def close(self):
        """Write the last, partial row group and close the scenario's file."""
        try:
            self._flush(final=True)
            if self._writer is not None:
                self._writer.close()
        except OSError as exc:
            raise self._error(exc) from exc
        finally:
            self._writer = None
            self._pending = []

    def release(self) -> None:
        """Remove the spool now (it is also removed when garbage-collected)."""
        self._writer = None
        self._folder.release()

    def _error(self, exc: OSError):
        from .outdir import write_error

        return write_error(self.path, exc, kept="the kept draws are lost")


def _span(first: int, last: int) -> str:
    if first > last:
        return ""
    return str(last) if first == last else f"{first}-{last}"


def _index(variable: str) -> int:
    if variable not in VARIABLE_INDEX:
        raise KeyError(f"unknown variable '{variable}'" + did_you_mean(variable, VARIABLE_INDEX))
    return VARIABLE_INDEX[variable]


def _in_order(df: pd.DataFrame, column: str) -> list[str]:
    """The values of a column in their order of appearance."""
    if column not in df.columns:
        return []
    return [str(v) for v in pd.unique(df[column])]


def _stored_years(manifest: dict, paths: pd.DataFrame) -> np.ndarray:
    """Base year to horizon from a run's manifest, else the years in ``paths`` (batch)."""
    if "base_year" in manifest and "horizon" in manifest:
        return np.arange(manifest["base_year"], manifest["horizon"] + 1)
    if "year" not in paths.columns or paths.empty:
        return np.arange(0)
    return np.arange(int(paths["year"].min()), int(paths["year"].max()) + 1)


def _last_target_year(feasibility: pd.DataFrame, horizon: int) -> int:
    """The last year of any target in a feasibility table (its ``period``), else horizon."""
    if "period" not in feasibility.columns or feasibility.empty:
        return horizon
    return max(int(str(p).rsplit("-", 1)[-1]) for p in pd.unique(feasibility["period"]))


def _province_first(regions: list[str]) -> list[tuple[int, str]]:
    """(kernel index, id) of each region: the province first, then its members."""
    return [(len(regions) - 1, regions[-1]), *enumerate(regions[:-1])]


def _path_values(paths: pd.DataFrame, years: np.ndarray, scenario: str, variable: str,
                 region: str | None = None) -> np.ndarray:
    """One scenario's central path of one variable from ``paths``, NaN where absent."""
    for level, levels in (("province", "provinces"), ("plan", "plans")):
        if level in paths.columns and paths[level].nunique() > 1:
            found = ", ".join(sorted(map(str, pd.unique(paths[level]))))
            raise ResultsError(f"these results hold several {levels} ({found}): read one, "
                               f"e.g. quyhoach.read_results(directory, {level}=...)")
    rows = paths[(paths["scenario"] == scenario) & (paths["variable"] == variable)]
    if "region" in paths.columns:
        regions = _in_order(paths, "region")
        rows = rows[rows["region"] == (region if region is not None else regions[0])]
    out = np.full(len(years), np.nan)
    out[rows["year"].to_numpy(dtype=np.int64) - int(years[0])] = rows["value"].to_numpy()
    return out
