"""Convert a validated plan and its history into the kernel's arrays — in one place.

Each block starts from its own jump-off year: the last year, up to the plan's last
actual year, in which the inputs observe it. Years up to the jump-off are history and
stay fixed in every draw; a scenario must give assumptions for every later year.

The economy is pinned year by year: observed real growth fixes real GRDP, observed
nominal GRDP (or GRDP per capita × population) fixes the price level, and an observed
structure fixes the split by sector. A year without observed growth is projected, and
a later observed level re-anchors the path.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import InputDataError, PlanError, Problem, Problems, ProblemsError
from .inputs import History
from .kernels import projection as k
from .layout import constants
from .periods import describe_missing
from .plan import Plan, Scenario
from .regions import MODE_ABSENT, MODE_CHILDREN, MODE_STEP, Regions
from .registry import (
    BLOCK_OF_HISTORY,
    BLOCKS,
    HISTORY,
    INDICATORS,
    PARAMETER_BY_PATH,
    PARAMETERS,
    SECTORS,
    VARIABLE_INDEX,
    VARIABLES,
)

FORM_CODES = {"points": k.FORM_POINTS, "proportional": k.FORM_PROPORTIONAL,
              "gap_closing": k.FORM_GAP_CLOSING, "logistic": k.FORM_LOGISTIC}
# Speed in file units → kernel units, by form.
FORM_SCALE = {"points": 0.01, "proportional": 0.01, "gap_closing": 0.01, "logistic": 1.0}

LAYOUT = constants()  # the kernels' index layout, as the registry defines it


def _channel_index(prefix: str, items: list[tuple[str, str]]) -> dict[str, int]:
    """Name → kernel channel for (name, channel) pairs; the members of a family (the four
    sectors, the bounded indicators) take consecutive channels in declaration order."""
    out: dict[str, int] = {}
    members: dict[str, int] = {}
    for name, channel in items:
        if channel:
            i = members.get(channel, 0)
            out[name] = LAYOUT[f"{prefix}_{channel.upper()}"] + i
            members[channel] = i + 1
    return out


CHANNELS = _channel_index("C", [(p.path, p.channel) for p in PARAMETERS])
PERCENT = {path for path in CHANNELS if PARAMETER_BY_PATH[path].to_engine != 1.0}
HISTORY_CHANNELS = _channel_index("H", [(h.indicator, h.channel) for h in HISTORY])
# Inputs in percent that the kernel holds as fractions.
SHARE_INPUTS = tuple(h.indicator for h in HISTORY if h.channel and h.scale == 0.01)
# The parameters whose use starts after each history series' jump-off year.
BLOCK_PARAMETERS = {h.indicator: tuple(p.path for p in PARAMETERS if h.channel in p.follows)
                    for h in HISTORY if h.channel and h.channel != "indicator"}
BUDGET_PARTS = ("budget_domestic", "budget_import_export", "budget_land_use")
BLOCK_INDEX = {b.name: i for i, b in enumerate(BLOCKS)}
ALL_BLOCKS = frozenset(b.name for b in BLOCKS)


def _aggregation() -> tuple[np.ndarray, ...]:
    """The kernel's view of the registry's ``Parent`` rules and block output ranges."""
    codes = {"sum": k.AGG_SUM, "ratio": k.AGG_RATIO, "growth": k.AGG_GROWTH,
             "weighted": k.AGG_WEIGHTED}
    n = len(VARIABLES)
    rule, a, b = (np.zeros(n, dtype=np.int64) for _ in range(3))
    scale = np.ones(n)
    for i, v in enumerate(VARIABLES):
        rule[i] = codes[v.parent.rule]
        of = [VARIABLE_INDEX[name] for name in v.parent.of] + [0, 0]
        a[i], b[i] = of[0], of[1]
        scale[i] = v.parent.scale
    ranges, first = np.zeros((len(BLOCKS), 2), dtype=np.int64), 0
    for i, block in enumerate(BLOCKS):
        ranges[i] = first, first + len(block.outputs)
        first += len(block.outputs)
    return ranges, rule, a, b, scale


BLOCK_RANGES, AGG_RULE, AGG_A, AGG_B, AGG_SCALE = _aggregation()


@dataclass
class Baseline:
    """What history fixes, shared by every scenario of a plan.

    Attributes
    ----------
    growth_actual : float64[n_years]
        Observed real GRDP growth (fraction), NaN for projected years.
    nominal_actual : float64[n_years]
        Observed GRDP at current prices (billion VND) in the years after the base year,
        NaN where not observed.
    nominal_derived : bool[n_years]
        Where ``nominal_actual`` is GRDP per capita × population, not a GRDP figure.
    per_capita_actual : float64[n_years]
        Observed GRDP per capita (million VND) in actual years whose population is not
        observed, NaN elsewhere: it pins GRDP per capita, and nominal GRDP follows the
        projected population.
    anchor_shares : float64[n_years, 4]
        Observed structure at current prices (fractions), NaN rows where none.
    grdp0 : float
        Base-year GRDP at current prices, billion VND.
    hist : float64[n_years, N_HISTORY]
        Observed levels (fractions for shares), NaN where not observed.
    jump : int64[N_HISTORY]
        Index of each block's jump-off year; -1 when the inputs lack the block.
    interpolated : bool[n_years, N_HISTORY]
        Levels filled between two observations (not observed themselves).
    first_structure_year : int
        First year with an observed sector structure; sector detail before it is not
        reported.
    notes : list of str
        Everything the engine assumed, in words, for the results manifest.
    """

    growth_actual: np.ndarray
    nominal_actual: np.ndarray
    nominal_derived: np.ndarray
    per_capita_actual: np.ndarray
    anchor_shares: np.ndarray
    grdp0: float
    hist: np.ndarray
    jump: np.ndarray
    interpolated: np.ndarray
    first_structure_year: int
    notes: list = field(default_factory=list)
    blocks: frozenset = ALL_BLOCKS  # the blocks projected in this region

    @property
    def growth_start(self) -> int:
        """Index of the first year whose real growth is projected (not observed)."""
        missing = np.flatnonzero(np.isnan(self.growth_actual[1:]))
        return int(missing[0]) + 1 if missing.size else len(self.growth_actual)


@dataclass
class Baselines:
    """What history fixes in every region of a plan, shared by its scenarios.

    Attributes
    ----------
    regions : list of str
        Region ids in kernel order: the members, then the province.
    parts : list of Baseline
        One per region, in the same order.
    structure : quyhoach.regions.Regions
    notes : list of str
        Everything the engine assumed, in words (a member's prefixed with its name).
    """

    regions: list
    parts: list
    structure: Regions
    notes: list

    @property
    def root(self) -> Baseline:
        """The province's own baseline."""
        return self.parts[-1]

    @property
    def growth_start(self) -> int:
        """First year (index) whose real growth is projected in some region."""
        return min((b.growth_start for b in self.parts if "economy" in b.blocks),
                   default=len(self.root.hist))  # no economy: never

    @property
    def first_structure_year(self) -> int:
        """First year with an observed sector structure wherever the economy is projected."""
        return max((b.first_structure_year for b in self.parts if "economy" in b.blocks),
                   default=self.root.first_structure_year)


@dataclass(frozen=True)
class KernelInputs:
    """Everything ``simulate_paths`` takes for one scenario, except shocks and ``out``.

    Arrays have a leading region axis (kernel order: members, then the province),
    except the bounded indicators' forms and bounds, common to every region.
    """

    rates: np.ndarray
    growth_actual: np.ndarray
    nominal_actual: np.ndarray
    per_capita_actual: np.ndarray
    anchor_shares: np.ndarray
    grdp0: np.ndarray
    hist: np.ndarray
    jump: np.ndarray
    ind_form: np.ndarray
    ind_lower: np.ndarray
    ind_upper: np.ndarray
    mode: np.ndarray
    child_ptr: np.ndarray
    child_idx: np.ndarray

    @classmethod
    def one_region(cls, rates, growth_actual, nominal_actual, per_capita_actual,
                   anchor_shares, grdp0, hist, jump, ind_form, ind_lower, ind_upper):
        """Inputs of a province-wide plan from its arrays without the region axis."""
        return cls(rates[None], growth_actual[None], nominal_actual[None],
                   per_capita_actual[None], anchor_shares[None], np.array([float(grdp0)]),
                   hist[None], jump[None], ind_form, ind_lower, ind_upper,
                   Regions().mode(), *Regions().children())

    def kernel_args(self) -> tuple:
        """What the kernels take after ``rates`` and the shocks, in their order."""
        return (self.growth_actual, self.nominal_actual, self.per_capita_actual,
                self.anchor_shares, self.grdp0, self.hist, self.jump, self.ind_form,
                self.ind_lower, self.ind_upper, self.mode, BLOCK_RANGES, self.child_ptr,
                self.child_idx, AGG_RULE, AGG_A, AGG_B, AGG_SCALE)


def build_baselines(plan: Plan, history: History) -> Baselines:
    """Every region's baseline (kernel order), with every problem of every region.

    A member's history is its rows of ``history.csv`` (``region`` column); it need only
    cover the blocks projected by member (``regions.blocks``).
    """
    structure = plan.regions
    order = structure.order(plan.province)
    problems = Problems(str(plan.inputs_dir / "history.csv"))
    groups = {m.id: m.parts for m in structure.members if m.parts}
    for region in history.regions:
        if region in groups:
            problems.add(f"region {region}", "rows for a group of members: its figures are "
                         f"the sums of its parts ({', '.join(groups[region])}); give the "
                         "parts' rows instead")
        elif region not in structure.ids:
            problems.add(f"region {region}", "rows for a region the plan does not declare"
                         + (f"; its members are {', '.join(structure.ids)}" if structure.ids
                            else "; add it to [[regions.members]] or remove the rows"))
    parts: list[Baseline] = []
    notes: list[str] = []
    for r, region in enumerate(order):
        root = r == len(order) - 1
        own = history if root else history.for_region(region)
        try:
            part = build_baseline(plan, own, frozenset(structure.stepped(r)))
        except ProblemsError as exc:
            problems.items.extend(exc.problems if root else
                                  [Problem(f"{p.where} [region {region}]", p.message)
                                   for p in exc.problems])
            continue
        if root and "population" in structure.blocks:
            _pin_members(plan, own, part)
        parts.append(part)
        name = "" if root else f"{structure.name(region, 'en')}: "
        notes.extend(name + note for note in part.notes)
    problems.raise_if_any(InputDataError)
    _members_have_what_the_province_has(plan, history, order, parts, structure, problems)
    if structure.members:
        notes.extend(_members_against_province(plan, history, structure))
    return Baselines(order, parts, structure, notes)


def _members_have_what_the_province_has(plan: Plan, history: History, order: list[str],
                                        parts: list, structure: Regions,
                                        problems: Problems) -> None:
    """A series the province observes is its members' sum where they project its block,
    so each of them needs its own jump-off figure (else the sum would be blank)."""
    years = range(plan.base_year, plan.last_actual_year + 1)
    observed = {name for name in HISTORY_CHANNELS
                if any(y in years for y in history.series(name))}
    for r, region in enumerate(order[:-1]):
        stepped = set(structure.stepped(r))
        for name, h in HISTORY_CHANNELS.items():
            if BLOCK_OF_HISTORY[name] in stepped and name in observed \
                    and parts[r].jump[h] < 0:
                problems.add(f"{name} [region {region}]", (
                    f"missing base-year data: no {name} figure for {region} in "
                    f"{plan.base_year}-{plan.last_actual_year}, but the "
                    f"{BLOCK_OF_HISTORY[name]} block is projected by member, so the "
                    f"province's figure is its members' sum; add a row with region "
                    f"'{region}' to the inputs, or an [[assumed_data]] entry with "
                    f"region = \"{region}\""))
    problems.raise_if_any(InputDataError)


def _pin_members(plan: Plan, history: History, part: Baseline) -> None:
    """The province's own observed population, where it has one, pins its members' sum:
    the kernel scales the members whose population it projects that year."""
    h = LAYOUT["H_POPULATION"]
    hist, jump, interpolated = _history_levels(plan, history, Problems(""), [],
                                               frozenset({"population"}))
    part.hist[:, h], part.jump[h], part.interpolated[:, h] = hist[:, h], jump[h], \
        interpolated[:, h]
    if jump[h] >= 0:
        part.notes.append(f"population to {plan.base_year + int(jump[h])}: the province's "
                          "observed figures pin the sum of its members; members whose "
                          "population is projected in a year are scaled to it (those with "
                          "their own figure keep it).")


def _members_against_province(plan: Plan, history: History, structure: Regions) -> list[str]:
    """Where the province's own history and its members' sum disagree, say so: the
    province's figures for a block projected by member are the members' sum."""
    notes = []
    for h in HISTORY:
        var = VARIABLES[VARIABLE_INDEX[h.pins[0]]]
        if BLOCK_OF_HISTORY[h.indicator] not in structure.blocks or var.parent.rule != "sum" \
                or h.derived_from:
            continue
        own = history.series(h.indicator)
        members = [history.for_region(m).series(h.indicator) for m in structure.leaf_ids]
        for year in sorted(own):
            if not plan.base_year <= year <= plan.last_actual_year \
                    or not all(year in m for m in members):
                continue
            total = sum(m[year] for m in members)
            gap = total / own[year] - 1.0 if own[year] else 0.0
            if abs(gap) > 0.001:
                notes.append(f"{h.indicator} {year}: the members sum to {total:g} {h.unit}, the "
                             f"province's own figure is {own[year]:g} ({gap:+.2%}); the "
                             "province's figure in the results is the members' sum.")
    return notes


def build_baseline(plan: Plan, history: History, blocks: frozenset = ALL_BLOCKS) -> Baseline:
    """Read the jump-off state of one region's blocks from its history (actual years).

    Parameters
    ----------
    blocks : frozenset of str
        The blocks projected in the region; the others are not read.
    """
    problems = Problems(str(plan.inputs_dir / "history.csv"))
    notes: list[str] = []
    n = len(plan.years)
    economy = "economy" in blocks
    gdp = history.series("grdp_nominal")
    if economy and plan.base_year not in gdp:
        problems.add("grdp_nominal", f"missing base-year data: no GRDP at current prices for "
                     f"{plan.base_year} (billion VND); add a row or change plan.base_year")
    growth_actual = _growth_actual(plan, history, notes) if economy else np.full(n, np.nan)
    if economy:
        anchor, first_structure = _anchor_shares(plan, history, problems, notes)
    else:
        anchor, first_structure = np.full((n, len(SECTORS)), np.nan), plan.base_year
    hist, jump, interpolated = _history_levels(plan, history, problems, notes, blocks)
    _check_budget_split(plan, history, jump, problems)
    problems.raise_if_any(InputDataError)
    if economy:
        nominal, derived, per_capita = _nominal_actual(
            plan, history, hist[:, LAYOUT["H_POPULATION"]], notes)
    else:
        nominal, derived, per_capita = np.full(n, np.nan), np.zeros(n, bool), np.full(n, np.nan)
    grdp0 = float(gdp[plan.base_year]) if economy else np.nan
    return Baseline(growth_actual, nominal, derived, per_capita, anchor, grdp0, hist, jump,
                    interpolated, first_structure, notes, frozenset(blocks))


def _check_budget_split(plan: Plan, history: History, jump: np.ndarray, problems) -> None:
    """A split budget: domestic revenue given, every part ending in the same year, the total
    observed no later than its parts, and the parts adding up to it where both are."""
    end = {name: int(jump[HISTORY_CHANNELS[name]]) for name in BUDGET_PARTS}
    given = {name: j for name, j in end.items() if j >= 0}
    if not given:
        return
    if "budget_domestic" not in given:
        problems.add(", ".join(given), "budget components without budget_domestic: give the "
                     "domestic revenue too, or no component (the total alone)")
        return
    years = {plan.base_year + j for j in given.values()}
    if len(years) > 1:
        problems.add(", ".join(given), "the budget components end in different years ("
                     + ", ".join(f"{n} {plan.base_year + j}" for n, j in given.items())
                     + "); give every component for the same years")
    last = max(years)
    total = history.series("budget_revenue")
    later = [y for y in total if last < y <= plan.last_actual_year]
    if later:
        problems.add("budget_revenue", f"observed in {later} but its components only to {last}; "
                     "add the components for those years or remove the total")
    parts = {name: history.series(name) for name in given}
    for y, value in sorted(total.items()):
        if all(y in series for series in parts.values()):
            added = sum(series[y] for series in parts.values())
            if abs(added - value) > 0.005 * abs(value):
                problems.add(f"budget_revenue {y}", f"{value:g} billion VND, but its components "
                             f"add up to {added:g}; the total must be their sum")


def _growth_actual(plan: Plan, history: History, notes: list) -> np.ndarray:
    """Observed real GRDP growth (fraction) through the last actual year, NaN elsewhere.

    A year without an observation is projected from the scenario's sector growth.
    """
    base, last = plan.base_year, plan.last_actual_year
    growth_actual = np.full(len(plan.years), np.nan)
    observed = history.series("grdp_growth")
    absent = [y for y in range(base + 1, last + 1) if y not in observed]
    if absent:
        notes.append(f"Real GRDP growth is not observed in {', '.join(map(str, absent))}: "
                     "projected from the scenario's sector growth (those years vary by "
                     "draw; a later observed GRDP level re-anchors the price level).")
    for y in range(base + 1, last + 1):
        if y in observed:
            growth_actual[y - base] = observed[y] / 100.0
    return growth_actual


def _nominal_actual(plan: Plan, history: History, population: np.ndarray, notes: list):
    """Observed GRDP at current prices per actual year after the base year (billion VND).

    A GRDP figure is used as it is; otherwise GRDP per capita (million VND) × average
    population (thousand persons), where both are known for the year.

    Returns
    -------
    nominal : float64[n_years]
        NaN where neither is observed (and in the base year, which ``grdp0`` holds).
    derived : bool[n_years]
        True where the figure is GRDP per capita × population.
    per_capita : float64[n_years]
        GRDP per capita where the population of the year is not observed (the kernel
        multiplies it by the projected population).
    """
    base, last = plan.base_year, plan.last_actual_year
    nominal = np.full(len(plan.years), np.nan)
    derived = np.zeros(len(plan.years), dtype=bool)
    per_capita_only = np.full(len(plan.years), np.nan)
    gdp, per_capita = history.series("grdp_nominal"), history.series("grdp_per_capita")
    used, unused = [], []
    for y in range(base + 1, last + 1):
        pop = population[y - base]
        if y in gdp:
            nominal[y - base] = gdp[y]
        elif y in per_capita and np.isfinite(pop):
            nominal[y - base] = per_capita[y] * pop  # million VND × thousand = billion VND
            derived[y - base] = True
            used.append(y)
        elif y in per_capita:
            per_capita_only[y - base] = per_capita[y]
            unused.append(y)
    if used:
        notes.append("GRDP at current prices in " + ", ".join(map(str, used)) + " = GRDP per "
                     "capita × average population (observed figures; the price level of "
                     "those years follows them).")
    if unused:
        notes.append("GRDP per capita of " + ", ".join(map(str, unused)) + " is observed but "
                     "not the population: GRDP at current prices there is the observed per "
                     "capita figure × the projected population.")
    return nominal, derived, per_capita_only


def _anchor_shares(plan: Plan, history: History, problems: Problems, notes: list):
    """Observed sector structure (fractions) per actual year, and the first such year."""
    base, last = plan.base_year, plan.last_actual_year
    anchor = np.full((len(plan.years), len(SECTORS)), np.nan)
    share_series = [history.series(f"share_{s}") for s in SECTORS]
    structure_years = sorted(set.intersection(*(set(s) for s in share_series)))
    for y in structure_years:
        row = np.array([s[y] for s in share_series])
        if abs(row.sum() - 100.0) > 1.0:
            problems.add(f"share_* {y}", f"sector shares sum to {row.sum():.2f}, expected 100 "
                         "(percent of GRDP at current prices); check the four share rows")
        elif base <= y <= last:
            anchor[y - base] = row / row.sum()
    usable = [y for y in structure_years if base <= y <= last]  # a bad sum is reported above
    if not usable:
        problems.add("share_*", f"missing base-year data: no complete sector structure "
                     f"(share_agriculture, share_industry_construction, share_services, "
                     f"share_product_taxes) in {base}-{last}")
        return anchor, base
    if usable[0] != base:
        anchor[0] = anchor[usable[0] - base]
        notes.append(f"Base-year ({base}) GRDP split by sector with the {usable[0]} structure "
                     f"(first observed); sector detail before {usable[0]} is not reported.")
    return anchor, usable[0]


def _history_levels(plan: Plan, history: History, problems: Problems, notes: list,
                    blocks: frozenset = ALL_BLOCKS):
    """Observed levels per block (gaps filled) and each block's jump-off index; blocks
    not projected in the region are left out (jump-off -1)."""
    base, last = plan.base_year, plan.last_actual_year
    hist = np.full((len(plan.years), LAYOUT["N_HISTORY"]), np.nan)
    interpolated = np.zeros(hist.shape, dtype=bool)
    jump = np.full(LAYOUT["N_HISTORY"], -1, dtype=np.int64)
    spending = _spending_per_visitor(history)
    for name, h in HISTORY_CHANNELS.items():
        if BLOCK_OF_HISTORY[name] not in blocks:
            continue
        series = spending if name == "spending_per_visitor" else history.series(name)
        inside = {y: v for y, v in series.items() if base <= y <= last}
        if not inside:
            if name == "population":
                problems.add("population", f"missing base-year data: no population figure in "
                             f"{base}-{last} (thousand persons)")
            elif series:
                notes.append(f"{name}: no observation in {base}-{last} (latest "
                             f"{max(series)}); not projected. Add data or an [[assumed_data]] "
                             "entry in the plan.")
            continue
        if name == "population" and base not in inside:
            problems.add("population", f"missing base-year data: no population for {base}")
        scale = 0.01 if name in SHARE_INPUTS else 1.0
        obs = {y: v * scale for y, v in inside.items()}
        for y, v in obs.items():
            hist[y - base, h] = v
        _fill_gaps(hist[:, h], obs, base, name not in SHARE_INPUTS, name, notes)
        interpolated[:, h] = ~np.isnan(hist[:, h])
        interpolated[[y - base for y in obs], h] = False
        jump[h] = max(obs) - base
    return hist, jump, interpolated


def _fill_gaps(column: np.ndarray, obs: dict, base: int, geometric: bool, name: str,
               notes: list) -> None:
    """Fill the years between observations: geometric for levels, linear for shares.

    A level observed as 0 at either end is filled linearly (no geometric path
    starts or ends at 0).
    """
    years = sorted(obs)
    for a, b in zip(years, years[1:], strict=False):
        if b - a <= 1:
            continue
        va, vb = obs[a], obs[b]
        ratio = vb / va if geometric and va > 0 and vb > 0 else None
        for y in range(a + 1, b):
            w = (y - a) / (b - a)
            column[y - base] = va * ratio ** w if ratio is not None else va + w * (vb - va)
        gap = f"{a + 1}" if b - a == 2 else f"{a + 1}-{b - 1}"
        notes.append(f"{name} {gap} interpolated between the observed {a} and {b} values.")


def _spending_per_visitor(history: History) -> dict[int, float]:
    """Million VND per visit = tourism revenue (billion VND) × 1000 / visits."""
    revenue, visits = history.series("tourism_revenue"), history.series("tourists")
    return {y: revenue[y] * 1000.0 / visits[y] for y in revenue if visits.get(y)}


def kernel_inputs(plan: Plan, scenario: Scenario, baselines: Baselines) -> KernelInputs:
    """Turn one scenario's assumptions into kernel arrays for every region.

    A member takes the scenario's assumptions where its own table says nothing.

    Raises
    ------
    PlanError
        When a parameter lacks a value for a year the projection needs, an
        indicator's bounds leave out its last observed value, or a member changes an
        indicator's form or bounds (only its speed may differ).
    """
    problems = Problems(str(plan.path))
    parts = []
    for region, baseline in zip(baselines.regions, baselines.parts, strict=True):
        sc = scenario.in_region(region)
        try:
            parts.append(_region_inputs(plan, sc, baseline))
        except ProblemsError as exc:
            problems.items.extend(exc.problems)
    problems.raise_if_any(PlanError)
    forms = [p for p, b in zip(parts, baselines.parts, strict=True)
             if "indicators" in b.blocks] or parts[-1:]
    for p in forms[1:]:
        if not all(np.array_equal(a, b) for a, b in zip(p[-4:-1], forms[0][-4:-1], strict=True)):
            problems.add(f"scenarios.{scenario.name}.regions", "a member changes a bounded "
                         "indicator's form or bounds; members may change its speed only")
            problems.raise_if_any(PlanError)
    rates, jump = np.stack([p[0] for p in parts]), np.stack([p[-1] for p in parts])
    ind_form, ind_lower, ind_upper = forms[0][1:4]
    stacked = {name: np.stack([getattr(b, name) for b in baselines.parts]) for name in
               ("growth_actual", "nominal_actual", "per_capita_actual", "anchor_shares",
                "hist")}
    return KernelInputs(rates, stacked["growth_actual"], stacked["nominal_actual"],
                        stacked["per_capita_actual"], stacked["anchor_shares"],
                        np.array([b.grdp0 for b in baselines.parts]), stacked["hist"], jump,
                        ind_form, ind_lower, ind_upper, baselines.structure.mode(),
                        *baselines.structure.children(plan.base_year))


def _region_inputs(plan: Plan, scenario: Scenario, baseline: Baseline) -> tuple:
    """(rates, ind_form, ind_lower, ind_upper, jump) of one region."""
    problems = Problems(str(plan.path))
    rates = _channel_rates(plan, scenario, baseline, problems)
    for year, added in scenario.reclassification:
        rates[year - plan.base_year, LAYOUT["C_RECLASS"]] += added / 100.0
    rates[:, LAYOUT["C_FX"]] = _exchange_rate(plan, scenario, problems)
    jump = baseline.jump.copy()
    ind_form, ind_lower, ind_upper = _indicator_arrays(plan, scenario, baseline, rates, jump,
                                                       problems)
    problems.raise_if_any(PlanError)
    return rates, ind_form, ind_lower, ind_upper, jump


def _channel_rates(plan: Plan, scenario: Scenario, baseline: Baseline,
                   problems: Problems) -> np.ndarray:
    """Rates per year and channel (kernel units), zero before each block's projection."""
    n, base = len(plan.years), plan.base_year
    rates = np.zeros((n, LAYOUT["N_CHANNELS"]))
    for path, start in first_projected_index(plan, baseline).items():
        arr = scenario.values.get(path)
        need = np.zeros(n, dtype=bool)
        need[start:] = True
        if path.startswith("growth."):  # used only where real growth is not observed
            need &= np.isnan(baseline.growth_actual)
        if arr is None:
            default = PARAMETER_BY_PATH[path].default
            arr = np.full(n, np.nan if default is None else default)
        gap = need & np.isnan(arr)
        if gap.any():
            first = base + int(np.flatnonzero(gap)[0])
            problems.add(f"scenarios.{scenario.name}.{path}",
                         f"no value for {describe_missing(gap, base)}; the projection needs "
                         f"it in every year it projects from {base + start} (add or widen a "
                         f"period, e.g. \"{first}-{plan.horizon}\" = ...)")
            continue
        scale = 0.01 if path in PERCENT else 1.0
        rates[:, CHANNELS[path]] = np.where(need, arr * scale, 0.0)
    return rates


def _indicator_arrays(plan: Plan, scenario: Scenario, baseline: Baseline, rates, jump,
                      problems: Problems):
    """Form, lower and upper bound (fractions) of each saturating indicator; fills its
    speeds into ``rates`` and marks indicators the scenario does not model in ``jump``."""
    base = plan.base_year
    ind_form = np.zeros(LAYOUT["N_INDICATORS"], dtype=np.int64)
    ind_lower = np.zeros(LAYOUT["N_INDICATORS"])
    ind_upper = np.ones(LAYOUT["N_INDICATORS"])
    for i, name in enumerate(INDICATORS):
        h = LAYOUT["H_INDICATOR"] + i
        spec = scenario.indicators.get(name)
        where = f"scenarios.{scenario.name}.indicators.{name}"
        if spec is None or "indicators" not in baseline.blocks:
            jump[h] = -1  # not modelled in this scenario
            continue
        if jump[h] < 0:
            problems.add(where, f"missing base-year data: the inputs have no {name} figure in "
                         f"{base}-{plan.last_actual_year}; add one to history.csv or an "
                         "[[assumed_data]] entry, or remove the indicator")
            continue
        start = jump[h] + 1
        gap = np.isnan(spec.speed[start:])
        if gap.any():
            problems.add(f"{where}.speed", f"no value for {describe_missing(gap, base + start)}")
            continue
        _check_bounds_hold(where, spec, base + int(jump[h]), baseline.hist[jump[h], h] * 100.0,
                           problems)
        rates[start:, LAYOUT["C_INDICATOR"] + i] = spec.speed[start:] * FORM_SCALE[spec.form]
        ind_form[i] = FORM_CODES[spec.form]
        ind_lower[i], ind_upper[i] = spec.lower / 100.0, spec.upper / 100.0
    return ind_form, ind_lower, ind_upper


def _check_bounds_hold(where: str, spec, year: int, observed: float, problems) -> None:
    """An indicator's bounds must hold its last observed value: the kernel would clip it
    to a bound in the first projected year, a jump no assumption states."""
    if not spec.lower - 1e-9 <= observed <= spec.upper + 1e-9:
        side = f"above upper = {spec.upper:g}" if observed > spec.upper else \
            f"below lower = {spec.lower:g}"
        problems.add(where, f"the last observed value, {observed:g} % in {year}, lies {side}; "
                     "the bounds must contain the indicator's history (check lower and upper, "
                     "in percent)")


def first_projected_index(plan: Plan, baseline: Baseline | Baselines) -> dict[str, int]:
    """Index of the first year each parameter is used; absent when its block is not run.

    For all regions (``Baselines``): the earliest over the regions that project it.
    """
    if isinstance(baseline, Baselines):
        first: dict[str, int] = {}
        for part in baseline.parts:
            for path, i in first_projected_index(plan, part).items():
                first[path] = min(first.get(path, i), i)
        return first
    first = {}
    if "economy" in baseline.blocks:
        for s in SECTORS:
            first[f"growth.{s}"] = baseline.growth_start
            first[f"inflation.{s}"] = 1
    if "investment" in baseline.blocks:
        first["investment.icor"] = 1
    for name, params in BLOCK_PARAMETERS.items():
        j = baseline.jump[HISTORY_CHANNELS[name]]
        if j >= 0:
            for p in params:  # from the earliest jump-off of the series it drives
                first[p] = min(first.get(p, len(plan.years)), int(j) + 1)
    return {p: i for p, i in first.items() if i < len(plan.years)}


def _exchange_rate(plan: Plan, scenario: Scenario, problems: Problems) -> np.ndarray:
    """VND per USD per year, anchored at the reference year, moved by depreciation."""
    n = len(plan.years)
    if scenario.fx_reference is None:
        return np.full(n, np.nan)
    ref_year, level = scenario.fx_reference
    dep = scenario.values.get("exchange_rate.depreciation")
    if dep is None or np.isnan(dep[1:]).any():
        problems.add(f"scenarios.{scenario.name}.exchange_rate.depreciation",
                     f"needs a value (%/yr) for every year {plan.base_year + 1}-{plan.horizon}")
        return np.full(n, np.nan)
    log_step = np.log1p(dep[1:] / 100.0)  # step into year t from t-1
    cum = np.concatenate([[0.0], np.cumsum(log_step)])
    r = ref_year - plan.base_year
    return level * np.exp(cum - cum[r])


# Outputs built from several series: not modelled when any of them is not.
_BUILT_FROM = {
    "population_growth": ("population",),
    "population_urban": ("urbanization_rate", "population"),
    "population_rural": ("urbanization_rate", "population"),
    "grdp_per_capita": ("population",),
    "grdp_per_capita_usd": ("population",),
    "budget_revenue_share": ("budget_revenue",),
    "tourism_revenue": ("tourists", "spending_per_visitor"),
}


def unmodelled(inputs: KernelInputs, region: int = -1) -> set[str]:
    """Outputs a scenario does not project in a region (default: the province): the
    block is not modelled there, or its inputs lack the series it starts from.

    A split budget's total is modelled from its parts even without a total of its own.
    A province's figure formed from its members is modelled where theirs all are.
    """
    region = region % inputs.mode.shape[0]
    mode = inputs.mode[region]
    if (mode == MODE_CHILDREN).any():
        lo, hi = inputs.child_ptr[region], inputs.child_ptr[region + 1]
        below = set().union(*(unmodelled(inputs, int(c)) for c in inputs.child_idx[lo:hi, 0]))
    absent: set[str] = set()
    for b, block in enumerate(BLOCKS):
        if mode[b] == MODE_ABSENT:
            absent |= {v.name for v in block.outputs}
        elif mode[b] == MODE_CHILDREN:
            absent |= {v.name for v in block.outputs} & below
    absent |= {h.pins[0] for h in HISTORY if h.channel and mode[BLOCK_INDEX[
        BLOCK_OF_HISTORY[h.indicator]]] == MODE_STEP
        and inputs.jump[region, HISTORY_CHANNELS[h.indicator]] < 0}
    if "budget_domestic" not in absent:
        absent.discard("budget_revenue")
    return absent | {name for name, parts in _BUILT_FROM.items() if absent & set(parts)}
