"""The committee report: one self-contained HTML file.

``quyhoach run PLAN --html`` and ``quyhoach report RUN_DIR`` write it. It holds the
feasibility table with verdict colours, fan charts with the targets, the effort each
off-track target needs with what drives its miss (the condition on the sampled inputs
under which it is mostly missed or met, and a tornado chart of their effects; these
rerun the Monte Carlo, so they need the run itself, not results read back), the
untracked targets, the assumptions, the reconciliation
with member regions (where the plan has them) and what identifies the run (seed,
draws, engine version, hashes). Charts are embedded as PNG, the style sheet is inline,
nothing is fetched from the network, and it prints to PDF from a browser (a section a
page, table rows and charts never split). Every text from the inputs is escaped.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import os
from html import escape
from pathlib import Path

from . import __version__
from .errors import QuyhoachError, ResultsError
from .report import (
    COLOURS,
    TEXT,
    assumption_lines,
    check_lang,
    detail_rows,
    draws_text,
    goal_text,
    has_members,
    need_text,
    number,
    outcome_text,
    reconciliation_rows,
    run_info,
    run_rows,
    target_rows,
    unit,
)

REPORT_NAME = "report.html"
GENERATOR = f'<meta name="generator" content="quyhoach {__version__}">'
MARKER = b'<meta name="generator" content="quyhoach '  # how a report is recognised
HEADLINE_CHARTS = ("grdp_real", "population", "budget_revenue", "tourists")
EFFORT_CHANCE = 0.8  # the chance the report's "what it would take" seeks by default
WORDS = {
    "vi": {"heading": "Báo cáo khả năng đạt mục tiêu", "charts": "Biểu đồ dự báo",
           "compare": "Tăng trưởng GRDP theo kịch bản",
           "effort": "Mục tiêu chệch hướng: mức cần đạt",
           "effort_central": "Mục tiêu không đạt (dự báo trung tâm): mức cần đạt",
           "effort_none": "Không có mục tiêu nào chệch hướng.",
           "rate": "Dự báo cùng kỳ", "needs": "cần",
           "no_years": "– (kỳ đã qua)",
           "effort_note": "Mỗi ô: mức bình quân kịch bản dự báo trong cùng các năm, tô màu "
                          "theo đánh giá của kịch bản.",
           "drives": "Cần gì để đạt, và điều gì quyết định việc đạt hay không đạt",
           "chance": "Để có {p} khả năng đạt",
           "drives_note": "Mỗi mục tiêu chệch hướng, trong kịch bản đầu tiên mà nó chệch "
                          "hướng: mức đòn bẩy của quy hoạch (tăng trưởng ngành, lượng khách, "
                          "...) cho {p} khả năng đạt, tìm trên cùng một bộ mô phỏng, và mức "
                          "chỉ tiêu khi đó cần đạt so với năm cao nhất trong số liệu; các "
                          "nguồn bất định chính (tỷ trọng phương sai mất đi khi cố định riêng "
                          "nguồn đó); điều kiện (thuật toán PRIM) là một hay hai khoảng giá trị "
                          "của các yếu tố bất định nơi tập trung các lần không đạt, hoặc các "
                          "lần đạt khi mục tiêu hiếm khi đạt; biểu đồ tornado cho thấy ảnh "
                          "hưởng của từng yếu tố. Tính trên {draws} lần mô phỏng đầu tiên của "
                          "lần chạy (seed {seed}).",
           "drives_missing": "Mức cần cho {p} khả năng, nguồn bất định, điều kiện và biểu "
                             "đồ tornado của các mục tiêu chệch hướng cần "
                             "chính lần chạy (quyhoach run PLAN --html): báo cáo từ kết quả "
                             "đã lưu không chạy lại mô phỏng.",
           "run": "Thông tin lần chạy", "missing": "Báo cáo này thiếu",
           "colours": "Màu đánh giá", "scenario": "Kịch bản", "source": "Nguồn",
           "goal": "Mục tiêu đề ra", "reason": "Lý do", "none": "Không có.",
           "no_plan": "tên kịch bản, tên quy hoạch và địa phương hiện theo mã lưu trong kết "
                      "quả",
           "no_reconcile": "bảng đối chiếu với các địa phương (cần tệp quy hoạch)",
           "no_together": "xác suất \"cùng đạt tất cả\" của bảng đối chiếu (không được lưu "
                          "trong kết quả; chạy lại quy hoạch để có)",
           "edited": "quy hoạch đã được sửa trong mã trước khi chạy, không tệp nào chứa nó",
           "not_found": "không tìm thấy tệp quy hoạch {path} từ thư mục này (chạy quyhoach "
                        "report từ thư mục đã chạy quy hoạch)",
           "changed": "tệp quy hoạch {path} đã thay đổi sau lần chạy",
           "broken": "tệp quy hoạch {path} không còn đọc được"},
    "en": {"heading": "Target feasibility report", "charts": "Projections",
           "compare": "GRDP growth by scenario",
           "effort": "Off-track targets: what they need",
           "effort_central": "Targets not met (central projection): what they need",
           "effort_none": "No target is off track.",
           "rate": "Projected, same years", "needs": "needs",
           "no_years": "– (the period is past)",
           "effort_note": "Each cell: the average the scenario projects over the same "
                          "years, coloured by the scenario's verdict.",
           "drives": "What it would take, and what drives a miss",
           "chance": "For a {p} chance",
           "drives_note": "Each off-track target, in the first scenario where it is off "
                          "track: the plan lever's value (sector growth, visitors, ...) that "
                          "gives it a {p} chance, searched on the same draws, and what the "
                          "indicator then needs against the best year in the inputs; the main "
                          "sources of its uncertainty (the variance that fixing each alone "
                          "removes); the condition (PRIM) is one or two ranges of the sampled "
                          "inputs where its misses concentrate, or the draws that meet it "
                          "when few do; the tornado chart shows each input's effect. From "
                          "the run's first {draws} draws (seed {seed}).",
           "drives_missing": "The effort for a {p} chance, the sources, conditions and "
                             "tornado charts of the off-track targets "
                             "need the run itself (quyhoach run PLAN --html): a report of "
                             "stored results does not rerun the Monte Carlo.",
           "run": "The run", "missing": "This report lacks",
           "colours": "Verdict colours", "scenario": "Scenario", "source": "Source",
           "goal": "Stated target", "reason": "Why not modelled", "none": "None.",
           "no_plan": "scenario labels, the plan's name and region names: the ids stored "
                      "with the results stand in for them",
           "no_reconcile": "the reconciliation with the member regions (it needs the plan "
                           "file)",
           "no_together": "the reconciliation's \"all met together\" probabilities (not "
                          "stored with the results; run the plan again for them)",
           "edited": "the plan was changed in code before the run, so no plan file holds it",
           "not_found": "the plan file {path} is not found from here (run quyhoach report "
                        "from the folder the run was made in)",
           "changed": "the plan file {path} has changed since the run",
           "broken": "the plan file {path} no longer loads"},
}
CSS = """
*{-webkit-print-color-adjust:exact;print-color-adjust:exact;box-sizing:border-box}
body{font-family:"DejaVu Sans","Noto Sans",Arial,sans-serif;font-size:10.5pt;color:#1a1a1a;
 margin:24px auto;max-width:1200px;padding:0 16px;line-height:1.35}
h1{font-size:18pt;margin:0 0 4px}h2{font-size:13.5pt;border-bottom:2px solid #2f5597;
 padding-bottom:3px;margin-top:28px;break-after:avoid;page-break-after:avoid}
h3{font-size:11pt;break-after:avoid;page-break-after:avoid}
.sub{color:#555;margin:0 0 12px}
table{border-collapse:collapse;width:100%;margin:6px 0 12px;font-size:9pt}
th,td{border:1px solid #b7b7b7;padding:3px 5px;vertical-align:top;text-align:left}
thead th{background:#d9e1f2}
td.n{text-align:right}
tr{break-inside:avoid;page-break-inside:avoid}
thead{display:table-header-group}
figure{margin:12px 0;break-inside:avoid;page-break-inside:avoid}
figure img{max-width:100%;height:auto;display:block;border:1px solid #ddd}
.note{font-size:9pt;color:#333}
.missing{border:2px solid #c55a11;background:#fff2e5;padding:6px 10px;margin:8px 0}
.chip{display:inline-block;padding:1px 8px;margin:0 6px 2px 0;border:1px solid #999}
@page{size:A4 landscape;margin:12mm}
@media print{body{margin:0;max-width:none;padding:0}
 section{break-before:page;page-break-before:always}
 section:first-of-type{break-before:auto;page-break-before:auto}}
"""
CSS += "".join(f".c-{name.replace(' ', '-')}{{background:#{colour}}}"
               for name, colour in COLOURS.items())


def _e(text) -> str:
    """Any text as HTML, escaped (quotes too)."""
    return escape(str(text), quote=True)


def _cell(value, css: str = "") -> str:
    return f'<td class="{css}">{_e(value)}</td>' if css else f"<td>{_e(value)}</td>"


def _table(header: list, rows: list[list], numeric_from: int = 99) -> str:
    """A table; cells are text or (text, css class); columns from ``numeric_from`` on
    are right-aligned."""
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = []
    for row in rows:
        cells = []
        for j, item in enumerate(row):
            text, css = item if isinstance(item, tuple) else (item, "")
            cells.append(_cell(text, " ".join(c for c in (css, "n" * (j >= numeric_from))
                                              if c)))
        body.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _count(n: int, lang: str) -> str:
    """A whole number with its thousands grouped: 10.000 (vi), 10,000 (en)."""
    return f"{n:,}".replace(",", "." if lang == "vi" else ",")


def _colour(r) -> str:
    """The css class of an outcome: its verdict, or met / not met without draws."""
    if r["verdict"]:
        return f"c-{str(r['verdict']).replace(' ', '-')}"
    return "c-met" if r["met"] else "c-not-met"


def _feasibility(results, info, lang: str) -> str:
    """The committee table, each scenario's cell coloured by its verdict."""
    t = TEXT[lang]
    header = ["#", t["indicator"], t["target"], *(info.label(s, lang) for s in
                                                  results.scenarios), t["required"]]
    rows = [[str(row.number), row.label,
             f"{goal_text(row.first, lang)} {unit(str(row.first['unit']), lang)} "
             f"({row.first['period']})",
             *((outcome_text(row.outcomes[s], lang), _colour(row.outcomes[s]))
               for s in results.scenarios), need_text(row.first, lang)]
            for row in target_rows(results, lang, info)]
    notes = [t["legend"].format(scenario=info.label(results.scenarios[0], lang))]
    if results.draws:
        notes.append(draws_text(results, lang))
    chips = "".join(f'<span class="chip c-{v.replace(" ", "-")}">{_e(word)}</span>'
                    for v, word in t["verdicts"].items()) if results.draws else \
        (f'<span class="chip c-met">✓ {_e(t["met"])}</span>'
         f'<span class="chip c-not-met">✗ {_e(t["not_met"])}</span>')
    return (f"<h2>{_e(t['title'])}</h2>" + _table(header, rows, 3)
            + f'<p class="note">{_e(WORDS[lang]["colours"])}: {chips}</p>'
            + "".join(f'<p class="note">{_e(n)}</p>' for n in notes))


def _detail(results, info, lang: str) -> str:
    """The first scenario's detail table (with draws)."""
    if not results.draws:
        return ""
    t = TEXT[lang]
    first = results.scenarios[0]
    header, rows = detail_rows(results, first, lang)
    verdict = header.index(t["verdict"])
    css = {word: f"c-{key.replace(' ', '-')}" for key, word in t["verdicts"].items()}
    cells = [[*row[:verdict], (row[verdict], css.get(row[verdict], "")), *row[verdict + 1:]]
             for row in rows]
    return (f"<h3>{_e(t['detail'])}: {_e(info.label(first, lang))}</h3>"
            + _table(header, cells, 3))


def default_charts(results) -> list[str]:
    """GRDP, population, budget revenue, tourists, then every other variable with a
    level or share target of the province."""
    df = results.feasibility()
    targeted = df[df["kind"].isin(["level", "share"]) & (df["region"] == results.province)]
    names = list(HEADLINE_CHARTS)
    names += [v for v in dict.fromkeys(map(str, targeted["indicator"])) if v not in names]
    return names


def _img(fig, alt: str) -> str:
    from .charts import png_bytes

    data = base64.b64encode(png_bytes(fig)).decode("ascii")
    return f'<figure><img alt="{_e(alt)}" src="data:image/png;base64,{data}"></figure>'


def _charts(results, lang: str, charts) -> str:
    """The scenarios' GRDP growth compared, then a fan chart of each variable."""
    from .charts import comparison_figure, fan_figure
    from .registry import BY_NAME

    words = WORDS[lang]
    parts = [f"<h2>{_e(words['charts'])}</h2>",
             _img(comparison_figure(results, "grdp_growth", lang=lang), words["compare"])]
    for name in charts:
        var = BY_NAME[name]
        parts.append(_img(fan_figure(results, name, lang=lang),
                          var.label_vi if lang == "vi" else var.label_en))
    return "".join(parts)


def _effort(results, info, lang: str, chance: float = EFFORT_CHANCE) -> str:
    """Every target off track in some scenario (not met, without draws): what it needs
    in the years left, beside what each scenario projects over the same years."""
    t, words = TEXT[lang], WORDS[lang]
    rows = []
    for row in target_rows(results, lang, info):
        behind = [s for s in results.scenarios if _behind(results, row.outcomes[s])]
        if not behind:
            continue
        need = need_text(row.outcomes[behind[0]], lang)
        rows.append([str(row.number), row.label,
                     f"{goal_text(row.first, lang)} {unit(str(row.first['unit']), lang)} "
                     f"({row.first['period']})", need or words["no_years"],
                     *(_effort_cell(row.outcomes[s], need, lang) for s in results.scenarios)])
    title = words["effort"] if results.draws else words["effort_central"]
    if not rows:
        return f"<h2>{_e(title)}</h2><p>{_e(words['effort_none'])}</p>"
    header = ["#", t["indicator"], t["target"], t["required"],
              *(f"{words['rate']}: {info.label(s, lang)}" for s in results.scenarios)]
    return (f"<h2>{_e(title)}</h2>" + _table(header, rows, 3)
            + f'<p class="note">{_e(words["effort_note"])}</p>'
            + _drives(results, info, lang, chance))


def _drives(results, info, lang: str, chance: float = EFFORT_CHANCE) -> str:
    """What it would take and what drives each off-track target, in the first scenario
    where it is off track: the lever's value for a ``chance`` chance
    (``analysis.effort``), the main sources of its variance (``analysis.drivers``), the
    PRIM condition (``misses.miss_conditions``) and the tornado chart, on the run's
    first ``analysis.DRAWS`` draws ("" without draws)."""
    if not results.draws:
        return ""
    words = WORDS[lang]
    head = f"<h3>{_e(words['drives'])}</h3>"
    if results.plan is None or any(s not in results._runs for s in results.scenarios):
        missing = words["drives_missing"].format(p=_chance(chance))
        return head + f'<p class="note">{_e(missing)}</p>'
    from . import analysis, misses
    from .charts import TEXT as CHART_TEXT
    from .charts import tornado_figure
    from .explain import TEXT as EXPLAIN_TEXT
    from .explain import drivers_text, effort_lines

    draws = min(results.draws, analysis.DRAWS)
    behind: dict[str, list] = {}  # scenario → its off-track rows
    for row in target_rows(results, lang, info):
        late = [s for s in results.scenarios if _behind(results, row.outcomes[s])]
        if late:
            behind.setdefault(late[0], []).append(row)
    note = (words["drives_note"].format(draws=_count(draws, lang), seed=results.seed,
                                        p=_chance(chance)) + " "
            + CHART_TEXT[lang]["how"].format(tail=f"{misses.TAIL:.0%}".replace("%", " %")))
    parts = [head, f'<p class="note">{_e(note)}</p>']
    said = EXPLAIN_TEXT[lang]
    for name, rows in behind.items():  # one Monte Carlo per scenario, shared by its targets
        ids = [str(row.first["target_id"]) for row in rows]
        sample = misses.sample_inputs(results, name, draws=draws, seed=results.seed)
        conditions = misses.miss_conditions(results, name, sample=sample).set_index(
            "target_id")
        effort = analysis.effort(results, name, probability=chance, draws=draws,
                                 seed=results.seed, targets=ids).set_index("target_id")
        shares = analysis.drivers(results, name, draws=draws, seed=results.seed)
        sought = words["chance"].format(p=_chance(chance))
        for row, tid in zip(rows, ids, strict=True):
            items = [f"{sought}: " + "; ".join(effort_lines(effort.loc[tid], lang))]
            sources = drivers_text(shares, tid)
            if sources:
                items.append(f"{said['drivers']}: {sources}")
            items.append(f"{said['condition']}: {conditions.loc[tid, f'text_{lang}']}")
            parts += [f"<h3>{row.number}. {_e(row.label)} — {_e(info.label(name, lang))}</h3>",
                      "<ul>" + "".join(f"<li>{_e(i)}</li>" for i in items) + "</ul>",
                      _img(tornado_figure(results, tid, lang=lang, scenario=name,
                                          sample=sample, note=False),
                           f"{row.label}: tornado")]
    return "".join(parts)


def _chance(p: float) -> str:
    """0.8 → '80 %'."""
    return f"{p:.0%}".replace("%", " %")


def _behind(results, r) -> bool:
    """Off track (with draws), or not met by the central projection (without)."""
    return r["verdict"] == "off track" if results.draws else not r["met"]


def _effort_cell(r, need: str, lang: str) -> tuple[str, str]:
    """What a scenario projects over the years left (and what it would need, where that
    differs from the row's), coloured by its verdict."""
    if not need_text(r, lang):
        return "", _colour(r)
    text = f"{number(r['projected_rate'], lang)} {unit(str(r['effort_unit']), lang)}"
    if need_text(r, lang) != need:
        text += f" ({WORDS[lang]['needs']} {number(r['required'], lang)})"
    return text, _colour(r)


def _untracked(info, lang: str) -> str:
    t, words = TEXT[lang], WORDS[lang]
    rows = [[str(i), u["label_vi"] if lang == "vi" else u["label_en"], u["target"],
             u["reason"], u["source"]] for i, u in enumerate(info.untracked, start=1)]
    body = _table(["#", t["indicator"], words["goal"], words["reason"], words["source"]],
                  rows) if rows else f"<p>{_e(words['none'])}</p>"
    return f"<h2>{_e(t['untracked'])}</h2>" + body


def _assumptions(results, info, lang: str) -> str:
    t = TEXT[lang]
    items = [_e(n) for n in assumption_lines(results, lang, info)]
    if results.draws and info.calibrated:
        items.append(f"{_e(t['calibrated'].format(model=info.model))}: "
                     f"{_e(', '.join(info.calibrated))}")
    body = "".join(f"<li>{i}</li>" for i in items) or f"<li>{_e(WORDS[lang]['none'])}</li>"
    return f"<h2>{_e(t['assumptions'])}</h2><ul>{body}</ul>"


def _reconciliation(results, info, lang: str) -> str:
    """The reconciliation tables ("" without member regions or without the plan)."""
    if not has_members(results) or results.plan is None:
        return ""
    t = TEXT[lang]
    parts = [f"<h2>{_e(t['reconcile'])} — {_e(info.name(lang))}</h2>"]
    for title, header, rows in reconciliation_rows(results, lang):
        parts += [f"<h3>{_e(title)}</h3>", _table(header, rows, 2)]
    parts.append(f'<p class="note">{_e(t["reconcile_legend"])}</p>')
    return "".join(parts)


def _run(results, info, lang: str) -> str:
    rows = [[key, _count(value, lang) if isinstance(value, int) else value]
            for key, value in run_rows(results, info, lang)]
    t = TEXT[lang]
    return f"<h2>{_e(WORDS[lang]['run'])}</h2>" + _table([t["key"], t["value"]], rows)


def render(results, *, lang: str = "vi", charts=None, missing=(),
           chance: float = EFFORT_CHANCE) -> str:
    """The committee report as one HTML page.

    Parameters
    ----------
    results : quyhoach.results.Results
        Simulated, or read back (``load_run``).
    lang : {"vi", "en"}
    charts : sequence of str, optional
        Variables with a fan chart; default ``default_charts(results)``.
    missing : sequence of str
        What the report lacks, said at its top (``load_run`` finds it).
    chance : float
        The chance (0-1) each off-track target's lever is searched for (a simulated run
        only: results read back are not rerun).

    Returns
    -------
    str
    """
    t = check_lang(lang)
    info = run_info(results)
    charts = list(charts) if charts else default_charts(results)
    meta = results.manifest
    sub = [meta.get("created_utc", ""), f"{t['run_keys']['n_draws']}: "
           f"{_count(results.draws, lang)}", f"{t['run_keys']['seed']}: {results.seed}"]
    notice = ""
    if missing:
        notice = (f'<div class="missing"><b>{_e(WORDS[lang]["missing"])}:</b><ul>'
                  + "".join(f"<li>{_e(m)}</li>" for m in missing) + "</ul></div>")
    sections = [_feasibility(results, info, lang) + _detail(results, info, lang),
                _charts(results, lang, charts), _effort(results, info, lang, chance),
                _untracked(info, lang) + _assumptions(results, info, lang),
                _reconciliation(results, info, lang), _run(results, info, lang)]
    title = f"{WORDS[lang]['heading']} — {info.name(lang)}"
    body = "".join(f"<section>{s}</section>" for s in sections if s)
    return (f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">{GENERATOR}'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_e(title)}</title><style>{CSS}</style></head><body>"
            f"<header><h1>{_e(title)}</h1><p class=\"sub\">"
            f"{_e(' · '.join(s for s in sub if s))}</p>{notice}</header>{body}</body></html>\n")


# ---------------------------------------------------------------- a stored run

def load_run(directory):
    """A results directory read back, with its plan when the plan file is unchanged.

    The plan (scenario labels, names, the reconciliation) is re-loaded from the file
    the manifest names when its SHA-256 is still the one recorded; otherwise the
    report is made of what the stored tables hold, and says what it lacks.

    Parameters
    ----------
    directory : str or pathlib.Path
        Written by ``quyhoach run`` (or ``Results.to_parquet``).

    Returns
    -------
    results : quyhoach.results.Results
    why : str
        Why the plan is not at hand (a key of ``WORDS``), "" when it is.

    Raises
    ------
    ResultsError
        Not a results directory, a batch dataset, or tables that cannot be read.
    """
    from .results import read_results

    d = _run_dir(directory)
    try:
        results = read_results(d)
    except (ValueError, OSError) as exc:  # pyarrow's errors about a damaged table too
        raise ResultsError(f"{d}: its tables cannot be read ({exc}); run the plan again") \
            from exc
    if "tasks" in results.manifest:
        raise ResultsError(f"{d} is a batch dataset: quyhoach report reads one run's "
                           "results directory (quyhoach run PLAN)")
    plan, why = _recorded_plan(results.manifest)
    if plan is None:
        return results, why
    return _with_plan(results, plan), ""


def _run_dir(directory) -> Path:
    """The results directory; ResultsError for anything else (nothing is touched)."""
    from .outdir import is_quyhoach_output

    d = Path(directory)
    if not d.is_dir() or not is_quyhoach_output(d):
        raise ResultsError(f"{d} is not a quyhoach results directory (expected the folder "
                           "quyhoach run writes, with its manifest.json)")
    return d


def _recorded_plan(meta: dict):
    """(plan, "") when the manifest's plan file still has its recorded SHA-256, else
    (None, why not: a key of ``WORDS``)."""
    from .plan import load_plan

    path = Path(str(meta.get("plan_file") or ""))
    if meta.get("plan_text"):
        return None, "edited"
    if not path.is_file():
        return None, "not_found"
    if hashlib.sha256(path.read_bytes()).hexdigest() != meta.get("plan_sha256"):
        return None, "changed"
    try:
        return load_plan(path), ""
    except QuyhoachError:
        return None, "broken"


def _with_plan(results, plan):
    """A copy of results read back that answers with its (unchanged) plan."""
    out = copy.copy(results)
    out.plan = plan
    return out


def missing_words(results, why: str, lang: str) -> list[str]:
    """What a report of results read back lacks, in the report's language.

    Parameters
    ----------
    results : quyhoach.results.Results
    why : str
        ``load_run``'s reason the plan is not at hand ("" when it is).
    lang : {"vi", "en"}
    """
    words = WORDS[lang]
    if why:
        path = results.manifest.get("plan_file", "")
        lacks = [f"{words['no_plan']} ({words[why].format(path=path)})"]
        return lacks + [words["no_reconcile"]] * has_members(results)
    if results.history is None and has_members(results) and results.draws \
            and (results.reconciliation()["target_id"] != "").any():
        return [words["no_together"]]
    return []


# ---------------------------------------------------------------- writing

def write_page(page: str, path, *, overwrite: bool = False) -> Path:
    """Write an HTML report atomically (a temporary file beside it, renamed).

    An existing file is replaced only when ``overwrite`` and only when it is a quyhoach
    report; a symbolic link is never written through.

    Raises
    ------
    ResultsError
        The file exists (without ``overwrite``), is not a quyhoach report, is a link,
        or cannot be written (nothing is then left behind).
    """
    from .outdir import OutputLock, clean_stale, refuse_link, remove, write_error

    path = Path(path)
    refuse_link(path)
    with OutputLock(path):
        clean_stale(path)
        _check_replaceable(path, overwrite)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{os.urandom(4).hex()}")
        try:
            with open(tmp, "xb") as f:
                f.write(page.encode("utf-8"))
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except OSError as exc:
            remove(tmp)
            raise write_error(path, exc) from exc
    return path


def _check_replaceable(path: Path, overwrite: bool) -> None:
    if not os.path.lexists(path):
        return
    if not path.is_file() or not _is_report(path):
        raise ResultsError(f"{path} exists and is not a quyhoach report; it is never "
                           "replaced: choose another --out")
    if not overwrite:
        raise ResultsError(f"{path} already exists; pass --force to replace it, or choose "
                           "another --out")


def _is_report(path: Path) -> bool:
    """Whether a file starts as the reports this module writes."""
    try:
        with open(path, "rb") as f:
            return MARKER in f.read(4096)
    except OSError:
        return False


def report_directory(directory, *, out=None, lang: str = "vi", charts=None,
                     overwrite: bool = False) -> Path:
    """Write the report of a stored run: ``RUN_DIR/report.html``, or ``out``.

    Parameters
    ----------
    directory : str or pathlib.Path
        A results directory written by ``quyhoach run``.
    out : str or pathlib.Path, optional
        The HTML file; default ``report.html`` in the results directory.
    lang : {"vi", "en"}
    charts : sequence of str, optional
        See ``render``.
    overwrite : bool
        Replace an existing quyhoach report.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ResultsError
        As ``load_run`` and ``write_page``; nothing is written then.
    """
    from .outdir import OutputLock

    check_lang(lang)
    d = _run_dir(directory)  # before any lock file is made beside it
    if out is not None:
        return _report(d, Path(out), lang, charts, overwrite)
    with OutputLock(d):  # no run replaces the folder while its report is written
        return _report(d, d / REPORT_NAME, lang, charts, overwrite)


def _report(directory, target: Path, lang: str, charts, overwrite: bool) -> Path:
    from .outdir import refuse_link

    refuse_link(target)
    _check_replaceable(target, overwrite)  # refused before any work
    results, why = load_run(directory)
    page = render(results, lang=lang, charts=charts,
                  missing=missing_words(results, why, lang))
    return write_page(page, target, overwrite=overwrite)

