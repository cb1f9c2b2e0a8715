"""Charts a committee reads: its number format, the plan period's room, targets that
never overlap, coinciding scenarios that stay visible, and the user's matplotlib
left as it was."""

import json
import subprocess
import sys

import pytest
from matplotlib.axis import YAxis

import quyhoach
from conftest import LAI_CHAU
from quyhoach.charts import (
    NumberFormatter,
    chart_years,
    comparison_chart,
    comparison_figure,
    fan_chart,
    fan_figure,
)


@pytest.fixture(scope="module")
def res():
    return quyhoach.simulate(LAI_CHAU, draws=100, seed=2)


def _ticks(locs, lang):
    formatter = NumberFormatter(lang)
    formatter.set_locs(locs)
    return [formatter(x) for x in locs]


def test_ticks_group_thousands_as_the_language_does():
    assert _ticks([0, 2_000_000, 4_000_000], "vi") == ["0", "2.000.000", "4.000.000"]
    assert _ticks([0, 2_000_000, 4_000_000], "en") == ["0", "2,000,000", "4,000,000"]
    assert _ticks([-2.5, 0, 2.5, 5.0], "vi") == ["-2,5", "0,0", "2,5", "5,0"]
    assert _ticks([0.25, 0.5], "en") == ["0.25", "0.50"]
    assert _ticks([97.0, 98.0], "vi") == ["97", "98"]


def _drawn(fig):
    fig.canvas.draw()
    return fig.axes[0]


def test_axes_have_no_offset_or_multiplier_and_years_are_plain(res):
    ax = _drawn(fan_figure(res, "tourists", lang="vi"))
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert any("." in t and len(t) >= 9 for t in labels), labels  # e.g. 2.000.000
    assert not any("e" in t.lower() for t in labels)
    assert isinstance(ax.yaxis, YAxis) and ax.yaxis.get_offset_text().get_text() == ""
    years = [t.get_text() for t in ax.get_xticklabels()]
    assert years[0] == "2020" and years[-1] == "2030" and "2.020" not in years


def test_the_plan_period_gets_the_room_and_2050_on_request(res):
    assert chart_years(res) == (2020, 2030)
    assert _drawn(fan_figure(res, "population")).get_xlim() == (2019.5, 2030.5)
    assert _drawn(fan_figure(res, "population", until=2050)).get_xlim() == (2019.5, 2050.5)
    with pytest.raises(ValueError, match="outside the run's years"):
        fan_figure(res, "population", until=2060)


def test_target_numbers_never_overlap_and_every_target_is_listed(res):
    fig = fan_figure(res, "grdp_per_capita", lang="en")
    ax = _drawn(fig)
    renderer = fig.canvas.get_renderer()
    tags = [a for a in ax.texts]
    assert [a.get_text() for a in tags] == ["15", "16"]  # numbered as in the table
    boxes = [a.get_window_extent(renderer) for a in tags]
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    listed = [t.get_text() for legend in fig.legends for t in legend.get_texts()]
    assert any(t.startswith("15. ") and "65.0" in t for t in listed)
    assert any(t.startswith("16. ") for t in listed)


def test_nearby_targets_get_separate_tags(res):
    from quyhoach.charts import Mark, _draw_targets

    fig = fan_figure(res, "population")
    ax = fig.axes[0]
    for a in list(ax.texts):
        a.remove()
    _draw_targets(ax, [Mark("1", 2030, 545.0, 0.0, ()), Mark("2", 2030, 545.5, 0.0, ()),
                       Mark("3", 2030, 546.0, 0.0, ())])
    _drawn(fig)
    renderer = fig.canvas.get_renderer()
    boxes = [a.get_window_extent(renderer) for a in ax.texts]
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


def test_coinciding_scenarios_stay_visible_and_say_so(res):
    # every Lai Châu scenario projects the same population
    ax = _drawn(comparison_figure(res, "population", lang="en"))
    lines = [line for line in ax.get_lines()
             if line.get_label() != "Actual" and not line.get_label().startswith("_")]
    assert len(lines) == 4
    assert len({(line.get_linestyle(), line.get_marker()) for line in lines}) == len(lines)
    assert len({str(line.get_markevery()) for line in lines}) == len(lines)  # staggered
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert sum("same as Base (approved plan, 1585/QĐ-TTg)" in t for t in labels) == 3
    vi = _drawn(comparison_figure(res, "grdp_real", lang="vi"))
    assert not any("trùng" in t.get_text() for t in vi.get_legend().get_texts())


def test_files_by_suffix(res, tmp_path):
    png = fan_chart(res, "budget_revenue", tmp_path / "b.png", until=2040)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = comparison_chart(res, "grdp_growth", tmp_path / "g.svg", lang="en")
    assert b"<svg" in svg.read_bytes()[:500]
    with pytest.raises(KeyError, match="did you mean 'grdp_real'"):
        fan_chart(res, "grdp", tmp_path / "x.png")
    with pytest.raises(KeyError, match="no scenario 'bse'"):
        fan_chart(res, "grdp_real", tmp_path / "x.png", scenarios=["bse"])


SCRIPT = """
import json, sys
import matplotlib
matplotlib.use("svg")
import quyhoach
from quyhoach.charts import comparison_chart, fan_chart
res = quyhoach.read_results(sys.argv[1])
fan_chart(res, "population", sys.argv[2])
comparison_chart(res, "grdp_real", sys.argv[3])
print(json.dumps({"backend": matplotlib.get_backend(),
                  "pyplot": "matplotlib.pyplot" in sys.modules}))
"""


def test_charts_leave_the_users_backend_and_pyplot_alone(res, tmp_path):
    """A user's backend survives; pyplot is never imported (read-back results too)."""
    stored = res.to_parquet(tmp_path / "r")
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(stored), str(tmp_path / "p.png"),
                           str(tmp_path / "c.png")], capture_output=True, text=True,
                          timeout=300, check=True)
    assert json.loads(proc.stdout.splitlines()[-1]) == {"backend": "svg", "pyplot": False}
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"


# ---------------------------------------------------------------- tornado charts

@pytest.fixture(scope="module")
def base_sample(res):
    from quyhoach import misses

    return misses.sample_inputs(res, "base", draws=400, seed=2)


def test_the_tornado_chart_shows_each_input_and_the_target(res, base_sample):
    from matplotlib.figure import Figure

    from quyhoach import misses
    from quyhoach.charts import LOW, TARGET, tornado_figure

    fig = tornado_figure(res, "tourists_2030", lang="vi", sample=base_sample)
    assert isinstance(fig, Figure)
    ax = _drawn(fig)
    table = misses.tornado(res, "tourists_2030", sample=base_sample)
    shown = table[~table["noise"]].head(8)
    low = [p for p in ax.patches if p.get_facecolor()[:3] == _rgb(LOW)]
    assert len(low) == len(shown) >= 2  # one bar per input and tail
    widths = [abs(p.get_width()) for p in low]  # largest effect on top
    assert [round(p.get_y(), 6) for p in low] == sorted(round(p.get_y(), 6) for p in low)[::-1]
    assert widths[0] == pytest.approx(abs(shown.iloc[0]["metric_low"] - table.attrs["mean"]))
    goal = [line for line in ax.get_lines() if line.get_color() == TARGET]
    assert len(goal) == 1 and goal[0].get_xdata()[0] == 2_000_000
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert ticks[0].startswith("Tăng trưởng lượt khách du lịch")  # top: the largest
    assert all("→" in t for t in ticks) and any("," in t for t in ticks)  # 9,5 not 9.5
    labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert any("." in t and len(t) >= 9 for t in labels)  # 2.000.000
    legend = [t.get_text() for legend in fig.legends for t in legend.get_texts()]
    assert any(t.startswith("Mục tiêu ≥ 2.000.000") for t in legend)


def test_an_about_target_shades_its_band_and_english_reads_english(res, base_sample):
    from quyhoach.charts import tornado_figure

    fig = tornado_figure(res, "grdp_growth_2021_2030_approved", lang="en",
                         sample=base_sample, top=3)
    ax = _drawn(fig)
    band = [p for p in ax.patches if p.get_width() == pytest.approx(2.0)]  # 9 to 11
    assert len(band) == 1 and band[0].get_x() == pytest.approx(9.0)
    assert len(ax.get_yticklabels()) == 3
    title = ax.get_title(loc="left")
    assert title.startswith("Average GRDP growth 2021-2030") and "400 draws" in title
    legend = [fig.legends[0].get_title().get_text()]
    assert "other inputs not drawn" in legend[0]
    with pytest.raises(KeyError, match="no scenario 'bse'"):
        tornado_figure(res, "tourists_2030", scenario="bse", sample=base_sample)


def _rgb(hex_colour: str) -> tuple:
    return tuple(int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5))


TORNADO_SCRIPT = """
import json, sys
import matplotlib
matplotlib.use("svg")
import quyhoach
from quyhoach.charts import save, tornado_figure
res = quyhoach.simulate(sys.argv[1], scenarios=["base"], draws=60, seed=1)
save(tornado_figure(res, "tourists_2030", draws=60), sys.argv[2])
print(json.dumps({"backend": matplotlib.get_backend(),
                  "pyplot": "matplotlib.pyplot" in sys.modules}))
"""


def test_the_tornado_chart_leaves_the_users_backend_alone(tmp_path):
    proc = subprocess.run([sys.executable, "-c", TORNADO_SCRIPT, str(LAI_CHAU),
                           str(tmp_path / "t.png")], capture_output=True, text=True,
                          timeout=300, check=True)
    assert json.loads(proc.stdout.splitlines()[-1]) == {"backend": "svg", "pyplot": False}
    assert (tmp_path / "t.png").read_bytes()[:4] == b"\x89PNG"
