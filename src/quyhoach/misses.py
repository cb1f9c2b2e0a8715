"""What drives a miss: each draw's sampled inputs, the conditions of a miss, a tornado.

``sample_inputs`` recovers every draw's sampled inputs (a parameter's offset, a shock's
average over the years that move a target, a disruption's event years) from the same
counter-based streams as the run; on them ``miss_conditions`` finds for each target one
PRIM box of one or two conditions where its misses concentrate (``quyhoach.prim``), and
``tornado`` each input's effect on the target (its metric over the input's lowest and
highest tenth).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd

from . import montecarlo
from . import targets as tg
from .analysis import DRAWS, lever_unit, seed_of, without_each_source
from .assemble import FORM_SCALE, PERCENT, first_projected_index
from .kernels import layout as L
from .registry import BY_NAME, INDICATORS, LEVERS
from .report import grouped, number, percent

MIN_CASES = 10  # fewer draws with the outcome than this: no condition is sought
MIN_LIFT = 0.2  # a box must close this share of the gap between the whole's density and 1
TAIL = 0.10  # the tornado compares the draws in each input's lowest and highest tenth
NOISE_SE = 2.0  # an effect within this many standard errors is Monte Carlo noise
RELEVANCE_DRAWS = 32  # draws on which each source is checked to move each target at all

# Names of the plan keys that carry uncertainty (vi, en); indicator speeds and sector
# rates are named from the registry's labels.
PATH_NAMES = {
    "population.birth_rate": ("Tỷ suất sinh thô", "Crude birth rate"),
    "population.death_rate": ("Tỷ suất chết thô", "Crude death rate"),
    "population.net_migration_rate": ("Tỷ suất di cư thuần", "Net migration rate"),
    "population.revision": ("Điều chỉnh dân số sau tổng điều tra",
                            "Census revision of the population"),
    "urbanization.speed": ("Tốc độ đô thị hóa", "Urbanization speed"),
    "investment.icor": ("Hệ số ICOR", "ICOR"),
    "income.elasticity": ("Độ co giãn thu nhập theo GRDP bình quân đầu người",
                          "Income elasticity to GRDP per capita"),
    "budget.buoyancy": ("Độ co giãn thu ngân sách theo GRDP", "Budget revenue buoyancy"),
    "budget.import_export_growth": ("Tăng thu từ xuất nhập khẩu",
                                    "Import-export revenue growth"),
    "budget.land_use_growth": ("Tăng thu tiền sử dụng đất", "Land-use revenue growth"),
    "tourism.visitor_growth": ("Tăng trưởng lượt khách du lịch", "Visitor growth"),
    "tourism.spending_growth": ("Tăng chi tiêu mỗi lượt khách",
                                "Growth of spending per visitor"),
    "exchange_rate.depreciation": ("Mức mất giá của VND", "VND depreciation"),
}
# A deviation in a parameter's file unit, as a planner reads it (vi, en).
DEVIATION_UNITS = {
    "%/yr": ("điểm %", "points"), "per 1000": ("‰", "‰"), "ratio": ("", ""),
    "logit points/yr": ("điểm logit/năm", "logit points/yr"),
    "percentage points/yr": ("điểm %/năm", "points/yr"),
    "% of the remaining gap/yr": ("% khoảng cách còn lại/năm", "% of the remaining gap/yr"),
    "factor": ("lần", "×"), "events": ("năm", "years"),
}
WORDS = {
    "vi": {"offset": "chênh lệch so với kịch bản", "factor": "hệ số nhân giá trị kịch bản",
           "shock": "cú sốc (bình quân {years})", "shock_year": "cú sốc ({years})",
           "events": "số năm xảy ra ({years})",
           "disruption": "Biến cố \u201c{name}\u201d", "and": " và ",
           "between": "từ {lo} đến {hi}", "at_least": "từ {lo} trở lên",
           "at_most": "từ {hi} trở xuống",
           "miss": "Không đạt chủ yếu khi {conditions}: {coverage} số lần không đạt rơi vào "
                   "vùng này; trong vùng này {density} số lần không đạt (chung: {base}).",
           "met": "Đạt chủ yếu khi {conditions}: {coverage} số lần đạt rơi vào vùng "
                  "này; trong vùng này {density} số lần đạt (chung: {base}).",
           "always_met": "Đạt trong mọi lần mô phỏng.",
           "never_met": "Không đạt trong lần mô phỏng nào: không có khoảng giá trị nào của "
                        "các yếu tố bất định giúp đạt; xem mức cần điều chỉnh.",
           "too_few": "Chỉ {what} trong {n} trên {draws} lần mô phỏng: quá ít để tìm điều "
                      "kiện (cần thêm lần mô phỏng).",
           "too_few_miss": "không đạt", "too_few_met": "đạt",
           "diffuse": "Không có một hay hai yếu tố nào giải thích phần lớn các lần {what}: "
                      "nhiều nguồn bất định cùng góp phần.",
           "diffuse_miss": "không đạt", "diffuse_met": "đạt"},
    "en": {"offset": "offset from the scenario", "factor": "factor on the scenario's value",
           "shock": "shock (average {years})", "shock_year": "shock ({years})",
           "events": "years with the event ({years})",
           "disruption": "Disruption \u201c{name}\u201d", "and": " and ",
           "between": "between {lo} and {hi}", "at_least": "at least {lo}",
           "at_most": "at most {hi}",
           "miss": "Missed mostly when {conditions}: {coverage} of the misses fall there, "
                   "and {density} of the draws there miss (against {base} overall).",
           "met": "Met mostly when {conditions}: {coverage} of the draws that meet it fall "
                  "there, and {density} of the draws there meet it (against {base} "
                  "overall).",
           "always_met": "Met in every draw.",
           "never_met": "Missed in every draw: no range of the sampled inputs meets it; see "
                        "the effort it needs.",
           "too_few": "{what} in only {n} of {draws} draws: too few for a condition (run "
                      "more draws).",
           "too_few_miss": "Missed", "too_few_met": "Met",
           "diffuse": "No one or two inputs account for most {what}: many sources of "
                      "uncertainty contribute together.",
           "diffuse_miss": "misses", "diffuse_met": "of the draws that meet it"},
}


@dataclasses.dataclass(frozen=True)
class Column:
    """One sampled input of the Monte Carlo, as a planner reads it.

    Attributes
    ----------
    id : str
        ``"parameter growth.services"`` (a parameter's draw), ``"shocks
        growth.industry_construction"`` (one channel of a shock group) or
        ``"disruption pandemic"``.
    source : str
        The source it comes from, as ``drivers`` names it (``"shocks growth"``).
    kind : str
        ``"offset"`` (added to the scenario's value, held over the projection),
        ``"factor"`` (a lognormal factor on it), ``"shock"`` (an AR(1) shock, averaged
        over the years that move a target) or ``"events"`` (years with the event).
    path : str
        The plan key (parameter path, shocked path) or the disruption's name.
    unit : str
        The plan key's file unit (``"%/yr"``), or ``"factor"``/``"events"``.
    first : int
        Index (into the plan's years) of the first year the input moves anything (its
        path's first projected year, or the year its draws start if later).
    """

    id: str
    source: str
    kind: str
    path: str
    unit: str
    first: int

    def label(self, lang: str, years: str = "") -> str:
        """What the input is, with the years a shock is averaged over (``"2025-2030"``)."""
        w = WORDS[lang]
        if self.kind == "events":
            return f"{w['disruption'].format(name=self.path)}, {w['events'].format(years=years)}"
        kind = "shock_year" if self.kind == "shock" and "-" not in years else self.kind
        return f"{path_name(self.path, lang)}, {w[kind].format(years=years)}"

    def unit_text(self, lang: str) -> str:
        """The unit of the input's values ("points", "‰", ...)."""
        key = self.kind if self.kind in ("factor", "events") else self.unit
        vi, en = DEVIATION_UNITS.get(key, (key, key))
        return vi if lang == "vi" else en


def path_name(path: str, lang: str) -> str:
    """The name of a plan key that carries uncertainty (the key itself when unnamed)."""
    from .registry import SECTOR_LABELS

    i = 0 if lang == "vi" else 1
    section, _, rest = path.partition(".")
    if section in ("growth", "inflation") and rest in SECTOR_LABELS:
        sector = SECTOR_LABELS[rest][i]
        if section == "growth":
            return f"Tăng trưởng {sector.lower()}" if i == 0 else f"{sector} growth"
        return f"Lạm phát {sector.lower()}" if i == 0 else f"{sector} price inflation"
    if section == "indicators":
        var = BY_NAME.get(rest.split(".")[0])
        if var is not None:
            return (f"Tốc độ thay đổi {var.label_vi.lower()}" if i == 0
                    else f"Speed of change in {var.label_en.lower()}")
    return PATH_NAMES[path][i] if path in PATH_NAMES else path


@dataclasses.dataclass(frozen=True)
class Sample:
    """Every draw's sampled inputs and target metrics of one scenario's Monte Carlo.

    Attributes
    ----------
    scenario : str
    draws, seed : int
        The draws are the run's first ``draws`` (the same numbers as the run's own).
    metrics : numpy.ndarray, shape (draws, targets)
        Each target's metric (table units), as the feasibility table computes it.
    met : numpy.ndarray of bool, shape (draws, targets)
    columns : tuple of Column
    values : numpy.ndarray, shape (draws, targets, columns)
        Each input as it bears on each target (file units): a parameter's offset or
        factor; a shock's average over the years that move the target (from the
        shock's first year, or the year after a growth or change period starts, to the
        target year), in the target's region; the number of event years in those
        years. NaN where no year of the input moves the target.
    windows : numpy.ndarray of int, shape (targets, columns, 2)
        First and last year index of each input's years for each target.
    years : tuple of int
        The plan's years (calendar).
    relevant : numpy.ndarray of bool, shape (targets, columns)
        Whether the input's source moves the target at all: with common random numbers,
        removing a source the target does not depend on leaves every draw's metric
        exactly as it was (checked on the first ``RELEVANCE_DRAWS`` draws, and for a
        disruption on the draws up to the first with its event in the target's years),
        so a chance correlation with an unrelated input is never reported.
    """

    scenario: str
    draws: int
    seed: int
    metrics: np.ndarray
    met: np.ndarray
    columns: tuple
    values: np.ndarray
    windows: np.ndarray
    years: tuple
    relevant: np.ndarray

    def inputs(self, j: int) -> list[int]:
        """The columns that move target ``j`` and vary across draws."""
        out = []
        for c in range(len(self.columns)):
            v = self.values[:, j, c]
            if self.relevant[j, c] and np.all(np.isfinite(v)) and np.ptp(v) > 0:
                out.append(c)
        return out

    def years_text(self, j: int, c: int) -> str:
        """The years of input ``c`` for target ``j``: "2025-2030" (or one year)."""
        a, b = (self.years[int(i)] for i in self.windows[j, c])
        return f"{a}" if a == b else f"{a}-{b}"

    def label(self, j: int, c: int, lang: str) -> str:
        """Input ``c`` as it bears on target ``j``, in words."""
        return self.columns[c].label(lang, self.years_text(j, c))


def sample_inputs(results, scenario: str | None = None, *, draws: int = DRAWS,
                  seed: int | None = None) -> Sample:
    """Every draw's sampled inputs, recovered from their counter-based streams.

    The Monte Carlo draws each source from its own stream (seed, source, draw), so the
    kernel's own shock drawing (``kernels.montecarlo.draw_shocks``), run again for the
    same seed and draws with each source writing to a channel of its own, gives exactly
    what every source contributed to every draw; the target metrics come from the same
    draws (``montecarlo.target_draws``).

    Parameters
    ----------
    results : quyhoach.Results
        A simulated run (it needs the plan and its kernel inputs).
    scenario : str, optional
        Default: the first scenario.
    draws, seed : int
        The draws (the run's first ``draws``); seed defaults to the run's.

    Returns
    -------
    Sample

    Raises
    ------
    KeyError
        An unknown scenario.
    ValueError
        Results read back from files (their kernel inputs are not kept).
    """
    plan = results.plan
    name = scenario or results.scenarios[0]
    if name not in results.scenarios:
        from .errors import did_you_mean
        raise KeyError(f"no scenario '{name}'" + did_you_mean(name, results.scenarios))
    if plan is None or name not in results._runs:
        raise ValueError("the sampled inputs need a simulated run (quyhoach.simulate): "
                         "results read back from files do not keep the kernel inputs")
    run = results._runs[name]
    sc = plan.scenario(name)
    ua = montecarlo.uncertainty_arrays(plan, sc, results.baselines)
    seed = seed_of(results, seed)
    metrics = montecarlo.target_draws(plan, run.inputs, ua, draws=draws, seed=seed)
    met = np.zeros(metrics.shape, dtype=bool)
    for j, t in enumerate(plan.targets):
        met[:, j] = tg.is_met(t, metrics[:, j])
    columns, own = _own_channels(ua, sc, _first_years(plan, sc, results.baselines))
    windows = _windows(plan, columns)
    values = _input_values(run.inputs.rates.shape[:2], own, columns, windows,
                           montecarlo.target_arrays(plan)["t_region"], draws, seed)
    moves = _moves(plan, run.inputs, ua, metrics, seed, _check_draws(columns, values))
    relevant = np.array([[moves[col.source][j] for col in columns]
                         for j in range(len(plan.targets))], dtype=bool).reshape(
                             len(plan.targets), len(columns))
    return Sample(name, draws, seed, metrics, met, tuple(columns), values, windows,
                  tuple(int(y) for y in plan.years), relevant)


def _check_draws(columns: list[Column], values: np.ndarray) -> dict[str, int]:
    """Source name → the draws on which to check what it moves: ``RELEVANCE_DRAWS``
    (every draw of a parameter or a shock moves what it moves), and for a disruption
    up to the first draw with its event in each target's years."""
    out: dict[str, int] = {}
    for c, col in enumerate(columns):
        n = min(RELEVANCE_DRAWS, len(values))
        if col.kind == "events":
            seen = values[:, :, c] > 0
            first = np.where(seen.any(axis=0), seen.argmax(axis=0), 0)
            n = int(first.max()) + 1
        out[col.source] = max(out.get(col.source, 0), n)
    return out


def _moves(plan, inputs, ua: dict, metrics: np.ndarray, seed: int,
           check: dict[str, int]) -> dict[str, np.ndarray]:
    """Source name → whether removing it changes each target's metric in any of its
    first ``check[source]`` draws (bool per target)."""
    out = {}
    for source, reduced in without_each_source(ua):
        n = check.get(source, RELEVANCE_DRAWS)
        every = metrics[:n]
        fixed = montecarlo.target_draws(plan, inputs, reduced, draws=n, seed=seed)
        same = (fixed == every) | (np.isnan(fixed) & np.isnan(every))
        out[source] = ~np.all(same, axis=0)
    return out


def _first_years(plan, scenario, baselines) -> dict[str, int]:
    """Index of the first year each parameter path is projected (used)."""
    first = dict(first_projected_index(plan, baselines))
    for name in scenario.indicators:
        i = INDICATORS.index(name)
        first[f"indicators.{name}.speed"] = int(baselines.root.jump[L.H_INDICATOR + i]) + 1
    return first


def _own_channels(ua: dict, scenario, first: dict[str, int]) -> tuple[list[Column], dict]:
    """The sampled inputs, and uncertainty arrays in which each writes its own channel
    in file units: a parameter its variate (its factor less 1 when lognormal, on rates
    of 1), a shock group's member its AR(1) path, a disruption 1 in its event years.
    ``first``: the first projected year of each parameter path (a parameter's draw
    moves nothing before it)."""
    columns = []
    n_p, n_s, n_e = len(ua["p_key"]), len(ua["s_key"]), len(ua["e_key"])
    for p in range(n_p):
        path = str(ua["p_name"][p]).removeprefix("parameter ")
        mult = bool(ua["p_mult"][p])
        columns.append(Column(str(ua["p_name"][p]), str(ua["p_name"][p]),
                              "factor" if mult else "offset", path,
                              "factor" if mult else lever_unit(path, scenario),
                              max(1, first.get(path, 1))))
    groups = {f"shocks {g.name}": g for g in scenario.uncertainty.shocks}
    s_channel = np.zeros((n_s, 4), np.int64)
    s_factor = ua["s_factor"].copy()
    for q in range(n_s):
        source = str(ua["s_name"][q])
        for i, path in enumerate(groups[source].paths):
            s_channel[q, i] = len(columns)
            s_factor[q, i] /= _scale(path, scenario)  # kernel units → file units
            # averaged from the first year the path is projected: a shock drawn
            # earlier (an indicator's, over its history) moves nothing there
            columns.append(Column(f"shocks {path}", source, "shock", path,
                                  lever_unit(path, scenario),
                                  max(int(ua["s_first"][q]), first.get(path, 1))))
    e_columns = []
    for e in range(n_e):
        e_columns.append(len(columns))
        name = str(ua["e_name"][e])
        columns.append(Column(name, name, "events", name.removeprefix("disruption "),
                              "events", int(ua["e_first"][e])))
    width = max(len(columns), 4)  # the kernel's scratch holds a group of up to 4
    e_depth = np.zeros((n_e, width))
    e_depth[np.arange(n_e), e_columns] = 1.0
    own = dict(ua, p_channel=np.arange(n_p, dtype=np.int64), p_scale=np.ones(n_p),
               s_channel=s_channel, s_factor=s_factor, e_depth=e_depth,
               e_recovery=np.zeros(n_e, np.int64),  # the event year alone marks it
               active=np.arange(width, dtype=np.int64))
    return columns, own


def _scale(path: str, scenario) -> float:
    """Kernel value = file value × this."""
    if path.startswith("indicators."):
        return FORM_SCALE[scenario.indicators[path.split(".")[1]].form]
    return 0.01 if path in PERCENT else 1.0


def _windows(plan, columns: list[Column]) -> np.ndarray:
    """(first, last) year index of each input's years for each target: from the later
    of the input's first year and the first year that moves the target (the year after
    the start of a growth or change period; else the first projected year) to the
    target year."""
    from .kernels import montecarlo as mk

    out = np.zeros((len(plan.targets), len(columns), 2), np.int64)
    for j, t in enumerate(plan.targets):
        kind, start, end = tg.kernel_terms(t, plan.base_year)
        lo = start + 1 if kind in (mk.KIND_GROWTH, mk.KIND_CHANGE) else 1
        for c, col in enumerate(columns):
            out[j, c] = (max(lo, col.first), end)
    return out


def _input_paths(shape, own: dict, draws, seed: int):
    """Yield (draw, inputs): every input's value in every region and year of one draw,
    shape (regions, years, channels), file units (a factor's channel holds factor − 1).
    The array is reused: copy what is kept."""
    from .kernels import montecarlo as mk

    n_regions, n_years = shape
    width = own["e_depth"].shape[1]
    ones = np.ones((n_regions, n_years, width))  # a lognormal factor's channel: rate 1
    shocks = np.zeros((1, n_regions, n_years, width))
    work = np.zeros((4, width))
    region_work = np.zeros((n_regions, 8))
    region_state = np.zeros(n_regions, np.uint64)
    # every input in every region (its own channel here), read or not: as sampled
    everywhere = np.ones((n_regions, width), np.bool_)
    args = [everywhere if name == "region_reads" else own[name]
            for name in montecarlo.UNCERTAINTY_ARGS]
    for g in draws:
        mk.draw_shocks(g, np.uint64(seed), ones, *args, shocks, 0, work, region_work,
                       region_state)
        yield g, shocks[0]


def _input_values(shape, own: dict, columns, windows, t_region, draws: int,
                  seed: int) -> np.ndarray:
    """(draws, targets, columns): each input as it bears on each target (``Sample``)."""
    n_regions, n_years = shape
    n_c = len(columns)
    first, last = windows[:, :, 0], windows[:, :, 1]
    empty = first > last
    first = np.where(empty, last, first)
    count = (last - first + 1).astype(float)
    held = np.array([c.kind in ("offset", "factor") for c in columns])
    events = np.array([c.kind == "events" for c in columns])
    region = np.asarray(t_region)[:, None]
    col = np.arange(n_c)[None, :]
    out = np.empty((draws, len(windows), n_c))
    cum = np.zeros((n_regions, n_years + 1, own["e_depth"].shape[1]))
    for g, inputs in _input_paths(shape, own, range(draws), seed):
        np.cumsum(inputs, axis=1, out=cum[:, 1:])
        total = cum[region, last + 1, col] - cum[region, first, col]
        value = np.where(events, total, total / count)
        # a held parameter is the same in every year: read it, not an average
        value = np.where(held, inputs[region, last, col], value)
        out[g] = value
    factor = np.array([c.kind == "factor" for c in columns])
    out[:, :, factor] += 1.0
    out[:, empty] = np.nan
    return out


def write_sampled_inputs(results, scenario: str, path, *, metadata=None,
                         group_draws: int = 4096) -> int:
    """Write every draw's sampled inputs of one scenario's run to a Parquet file.

    The file sits beside the kept draws and has their keys: ``draw``, ``region`` (the
    province first), ``year``; then one float32 column per sampled input, named as
    ``Column.id`` (``"parameter growth.services"``, ``"shocks growth.industry_construction"``,
    ``"disruption pandemic"``), file units: a parameter's offset (held over the years it
    moves), a lognormal parameter's factor, a shock's value in that year, 1 in a
    disruption's event years. A draw's inputs join its outputs on (draw, region, year).
    They are recovered from the same counter-based streams as the run (``sample_inputs``),
    so the file does not depend on threads or chunk size.

    Parameters
    ----------
    results : quyhoach.Results
        A simulated run with draws.
    scenario : str
    path : str or pathlib.Path
        The file to write (its folder exists).
    metadata : dict of bytes, optional
        Schema metadata (the run's seed, engine version and hashes).
    group_draws : int
        Draws per row group.

    Returns
    -------
    int
        Rows written (draws × regions × years).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    plan = results.plan
    sc = plan.scenario(scenario)
    ua = montecarlo.uncertainty_arrays(plan, sc, results.baselines)
    columns, own = _own_channels(ua, sc, _first_years(plan, sc, results.baselines))
    shape = results._runs[scenario].inputs.rates.shape[:2]
    order = plan.regions.order(plan.province)
    index = np.array([len(order) - 1, *range(len(order) - 1)])  # the province first
    names = pa.array([order[i] for i in index]).dictionary_encode().dictionary
    n_regions, n_years = shape
    factor = np.array([c.kind == "factor" for c in columns], dtype=np.float32)
    fields = [c.id for c in columns]
    rows = 0
    block = np.empty((group_draws, n_regions, n_years, len(columns)), np.float32)
    with pq.ParquetWriter(path, _inputs_schema(fields, metadata), compression="zstd") as out:
        for start in range(0, results.draws, group_draws):
            n = min(group_draws, results.draws - start)
            for g, inputs in _input_paths(shape, own, range(start, start + n), results.seed):
                block[g - start] = inputs[index][:, :, : len(columns)]
            flat = (block[:n] + factor).reshape(-1, len(columns))
            table = {"draw": np.repeat(np.arange(start, start + n, dtype=np.int32),
                                       n_regions * n_years),
                     "region": pa.DictionaryArray.from_arrays(
                         np.tile(np.repeat(np.arange(n_regions, dtype=np.int32), n_years), n),
                         names),
                     "year": np.tile(plan.years.astype(np.int16), n * n_regions)}
            table.update({f: flat[:, c] for c, f in enumerate(fields)})
            out.write_table(pa.table(table, schema=_inputs_schema(fields, metadata)))
            rows += n * n_regions * n_years
    return rows


def _inputs_schema(fields: list[str], metadata):
    import pyarrow as pa

    return pa.schema([("draw", pa.int32()), ("region", pa.dictionary(pa.int32(), pa.string())),
                      ("year", pa.int16()), *((f, pa.float32()) for f in fields)],
                     metadata=metadata)


def _outcome(missed: float) -> str:
    """The rarer outcome, whose conditions are sought: the miss, or meeting it."""
    return "miss" if missed <= 0.5 else "met"


def miss_conditions(results, scenario: str | None = None, *, draws: int = DRAWS,
                    seed: int | None = None, sample: Sample | None = None,
                    min_cases: int = MIN_CASES) -> pd.DataFrame:
    """Where in the sampled inputs each target's misses concentrate: one PRIM box.

    For each target the draws' sampled inputs (``sample_inputs``) are searched for a
    box of one or two conditions (``quyhoach.prim.find_box``: peel 5 % a step, keep
    10 % of the draws) where the rarer outcome concentrates: the miss when the target
    is met in most draws, meeting it when it is missed in most (for an off-track target
    "missed mostly when ..." would hold almost everywhere; "met mostly when ..." says
    what it would take).

    Parameters
    ----------
    results : quyhoach.Results
        A simulated run.
    scenario : str, optional
        Default: the first scenario.
    draws, seed : int
        The draws (the run's first ``draws``); seed defaults to the run's.
    sample : Sample, optional
        Reuse a ``sample_inputs`` of the same scenario (draws and seed are then its).
    min_cases : int
        Fewer draws with the outcome: no condition is sought.

    Returns
    -------
    pandas.DataFrame
        One row per target: target_id, scenario, draws, missed (share of draws that
        miss), outcome (``"miss"``, ``"met"``, or ``""`` when none is sought), status
        (``"box"``; ``"always_met"``, ``"never_met"``, ``"too_few"``: no search;
        ``"diffuse"``: no box of one or two inputs concentrates the outcome),
        conditions (0-2), for each condition k = 1, 2: input_k (``Column.id``),
        lower_k and upper_k (the input's bounds in the box, file units; NaN: that side
        is open), unit_k (the input's unit, English), label_k_vi and label_k_en; then
        coverage (share of the draws with the outcome inside the box), density (share
        of the draws inside the box with the outcome), support (share of all draws
        inside the box), all 0-1 and NaN without a box; text_vi and text_en (the box,
        or why there is none, in words).
    """
    from . import prim

    sample = sample or sample_inputs(results, scenario, draws=draws, seed=seed)
    rows = []
    for j, t in enumerate(results.plan.targets):
        rows.append(_condition_row(sample, j, t, min_cases, prim))
    return pd.DataFrame(rows)


def _condition_row(sample: Sample, j: int, t, min_cases: int, prim) -> dict:
    n = sample.draws
    miss = ~sample.met[:, j]
    missed = float(miss.mean())
    row: dict = {"target_id": t.id, "scenario": sample.scenario, "draws": n,
                 "missed": missed, "outcome": "", "status": "", "conditions": 0}
    for k in (1, 2):
        row.update({f"input_{k}": "", f"lower_{k}": np.nan, f"upper_{k}": np.nan,
                    f"unit_{k}": "", f"label_{k}_vi": "", f"label_{k}_en": ""})
    row.update(coverage=np.nan, density=np.nan, support=np.nan)
    if not miss.any() or miss.all():
        status = "always_met" if not miss.any() else "never_met"
        row.update(status=status, **{f"text_{lang}": WORDS[lang][status]
                                     for lang in WORDS})
        return row
    outcome = _outcome(missed)
    cases = miss if outcome == "miss" else ~miss
    row["outcome"] = outcome
    if cases.sum() < min_cases:
        row.update(status="too_few", **{f"text_{lang}": WORDS[lang]["too_few"].format(
            what=WORDS[lang][f"too_few_{outcome}"], n=int(cases.sum()), draws=n)
            for lang in WORDS})
        return row
    used = sample.inputs(j)
    own = _own_inputs(t, [sample.columns[c] for c in used])
    box = prim.find_box(sample.values[:, j, used], cases, prefer=own) if used else None
    base = float(cases.mean())
    if box is None or not box.restricted or box.density < base + MIN_LIFT * (1 - base):
        row.update(status="diffuse", **{f"text_{lang}": WORDS[lang]["diffuse"].format(
            what=WORDS[lang][f"diffuse_{outcome}"]) for lang in WORDS})
        return row
    row.update(status="box", conditions=len(box.restricted), coverage=box.coverage,
               density=box.density, support=box.support)
    phrases: dict[str, list[str]] = {lang: [] for lang in WORDS}
    for k, i in enumerate(box.restricted, start=1):
        c = used[i]
        col = sample.columns[c]
        lo = float(box.lower[i]) if np.isfinite(box.lower[i]) else np.nan
        hi = float(box.upper[i]) if np.isfinite(box.upper[i]) else np.nan
        row.update({f"input_{k}": col.id, f"lower_{k}": lo, f"upper_{k}": hi,
                    f"unit_{k}": col.unit})
        for lang in WORDS:
            label = sample.label(j, c, lang)
            row[f"label_{k}_{lang}"] = label
            phrases[lang].append(f"{label} {_bounds(lo, hi, col, lang)}")
    for lang, w in WORDS.items():
        row[f"text_{lang}"] = w[outcome].format(
            conditions=w["and"].join(phrases[lang]), coverage=percent(box.coverage, lang),
            density=percent(box.density, lang), base=percent(base, lang))
    return row


def _own_inputs(target, columns: list[Column]) -> list[int]:
    """The inputs on the plan keys that drive the target's indicator (its lever, its
    own speed): preferred among boxes about as good."""
    keys = set(LEVERS.get(target.indicator, ()))
    keys.add(f"indicators.{target.indicator}.speed")
    return [i for i, col in enumerate(columns) if col.path in keys]


def _bounds(lo: float, hi: float, col: Column, lang: str) -> str:
    """"at least 1.2 points", "between -2 and 1 points", ... (NaN: an open side)."""
    w = WORDS[lang]
    u = col.unit_text(lang)
    lo_text, hi_text = (f"{_value(x, col, lang)} {u}".strip() for x in (lo, hi))
    if not math.isnan(lo) and not math.isnan(hi):  # the unit once, after the range
        return w["between"].format(lo=_value(lo, col, lang), hi=hi_text)
    if not math.isnan(lo):
        return w["at_least"].format(lo=lo_text)
    return w["at_most"].format(hi=hi_text)


def _value(x: float, col: Column, lang: str) -> str:
    """A bound as the committee writes numbers (a count of years as a whole number)."""
    if math.isnan(x):
        return ""
    if col.kind == "events":
        return f"{x:.0f}"
    return input_number(x, lang)


def input_number(x: float, lang: str) -> str:
    """An input's value: as ``report.number``, but a small one keeps two significant
    digits (0,012 logit points, not 0,01)."""
    if math.isfinite(x) and 0 < abs(x) < 0.1:
        return grouped(x, 1 - math.floor(math.log10(abs(x))), lang)
    return number(x, lang)


def tornado(results, target_id: str, scenario: str | None = None, *, draws: int = DRAWS,
            seed: int | None = None, sample: Sample | None = None,
            tail: float = TAIL) -> pd.DataFrame:
    """Each sampled input's effect on one target's metric: the metric's mean over the
    draws where the input lies in its lowest tenth, and in its highest tenth.

    The other inputs keep their own draws (they are independent of this one, except
    the members of one shock group, which move with their correlation), so the
    difference is the input's effect on average over everything else.

    Parameters
    ----------
    results : quyhoach.Results
        A simulated run.
    target_id : str
    scenario : str, optional
        Default: the first scenario.
    draws, seed : int
        As ``sample_inputs``; ignored with ``sample``.
    sample : Sample, optional
        Reuse a ``sample_inputs`` of the same scenario.
    tail : float
        Share of draws in each tail (0 < tail < 0.5). An input with a run of equal
        values (a disruption that most draws never see) is split at that value.

    Returns
    -------
    pandas.DataFrame
        One row per input that varies, largest effect first: input, source, label_vi,
        label_en, unit_vi, unit_en (the input's), input_low and input_high (the input's
        values bounding its tails), metric_low and metric_high (the target's metric
        averaged over each tail, target units), effect (``metric_high - metric_low``),
        se (its Monte Carlo standard error), noise (``|effect| < 2 se``), n_low,
        n_high (draws in each tail). ``attrs`` holds target_id, scenario, draws, mean
        (the metric's mean over every draw) and missed (share of draws that miss).
    """
    if not 0.0 < tail < 0.5:
        raise ValueError(f"tail must lie strictly between 0 and 0.5, got {tail}")
    ids = [t.id for t in results.plan.targets]
    if target_id not in ids:
        from .errors import did_you_mean
        raise KeyError(f"no target '{target_id}'" + did_you_mean(target_id, ids))
    sample = sample or sample_inputs(results, scenario, draws=draws, seed=seed)
    j = ids.index(target_id)
    metric = sample.metrics[:, j]
    rows = []
    for c in sample.inputs(j):
        x = sample.values[:, j, c]
        split = _tails(x, tail)
        if split is None:
            continue
        low, high, x_low, x_high = split
        a, b = metric[low & np.isfinite(metric)], metric[high & np.isfinite(metric)]
        if len(a) < 2 or len(b) < 2:
            continue
        col = sample.columns[c]
        effect = float(b.mean() - a.mean())
        se = float(math.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b)))
        rows.append({"input": col.id, "source": col.source,
                     "label_vi": sample.label(j, c, "vi"), "label_en": sample.label(j, c, "en"),
                     "unit_vi": col.unit_text("vi"), "unit_en": col.unit_text("en"),
                     "input_low": x_low, "input_high": x_high,
                     "metric_low": float(a.mean()), "metric_high": float(b.mean()),
                     "effect": effect, "se": se, "noise": abs(effect) < NOISE_SE * se,
                     "n_low": len(a), "n_high": len(b)})
    columns = ["input", "source", "label_vi", "label_en", "unit_vi", "unit_en", "input_low",
               "input_high", "metric_low", "metric_high", "effect", "se", "noise", "n_low",
               "n_high"]
    df = pd.DataFrame(rows, columns=columns).astype({"noise": bool, "n_low": np.int64,
                                                     "n_high": np.int64})
    df = df.reindex(df["effect"].abs().sort_values(ascending=False).index).reset_index(drop=True)
    finite = metric[np.isfinite(metric)]
    df.attrs.update(target_id=target_id, scenario=sample.scenario, draws=sample.draws,
                    mean=float(finite.mean()) if len(finite) else np.nan,
                    missed=float((~sample.met[:, j]).mean()))
    return df


def _tails(x: np.ndarray, tail: float):
    """(low mask, high mask, low bound, high bound) of an input's two tails, or None
    when it has no two sides: at or below its ``tail`` quantile and at or above its
    ``1 - tail`` quantile; where a run of equal values spans both, split at it."""
    lo, hi = np.quantile(x, [tail, 1.0 - tail])
    if lo < hi:
        return x <= lo, x >= hi, float(lo), float(hi)
    if (x > lo).any():
        return x <= lo, x > lo, float(lo), float(x[x > lo].min())
    if (x < lo).any():
        return x < lo, x >= lo, float(x[x < lo].max()), float(lo)
    return None
