"""The registry of model variables: one place for names, units and labels.

The kernel fills an output array whose last axis follows ``VARIABLES`` in order.
Inside the engine rates and shares are fractions (0.095); tables and plan files speak
in the planners' units (9.5 %), and ``Variable.factor`` converts one to the other.
"""

from __future__ import annotations

from dataclasses import dataclass

SECTORS = ("agriculture", "industry_construction", "services", "product_taxes")
SECTOR_LABELS = {
    "agriculture": ("Nông, lâm nghiệp và thủy sản", "Agriculture, forestry and fishery"),
    "industry_construction": ("Công nghiệp - xây dựng", "Industry and construction"),
    "services": ("Dịch vụ", "Services"),
    "product_taxes": ("Thuế sản phẩm trừ trợ cấp sản phẩm", "Product taxes less subsidies"),
}
# Saturating indicators: a generic block with bounds (poverty, forest cover, ...).
INDICATORS = (
    "poverty_rate",
    "forest_cover",
    "ntm_communes_share",
    "electricity_access",
    "rural_clean_water",
)


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
    """

    name: str
    unit: str
    factor: float
    label_vi: str
    label_en: str
    kind: str = "level"


def _economy() -> list[Variable]:
    v = [
        Variable("grdp_real", "billion VND (base-year prices)", 1.0,
                 "GRDP theo giá so sánh năm gốc", "GRDP at constant base-year prices"),
        Variable("grdp_nominal", "billion VND", 1.0,
                 "GRDP theo giá hiện hành", "GRDP at current prices"),
        Variable("grdp_growth", "%/yr", 100.0,
                 "Tốc độ tăng trưởng GRDP", "GRDP growth (real)", "rate"),
        Variable("grdp_deflator", "index (base year = 100)", 100.0,
                 "Chỉ số giảm phát GRDP", "GRDP deflator"),
    ]
    for s in SECTORS:
        vi, en = SECTOR_LABELS[s]
        v.append(Variable(f"va_real_{s}", "billion VND (base-year prices)", 1.0,
                          f"GTTT {vi} (giá so sánh)", f"{en}, value added at constant prices"))
    for s in SECTORS:
        vi, en = SECTOR_LABELS[s]
        v.append(Variable(f"va_nominal_{s}", "billion VND", 1.0,
                          f"GTTT {vi} (giá hiện hành)", f"{en}, value added at current prices"))
    for s in SECTORS:
        vi, en = SECTOR_LABELS[s]
        v.append(Variable(f"share_{s}", "% of GRDP", 100.0,
                          f"Tỷ trọng {vi} trong GRDP", f"Share of {en.lower()} in GRDP",
                          "share"))
    for s in SECTORS:
        vi, en = SECTOR_LABELS[s]
        v.append(Variable(f"va_growth_{s}", "%/yr", 100.0,
                          f"Tăng trưởng {vi}", f"{en}, real growth", "rate"))
    return v


VARIABLES: tuple[Variable, ...] = tuple(
    _economy()
    + [
        Variable("investment_need", "billion VND", 1.0,
                 "Nhu cầu vốn đầu tư toàn xã hội", "Total social investment needed"),
        Variable("investment_need_real", "billion VND (base-year prices)", 1.0,
                 "Nhu cầu vốn đầu tư (giá so sánh)", "Investment needed at constant prices"),
        Variable("investment_rate", "% of GRDP", 100.0,
                 "Vốn đầu tư so với GRDP", "Investment as a share of GRDP", "share"),
        Variable("population", "thousand persons", 1.0,
                 "Dân số trung bình", "Average population"),
        Variable("population_growth", "%/yr", 100.0,
                 "Tốc độ tăng dân số", "Population growth", "rate"),
        Variable("urbanization_rate", "%", 100.0,
                 "Tỷ lệ đô thị hóa", "Urbanization rate", "share"),
        Variable("population_urban", "thousand persons", 1.0,
                 "Dân số thành thị", "Urban population"),
        Variable("population_rural", "thousand persons", 1.0,
                 "Dân số nông thôn", "Rural population"),
        Variable("grdp_per_capita", "million VND", 1.0,
                 "GRDP bình quân đầu người", "GRDP per capita"),
        Variable("grdp_per_capita_usd", "USD", 1.0,
                 "GRDP bình quân đầu người (USD)", "GRDP per capita in USD"),
        Variable("income_per_capita", "million VND", 1.0,
                 "Thu nhập bình quân đầu người", "Average income per capita"),
        Variable("budget_revenue", "billion VND", 1.0,
                 "Thu ngân sách nhà nước trên địa bàn", "State budget revenue in the province"),
        Variable("budget_revenue_share", "% of GRDP", 100.0,
                 "Thu ngân sách so với GRDP", "Budget revenue as a share of GRDP", "share"),
        Variable("tourists", "visits", 1.0,
                 "Tổng lượt khách du lịch", "Tourist arrivals"),
        Variable("tourism_revenue", "billion VND", 1.0,
                 "Doanh thu du lịch", "Tourism revenue"),
        Variable("spending_per_visitor", "million VND", 1.0,
                 "Chi tiêu bình quân một lượt khách", "Spending per visitor"),
        Variable("poverty_rate", "% households", 100.0,
                 "Tỷ lệ hộ nghèo", "Poverty rate (households)", "share"),
        Variable("forest_cover", "%", 100.0,
                 "Tỷ lệ che phủ rừng", "Forest cover", "share"),
        Variable("ntm_communes_share", "% of communes", 100.0,
                 "Tỷ lệ xã đạt chuẩn nông thôn mới", "Communes meeting the new-rural standard",
                 "share"),
        Variable("electricity_access", "% households", 100.0,
                 "Tỷ lệ hộ dùng điện lưới quốc gia", "Households on the national grid",
                 "share"),
        Variable("rural_clean_water", "% rural population", 100.0,
                 "Tỷ lệ dân số nông thôn dùng nước hợp vệ sinh",
                 "Rural population with hygienic water", "share"),
    ]
)

VARIABLE_INDEX = {v.name: i for i, v in enumerate(VARIABLES)}
BY_NAME = {v.name: v for v in VARIABLES}


# ------------------------------------------------------------------ scenario parameters

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

    @property
    def percent(self) -> bool:
        """Whether values are rates in percent (fraction slips are possible)."""
        return self.slip is not None

    def possible(self, value: float) -> bool:
        """Whether the model can use ``value`` at all (confirmed or not)."""
        above_min = value > self.minimum if self.open_minimum else value >= self.minimum
        return above_min and value <= self.maximum


def _rate(path: str, lower: float, upper: float, slip: tuple, typical: float) -> Parameter:
    """A rate in %/yr: nothing can fall by 100 % or more in a year."""
    return Parameter(path, "%/yr", lower, upper, -100.0, 500.0, True, slip, typical)


# Sector growth (%/yr): plausible upper end, where a fraction slip would land, usual value.
_GROWTH = {"agriculture": (20.0, (1.0, 12.0), 4.0),
           "industry_construction": (40.0, (1.0, 30.0), 9.0),
           "services": (30.0, (1.0, 20.0), 7.0),
           "product_taxes": (40.0, (1.0, 25.0), 7.0)}

PARAMETERS = (
    *(_rate(f"growth.{s}", -30.0, _GROWTH[s][0], *_GROWTH[s][1:]) for s in SECTORS),
    *(_rate(f"inflation.{s}", -20.0, 50.0, (0.5, 15.0), 4.0) for s in SECTORS),
    Parameter("investment.icor", "ratio", 1.0, 20.0, 0.0, 100.0, True),
    Parameter("population.birth_rate", "per 1000", 5.0, 60.0, 0.0, 1000.0),  # world: 5-50
    Parameter("population.death_rate", "per 1000", 1.0, 30.0, 0.0, 1000.0),  # world: 1-20
    Parameter("population.net_migration_rate", "per 1000", -50.0, 50.0, -1000.0, 1000.0),
    Parameter("urbanization.speed", "logit points/yr", -0.5, 0.5, -10.0, 10.0),
    Parameter("income.elasticity", "ratio", 0.0, 3.0, -10.0, 10.0),
    Parameter("budget.buoyancy", "ratio", 0.0, 3.0, -10.0, 10.0),
    _rate("tourism.visitor_growth", -90.0, 100.0, (1.0, 60.0), 10.0),
    _rate("tourism.spending_growth", -50.0, 50.0, (1.0, 30.0), 5.0),
    _rate("exchange_rate.depreciation", -20.0, 30.0, (0.5, 15.0), 2.0),
)
PARAMETER_BY_PATH = {p.path: p for p in PARAMETERS}


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
