"""The steering committee's target-feasibility table, in Vietnamese or English.

Rows are targets, columns scenarios; each cell is the projected value and whether it
meets the target; the last column is what the indicator must average, in the years
after its last observation, to meet the target (the first scenario's history).
"""

from __future__ import annotations

import math
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
           "reconcile": "ĐỐI CHIẾU MỤC TIÊU TỈNH VỚI CÁC ĐỊA PHƯƠNG", "region": "Địa phương",
           "province": "Toàn tỉnh", "members_sum": "Tổng các địa phương",
           "together": "Cùng đạt tất cả", "no_target": "chưa đặt",
           "share": "tỷ trọng", "reconcile_legend": "Mỗi địa phương: mục tiêu (nếu có), dự báo "
           "trung tâm (✓/✗) và xác suất đạt; tổng các địa phương được tính trong từng lần mô "
           "phỏng nên luôn bằng toàn tỉnh. \"Cùng đạt tất cả\": tỷ lệ số lần mô phỏng đạt "
           "đồng thời mọi mục tiêu của nhóm."},
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
           "reconcile": "RECONCILIATION OF THE PROVINCE'S TARGETS WITH ITS MEMBERS",
           "region": "Region", "province": "Whole province", "members_sum": "Sum of members",
           "together": "All met together", "no_target": "not set", "share": "share",
           "reconcile_legend": "Each region: its target (where stated), central projection "
           "(✓/✗) and probability of meeting it; the members are summed in every draw, so "
           "their sum is the province's. \"All met together\": share of draws meeting every "
           "target of the group at once."},
}
SYMBOL = {">=": "≥", "<=": "≤", "about": "≈"}


def number(x: float, lang: str) -> str:
    """Format for reading: 2.000.000 and 9,5 in Vietnamese; 2,000,000 and 9.5 in English."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    ax = abs(x)
    decimals = 0 if ax >= 1000 else 1 if ax >= 10 else 2
    text = f"{x:,.{decimals}f}"
    if lang == "vi":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text


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
    return UNITS_VI.get(u, u) if lang == "vi" else u


def feasibility_rows(results, lang: str = "vi") -> tuple[list[str], list[list[str]]]:
    """Header and rows of the committee table, as text cells."""
    t = TEXT[lang]
    df = results.feasibility()
    scenarios = results.scenarios
    labels = {s: (results.plan.scenario(s).label_vi if lang == "vi"
                  else results.plan.scenario(s).label_en) for s in scenarios}
    first = scenarios[0]
    header = ["#", t["indicator"], t["target"], *(labels[s] for s in scenarios), t["required"]]
    rows = []
    for i, tid in enumerate((t.id for t in results.plan.targets), start=1):
        sub = df[df["target_id"] == tid].set_index("scenario", drop=False)
        r0 = sub.loc[first]
        u = unit(str(r0["unit"]), lang)
        goal = f"{SYMBOL[r0['comparison']]} {number(r0['target'], lang)}"
        if r0["comparison"] == "about":
            goal += f" ± {number(r0['tolerance'], lang)}"
        label = r0["label_vi"] if lang == "vi" else r0["label_en"]
        if r0["region"] != results.province:
            label += f" ({results.plan.regions.name(r0['region'], lang)})"
        cells = [str(i), label,
                 f"{goal} {u} ({r0['period']})"]
        for s in scenarios:
            r = sub.loc[s]
            cell = f"{number(r['projected'], lang)} {'✓' if r['met'] else '✗'}"
            if not math.isnan(r["probability"]):
                cell += f" {percent(r['probability'], lang)}"
            cells.append(cell)
        need = ""
        if r0["effort_years"] and not math.isnan(r0["required"]):
            need = (f"{number(r0['required'], lang)} {unit(str(r0['effort_unit']), lang)} "
                    f"({r0['effort_years']})")
        cells.append(need)
        rows.append(cells)
    return header, rows


def detail_rows(results, scenario: str, lang: str = "vi") -> tuple[list[str], list[list[str]]]:
    """One scenario's targets with central value, median, 5-95 % band, probability."""
    t = TEXT[lang]
    df = results.feasibility()
    df = df[df["scenario"] == scenario]
    header = ["#", t["indicator"], t["target"], t["central"], t["median"], t["band"],
              t["probability"], t["verdict"], t["required"]]
    rows = []
    for i, (_, r) in enumerate(df.iterrows(), start=1):
        goal = f"{SYMBOL[r['comparison']]} {number(r['target'], lang)}"
        if r["comparison"] == "about":
            goal += f" ± {number(r['tolerance'], lang)}"
        need = ""
        if r["effort_years"] and not math.isnan(r["required"]):
            need = (f"{number(r['required'], lang)} {unit(str(r['effort_unit']), lang)} "
                    f"({r['effort_years']})")
        rows.append([
            str(i), r["label_vi"] if lang == "vi" else r["label_en"],
            f"{goal} {unit(str(r['unit']), lang)}",
            f"{number(r['projected'], lang)} {'✓' if r['met'] else '✗'}",
            number(r["median"], lang),
            f"{number(r['q05'], lang)} – {number(r['q95'], lang)}",
            f"{percent(r['probability'], lang)} ± {r['probability_mcse'] * 100:.1f}"
            .replace(".", "," if lang == "vi" else "."),
            t["verdicts"].get(r["verdict"], ""), need])
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


def format_feasibility(results, lang: str = "vi", style: str = "text",
                       detail: list | None = None) -> str:
    """The whole table with its legend, untracked targets and model assumptions.

    Parameters
    ----------
    results : quyhoach.results.Results
    lang : {"vi", "en"}
    style : {"text", "markdown"}
    detail : list of str, optional
        Scenarios that get a detail table (central, median, band, probability,
        verdict). Default: the first scenario when the run has draws.
    """
    if lang not in TEXT:
        raise ValueError(f"lang must be 'vi' or 'en', not {lang!r}")
    t = TEXT[lang]
    plan = results.plan
    header, rows = feasibility_rows(results, lang)
    name = plan.name_vi if lang == "vi" else plan.name_en
    heading = "## " if style == "markdown" else ""
    lines = [f"{heading}{t['title']} — {name}", ""] + _table(header, rows, style)
    first = results.plan.scenario(results.scenarios[0])
    lines += ["", t["legend"].format(scenario=first.label_vi if lang == "vi" else first.label_en)]
    if results.draws:
        draws = f"{results.draws:,}".replace(",", "." if lang == "vi" else ",")
        lines.append(t["mc"].format(draws=draws, seed=results.seed))
        for s in results.scenarios[:1] if detail is None else detail:
            sc = results.plan.scenario(s)
            label = sc.label_vi if lang == "vi" else sc.label_en
            lines += ["", f"{heading}{t['detail']}: {label}", ""]
            d_header, d_rows = detail_rows(results, s, lang)
            lines += _table(d_header, d_rows, style)
    if plan.untracked_targets:
        lines += ["", f"{t['untracked']}:"]
        for u in plan.untracked_targets:
            label = u.label_vi if lang == "vi" else u.label_en
            lines.append(f"  - {label} [{u.target}] — {u.reason} ({u.source})")
    if results.draws and plan.model is not None and plan.model.calibrated:
        lines += ["", t["calibrated"].format(model=plan.model.path.name) + ":",
                  "  " + ", ".join(plan.model.calibrated)]
    notes = [f"{a.indicator} {a.year} = {number(a.value, lang)} {unit(a.unit, lang)}: {a.note}"
             for a in plan.assumed_data] + results.notes
    if notes:
        lines += ["", f"{t['assumptions']}:"] + [f"  - {n}" for n in notes]
    return "\n".join(lines)


def reconciliation_rows(results, lang: str = "vi") -> list[tuple[str, list[str],
                                                                 list[list[str]]]]:
    """(title, header, rows) of each reconciled group: the province, each member, the
    members' sum and the probability that the group's targets are met together."""
    t = TEXT[lang]
    df = results.reconciliation()
    labels = {s: (results.plan.scenario(s).label_vi if lang == "vi"
                  else results.plan.scenario(s).label_en) for s in results.scenarios}
    out = []
    for group, g in df.groupby("group", sort=False):
        first = g[g["scenario"] == results.scenarios[0]]
        head = first.iloc[0]
        var = BY_NAME[str(head["indicator"])]
        title = (f"{group}: {var.label_vi if lang == 'vi' else var.label_en} "
                 f"({head['period']}, {unit(str(head['unit']), lang)})")
        header = [t["region"], t["target"], *(labels[s] for s in results.scenarios)]
        rows = [_region_cells(results, g, r, lang) for _, r in first.iterrows()]
        members = first[first["region"] != results.province]
        if not math.isnan(members["share_of_province"].iloc[0]):
            stated = members[members["target_id"] != ""]["target"]  # summed when all are
            rows.append([t["members_sum"], number(stated.sum(), lang)
                         if len(stated) == len(members) else "",
                         *(number(g[(g["scenario"] == s) & (g["region"] != results.province)]
                                  ["projected"].sum(), lang) for s in results.scenarios)])
        if (first["target_id"] != "").any() and results.draws:
            rows.append([t["together"], "", *(percent(g[g["scenario"] == s]
                                                      ["probability_together"].iloc[0], lang)
                                               for s in results.scenarios)])
        out.append((title, header, rows))
    return out


def _region_cells(results, g: pd.DataFrame, r, lang: str) -> list[str]:
    """One region's row of a reconciled group: name, target, each scenario's cell."""
    t = TEXT[lang]
    name = r["region_vi"] if lang == "vi" else r["region_en"]
    if r["region"] == results.province:
        name = t["province"]
    goal = t["no_target"]
    if r["target_id"]:
        goal = f"{SYMBOL[r['comparison']]} {number(r['target'], lang)}"
        tolerance = results.plan.targets[[x.id for x in results.plan.targets].index(
            r["target_id"])].tolerance
        if r["comparison"] == "about":
            goal += f" ± {number(tolerance, lang)}"
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


def format_reconciliation(results, lang: str = "vi", style: str = "text") -> str:
    """The reconciliation tables with their title and legend ("" without members)."""
    if not results.plan.regions.members:
        return ""
    t = TEXT[lang]
    heading = "## " if style == "markdown" else ""
    name = results.plan.name_vi if lang == "vi" else results.plan.name_en
    lines = [f"{heading}{t['reconcile']} — {name}"]
    for title, header, rows in reconciliation_rows(results, lang):
        lines += ["", title, ""] + _table(header, rows, style, left=2)
    lines += ["", t["reconcile_legend"]]
    return "\n".join(lines)


def feasibility_frame(results, lang: str = "vi") -> pd.DataFrame:
    """The committee table as a DataFrame of text cells (for Excel or HTML)."""
    header, rows = feasibility_rows(results, lang)
    return pd.DataFrame(rows, columns=header)


def to_excel(results, path, lang: str = "vi"):
    """A workbook for officials: the committee table, scenario details, paths, bands.

    Sheets: the feasibility table (text cells as printed), one detail sheet per scenario
    (with draws), the central paths (one column per year) and the bands.
    """
    from pathlib import Path

    t = TEXT[lang]
    path = Path(path)
    with pd.ExcelWriter(path, engine="openpyxl") as xl:
        feasibility_frame(results, lang).to_excel(xl, sheet_name=t["title"][:31], index=False)
        if results.draws:
            for s in results.scenarios:
                header, rows = detail_rows(results, s, lang)
                pd.DataFrame(rows, columns=header).to_excel(
                    xl, sheet_name=f"{t['detail'][:18]} {s}"[:31], index=False)
        if results.plan.regions.members:
            frames = [pd.DataFrame([[title, *row] for row in rows], columns=["", *header])
                      for title, header, rows in reconciliation_rows(results, lang)]
            pd.concat(frames, ignore_index=True).to_excel(
                xl, sheet_name=t["reconcile"][:31], index=False)
            results.reconciliation().to_excel(xl, sheet_name="reconciliation (data)",
                                              index=False)
        paths = results.paths.copy()
        for col in ("scenario", "region", "variable", "unit"):
            paths[col] = paths[col].astype(str)
        wide = paths.pivot_table(index=["scenario", "region", "variable", "unit"],
                                 columns="year",
                                 values="value", observed=True)
        wide.to_excel(xl, sheet_name="paths")
        if results.draws:
            results.bands().astype({c: str for c in ("scenario", "region", "variable",
                                                      "unit")}).to_excel(
                xl, sheet_name="bands", index=False)
        results.feasibility().astype({"scenario": str, "target_id": str}).to_excel(
            xl, sheet_name="feasibility (data)", index=False)
        write_as_text(xl.book)
    return path


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
