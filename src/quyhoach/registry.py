"""The model, declared once as data: every block's parameters, outputs and history.

Each :class:`Block` says which plan keys it reads (:class:`Parameter`, in the file's
unit, with plausible and possible ranges), which kernel rate channels they fill, which
outputs it writes (:class:`Variable`: unit, table factor, labels, bounds, and how a
parent region gets it from its children) and which input indicators pin it
(:class:`HistoryChannel`). Everything else is derived from :data:`BLOCKS`: the order of
the kernel's outputs, rate channels and history channels (``kernels/layout.py`` is
generated from it: ``python -m quyhoach.layout``), the unit conversions, the label
tables and the validation of plan keys.

Inside the engine rates and shares are fractions (0.095); tables and plan files speak in
the planners' units (9.5 %), and ``Variable.factor`` converts one to the other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

SECTORS = ("agriculture", "industry_construction", "services", "product_taxes")
SECTOR_LABELS = {
    "agriculture": ("Nông, lâm nghiệp và thủy sản", "Agriculture, forestry and fishery"),
    "industry_construction": ("Công nghiệp - xây dựng", "Industry and construction"),
    "services": ("Dịch vụ", "Services"),
    "product_taxes": ("Thuế sản phẩm trừ trợ cấp sản phẩm", "Product taxes less subsidies"),
}


# ------------------------------------------------------------------------ outputs

@dataclass(frozen=True)
class Parent:
    """How a parent region gets an output from its children, in every draw.

    ``rule`` is ``"sum"`` (levels), ``"ratio"`` (``of[0] / of[1] × scale``, recomputed
    from the parent's sums), ``"growth"`` (of the parent's ``of[0]``) or ``"weighted"``
    (mean of the children weighted by their ``of[0]``).
    """

    rule: str
    of: tuple[str, ...] = ()
    scale: float = 1.0


SUM = Parent("sum")


def ratio(numerator: str, denominator: str, scale: float = 1.0) -> Parent:
    return Parent("ratio", (numerator, denominator), scale)


def growth_of(level: str) -> Parent:
    return Parent("growth", (level,))


def weighted_by(weight: str) -> Parent:
    return Parent("weighted", (weight,))


@dataclass(frozen=True)
class Variable:
    """One model output.

    Attributes
    ----------
    name : str
        Identifier used in plan files, tables and Parquet.
    unit : str
        Unit in which tables and plan files state values.
    factor : float
        Table value = engine value × factor (100 for shares and rates held as fractions).
    label_vi, label_en : str
        Labels for the steering committee's tables.
    kind : str
        ``"level"`` (a stock or flow that can grow), ``"share"`` (a percentage of a
        whole, bounded 0-100) or ``"rate"`` (a growth rate, %/yr).
    parent : Parent
        How a parent region forms it from its children.
    lower, upper : float
        Bounds in engine units: no draw, band or quantile lies outside them.
    """

    name: str
    unit: str
    factor: float
    label_vi: str
    label_en: str
    kind: str = "level"
    parent: Parent = SUM
    lower: float = 0.0
    upper: float = math.inf


def _level(name, unit, vi, en, parent=SUM) -> Variable:
    return Variable(name, unit, 1.0, vi, en, "level", parent)


def _share(name, unit, vi, en, parent) -> Variable:
    return Variable(name, unit, 100.0, vi, en, "share", parent, 0.0, 1.0)


def _rate(name, vi, en, of) -> Variable:
    return Variable(name, "%/yr", 100.0, vi, en, "rate", growth_of(of), -1.0)


# ------------------------------------------------------------------------ parameters

@dataclass(frozen=True)
class Parameter:
    """One year-keyed scenario assumption: its unit and the values it can take.

    Attributes
    ----------
    path : str
        Key in a scenario table, e.g. ``"growth.services"``.
    unit : str
        Unit in plan files.
    lower, upper : float
        Plausible range (file units). A value outside it is refused unless the planner
        confirms it (``confirm = ["growth.services"]`` in the scenario).
    minimum, maximum : float
        Possible range: a value outside it is refused, confirmed or not, because the
        model cannot give it a meaning (a fall of 100 % or more) or the arithmetic
        would overflow. ``minimum`` itself is excluded when ``open_minimum``.
    slip : tuple of (float, float), optional
        For rates in percent: a value below 1 whose hundredfold lies in this range
        (absolute values) may be a fraction written by mistake (0.095 for 9.5 %/yr).
        None where values are not in percent.
    typical : float
        A usual value, compared with when no other value of the parameter is there.
    channel : str
        The kernel rate channel it fills (``""``: none, the block reads it itself).
    follows : tuple of str
        The kernel history channels whose earliest jump-off year starts its use (empty:
        the economy's own rule).
    default : float, optional
        The value of a scenario that does not state it (None: it must be stated).
    """

    path: str
    unit: str
    lower: float
    upper: float
    minimum: float
    maximum: float
    open_minimum: bool = False
    slip: tuple[float, float] | None = None
    typical: float = 0.0
    channel: str = ""
    follows: tuple[str, ...] = ()
    default: float | None = None

    @property
    def percent(self) -> bool:
        """Whether values are rates in percent (fraction slips are possible)."""
        return self.slip is not None

    @property
    def to_engine(self) -> float:
        """Engine value = file value × this (fractions for percentages)."""
        return 0.01 if self.unit == "%/yr" else 1.0

    def possible(self, value: float) -> bool:
        """Whether the model can use ``value`` at all (confirmed or not)."""
        above_min = value > self.minimum if self.open_minimum else value >= self.minimum
        return above_min and value <= self.maximum


def _pct(path: str, lower: float, upper: float, slip: tuple, typical: float,
         channel: str = "", follows: tuple[str, ...] = ()) -> Parameter:
    """A rate in %/yr: nothing can fall by 100 % or more in a year."""
    return Parameter(path, "%/yr", lower, upper, -100.0, 500.0, True, slip, typical, channel,
                     follows)


# Sector growth (%/yr): plausible upper end, where a fraction slip would land, usual value.
_GROWTH = {"agriculture": (20.0, (1.0, 12.0), 4.0),
           "industry_construction": (40.0, (1.0, 30.0), 9.0),
           "services": (30.0, (1.0, 20.0), 7.0),
           "product_taxes": (40.0, (1.0, 25.0), 7.0)}


# ------------------------------------------------------------------------ history

@dataclass(frozen=True)
class HistoryChannel:
    """An input indicator (``history.csv``) that pins outputs in the years it observes.

    Attributes
    ----------
    indicator : str
        The indicator in ``history.csv``.
    unit : str
        The unit its rows must carry.
    scale : float
        Engine value = input value × scale.
    pins : tuple of str
        The outputs an observation fixes (directly) in its year.
    channel : str
        The kernel history channel it fills (``hist[t, H_<CHANNEL>]``); ``""`` for the
        economy's observations, which have arrays of their own.
    derived_from : tuple of str
        For a series computed from other input indicators (not an input row itself).
    possible : tuple of (float, float, bool), optional
        (lowest, highest, lowest excluded) a figure can be, in ``unit``, where the model
        needs narrower than its unit allows (``inputs.unit_range``): levels it grows
        geometrically and divides by must be positive.
    """

    indicator: str
    unit: str
    scale: float
    pins: tuple[str, ...]
    channel: str = ""
    derived_from: tuple[str, ...] = ()
    possible: tuple[float, float, bool] | None = None


POSITIVE = (0.0, 1e12, True)  # a level the model grows geometrically and divides by
AMOUNT = (0.0, 1e12, False)


# ------------------------------------------------------------------------ blocks

@dataclass(frozen=True)
class Block:
    """One model block: what it reads, what it writes, what history pins it.

    ``rates`` lists the kernel rate channels the block owns, in layout order, as
    (name, width): a parameter with ``channel = name`` fills it (one per member for a
    family such as the four sectors); channels without a parameter (reclassification,
    the exchange-rate level) are filled by the block's own assembly. ``levels`` lists
    its kernel history channels the same way. ``reads`` names the other blocks' rate
    channels its step reads (a region draws shocks only for the channels its blocks
    read).
    """

    name: str
    label_vi: str
    label_en: str
    parameters: tuple[Parameter, ...]
    rates: tuple[tuple[str, int], ...]
    outputs: tuple[Variable, ...]
    history: tuple[HistoryChannel, ...] = ()
    levels: tuple[tuple[str, int], ...] = ()
    reads: tuple[str, ...] = ()


def _economy() -> Block:
    out: list[Variable] = [
        _level("grdp_real", "billion VND (base-year prices)",
               "GRDP theo giá so sánh năm gốc", "GRDP at constant base-year prices"),
        _level("grdp_nominal", "billion VND", "GRDP theo giá hiện hành", "GRDP at current prices"),
        _rate("grdp_growth", "Tốc độ tăng trưởng GRDP", "GRDP growth (real)", "grdp_real"),
        Variable("grdp_deflator", "index (base year = 100)", 100.0, "Chỉ số giảm phát GRDP",
                 "GRDP deflator", "level", ratio("grdp_nominal", "grdp_real")),
    ]
    for s in SECTORS:
        vi, en = SECTOR_LABELS[s]
        out.append(_level(f"va_real_{s}", "billion VND (base-year prices)",
                          f"GTTT {vi} (giá so sánh)", f"{en}, value added at constant prices"))
    for s in SECTORS:
        vi, en = SECTOR_LABELS[s]
        out.append(_level(f"va_nominal_{s}", "billion VND", f"GTTT {vi} (giá hiện hành)",
                          f"{en}, value added at current prices"))
    for s in SECTORS:
        vi, en = SECTOR_LABELS[s]
        out.append(_share(f"share_{s}", "% of GRDP", f"Tỷ trọng {vi} trong GRDP",
                          f"Share of {en.lower()} in GRDP",
                          ratio(f"va_nominal_{s}", "grdp_nominal")))
    for s in SECTORS:
        vi, en = SECTOR_LABELS[s]
        out.append(_rate(f"va_growth_{s}", f"Tăng trưởng {vi}", f"{en}, real growth",
                         f"va_real_{s}"))
    params = (*(_pct(f"growth.{s}", -30.0, _GROWTH[s][0], *_GROWTH[s][1:], channel="growth")
                for s in SECTORS),
              *(_pct(f"inflation.{s}", -20.0, 50.0, (0.5, 15.0), 4.0, channel="inflation")
                for s in SECTORS))
    history = (HistoryChannel("grdp_growth", "%", 0.01, ("grdp_growth",),
                              possible=(-100.0, 1000.0, True)),
               HistoryChannel("grdp_nominal", "billion VND", 1.0, ("grdp_nominal",),
                              possible=POSITIVE),
               HistoryChannel("grdp_per_capita", "million VND", 1.0, ("grdp_per_capita",),
                              possible=POSITIVE),
               *(HistoryChannel(f"share_{s}", "% of GRDP", 0.01, (f"share_{s}",))
                 for s in SECTORS))
    return Block("economy", "Kinh tế", "Economy", params,
                 (("growth", len(SECTORS)), ("inflation", len(SECTORS))), tuple(out), history)


ECONOMY = _economy()
INVESTMENT = Block(
    "investment", "Vốn đầu tư", "Investment",
    (Parameter("investment.icor", "ratio", 1.0, 20.0, 0.0, 100.0, True, channel="icor"),),
    (("icor", 1),),
    (_level("investment_need", "billion VND", "Nhu cầu vốn đầu tư toàn xã hội",
            "Total social investment needed"),
     _level("investment_need_real", "billion VND (base-year prices)",
            "Nhu cầu vốn đầu tư (giá so sánh)", "Investment needed at constant prices"),
     _share("investment_rate", "% of GRDP", "Vốn đầu tư so với GRDP",
            "Investment as a share of GRDP", ratio("investment_need", "grdp_nominal"))))
POPULATION = Block(
    "population", "Dân số", "Population",
    (Parameter("population.birth_rate", "per 1000", 5.0, 60.0, 0.0, 1000.0,
               channel="birth", follows=("population",)),  # world: 5-50
     Parameter("population.death_rate", "per 1000", 1.0, 30.0, 0.0, 1000.0,
               channel="death", follows=("population",)),  # world: 1-20
     Parameter("population.net_migration_rate", "per 1000", -50.0, 50.0, -1000.0, 1000.0,
               channel="migration", follows=("population",)),
     # a census revising the population: per 1000 of it, once, in the first projected
     # year (0 unless stated; the calibrated model draws it: quyhoach.calibrate)
     Parameter("population.revision", "per 1000", -100.0, 100.0, -500.0, 500.0,
               channel="revision", follows=("population",), default=0.0)),
    (("birth", 1), ("death", 1), ("migration", 1), ("revision", 1)),
    (_level("population", "thousand persons", "Dân số trung bình", "Average population"),
     _rate("population_growth", "Tốc độ tăng dân số", "Population growth", "population")),
    (HistoryChannel("population", "thousand persons", 1.0, ("population",), "population",
                    possible=POSITIVE),),
    (("population", 1),))
URBANIZATION = Block(
    "urbanization", "Đô thị hóa", "Urbanization",
    (Parameter("urbanization.speed", "logit points/yr", -0.5, 0.5, -10.0, 10.0,
               channel="urban_speed", follows=("urban",)),),
    (("urban_speed", 1), ("reclass", 1)),
    (_share("urbanization_rate", "%", "Tỷ lệ đô thị hóa", "Urbanization rate",
            ratio("population_urban", "population")),
     _level("population_urban", "thousand persons", "Dân số thành thị", "Urban population"),
     _level("population_rural", "thousand persons", "Dân số nông thôn", "Rural population")),
    (HistoryChannel("urbanization_rate", "%", 0.01, ("urbanization_rate",), "urban"),),
    (("urban", 1),))
INCOME = Block(
    "income", "Thu nhập", "Income",
    (Parameter("income.elasticity", "ratio", 0.0, 3.0, -10.0, 10.0,
               channel="income_elasticity", follows=("income",)),),
    (("income_elasticity", 1),),
    (_level("grdp_per_capita", "million VND", "GRDP bình quân đầu người", "GRDP per capita",
            ratio("grdp_nominal", "population")),
     # the population-weighted mean of the children's is Σ GRDP / Σ population / rate
     _level("grdp_per_capita_usd", "USD", "GRDP bình quân đầu người (USD)",
            "GRDP per capita in USD", weighted_by("population")),
     _level("income_per_capita", "million VND", "Thu nhập bình quân đầu người",
            "Average income per capita", weighted_by("population"))),
    (HistoryChannel("income_per_capita", "million VND", 1.0, ("income_per_capita",),
                    "income", possible=POSITIVE),),
    (("income", 1),),
    reads=("fx",))  # GRDP per capita in USD
BUDGET = Block(
    "budget", "Ngân sách", "Budget",
    # The total grows with nominal GRDP; where the inputs split it, domestic revenue does,
    # and import-export duties and land-use fees follow their own paths (border
    # provinces collect most of their revenue at the border gates).
    # buoyancy drives the total, or domestic revenue where the inputs split the total
    (Parameter("budget.buoyancy", "ratio", 0.0, 3.0, -10.0, 10.0, channel="buoyancy",
               follows=("budget", "domestic")),
     _pct("budget.import_export_growth", -60.0, 60.0, (1.0, 40.0), 8.0,
          "import_export_growth", ("import_export",)),
     _pct("budget.land_use_growth", -60.0, 60.0, (1.0, 40.0), 5.0, "land_use_growth",
          ("land_use",))),
    (("buoyancy", 1), ("import_export_growth", 1), ("land_use_growth", 1)),
    (_level("budget_revenue", "billion VND", "Thu ngân sách nhà nước trên địa bàn",
            "State budget revenue in the province"),
     _share("budget_revenue_share", "% of GRDP", "Thu ngân sách so với GRDP",
            "Budget revenue as a share of GRDP", ratio("budget_revenue", "grdp_nominal")),
     _level("budget_domestic", "billion VND", "Thu nội địa", "Domestic revenue"),
     _level("budget_import_export", "billion VND", "Thu từ hoạt động xuất nhập khẩu",
            "Import-export revenue"),
     _level("budget_land_use", "billion VND", "Thu tiền sử dụng đất", "Land-use revenue")),
    (HistoryChannel("budget_revenue", "billion VND", 1.0, ("budget_revenue",), "budget",
                    possible=AMOUNT),
     HistoryChannel("budget_domestic", "billion VND", 1.0, ("budget_domestic",), "domestic"),
     HistoryChannel("budget_import_export", "billion VND", 1.0, ("budget_import_export",),
                    "import_export"),
     HistoryChannel("budget_land_use", "billion VND", 1.0, ("budget_land_use",),
                    "land_use")),
    (("budget", 1), ("domestic", 1), ("import_export", 1), ("land_use", 1)))
TOURISM = Block(
    "tourism", "Du lịch", "Tourism",
    (_pct("tourism.visitor_growth", -90.0, 100.0, (1.0, 60.0), 10.0, "tourist_growth",
          ("tourists",)),
     _pct("tourism.spending_growth", -50.0, 50.0, (1.0, 30.0), 5.0, "spending_growth",
          ("spending",))),
    (("tourist_growth", 1), ("spending_growth", 1)),
    (_level("tourists", "visits", "Tổng lượt khách du lịch", "Tourist arrivals"),
     _level("tourism_revenue", "billion VND", "Doanh thu du lịch", "Tourism revenue"),
     _level("spending_per_visitor", "million VND", "Chi tiêu bình quân một lượt khách",
            "Spending per visitor", ratio("tourism_revenue", "tourists", 1000.0))),
    (HistoryChannel("tourists", "visits", 1.0, ("tourists",), "tourists", possible=AMOUNT),
     HistoryChannel("tourism_revenue", "billion VND", 1.0, ("tourism_revenue",),
                    possible=AMOUNT),
     # million VND per visit = tourism revenue (billion VND) × 1000 / visits
     HistoryChannel("spending_per_visitor", "million VND", 1.0, ("spending_per_visitor",),
                    "spending", ("tourism_revenue", "tourists"))),
    (("tourists", 1), ("spending", 1)))
EXCHANGE_RATE = Block(
    "exchange_rate", "Tỷ giá", "Exchange rate",
    (_pct("exchange_rate.depreciation", -20.0, 30.0, (0.5, 15.0), 2.0),),
    (("fx", 1),), ())

# Saturating indicators: a generic block with bounds (poverty, forest cover, ...); a
# parent region's value is the population-weighted mean of its children's.
INDICATOR_OUTPUTS = (
    _share("poverty_rate", "% households", "Tỷ lệ hộ nghèo", "Poverty rate (households)",
           weighted_by("population")),
    _share("forest_cover", "%", "Tỷ lệ che phủ rừng", "Forest cover",
           weighted_by("population")),
    _share("ntm_communes_share", "% of communes", "Tỷ lệ xã đạt chuẩn nông thôn mới",
           "Communes meeting the new-rural standard", weighted_by("population")),
    _share("electricity_access", "% households", "Tỷ lệ hộ dùng điện lưới quốc gia",
           "Households on the national grid", weighted_by("population")),
    _share("rural_clean_water", "% rural population",
           "Tỷ lệ dân số nông thôn dùng nước hợp vệ sinh",
           "Rural population with hygienic water", weighted_by("population")),
)
INDICATORS = tuple(v.name for v in INDICATOR_OUTPUTS)
BOUNDED = Block(
    "indicators", "Chỉ tiêu có giới hạn", "Bounded indicators", (),
    (("indicator", len(INDICATORS)),), INDICATOR_OUTPUTS,
    tuple(HistoryChannel(v.name, v.unit, 0.01, (v.name,), "indicator")
          for v in INDICATOR_OUTPUTS),
    (("indicator", len(INDICATORS)),))

BLOCKS = (ECONOMY, INVESTMENT, POPULATION, URBANIZATION, INCOME, BUDGET, TOURISM,
          EXCHANGE_RATE, BOUNDED)


# ------------------------------------------------------------------------ derived

VARIABLES: tuple[Variable, ...] = tuple(v for b in BLOCKS for v in b.outputs)
VARIABLE_INDEX = {v.name: i for i, v in enumerate(VARIABLES)}
BY_NAME = {v.name: v for v in VARIABLES}
PARAMETERS: tuple[Parameter, ...] = tuple(p for b in BLOCKS for p in b.parameters)
PARAMETER_BY_PATH = {p.path: p for p in PARAMETERS}
HISTORY: tuple[HistoryChannel, ...] = tuple(h for b in BLOCKS for h in b.history)
BLOCK_OF_HISTORY = {h.indicator: b.name for b in BLOCKS for h in b.history}
BLOCK_OF_OUTPUT = {v.name: b.name for b in BLOCKS for v in b.outputs}
# The unit each indicator the model reads must carry in history.csv.
MODEL_UNITS = {h.indicator: h.unit for h in HISTORY if not h.derived_from}
# Where the model reads narrower than the unit allows (inputs.value_range has the rest).
MODEL_RANGES = {h.indicator: h.possible for h in HISTORY if h.possible is not None}


# The plan lever that most directly drives each output: what "needed for an 80 % chance"
# moves (quyhoach.analysis.effort). Bounded indicators are driven by their own speed.
_ALL_GROWTH = tuple(f"growth.{s}" for s in SECTORS)
LEVERS: dict[str, tuple[str, ...]] = {
    "grdp_real": _ALL_GROWTH, "grdp_nominal": _ALL_GROWTH, "grdp_per_capita": _ALL_GROWTH,
    "grdp_per_capita_usd": _ALL_GROWTH,
    **{f"va_real_{s}": (f"growth.{s}",) for s in SECTORS},
    "population": ("population.net_migration_rate",),
    "urbanization_rate": ("urbanization.speed",),
    "income_per_capita": ("income.elasticity",),
    "budget_revenue": ("budget.buoyancy",),
    "tourists": ("tourism.visitor_growth",),
    "tourism_revenue": ("tourism.visitor_growth",),
}


def indicator_speed(form: str) -> Parameter:
    """The speed of a saturating indicator in ``form``, as a parameter (file units)."""
    return _SPEEDS[form]


_SPEEDS = {
    "points": Parameter("speed", "percentage points/yr", -20.0, 20.0, -100.0, 100.0),
    "proportional": Parameter("speed", "%/yr", -50.0, 100.0, -100.0, 500.0, True),
    "gap_closing": Parameter("speed", "% of the remaining gap/yr", -100.0, 100.0, -100.0, 100.0),
    "logistic": Parameter("speed", "logit points/yr", -3.0, 3.0, -50.0, 50.0),
}
FORMS = {form: p.unit for form, p in _SPEEDS.items()}  # unit of a speed, by form


def spread_limit(path: str) -> float:
    """The widest offset or spread that uncertainty on ``path`` may have (file units).

    The width of the parameter's plausible range: an sd or an offset larger than every
    plausible value of the parameter is a mistake, not an uncertainty.
    """
    if path in PARAMETER_BY_PATH:
        p = PARAMETER_BY_PATH[path]
        return p.upper - p.lower
    return max(p.upper - p.lower for p in _SPEEDS.values())  # indicators.<name>.speed
