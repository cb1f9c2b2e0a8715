"""The steering committee's target-feasibility table, in Vietnamese or English.

Rows are targets, columns scenarios; each cell is the projected value and whether it
meets the target; the last column is what the indicator must average, in the years
after its last observation, to meet the target (the first scenario's history).

The same tables feed the printed report (``format_feasibility``), the workbook for
officials (``to_excel``) and the HTML report (``quyhoach.html``). They work for a run
just simulated and for results read back (``quyhoach.read_results``), which have no
plan: labels then come from the stored tables and the manifest (``run_info``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .registry import BY_NAME

UNITS_VI = {
    "%/yr": "%/năm", "%": "%", "billion VND": "tỷ đồng", "million VND": "triệu đồng",
    "thousand persons": "nghìn người", "visits": "lượt khách", "% of GRDP": "% GRDP",
    "% households": "% số hộ", "% of communes": "% số xã", "USD": "USD",
    "% rural population": "% dân số nông thôn", "points/yr": "điểm %/năm",
    "billion VND/yr": "tỷ đồng/năm", "billion VND (base-year prices)": "tỷ đồng (giá năm gốc)",
    "index (base year = 100)": "chỉ số (năm gốc = 100)",
}
TEXT: dict[str, dict[str, Any]] = {
    "vi": {"title": "BẢNG ĐÁNH GIÁ KHẢ NĂNG ĐẠT MỤC TIÊU", "target": "Mục tiêu",
           "indicator": "Chỉ tiêu", "required": "Cần đạt (các năm còn lại)", "met": "đạt",
           "not_met": "không đạt", "legend": "✓ đạt mục tiêu; ✗ không đạt. Cột cuối: mức "
           "bình quân cần đạt trong các năm còn lại, sau năm cuối có số liệu thực tế "
           "(theo kịch bản {scenario}); với mục tiêu ≈, mức để chạm biên gần nhất của "
           "khoảng.",
           "untracked": "Mục tiêu chưa mô hình hóa", "assumptions": "Giả định của mô hình",
           "calibrated": "Độ bất định ước lượng từ số liệu lịch sử ({model})",
           "central": "Trung tâm", "median": "Trung vị", "band": "Khoảng 5-95%",
           "probability": "Xác suất đạt", "verdict": "Đánh giá", "detail": "Chi tiết kịch bản",
           "mc": "Xác suất: tỷ lệ số lần mô phỏng đạt mục tiêu ({draws} lần mô phỏng Monte "
                 "Carlo, seed {seed}; ± sai số chuẩn Monte Carlo). Đánh giá: khả năng cao ≥ "
                 "80%; có rủi ro 50-80%; khó đạt 10-50%; chệch hướng < 10%.",
           "verdicts": {"likely": "khả năng cao", "at risk": "có rủi ro",
                        "unlikely": "khó đạt", "off track": "chệch hướng"},
           "thresholds": {"likely": "xác suất đạt ≥ 80%", "at risk": "từ 50% đến dưới 80%",
                          "unlikely": "từ 10% đến dưới 50%", "off track": "dưới 10%"},
           "reconcile": "ĐỐI CHIẾU MỤC TIÊU TỈNH VỚI CÁC ĐỊA PHƯƠNG", "region": "Địa phương",
           "province": "Toàn tỉnh", "members_sum": "Tổng các địa phương",
           "together": "Cùng đạt tất cả", "no_target": "chưa đặt",
           "share": "tỷ trọng", "reconcile_legend": "Mỗi địa phương: mục tiêu (nếu có), dự báo "
           "trung tâm (✓/✗) và xác suất đạt; tổng các địa phương được tính trong từng lần mô "
           "phỏng nên luôn bằng toàn tỉnh. \"Cùng đạt tất cả\": tỷ lệ số lần mô phỏng đạt "
           "đồng thời mọi mục tiêu của nhóm.",
           # the workbook: sheet names (31 characters at most, whole words) and columns
           "sheets": {"table": "Khả năng đạt mục tiêu", "detail": "Chi tiết theo kịch bản",
                      "reconcile": "Đối chiếu với địa phương",
                      "untracked": "Mục tiêu chưa mô hình hóa", "assumptions": "Giả định",
                      "legend": "Chú giải", "run": "Thông tin lần chạy"},
           "scenario": "Kịch bản", "unit": "Đơn vị", "period": "Năm, giai đoạn",
           "source": "Nguồn", "years_left": "Các năm còn lại", "group": "Nhóm mục tiêu",
           "low": "Mức 5%", "high": "Mức 95%", "mcse": "Sai số chuẩn Monte Carlo",
           "goal": "Mục tiêu đề ra", "reason": "Lý do chưa mô hình hóa",
           "kind": "Loại", "year": "Năm", "value": "Giá trị", "note": "Ghi chú",
           "assumed": "Số liệu giả định", "engine_note": "Giả định của mô hình",
           "uncertainty": "Độ bất định ước lượng",
           "symbols": "✓ đạt mục tiêu (dự báo trung tâm); ✗ không đạt",
           "key": "Mục", "meaning": "Ý nghĩa", "units": "Đơn vị",
           "data_sheets": "Các trang paths, bands, feasibility (data) và reconciliation "
                          "(data): số liệu gốc cho người phân tích (tên cột tiếng Anh).",
           "run_keys": {"plan": "Quy hoạch", "province": "Tỉnh", "plan_file": "Tệp quy hoạch",
                        "plan_sha256": "SHA-256 tệp quy hoạch",
                        "inputs_sha256": "SHA-256 số liệu đầu vào",
                        "model_file": "Tệp mô hình", "model_sha256": "SHA-256 tệp mô hình",
                        "engine_version": "Phiên bản quyhoach",
                        "created_utc": "Thời điểm chạy (UTC)",
                        "seed": "Seed", "n_draws": "Số lần mô phỏng mỗi kịch bản",
                        "scenarios": "Kịch bản", "years": "Năm gốc, năm cuối có số liệu, "
                                                          "năm cuối dự báo",
                        "plan_edits": "Thay đổi quy hoạch trong mã"}},
    "en": {"title": "TARGET FEASIBILITY", "target": "Target", "indicator": "Indicator",
           "required": "Needed (years left)", "met": "met", "not_met": "not met",
           "legend": "✓ meets the target; ✗ does not. Last column: the average needed in "
           "the years left, after the last year with actual data (scenario {scenario}); for ≈ "
           "targets, to reach the nearer edge of the band.",
           "untracked": "Targets not modelled", "assumptions": "Model assumptions",
           "calibrated": "Uncertainty estimated from history ({model})",
           "central": "Central", "median": "Median", "band": "5-95% band",
           "probability": "P(met)", "verdict": "Verdict", "detail": "Scenario detail",
           "mc": "P(met): share of Monte Carlo draws meeting the target ({draws} draws, seed "
                 "{seed}; ± Monte Carlo standard error). Verdict: likely >= 80 %; at risk "
                 "50-80 %; unlikely 10-50 %; off track < 10 %.",
           "verdicts": {"likely": "likely", "at risk": "at risk", "unlikely": "unlikely",
                        "off track": "off track"},
           "thresholds": {"likely": "P(met) ≥ 80%", "at risk": "50% to under 80%",
                          "unlikely": "10% to under 50%", "off track": "under 10%"},
           "reconcile": "RECONCILIATION OF THE PROVINCE'S TARGETS WITH ITS MEMBERS",
           "region": "Region", "province": "Whole province", "members_sum": "Sum of members",
           "together": "All met together", "no_target": "not set", "share": "share",
           "reconcile_legend": "Each region: its target (where stated), central projection "
           "(✓/✗) and probability of meeting it; the members are summed in every draw, so "
           "their sum is the province's. \"All met together\": share of draws meeting every "
           "target of the group at once.",
           "sheets": {"table": "Target feasibility", "detail": "Scenario detail",
                      "reconcile": "Reconciliation", "untracked": "Targets not modelled",
                      "assumptions": "Assumptions", "legend": "Legend", "run": "Run"},
           "scenario": "Scenario", "unit": "Unit", "period": "Year or period",
           "source": "Source", "years_left": "Years left", "group": "Target group",
           "low": "5% level", "high": "95% level", "mcse": "Monte Carlo standard error",
           "goal": "Stated target", "reason": "Why not modelled",
           "kind": "Kind", "year": "Year", "value": "Value", "note": "Note",
           "assumed": "Assumed figure", "engine_note": "Model assumption",
           "uncertainty": "Estimated uncertainty",
           "symbols": "✓ meets the target (central projection); ✗ does not",
           "key": "Key", "meaning": "Meaning", "units": "Units",
           "data_sheets": "Sheets paths, bands, feasibility (data) and reconciliation (data): "
                          "the data as stored, for analysts.",
           "run_keys": {"plan": "Plan", "province": "Province", "plan_file": "Plan file",
                        "plan_sha256": "Plan file SHA-256", "inputs_sha256": "Inputs SHA-256",
                        "model_file": "Model file", "model_sha256": "Model file SHA-256",
                        "engine_version": "quyhoach version", "created_utc": "Run at (UTC)",
                        "seed": "Seed", "n_draws": "Draws per scenario",
                        "scenarios": "Scenarios",
                        "years": "Base year, last actual year, horizon",
                        "plan_edits": "Plan changes made in code"}},
}
SYMBOL = {">=": "≥", "<=": "≤", "about": "≈"}
VERDICTS = ("likely", "at risk", "unlikely", "off track")
# Fill colours of the verdicts (and, without draws, of met / not met), for every output.
COLOURS = {"likely": "C6EFCE", "at risk": "FFEB9C", "unlikely": "F8CBAD",
           "off track": "FFC7CE", "met": "E2EFDA", "not met": "FCE4D6"}


def grouped(x: float, decimals: int, lang: str) -> str:
    """``x`` with ``decimals`` decimals and its thousands grouped: 2.000.000 and 9,5 in
    Vietnamese; 2,000,000 and 9.5 in English; never "-0"."""
    text = f"{x:,.{decimals}f}"
    if text.startswith("-") and not text.strip("-0.,"):
        text = text[1:]  # -0.001 reads 0.00, not -0.00
    if lang == "vi":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text


def number(x: float, lang: str) -> str:
    """Format for reading: 2.000.000 and 9,5 in Vietnamese; 2,000,000 and 9.5 in English."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    ax = abs(x)
    return grouped(x, 0 if ax >= 1000 else 1 if ax >= 10 else 2, lang)


def percent(p: float, lang: str) -> str:
    """A probability as a whole percentage: '8%'; '<1%' and '>99%' near the edges.

    Only a probability of exactly 0 or 1 prints as '0%' or '100%': anything that would
    round there (0.5 % rounds to '0%', 99.5 % to '100%') prints as '<1%' or '>99%'.
    NaN (no draws) prints as '–'.
    """
    if math.isnan(p):
        return "–"
    text = f"{p * 100:.0f}"
    if text == "0" and p > 0:
        return "<1%"
    if text == "100" and p < 1:
        return ">99%"
    return f"{text}%"


def unit(u: str, lang: str) -> str:
    """A unit in the report's language."""
    return UNITS_VI.get(u, u) if lang == "vi" else u


def check_lang(lang: str) -> dict[str, Any]:
    """The texts of ``lang``; ValueError for a language the reports do not have."""
    if lang not in TEXT:
        raise ValueError(f"lang must be 'vi' or 'en', not {lang!r}")
    return TEXT[lang]


# ---------------------------------------------------------------- what labels the tables

@dataclass(frozen=True)
class RunInfo:
    """What a report labels its tables with: from the plan, else from the stored run.

    Attributes
    ----------
    plan : quyhoach.plan.Plan or None
    names : dict
        The plan's name by language (results read back: the province key).
    scenarios : dict
        Scenario name -> {"vi": label, "en": label} (read back: the names).
    regions : dict
        Member region id -> {"vi": name, "en": name} (read back: empty).
    untracked, assumed : tuple of dict
        The plan's untracked targets and assumed figures (as the manifest records them).
    model : str
        The calibrated model file's name, "" without one.
    calibrated : tuple of str
        Uncertainty entries taken from the model file.
    """

    plan: Any
    names: dict
    scenarios: dict
    regions: dict = field(default_factory=dict)
    untracked: tuple = ()
    assumed: tuple = ()
    model: str = ""
    calibrated: tuple = ()

    def name(self, lang: str) -> str:
        """The plan's name."""
        return self.names[lang]

    def label(self, scenario: str, lang: str) -> str:
        """A scenario's label."""
        return self.scenarios.get(scenario, {}).get(lang, scenario)

    def region(self, region: str, lang: str) -> str:
        """A member region's name (its id where the plan is not at hand)."""
        return self.regions.get(region, {}).get(lang, region)


def run_info(results) -> RunInfo:
    """Labels, untracked targets and assumptions of a run, from its plan or manifest."""
    plan = results.plan
    if plan is None:
        return _info_from_manifest(results)
    model = plan.model
    return RunInfo(
        plan, {"vi": plan.name_vi, "en": plan.name_en},
        {s: {"vi": plan.scenario(s).label_vi, "en": plan.scenario(s).label_en}
         for s in results.scenarios},
        {m: {"vi": plan.regions.name(m, "vi"), "en": plan.regions.name(m, "en")}
         for m in plan.regions.ids},
        tuple(vars(u) for u in plan.untracked_targets),
        tuple(vars(a) for a in plan.assumed_data),
        model.path.name if model is not None else "",
        tuple(model.calibrated) if model is not None else ())


def _info_from_manifest(results) -> RunInfo:
    meta = results.manifest
    key = str(meta.get("province") or results.province or "")
    model = meta.get("model_file")
    return RunInfo(None, {"vi": key, "en": key}, {},
                   untracked=tuple(meta.get("untracked_targets") or ()),
                   assumed=tuple(meta.get("assumed_data") or ()),
                   model=Path(model).name if model else "",
                   calibrated=tuple(meta.get("calibrated_uncertainty") or ()))


@dataclass(frozen=True)
class TargetRow:
    """One target of the committee table.

    Attributes
    ----------
    number : int
        Its place in the plan (1, 2, ...).
    label : str
        Its label, with the member region's name for a member's target.
    first : pandas.Series
        Its ``feasibility()`` row in the first scenario: the goal and the effort.
    outcomes : dict
        Scenario -> its ``feasibility()`` row.
    """

    number: int
    label: str
    first: pd.Series
    outcomes: dict


def target_rows(results, lang: str = "vi", info: RunInfo | None = None) -> list[TargetRow]:
    """Every target of the run, in the plan's order, with each scenario's outcome."""
    info = info or run_info(results)
    df = results.feasibility()
    df["target_id"] = df["target_id"].astype(str)
    df["scenario"] = df["scenario"].astype(str)
    rows = []
    for i, tid in enumerate(pd.unique(df["target_id"]), start=1):
        sub = df[df["target_id"] == tid].set_index("scenario", drop=False)
        first = sub.loc[results.scenarios[0]]
        label = first["label_vi"] if lang == "vi" else first["label_en"]
        if first["region"] != results.province:
            label += f" ({info.region(str(first['region']), lang)})"
        rows.append(TargetRow(i, label, first, {s: sub.loc[s] for s in results.scenarios}))
    return rows


def goal_text(r, lang: str) -> str:
    """A target as read: '≥ 9,5', '≈ 545 ± 5'."""
    goal = f"{SYMBOL[r['comparison']]} {number(r['target'], lang)}"
    if r["comparison"] == "about":
        goal += f" ± {number(r['tolerance'], lang)}"
    return goal


def need_text(r, lang: str) -> str:
    """What the target needs in the years left: '12,5 %/năm (2025-2030)' ('' if nothing)."""
    if not r["effort_years"] or math.isnan(r["required"]):
        return ""
    return (f"{number(r['required'], lang)} {unit(str(r['effort_unit']), lang)} "
            f"({r['effort_years']})")


def outcome_text(r, lang: str) -> str:
    """One scenario's cell: '8,02 ✗ 12%' (no probability without draws)."""
    cell = f"{number(r['projected'], lang)} {'✓' if r['met'] else '✗'}"
    if not math.isnan(r["probability"]):
        cell += f" {percent(r['probability'], lang)}"
    return cell


def feasibility_rows(results, lang: str = "vi") -> tuple[list[str], list[list[str]]]:
    """Header and rows of the committee table, as text cells."""
    t = check_lang(lang)
    info = run_info(results)
    header = ["#", t["indicator"], t["target"],
              *(info.label(s, lang) for s in results.scenarios), t["required"]]
    rows = [[str(row.number), row.label,
             f"{goal_text(row.first, lang)} {unit(str(row.first['unit']), lang)} "
             f"({row.first['period']})",
             *(outcome_text(row.outcomes[s], lang) for s in results.scenarios),
             need_text(row.first, lang)]
            for row in target_rows(results, lang, info)]
    return header, rows


def mcse_text(r, lang: str) -> str:
    """A probability with its Monte Carlo standard error: '12% ± 2,3'."""
    return (f"{percent(r['probability'], lang)} ± {r['probability_mcse'] * 100:.1f}"
            .replace(".", "," if lang == "vi" else "."))


def detail_rows(results, scenario: str, lang: str = "vi") -> tuple[list[str], list[list[str]]]:
    """One scenario's targets with central value, median, 5-95 % band, probability."""
    t = check_lang(lang)
    df = results.feasibility()
    df = df[df["scenario"] == scenario]
    header = ["#", t["indicator"], t["target"], t["central"], t["median"], t["band"],
              t["probability"], t["verdict"], t["required"]]
    rows = []
    for i, (_, r) in enumerate(df.iterrows(), start=1):
        rows.append([
            str(i), r["label_vi"] if lang == "vi" else r["label_en"],
            f"{goal_text(r, lang)} {unit(str(r['unit']), lang)}",
            f"{number(r['projected'], lang)} {'✓' if r['met'] else '✗'}",
            number(r["median"], lang),
            f"{number(r['q05'], lang)} – {number(r['q95'], lang)}",
            mcse_text(r, lang), t["verdicts"].get(r["verdict"], ""), need_text(r, lang)])
    return header, rows


def _table(header, rows, style, left=3) -> list[str]:
    if style == "markdown":
        return (["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
                + ["| " + " | ".join(c.replace("|", "/") for c in r) + " |" for r in rows])
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def fmt(cells):
        return "  ".join(c.ljust(w) if j < left else c.rjust(w)
                         for j, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    return [fmt(header), "  ".join("-" * w for w in widths)] + [fmt(r) for r in rows]


def draws_text(results, lang: str) -> str:
    """The Monte Carlo legend: what the probability is, draws, seed, verdicts."""
    draws = f"{results.draws:,}".replace(",", "." if lang == "vi" else ",")
    return TEXT[lang]["mc"].format(draws=draws, seed=results.seed)


def assumption_lines(results, lang: str, info: RunInfo | None = None) -> list[str]:
    """The plan's assumed figures, then what the engine assumed (``results.notes``)."""
    info = info or run_info(results)
    return [f"{a['indicator']} {a['year']} = {number(a['value'], lang)} "
            f"{unit(a['unit'], lang)}: {a['note']}" for a in info.assumed] + list(results.notes)


def format_feasibility(results, lang: str = "vi", style: str = "text",
                       detail: list | None = None) -> str:
    """The whole table with its legend, untracked targets and model assumptions.

    Parameters
    ----------
    results : quyhoach.results.Results
        Simulated, or read back (labels then from the stored tables).
    lang : {"vi", "en"}
    style : {"text", "markdown"}
    detail : list of str, optional
        Scenarios that get a detail table (central, median, band, probability,
        verdict). Default: the first scenario when the run has draws.
    """
    t = check_lang(lang)
    info = run_info(results)
    header, rows = feasibility_rows(results, lang)
    heading = "## " if style == "markdown" else ""
    lines = [f"{heading}{t['title']} — {info.name(lang)}", ""] + _table(header, rows, style)
    lines += ["", t["legend"].format(scenario=info.label(results.scenarios[0], lang))]
    if results.draws:
        lines.append(draws_text(results, lang))
        for s in results.scenarios[:1] if detail is None else detail:
            lines += ["", f"{heading}{t['detail']}: {info.label(s, lang)}", ""]
            d_header, d_rows = detail_rows(results, s, lang)
            lines += _table(d_header, d_rows, style)
    if info.untracked:
        lines += ["", f"{t['untracked']}:"]
        for u in info.untracked:
            label = u["label_vi"] if lang == "vi" else u["label_en"]
            lines.append(f"  - {label} [{u['target']}] — {u['reason']} ({u['source']})")
    if results.draws and info.calibrated:
        lines += ["", t["calibrated"].format(model=info.model) + ":",
                  "  " + ", ".join(info.calibrated)]
    notes = assumption_lines(results, lang, info)
    if notes:
        lines += ["", f"{t['assumptions']}:"] + [f"  - {n}" for n in notes]
    return "\n".join(lines)


def reconciliation_rows(results, lang: str = "vi") -> list[tuple[str, list[str],
                                                                 list[list[str]]]]:
    """(title, header, rows) of each reconciled group: the province, each member, the
    members' sum and the probability that the group's targets are met together."""
    t = check_lang(lang)
    info = run_info(results)
    df = results.reconciliation()
    out = []
    for _, g in df.groupby("group", sort=False):
        first = g[g["scenario"] == results.scenarios[0]]
        header = [t["region"], t["target"], *(info.label(s, lang) for s in results.scenarios)]
        rows = [_region_cells(results, g, r, lang) for _, r in first.iterrows()]
        members = first[(first["region"] != results.province) & (first["parts"] == "")]
        if not math.isnan(members["share_of_province"].iloc[0]):
            stated = members[members["target_id"] != ""]["target"]  # summed when all are
            rows.append([t["members_sum"], number(stated.sum(), lang)
                         if len(stated) == len(members) else "",
                         *(number(g[(g["scenario"] == s) & (g["region"] != results.province)
                                    & (g["parts"] == "")]["projected"].sum(), lang)
                           for s in results.scenarios)])
        if (first["target_id"] != "").any() and results.draws:
            rows.append([t["together"], "", *(percent(g[g["scenario"] == s]
                                                      ["probability_together"].iloc[0], lang)
                                               for s in results.scenarios)])
        out.append((group_title(first.iloc[0], lang), header, rows))
    return out


def group_title(head, lang: str) -> str:
    """A reconciled group's title: 'population 2030: Dân số (2030, nghìn người)'."""
    var = BY_NAME[str(head["indicator"])]
    return (f"{head['group']}: {var.label_vi if lang == 'vi' else var.label_en} "
            f"({head['period']}, {unit(str(head['unit']), lang)})")


def _tolerance(results, target_id: str) -> float:
    """The half-width of an ``about`` target, from the feasibility table."""
    df = results.feasibility()
    return float(df.loc[df["target_id"] == target_id, "tolerance"].iloc[0])


def _region_cells(results, g: pd.DataFrame, r, lang: str) -> list[str]:
    """One region's row of a reconciled group: name, target, each scenario's cell."""
    t = TEXT[lang]
    name = r["region_vi"] if lang == "vi" else r["region_en"]
    if r["region"] == results.province:
        name = t["province"]
    goal = t["no_target"]
    if r["target_id"]:
        goal = f"{SYMBOL[r['comparison']]} {number(r['target'], lang)}"
        if r["comparison"] == "about":
            goal += f" ± {number(_tolerance(results, r['target_id']), lang)}"
    cells = [name, goal]
    for s in results.scenarios:
        x = g[(g["scenario"] == s) & (g["region"] == r["region"])].iloc[0]
        cell = number(x["projected"], lang)
        if x["target_id"]:
            cell += f" {'✓' if x['met'] else '✗'}"
            if not math.isnan(x["probability"]):
                cell += f" {percent(x['probability'], lang)}"
        elif not math.isnan(x["share_of_province"]):
            cell += f" ({t['share']} {percent(x['share_of_province'], lang)})"
        cells.append(cell)
    return cells


def has_members(results) -> bool:
    """Whether the run's plan has member regions (results read back: stored regions)."""
    if results.plan is not None:
        return bool(results.plan.regions.members)
    return len(results.regions) > 1


def format_reconciliation(results, lang: str = "vi", style: str = "text") -> str:
    """The reconciliation tables with their title and legend ("" without members)."""
    if not has_members(results):
        return ""
    t = check_lang(lang)
    heading = "## " if style == "markdown" else ""
    lines = [f"{heading}{t['reconcile']} — {run_info(results).name(lang)}"]
    for title, header, rows in reconciliation_rows(results, lang):
        lines += ["", title, ""] + _table(header, rows, style, left=2)
    lines += ["", t["reconcile_legend"]]
    return "\n".join(lines)




# ---------------------------------------------------------------- the workbook

@dataclass(frozen=True)
class Cell:
    """A workbook cell with its number format (Excel's codes) and fill colour (hex)."""

    value: Any
    format: str = ""
    fill: str = ""


def number_format(x: float, prefix: str = "", suffix: str = "") -> str:
    """Excel's number format for reading ``x``: thousands separated, 0-2 decimals as
    ``number`` prints it; ``prefix`` and ``suffix`` shown as text ('≥ ', ' ± 5').

    Excel shows the separators of the reader's locale (2.000,5 in Vietnamese).
    """
    ax = abs(x) if isinstance(x, float) and not math.isnan(x) else 0.0
    body = "#,##0" if ax >= 1000 else "#,##0.0" if ax >= 10 else "#,##0.00"
    quoted = [f'"{part}"' if part else "" for part in (prefix, suffix)]
    return f"{quoted[0]}{body}{quoted[1]}"


def percent_format(p: float) -> str:
    """Excel's format of a probability: '0%', with '<1%' and '>99%' as ``percent``."""
    shown = percent(p, "en") if not math.isnan(p) else ""
    return f'"{shown}"' if shown in ("<1%", ">99%") else "0%"


def _goal_cell(r, lang: str, tolerance: float | None = None) -> Cell:
    """A target as a number whose format shows its comparison: '≥ 9.5', '≈ 545 ± 5'."""
    tol = r["tolerance"] if tolerance is None else tolerance
    suffix = f" ± {number(tol, lang)}" if r["comparison"] == "about" else ""
    value = float(r["target"])
    return Cell(value, number_format(value, f"{SYMBOL[r['comparison']]} ", suffix))


def _num(x) -> Cell:
    return Cell(x, number_format(x))


def _prob(p: float, verdict: str = "") -> Cell:
    return Cell(p, percent_format(p), COLOURS.get(verdict, ""))


def _mark(met: bool, fill: bool) -> Cell:
    """✓ or ✗, coloured where no probability colours the outcome (no draws)."""
    return Cell("✓" if met else "✗", fill=COLOURS["met" if met else "not met"] if fill else "")


@dataclass(frozen=True)
class Sheet:
    """One worksheet: its name (31 characters at most), header and rows of values or
    ``Cell``; ``freeze`` is the first cell that scrolls."""

    title: str
    header: list
    rows: list
    freeze: str = "A2"


def _committee_sheet(results, info: RunInfo, lang: str) -> Sheet:
    t = TEXT[lang]
    draws = bool(results.draws)
    header = ["#", t["indicator"], t["target"], t["unit"], t["period"]]
    for s in results.scenarios:
        label = info.label(s, lang)
        header += [label, f"{label} ✓/✗", *([f"{label}: {t['probability']}"] * draws)]
    header += [t["required"], t["unit"], t["years_left"], t["source"]]
    rows = []
    for row in target_rows(results, lang, info):
        r0 = row.first
        cells = [row.number, row.label, _goal_cell(r0, lang), unit(str(r0["unit"]), lang),
                 r0["period"]]
        for s in results.scenarios:
            r = row.outcomes[s]
            cells += [_num(r["projected"]), _mark(r["met"], not draws),
                      *([_prob(r["probability"], r["verdict"])] * draws)]
        cells += [_num(r0["required"]), unit(str(r0["effort_unit"]), lang),
                  r0["effort_years"], r0["source"]]
        rows.append(cells)
    return Sheet(t["sheets"]["table"], header, rows, "C2")


def _detail_sheet(results, info: RunInfo, lang: str) -> Sheet:
    t = TEXT[lang]
    header = [t["scenario"], "#", t["indicator"], t["target"], t["unit"], t["central"], "✓/✗",
              t["median"], t["low"], t["high"], t["probability"], t["mcse"], t["verdict"],
              t["required"], t["unit"], t["years_left"]]
    rows = []
    targets = target_rows(results, lang, info)
    for s in results.scenarios:
        for row in targets:
            r = row.outcomes[s]
            rows.append([info.label(s, lang), row.number, row.label, _goal_cell(r, lang),
                         unit(str(r["unit"]), lang), _num(r["projected"]),
                         _mark(r["met"], False), _num(r["median"]), _num(r["q05"]),
                         _num(r["q95"]), _prob(r["probability"], r["verdict"]),
                         Cell(r["probability_mcse"], "0.0%"),
                         Cell(t["verdicts"].get(r["verdict"], ""),
                              fill=COLOURS.get(r["verdict"], "")),
                         _num(r["required"]), unit(str(r["effort_unit"]), lang),
                         r["effort_years"]])
    return Sheet(t["sheets"]["detail"], header, rows, "D2")


def _reconcile_sheet(results, info: RunInfo, lang: str) -> Sheet:
    t = TEXT[lang]
    header = [t["group"], t["region"], t["target"]]
    for s in results.scenarios:
        label = info.label(s, lang)
        header += [label, f"{label} ✓/✗", f"{label}: {t['probability']} / {t['share']}"]
    rows = []
    for _, g in results.reconciliation().groupby("group", sort=False):
        first = g[g["scenario"] == results.scenarios[0]]
        title = group_title(first.iloc[0], lang)
        for _, r in first.iterrows():
            rows.append([title, *_reconcile_region(results, g, r, lang)])
        rows += [[title, *extra] for extra in _reconcile_totals(results, g, first, lang)]
    return Sheet(t["sheets"]["reconcile"], header, rows, "C2")


def _reconcile_region(results, g: pd.DataFrame, r, lang: str) -> list:
    """A region's name, target and, per scenario, projection, ✓/✗, probability or share."""
    t = TEXT[lang]
    name = t["province"] if r["region"] == results.province else \
        r["region_vi"] if lang == "vi" else r["region_en"]
    goal: Any = t["no_target"]
    if r["target_id"]:
        goal = _goal_cell(r, lang, _tolerance(results, r["target_id"]))
    cells = [name, goal]
    for s in results.scenarios:
        x = g[(g["scenario"] == s) & (g["region"] == r["region"])].iloc[0]
        third: Any = None
        if x["target_id"] and not math.isnan(x["probability"]):
            third = _prob(x["probability"])
        elif not x["target_id"] and not math.isnan(x["share_of_province"]):
            third = Cell(x["share_of_province"], "0%")
        cells += [_num(x["projected"]), _mark(x["met"], False) if x["target_id"] else "",
                  third]
    return cells


def _reconcile_totals(results, g: pd.DataFrame, first: pd.DataFrame, lang: str) -> list:
    """The members' sum (levels that add up) and the probability of meeting all."""
    t = TEXT[lang]
    out = []
    members = first[(first["region"] != results.province) & (first["parts"] == "")]
    if not math.isnan(members["share_of_province"].iloc[0]):
        stated = members[members["target_id"] != ""]["target"]
        row: list = [t["members_sum"],
                     _num(float(stated.sum())) if len(stated) == len(members) else ""]
        for s in results.scenarios:
            total = g[(g["scenario"] == s) & (g["region"] != results.province)
                      & (g["parts"] == "")]["projected"]
            row += [_num(float(total.sum())), "", None]
        out.append(row)
    if (first["target_id"] != "").any() and results.draws:
        out.append([t["together"], "", *(cell for s in results.scenarios for cell in (
            None, "", _prob(g[g["scenario"] == s]["probability_together"].iloc[0])))])
    return out


def _untracked_sheet(info: RunInfo, lang: str) -> Sheet:
    t = TEXT[lang]
    rows = [[i, u["label_vi"] if lang == "vi" else u["label_en"], u["target"], u["reason"],
             u["source"]] for i, u in enumerate(info.untracked, start=1)]
    return Sheet(t["sheets"]["untracked"], ["#", t["indicator"], t["goal"], t["reason"],
                                            t["source"]], rows, "C2")


def _indicator_label(name: str, lang: str) -> str:
    var = BY_NAME.get(name)
    if var is None:
        return name
    return var.label_vi if lang == "vi" else var.label_en


def _assumptions_sheet(results, info: RunInfo, lang: str) -> Sheet:
    t = TEXT[lang]
    rows: list = [[t["assumed"], _indicator_label(a["indicator"], lang), a["indicator"],
                   a["year"], _num(float(a["value"])), unit(a["unit"], lang), a["note"]]
                  for a in info.assumed]
    rows += [[t["engine_note"], "", "", None, None, "", note] for note in results.notes]
    if results.draws:
        rows += [[t["uncertainty"], entry, "", None, None, "", info.model]
                 for entry in info.calibrated]
    return Sheet(t["sheets"]["assumptions"], [t["kind"], t["indicator"], "variable",
                                              t["year"], t["value"], t["unit"], t["note"]],
                 rows, "B2")


def _units_used(results) -> list[str]:
    df = results.feasibility()
    units = set(map(str, df["unit"])) | set(map(str, df["effort_unit"])) | \
        set(map(str, pd.unique(results.paths["unit"])))
    return sorted(u for u in units if u)


def _legend_sheet(results, info: RunInfo, lang: str) -> Sheet:
    t = TEXT[lang]
    rows: list = [[Cell(t["verdicts"][v], fill=COLOURS[v]), t["thresholds"][v]]
                  for v in VERDICTS]
    rows += [["✓ / ✗", t["symbols"]],
             [t["required"], t["legend"].format(scenario=info.label(results.scenarios[0],
                                                                     lang))]]
    if results.draws:
        rows.append([t["probability"], draws_text(results, lang)])
    rows += [[f"{t['units']}: {unit(u, lang)}", u] for u in _units_used(results)]
    rows.append(["paths, bands", t["data_sheets"]])
    return Sheet(t["sheets"]["legend"], [t["key"], t["meaning"]], rows, "A2")


def run_rows(results, info: RunInfo, lang: str) -> list[tuple[str, Any]]:
    """What identifies the run (from ``results.manifest``): (label, value) pairs; one
    pair per input file and its SHA-256."""
    keys = TEXT[lang]["run_keys"]
    meta = results.manifest
    rows: list[tuple[str, Any]] = [(keys["plan"], info.name(lang))]
    for k in ("province", "plan_file", "plan_sha256", "inputs_sha256", "model_file",
              "model_sha256", "engine_version", "created_utc"):
        value = meta.get(k)
        if isinstance(value, dict):  # file -> hash
            rows += [(f"{keys[k]}: {Path(name).name}", h) for name, h in value.items()]
        elif value not in (None, ""):
            rows.append((keys[k], value))
    if results.seed is not None:  # text: a 64-bit seed has more digits than a spreadsheet keeps
        rows.append((keys["seed"], str(results.seed)))
    rows += [(keys["n_draws"], results.draws),
             (keys["scenarios"], "; ".join(f"{info.label(s, lang)} ({s})"
                                           for s in results.scenarios)),
             (keys["years"], ", ".join(str(meta.get(k, "")) for k in
                                       ("base_year", "last_actual_year", "horizon")))]
    rows += [(keys["plan_edits"], e) for e in meta.get("plan_edits") or ()]
    return rows


def _run_sheet(results, info: RunInfo, lang: str) -> Sheet:
    t = TEXT[lang]
    draws = t["run_keys"]["n_draws"]
    rows = [[k, Cell(v, "#,##0") if k == draws else v] for k, v in run_rows(results, info, lang)]
    return Sheet(t["sheets"]["run"], [t["key"], t["value"]], rows, "B2")


def _region_label(region: str, results, info: RunInfo, lang: str) -> str:
    return TEXT[lang]["province"] if region == results.province else info.region(region, lang)


def _paths_sheet(results, info: RunInfo, lang: str) -> Sheet:
    """Central paths, one row per scenario, region and variable, one column per year."""
    t = TEXT[lang]
    paths = results.paths.copy()
    for col in ("scenario", "region", "variable", "unit"):
        paths[col] = paths[col].astype(str)
    wide = paths.pivot_table(index=["scenario", "region", "variable", "unit"],
                             columns="year", values="value", observed=True, sort=False)
    years = [int(y) for y in wide.columns]
    rows = [[info.label(s, lang), _region_label(r, results, info, lang),
             _indicator_label(v, lang), unit(u, lang), v, *map(_num, values)]
            for (s, r, v, u), values in zip(wide.index, wide.to_numpy().tolist(), strict=True)]
    return Sheet("paths", [t["scenario"], t["region"], t["indicator"], t["unit"], "variable",
                           *years], rows, "F2")


def _bands_sheet(results, info: RunInfo, lang: str) -> Sheet:
    """Monte Carlo bands (with draws): one row per scenario, region, variable and year."""
    t = TEXT[lang]
    bands = results.bands()
    stats = [c for c in bands.columns if c not in ("scenario", "region", "variable", "year",
                                                   "unit")]
    rows = [[info.label(str(r["scenario"]), lang),
             _region_label(str(r["region"]), results, info, lang),
             _indicator_label(str(r["variable"]), lang), unit(str(r["unit"]), lang),
             str(r["variable"]), int(r["year"]), *(_num(float(r[c])) for c in stats)]
            for r in bands.to_dict("records")]
    return Sheet("bands", [t["scenario"], t["region"], t["indicator"], t["unit"], "variable",
                           t["year"], *stats], rows, "G2")


def _frame_sheet(title: str, df: pd.DataFrame) -> Sheet:
    """A stored table as it is (column names as in Python), numbers formatted."""
    rows = [[_num(v) if isinstance(v, float) else v for v in record]
            for record in df.astype({c: str for c in df.columns
                                     if isinstance(df[c].dtype, pd.CategoricalDtype)})
            .itertuples(index=False, name=None)]
    return Sheet(title, list(df.columns), rows, "B2")


def workbook_sheets(results, lang: str = "vi") -> list[Sheet]:
    """Every sheet of ``to_excel``, in order."""
    info = run_info(results)
    sheets = [_committee_sheet(results, info, lang)]
    if results.draws:
        sheets.append(_detail_sheet(results, info, lang))
    reconcile = has_members(results) and results.plan is not None
    if reconcile:
        sheets.append(_reconcile_sheet(results, info, lang))
    if info.untracked:
        sheets.append(_untracked_sheet(info, lang))
    sheets += [_assumptions_sheet(results, info, lang), _legend_sheet(results, info, lang),
               _run_sheet(results, info, lang), _paths_sheet(results, info, lang)]
    if results.draws:
        sheets.append(_bands_sheet(results, info, lang))
    sheets.append(_frame_sheet("feasibility (data)", results.feasibility()))
    if reconcile:
        sheets.append(_frame_sheet("reconciliation (data)", results.reconciliation()))
    return sheets


def to_excel(results, path, lang: str = "vi") -> Path:
    """A workbook for officials.

    Sheets: the committee table (numbers as numbers, verdicts coloured), every
    scenario's detail (with draws), the reconciliation with member regions (where the
    plan has them), untracked targets, assumptions, a legend (verdicts, thresholds,
    units), the run (seed, draws, engine version, plan and input hashes), then the data
    as stored: central paths by year, bands, ``feasibility (data)`` and
    ``reconciliation (data)``. Headers are bold and frozen, columns sized, numbers
    formatted (Excel shows them with the reader's separators); no cell is a formula
    (``write_as_text``).

    Parameters
    ----------
    results : quyhoach.results.Results
        Simulated, or read back (scenario ids then label the columns, and there is no
        reconciliation: it needs the plan).
    path : str or pathlib.Path
    lang : {"vi", "en"}

    Returns
    -------
    pathlib.Path
    """
    import openpyxl

    check_lang(lang)
    book = openpyxl.Workbook()
    book.remove(book.active)
    for sheet in workbook_sheets(results, lang):
        _write_sheet(book, sheet)
    write_as_text(book)
    path = Path(path)
    book.save(path)
    return path


def _plain(value) -> Any:
    """A value openpyxl stores: Python scalars, NaN as an empty cell."""
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()  # numpy scalars
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


WIDTH_ROWS = 500  # column widths fit the header and the first rows


def _write_sheet(book, sheet: Sheet) -> None:
    """Add one worksheet: bold wrapped header, frozen panes, formats, fills, widths."""
    from openpyxl.cell import Cell as XlCell
    from openpyxl.styles import Alignment, Font, PatternFill

    ws = book.create_sheet(sheet.title)
    ws.append([_plain(h) for h in sheet.header])
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="D9E1F2")
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    fills: dict[str, PatternFill] = {}
    widths = [len(str(h)) for h in sheet.header]
    for i, row in enumerate(sheet.rows):
        cells = []
        for j, item in enumerate(row):
            styled = item if isinstance(item, Cell) else Cell(item)
            value = _plain(styled.value)
            cell = XlCell(ws, value=value)
            if isinstance(value, float):
                cell.number_format = styled.format or number_format(value)
            if styled.fill:
                cell.fill = fills.setdefault(styled.fill, PatternFill("solid",
                                                                      fgColor=styled.fill))
            if i < WIDTH_ROWS:
                widths[j] = max(widths[j], _shown_width(value, styled.format))
            cells.append(cell)
        ws.append(cells)
    _finish(ws, sheet, widths)


def _shown_width(value, fmt: str) -> int:
    """About how many characters a cell shows."""
    if value is None:
        return 0
    if isinstance(value, float):
        return len(f"{value:,.2f}") + len(fmt.replace("#,##0", "").replace("0", "")) // 2
    return len(str(value))


def _finish(ws, sheet: Sheet, widths: list[int]) -> None:
    """Column widths (long text wraps), frozen panes, filter, printing setup."""
    from openpyxl.styles import Alignment
    from openpyxl.utils import get_column_letter

    wrap = Alignment(wrap_text=True, vertical="top")
    for j, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(j)].width = min(max(width, 4) + 2, 60)
        if width > 58:
            for (cell,) in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                cell.alignment = wrap
    ws.freeze_panes = sheet.freeze
    if sheet.rows:
        ws.auto_filter.ref = ws.dimensions
    ws.print_title_rows = "1:1"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True


# A spreadsheet reads a cell starting with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def write_as_text(book) -> int:
    """Make every text cell that a spreadsheet could run as a formula plain text.

    Plan and input text (labels, sources, notes, scenario names) reach the workbook as
    cells; ``=HYPERLINK(...)`` in a label must show as text, never run. Text cells
    starting with ``=``, ``+``, ``-``, ``@``, tab or CR are stored as strings and marked
    with Excel's quote prefix (as if typed after an apostrophe). Numbers, negative ones
    included, stay numbers.

    Parameters
    ----------
    book : openpyxl.Workbook

    Returns
    -------
    int
        Cells marked.
    """
    marked = 0
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value.startswith(FORMULA_STARTS):
                    cell.data_type = "s"  # openpyxl made '=...' a formula
                    cell.quotePrefix = True
                    marked += 1
    return marked
