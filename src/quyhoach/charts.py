"""Charts for the steering committee: fan charts, scenario comparisons and tornado
charts of what moves a target (``tornado_figure``).

Numbers read as the committee writes them (2.000.000 and 9,5 in Vietnamese; 2,000,000
and 9.5 in English), never with an offset or a scientific multiplier; the time axis
gives the plan period its room (from 2015, or the base year if later, to the last
target year); every target is numbered at its point and listed in full under the
chart, so labels never overlap. Scenarios differ in colour, dash and marker, and a
scenario whose path coincides with another's says so in the legend.

Figures are drawn with matplotlib's object-oriented API on their own Agg canvas: the
user's backend and pyplot's state are never touched.
"""

from __future__ import annotations

import io
import math
import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, Formatter, FuncFormatter, MaxNLocator

from .report import check_lang, goal_text, grouped, number, run_info, unit

FIRST_YEAR = 2015  # history shown from here (or the base year, if later)
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf",
           "#bcbd22")
DASHES = ("-", "--", "-.", ":")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
TARGET = "crimson"
TEXT = {
    "vi": {"actual": "Thực tế", "bands": "Dải màu: 50 % và 90 % kết quả mô phỏng",
           "same": "trùng với {other}", "targets": "Mục tiêu", "compare": "so sánh các kịch bản",
           "low": "Yếu tố ở mức {tail} thấp nhất", "high": "Yếu tố ở mức {tail} cao nhất",
           "mean": "Bình quân mọi lần mô phỏng ({value})",
           "goal": "Mục tiêu {goal}", "scenario": "Kịch bản {scenario}; {draws} lần mô phỏng",
           "how": "Mỗi thanh: bình quân chỉ tiêu trong các lần mô phỏng có yếu tố đó ở mức "
                  "{tail} thấp nhất / cao nhất (khoảng giá trị của yếu tố trong ngoặc); các "
                  "yếu tố khác giữ nguyên giá trị đã rút.",
           "quiet": "{n} yếu tố khác không vẽ: ảnh hưởng nhỏ hơn sai số Monte Carlo hoặc "
                    "ngoài {top} yếu tố lớn nhất.",
           "none": "Không yếu tố nào có ảnh hưởng vượt sai số Monte Carlo"},
    "en": {"actual": "Actual", "bands": "Shading: 50 % and 90 % of simulated outcomes",
           "same": "same as {other}", "targets": "Targets", "compare": "scenarios compared",
           "low": "Input in its lowest {tail}", "high": "Input in its highest {tail}",
           "mean": "Mean of all draws ({value})",
           "goal": "Target {goal}", "scenario": "Scenario {scenario}; {draws} draws",
           "how": "Each bar: the indicator's mean over the draws with that input in its "
                  "lowest / highest {tail} (the input's values in brackets); every other "
                  "input keeps its own draws.",
           "quiet": "{n} other inputs not drawn: within Monte Carlo noise, or beyond the "
                    "{top} largest.",
           "none": "No input moves it beyond Monte Carlo noise"},
}
LOW, HIGH = "#4472c4", "#ed7d31"  # the input's lowest and highest tail


class NumberFormatter(Formatter):
    """Tick labels in the report's language, with as many decimals as the ticks need
    (0.5 steps: one) and never an offset or a multiplier ("1e7").

    Parameters
    ----------
    lang : {"vi", "en"}
    """

    def __init__(self, lang: str):
        self.lang = lang
        self.decimals = 0

    def set_locs(self, locs) -> None:
        """Find the fewest decimals that show every tick exactly."""
        super().set_locs(locs)
        finite = [x for x in locs if math.isfinite(x)]
        self.decimals = next((d for d in range(5) if all(
            abs(round(x, d) - x) <= 1e-9 * max(1.0, abs(x)) for x in finite)), 4)

    def __call__(self, x, pos=None) -> str:
        return grouped(x, self.decimals, self.lang)


@dataclass(frozen=True)
class Mark:
    """A target drawn on a chart: its number(s) in the list under it, where, what."""

    tag: str
    year: int
    value: float
    tolerance: float
    lines: tuple[str, ...]


def chart_years(results, until: int | None = None) -> tuple[int, int]:
    """First and last year a chart shows.

    From 2015 or the first year of the run if later, to ``until`` (default: the last
    target year, else the horizon).

    Raises
    ------
    ValueError
        ``until`` outside the run's years.
    """
    years = [int(y) for y in results.years]
    first = max(FIRST_YEAR, years[0])
    last = until if until is not None else _last_target_year(results, years[-1])
    if not first < last <= years[-1]:
        raise ValueError(f"until={last} is outside the run's years {first + 1}-{years[-1]}")
    return first, last


def _last_target_year(results, horizon: int) -> int:
    periods = pd.unique(results.feasibility()["period"].astype(str))
    return min(horizon, max((int(p.rsplit("-", 1)[-1]) for p in periods), default=horizon))


def _history_end(results, variable: str) -> int:
    """The last year of the province's history of ``variable`` (else the first year)."""
    paths = results.paths
    rows = paths[(paths["scenario"] == results.scenarios[0]) & (paths["variable"] == variable)
                 & (paths["region"] == results.province) & (paths["status"] != "projected")]
    return int(rows["year"].max()) if len(rows) else int(results.years[0])


def _targets(results, variable: str, lang: str) -> list[Mark]:
    """The province's level and share targets on ``variable``, numbered as in the
    committee table; targets at the same point share a mark."""
    df = results.feasibility()
    df = df[df["scenario"] == results.scenarios[0]]
    marks: dict[tuple, list] = {}
    for n, r in enumerate(df.to_dict("records"), start=1):
        if r["indicator"] != variable or r["kind"] not in ("level", "share") \
                or r["region"] != results.province:
            continue
        label = r["label_vi"] if lang == "vi" else r["label_en"]
        line = f"{n}. {label}: {goal_text(r, lang)} {unit(str(r['unit']), lang)} ({r['period']})"
        key = (int(r["period"]), float(r["target"]), float(r["tolerance"]))
        marks.setdefault(key, []).append((str(n), line))
    return [Mark(", ".join(n for n, _ in items), y, v, tol, tuple(x for _, x in items))
            for (y, v, tol), items in marks.items()]


def _figure(height: float) -> Figure:
    """A figure on its own Agg canvas (no pyplot), laid out to fit outside legends."""
    fig = Figure(figsize=(9, height), dpi=120, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _height(marks: list[Mark]) -> float:
    """Inches: the plot, and the list of targets under it."""
    lines = sum(len(m.lines) for m in marks)
    return 4.8 + (0.3 + 0.17 * lines if lines else 0.0)


def _style(i: int) -> dict:
    """Colour, dash, marker and width of the i-th scenario; markers staggered so that
    coinciding paths show each scenario's marks."""
    return {"color": COLOURS[i % len(COLOURS)], "ls": DASHES[i % len(DASHES)],
            "marker": MARKERS[i % len(MARKERS)], "ms": 5, "lw": max(1.2, 2.4 - 0.3 * i),
            "markevery": (i % 4, 4)}


def _same_as(paths: list[np.ndarray], i: int) -> int | None:
    """The first earlier path equal to path ``i`` (NaN equal to NaN), or None."""
    for j in range(i):
        a, b = paths[i], paths[j]
        if a.shape == b.shape and np.allclose(a, b, rtol=1e-9, atol=0.0, equal_nan=True):
            return j
    return None


def _draw_paths(ax, results, variable: str, names: list[str], window: tuple[int, int],
                lang: str) -> None:
    """Each scenario's central path from the end of history to the last year shown."""
    info = run_info(results)
    years = np.asarray(results.years, dtype=int)
    start = _history_end(results, variable)
    keep = (years >= start) & (years <= window[1])
    paths = [results.values(name, variable)[keep] for name in names]
    for i, name in enumerate(names):
        label = info.label(name, lang)
        other = _same_as(paths, i)
        if other is not None:
            label += f" ({TEXT[lang]['same'].format(other=info.label(names[other], lang))})"
        ax.plot(years[keep], paths[i], label=label, zorder=3 + 0.1 * i, **_style(i))


def _draw_history(ax, results, variable: str, window: tuple[int, int], lang: str) -> None:
    years = np.asarray(results.years, dtype=int)
    keep = (years >= window[0]) & (years <= _history_end(results, variable))
    values = results.values(results.scenarios[0], variable)[keep]
    if np.isfinite(values).sum() > 1:
        ax.plot(years[keep], values, color="black", lw=2.2, marker="o", ms=3.5,
                label=TEXT[lang]["actual"], zorder=4)


def _draw_bands(ax, results, variable: str, names: list[str], window: tuple[int, int]) -> bool:
    """The 50 % and 90 % bands of each scenario after history, each band once (a band
    equal to another scenario's is not shaded twice); False without draws."""
    if not results.draws:
        return False
    bands = results.bands(variable, region=results.province)
    start = _history_end(results, variable)
    drawn: list[np.ndarray] = []
    for i, name in enumerate(names):
        b = bands[(bands["scenario"] == name) & (bands["year"] >= start)
                  & (bands["year"] <= window[1])]
        edges = b[["q05", "q25", "q75", "q95"]].to_numpy(dtype=float)
        if _same_as([*drawn, edges], len(drawn)) is not None:
            continue
        drawn.append(edges)
        colour = COLOURS[i % len(COLOURS)]
        ax.fill_between(b["year"], b["q05"], b["q95"], color=colour, alpha=0.12, lw=0)
        ax.fill_between(b["year"], b["q25"], b["q75"], color=colour, alpha=0.22, lw=0)
    return True


def _draw_targets(ax, marks: list[Mark]) -> None:
    """A star at each target (a bar for ± tolerance) with its number beside it."""
    for m in marks:
        ax.errorbar([m.year], [m.value], yerr=[m.tolerance] if m.tolerance else None,
                    fmt="*", ms=13, color=TARGET, capsize=4, zorder=6)
    placed: list = []
    for m in marks:
        ax.annotate(m.tag, (m.year, m.value), textcoords="offset points",
                    xytext=_free_offset(ax, m, placed), fontsize=8, fontweight="bold",
                    color=TARGET, zorder=7)


def _free_offset(ax, mark: Mark, placed: list) -> tuple[int, int]:
    """An offset (points) where the mark's number overlaps no number placed before."""
    x, y = ax.transData.transform((mark.year, mark.value))
    scale = ax.figure.dpi / 72
    width, height = (6 * len(mark.tag) + 4) * scale, 10 * scale
    for dx, dy in ((6, 6), (6, -14), (-8 - 6 * len(mark.tag), 6),
                   (-8 - 6 * len(mark.tag), -14), (6, 20), (6, -28)):
        box = (x + dx * scale, y + dy * scale, width, height)
        if not any(_overlap(box, other) for other in placed):
            placed.append(box)
            return dx, dy
    return 6, 6


def _overlap(a: tuple, b: tuple) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] \
        and b[1] < a[1] + a[3]


def _axes(ax, results, variable: str, window: tuple[int, int], lang: str) -> None:
    """Title, unit, number format, year ticks and the window."""
    from .registry import BY_NAME
    var = BY_NAME[variable]
    ax.set_title(var.label_vi if lang == "vi" else var.label_en, loc="left", fontsize=11)
    ax.set_ylabel(unit(var.unit, lang))
    ax.yaxis.set_major_locator(MaxNLocator(nbins=7, steps=[1, 2, 2.5, 5, 10]))
    ax.yaxis.set_major_formatter(NumberFormatter(lang))
    span = window[1] - window[0]
    step = 1 if span <= 16 else 2 if span <= 30 else 5
    ax.xaxis.set_major_locator(FixedLocator(range(window[0], window[1] + 1, step)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:.0f}"))
    ax.set_xlim(window[0] - 0.5, window[1] + 0.5)
    ax.grid(alpha=0.3)


def _target_list(fig, marks: list[Mark], lang: str) -> None:
    """Every target in full under the chart, by number."""
    lines = [line for m in marks for line in m.lines]
    if lines:
        handle = Line2D([], [], color=TARGET, marker="*", ls="", ms=10)
        fig.legend([handle] + [Line2D([], [], ls="")] * (len(lines) - 1), lines,
                   loc="outside lower left", fontsize=8, frameon=False,
                   title=TEXT[lang]["targets"], title_fontsize=8, alignment="left")


def _check(results, variable: str, scenarios, lang: str) -> list[str]:
    """The scenarios to draw; KeyError for an unknown variable or scenario, ValueError
    for a language the charts do not speak."""
    from .errors import did_you_mean
    from .registry import BY_NAME

    check_lang(lang)
    if variable not in BY_NAME:
        raise KeyError(f"unknown variable '{variable}'" + did_you_mean(variable, BY_NAME))
    names = list(scenarios or results.scenarios)
    for name in names:
        if name not in results.scenarios:
            raise KeyError(f"no scenario '{name}'" + did_you_mean(name, results.scenarios))
    return names


def fan_figure(results, variable: str, *, lang: str = "vi", scenarios=None,
               until: int | None = None) -> Figure:
    """The fan chart of one variable as a matplotlib ``Figure`` (see ``fan_chart``)."""
    names = _check(results, variable, scenarios, lang)
    window = chart_years(results, until)
    marks = _targets(results, variable, lang)
    fig = _figure(_height(marks))
    ax = fig.add_subplot()
    bands = _draw_bands(ax, results, variable, names, window)
    _draw_paths(ax, results, variable, names, window, lang)
    _draw_history(ax, results, variable, window, lang)
    _axes(ax, results, variable, window, lang)
    _draw_targets(ax, marks)
    ax.legend(fontsize=8, loc="upper left", title=TEXT[lang]["bands"] if bands else None,
              title_fontsize=7)
    _target_list(fig, marks, lang)
    return fig


def comparison_figure(results, variable: str, *, lang: str = "vi", scenarios=None,
                      until: int | None = None) -> Figure:
    """The scenarios' central paths of one variable side by side (see
    ``comparison_chart``)."""
    from .registry import BY_NAME

    names = _check(results, variable, scenarios, lang)
    window = chart_years(results, until)
    marks = _targets(results, variable, lang)
    fig = _figure(_height(marks))
    ax = fig.add_subplot()
    _draw_paths(ax, results, variable, names, window, lang)
    _draw_history(ax, results, variable, window, lang)
    _axes(ax, results, variable, window, lang)
    var = BY_NAME[variable]
    ax.set_title(f"{var.label_vi if lang == 'vi' else var.label_en}: {TEXT[lang]['compare']}",
                 loc="left", fontsize=11)
    _draw_targets(ax, marks)
    ax.legend(fontsize=8, loc="upper left")
    _target_list(fig, marks, lang)
    return fig


def tornado_figure(results, target_id: str, *, lang: str = "vi", scenario: str | None = None,
                   draws: int | None = None, seed: int | None = None, sample=None,
                   top: int = 8, note: bool = True) -> Figure:
    """What moves one target: a tornado chart of the sampled inputs' effects.

    Each bar is one input (``quyhoach.misses.tornado``): the target's metric averaged
    over the draws where the input lies in its lowest tenth (blue) and in its highest
    tenth (orange), around the mean of all draws, largest effect on top; inputs whose
    effect is within Monte Carlo noise are left out (and counted under the chart). The
    target is the red line (its band shaded for an ≈ target).

    Parameters
    ----------
    results : quyhoach.results.Results
        A simulated run (it needs the plan and its kernel inputs).
    target_id : str
    lang : {"vi", "en"}
        Language of labels and number format.
    scenario : str, optional
        Default: the first scenario.
    draws, seed : int, optional
        The draws analysed (the run's first ``draws``, default
        ``quyhoach.analysis.DRAWS``); seed defaults to the run's. Ignored with
        ``sample``.
    sample : quyhoach.misses.Sample, optional
        Reuse ``quyhoach.misses.sample_inputs`` of the same scenario.
    top : int
        Most inputs drawn.
    note : bool
        Say under the chart how the bars are made (a report that says it once passes
        False).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from . import analysis, misses

    check_lang(lang)
    name = scenario or results.scenarios[0]
    if name not in results.scenarios:
        from .errors import did_you_mean
        raise KeyError(f"no scenario '{name}'" + did_you_mean(name, results.scenarios))
    sample = sample or misses.sample_inputs(results, name, draws=draws or analysis.DRAWS,
                                              seed=seed)
    table = misses.tornado(results, target_id, name, sample=sample)
    shown = table.loc[~table["noise"]].head(top)
    words = TEXT[lang]
    tail = f"{misses.TAIL:.0%}".replace("%", " %")
    row = results.feasibility()
    row = row[(row["scenario"] == name) & (row["target_id"] == target_id)].iloc[0]
    labels = [_input_tick(r, lang) for r in shown.to_dict("records")]
    label = row["label_vi"] if lang == "vi" else row["label_en"]
    title = textwrap.fill(str(label), 90) + "\n" + words["scenario"].format(
        scenario=run_info(results).label(name, lang),
        draws=f"{sample.draws:,}".replace(",", "." if lang == "vi" else ","))
    notes = [words["how"].format(tail=tail)] if note else []
    if len(table) > len(shown):
        notes.append(words["quiet"].format(n=len(table) - len(shown), top=top))
    caption = textwrap.fill(" ".join(notes), 150)
    fig, ax = _tornado_axes(labels, title, caption)
    mean = table.attrs["mean"]
    y = np.arange(len(shown))[::-1]
    ax.barh(y, shown["metric_low"] - mean, left=mean, color=LOW, height=0.6,
            label=words["low"].format(tail=tail))
    ax.barh(y, shown["metric_high"] - mean, left=mean, color=HIGH, height=0.6,
            label=words["high"].format(tail=tail))
    ax.axvline(mean, color="#555555", lw=1.0, ls=":",
               label=words["mean"].format(value=number(mean, lang)))
    _draw_goal(ax, row, lang)
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_ylim(-0.7, max(len(shown), 1) - 0.3)
    if not len(shown):
        ax.text(0.5, 0.5, words["none"], transform=ax.transAxes, ha="center", va="center")
        ax.set_yticks([])
    ax.xaxis.set_major_locator(MaxNLocator(nbins=7, steps=[1, 2, 2.5, 5, 10]))
    ax.xaxis.set_major_formatter(NumberFormatter(lang))
    ax.set_xlabel(unit(str(row["unit"]), lang))
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(title, loc="left", fontsize=10)
    fig.legend(loc="lower left", bbox_to_anchor=(0.01, 0.01), fontsize=8, frameon=False,
               ncols=2, title=caption or None, title_fontsize=7, alignment="left")
    return fig


def _tornado_axes(labels: list[str], title: str, caption: str):
    """A figure sized to its bars, with margins for the tick labels, title and legend
    set in inches (one draw, not a layout engine's two: a report draws dozens)."""
    width, inch_per_char = 9.0, 0.068  # 8 pt DejaVu Sans, an average character
    longest = max((len(line) for text in labels for line in text.split("\n")), default=0)
    left = min(max(1.0, 0.2 + inch_per_char * longest), 3.6)
    top = 0.2 + 0.2 * (title.count("\n") + 1)
    bottom = 0.65 + 0.42 + (0.13 * (caption.count("\n") + 1) + 0.05 if caption else 0.0)
    plot = 0.3 + 0.55 * max(len(labels), 1)
    height = top + plot + bottom
    fig = Figure(figsize=(width, height), dpi=120)
    FigureCanvasAgg(fig)
    fig.subplots_adjust(left=left / width, right=1 - 0.3 / width, top=1 - top / height,
                        bottom=bottom / height)
    return fig, fig.add_subplot()


def _draw_goal(ax, row, lang: str) -> None:
    """The target as a red line (an ≈ target's band shaded)."""
    goal = f"{goal_text(row, lang)} {unit(str(row['unit']), lang)}"
    value = float(row["target"])
    if row["comparison"] == "about":
        tol = float(row["tolerance"])
        ax.axvspan(value - tol, value + tol, color=TARGET, alpha=0.08, lw=0)
    ax.axvline(value, color=TARGET, lw=1.8, label=TEXT[lang]["goal"].format(goal=goal))


def _input_tick(r: dict, lang: str) -> str:
    """An input's tick label: its name, wrapped, and its two tails' values."""
    from .misses import input_number

    name = textwrap.fill(r[f"label_{lang}"], 46)
    u = r[f"unit_{lang}"]
    integer = r["input"].startswith("disruption ")
    lo, hi = ((f"{x:.0f}" if integer else input_number(x, lang))
              for x in (r["input_low"], r["input_high"]))
    return f"{name}\n({lo} → {hi}{' ' + u if u else ''})"


def save(fig: Figure, path) -> Path:
    """Write a figure (PNG, SVG or PDF by the file's suffix)."""
    path = Path(path)
    fig.savefig(path)
    return path


def png_bytes(fig: Figure, dpi: int = 110) -> bytes:
    """A figure as PNG bytes (for the HTML report)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def fan_chart(results, variable: str, path, *, lang: str = "vi", scenarios=None,
              until: int | None = None) -> Path:
    """Draw one variable for every scenario and save it (PNG, SVG or PDF by suffix).

    Each scenario gets its central path (colour, dash and marker of its own), and with
    draws its 5-95 % and 25-75 % bands (shaded). History is drawn in black; each
    target on this variable is a numbered star, listed in full under the chart.

    Parameters
    ----------
    results : quyhoach.results.Results
        Simulated, or read back (``quyhoach.read_results``).
    variable : str
        A variable name, e.g. ``"grdp_real"``.
    path : str or pathlib.Path
        Output file.
    lang : {"vi", "en"}
        Language of labels and number format.
    scenarios : list of str, optional
        Default: all.
    until : int, optional
        Last year shown; default the last target year (e.g. 2030), e.g. 2050 for the
        vision.

    Returns
    -------
    pathlib.Path
    """
    return save(fan_figure(results, variable, lang=lang, scenarios=scenarios, until=until),
                path)


def comparison_chart(results, variable: str, path, *, lang: str = "vi", scenarios=None,
                     until: int | None = None) -> Path:
    """Draw the scenarios' central paths of one variable and save the chart.

    Without bands, so the scenarios compare at a glance. Each scenario has its own
    colour, dash and marker, markers staggered along the line, so a path that
    coincides with another stays visible; its legend entry says which it coincides
    with. Parameters as ``fan_chart``.

    Returns
    -------
    pathlib.Path
    """
    return save(comparison_figure(results, variable, lang=lang, scenarios=scenarios,
                                  until=until), path)
