"""Fan charts for the steering committee: history, central path, 50 % and 90 % bands."""

from __future__ import annotations

from pathlib import Path


def fan_chart(results, variable: str, path, *, lang: str = "vi", scenarios=None):
    """Draw one variable for every scenario and save it (PNG, SVG or PDF by suffix).

    Each scenario gets its central path (line), and with draws its 5-95 % and 25-75 %
    bands (shaded). History years are drawn in black; the targets on this variable
    are marked with their year and value.

    Parameters
    ----------
    results : quyhoach.results.Results
    variable : str
        A variable name, e.g. ``"grdp_real"``.
    path : str or pathlib.Path
        Output file.
    lang : {"vi", "en"}
    scenarios : list of str, optional
        Default: all.

    Returns
    -------
    pathlib.Path
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .errors import did_you_mean
    from .registry import BY_NAME
    from .report import unit

    if variable not in BY_NAME:
        raise KeyError(f"unknown variable '{variable}'" + did_you_mean(variable, BY_NAME))
    var = BY_NAME[variable]
    scenarios = scenarios or results.scenarios
    years = results.plan.years
    fig, ax = plt.subplots(figsize=(9, 5), dpi=120)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    # the province's bands (members have their own); no draws, no bands
    bands = results.bands(variable, region=results.province) if results.draws else None
    for i, name in enumerate(scenarios):
        color = colors[i % len(colors)]
        sc = results.plan.scenario(name)
        fixed = results._runs[name].fixed[variable]
        values = results.values(name, variable)
        future = years > years[0] + fixed
        ax.plot(years[future | (years == years[0] + fixed)],
                values[future | (years == years[0] + fixed)], color=color, lw=2,
                label=sc.label_vi if lang == "vi" else sc.label_en)
        b = bands[(bands["scenario"] == name) & (bands["year"] >= years[0] + fixed)] \
            if bands is not None else None
        if b is not None and not b.empty:
            ax.fill_between(b["year"], b["q05"], b["q95"], color=color, alpha=0.12, lw=0)
            ax.fill_between(b["year"], b["q25"], b["q75"], color=color, alpha=0.22, lw=0)
    first = results._runs[scenarios[0]]
    hist = years <= years[0] + first.fixed[variable]
    ax.plot(years[hist], results.values(scenarios[0], variable)[hist], color="black", lw=2.2,
            label="Thực tế" if lang == "vi" else "Actual")
    for t in results.plan.targets:
        if t.indicator == variable and t.kind in ("level", "share") and not t.region:
            ax.plot([t.year], [t.value], marker="*", ms=13, color="crimson", zorder=5)
            ax.annotate(t.label_vi if lang == "vi" else t.label_en, (t.year, t.value),
                        textcoords="offset points", xytext=(6, 6), fontsize=7, color="crimson")
    ax.set_title(var.label_vi if lang == "vi" else var.label_en)
    ax.set_ylabel(unit(var.unit, lang))
    ax.grid(alpha=0.3)
    note = ("Dải màu: 50 % và 90 % kết quả mô phỏng" if lang == "vi"
            else "Shading: 50 % and 90 % of simulated outcomes")
    ax.legend(fontsize=8, loc="upper left", title=note if bands is not None else None,
              title_fontsize=7)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path
