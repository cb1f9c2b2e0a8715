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
