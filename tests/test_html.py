"""The committee report: one self-contained HTML file, every section, text from the
inputs escaped, written atomically and never over another file; rendered in a real
headless browser where one is installed (Debian: apt-get install -y chromium)."""

import base64
import html
import json
import re
import shutil
import subprocess

import pandas as pd
import pytest

import quyhoach
from conftest import LAI_CHAU, ROOT, write_plan
from quyhoach.cli import main
from quyhoach.html import REPORT_NAME, WORDS, load_run, missing_words, render, write_page
from quyhoach.report import COLOURS, TEXT

LANG_SON = ROOT / "scenarios" / "lang_son.toml"
CHARTS = ["population", "tourists"]


@pytest.fixture(scope="module")
def drawn():
    return quyhoach.simulate(LAI_CHAU, draws=200, seed=3)


@pytest.fixture(scope="module")
def page(drawn):
    return render(drawn, charts=CHARTS)


def _sections(page: str) -> list[str]:
    return re.findall(r"<section>(.*?)</section>", page, flags=re.S)


def _text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def test_every_section_is_there(drawn, page):
    sections = _sections(page)
    assert len(sections) == 5  # no reconciliation: Lai Châu has no member regions
    table, charts, effort, listed, run = sections
    assert TEXT["vi"]["title"] in table and "Cơ sở (QĐ 1585/QĐ-TTg)" in table
    feas = drawn.feasibility()
    assert table.count('class="c-') >= len(feas)  # every scenario's cell has its verdict
    for label in feas["label_vi"]:
        assert html.escape(label) in table
    assert charts.count("<img") == 1 + len(CHARTS)  # GRDP growth compared, then fans
    off = feas[feas["verdict"] == "off track"]
    assert len(off) and all(html.escape(label) in effort for label in off["label_vi"])
    assert "12,5 %/năm (2025-2030)" in _text(effort)  # growth needed in the years left
    for u in drawn.plan.untracked_targets:
        assert html.escape(u.label_vi) in listed
    assert html.escape(drawn.plan.assumed_data[0].note) in listed
    assert all(html.escape(note) in listed for note in drawn.notes)
    words = _text(run)
    manifest = drawn.manifest
    assert "Seed 3" in words and "Số lần mô phỏng mỗi kịch bản 200" in words
    assert quyhoach.__version__ in words and manifest["plan_sha256"] in words
    assert all(h in words for h in manifest["inputs_sha256"].values())


def test_what_drives_each_off_track_target(drawn, page):
    """Beside the effort: every off-track target, in the first scenario where it is off
    track, has the lever's value for an 80 % chance (analysis.effort), its main sources
    of variance (analysis.drivers), its condition (misses.miss_conditions on the run's
    draws) and its tornado chart."""
    from quyhoach import analysis, misses
    from quyhoach.explain import drivers_text, effort_lines

    effort = _sections(page)[2]
    assert WORDS["vi"]["drives"] in effort and "200 lần mô phỏng đầu tiên" in _text(effort)
    feas = drawn.feasibility()
    labels = {s: drawn.plan.scenario(s).label_vi for s in drawn.scenarios}
    conditions = {}
    shown = 0
    for number, target in enumerate(drawn.plan.targets, start=1):
        rows = feas[feas["target_id"] == target.id].set_index("scenario")
        behind = [s for s in drawn.scenarios if rows.loc[s, "verdict"] == "off track"]
        if not behind:
            assert f"{number}. {html.escape(target.label_vi)} — " not in effort
            continue
        name = behind[0]
        if name not in conditions:
            conditions[name] = misses.miss_conditions(
                drawn, name, draws=200, seed=3).set_index("target_id")
        heading = f"<h3>{number}. {html.escape(target.label_vi)} — {html.escape(labels[name])}"
        assert heading in effort
        part = effort[effort.index(heading):]
        part = part[:part.index("</figure>")]
        assert html.escape(conditions[name].loc[target.id, "text_vi"]) in part
        e = analysis.effort(drawn, name, draws=200, seed=3, targets=[target.id]).iloc[0]
        assert "<li>Để có 80 % khả năng đạt: " + html.escape("; ".join(effort_lines(e, "vi"))) \
            in part
        shares = analysis.drivers(drawn, name, draws=200, seed=3)
        assert html.escape(drivers_text(shares, target.id)) in part
        assert f'alt="{html.escape(target.label_vi)}: tornado"' in part
        shown += 1
    assert shown == effort.count(': tornado"') >= 10


def test_self_contained_and_prints_well(page):
    assert page.startswith("<!DOCTYPE html>") and '<html lang="vi">' in page
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:|//)""", page, flags=re.I)
    assert "<link" not in page and "@import" not in page and "url(" not in page
    assert "<script" not in page
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == 3 + page.count(': tornado"')  # a tornado per off-track target
    assert all(base64.b64decode(i)[:8] == b"\x89PNG\r\n\x1a\n" for i in images)
    css = re.search(r"<style>(.*?)</style>", page, flags=re.S)[1]
    for rule in ("@media print", "section{break-before:page", "tr{break-inside:avoid",
                 "thead{display:table-header-group}", "figure{margin:12px 0;break-inside:avoid",
                 "print-color-adjust:exact", "@page"):
        assert rule in css


def test_english_report(drawn):
    """In English, and with another chance sought for the off-track targets."""
    from quyhoach import analysis
    from quyhoach.explain import effort_lines

    page = render(drawn, lang="en", charts=["population"], chance=0.5)
    assert '<html lang="en">' in page and "TARGET FEASIBILITY" in page
    assert "Off-track targets: what they need" in page and "12.5 %/yr (2025-2030)" in page
    feas = drawn.feasibility()
    off = feas[feas["verdict"] == "off track"].iloc[0]  # in plan and scenario order
    first = feas[(feas["target_id"] == off["target_id"]) & (feas["verdict"] == "off track")]
    e = analysis.effort(drawn, str(first["scenario"].iloc[0]), probability=0.5, draws=200,
                        seed=3, targets=[str(off["target_id"])]).iloc[0]
    assert "<li>For a 50 % chance: " + html.escape("; ".join(effort_lines(e, "en"))) in page
    with pytest.raises(ValueError, match="lang must be 'vi' or 'en'"):
        render(drawn, lang="fr")


HOSTILE = [
    ('label_vi = "Cơ sở (QĐ 1585/QĐ-TTg)"', 'label_vi = "<script>alert(1)</script>"'),
    ('label_vi = "Tăng trưởng GRDP bình quân 2021-2030 (dự thảo 2021)"',
     'label_vi = "\\"><img src=x onerror=alert(1)>"'),
    ('label_vi = "Tăng năng suất lao động bình quân 8,2%/năm"',
     'label_vi = "<iframe src=\\"http://x.example\\"></iframe>"'),
    ('note = "No urban population figure after 2019',
     'note = "<style>body{display:none}</style> No urban population figure after 2019'),
]


def test_every_text_from_the_inputs_is_escaped(tmp_path):
    res = quyhoach.simulate(write_plan(tmp_path, HOSTILE), scenarios=["base"], draws=20,
                            seed=1)
    page = render(res, charts=["population"])
    for raw in ("<script", "<iframe", "<img src=x", "<style>body"):
        assert raw not in page
    for shown in ("&lt;script&gt;alert(1)&lt;/script&gt;", "&quot;&gt;&lt;img src=x",
                  "&lt;iframe src=&quot;http://x.example&quot;&gt;",
                  "&lt;style&gt;body{display:none}&lt;/style&gt;"):
        assert shown in page


def test_reconciliation_where_the_plan_has_regions():
    res = quyhoach.simulate(LANG_SON, scenarios=["base"], draws=30, seed=1)
    page = render(res, charts=["population"])
    reconcile = next(s for s in _sections(page) if TEXT["vi"]["reconcile"] in s)
    assert "Thành phố Lạng Sơn" in reconcile and "Tổng các địa phương" in reconcile


# ---------------------------------------------------------------- the command line

def test_run_html_and_report_of_the_results_directory(tmp_path, capsys):
    out = tmp_path / "res"
    assert main(["run", str(LAI_CHAU), "--out", str(out), "--draws", "50", "--seed", "1",
                 "--scenario", "base", "--html", "--charts", "population"]) == 0
    assert "report.html" in capsys.readouterr().out
    first = (out / REPORT_NAME).read_text(encoding="utf-8")
    feas = pd.read_parquet(out / "feasibility.parquet")
    off = feas.loc[feas["verdict"] == "off track", "target_id"].nunique()
    assert off and first.count(': tornado"') == off
    assert first.count("<img") == 2 + off and "Cơ sở (QĐ 1585/QĐ-TTg)" in first
    assert main(["report", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("quyhoach: error:") and "--force" in err and err.count("\n") == 1
    assert main(["report", str(out), "--force", "--lang", "en", "--charts", "tourists"]) == 0
    again = (out / REPORT_NAME).read_text(encoding="utf-8")
    assert "TARGET FEASIBILITY" in again and "Base (approved plan, 1585/QĐ-TTg)" in again
    assert WORDS["en"]["drives_missing"].format(p="80 %") in html.unescape(again)
    assert again.count("<img") == 2
    assert sorted(p.name for p in out.iterdir()) == [
        "bands.parquet", "fan_population.png", "feasibility.parquet", "manifest.json",
        "paths.parquet", REPORT_NAME]  # no lock or temporary file left


def test_report_never_replaces_another_file_nor_reads_another_folder(tmp_path, capsys,
                                                                     drawn):
    run_dir = drawn.to_parquet(tmp_path / "r")
    theirs = tmp_path / "notes.html"
    theirs.write_text("<p>minutes of the meeting</p>", encoding="utf-8")
    for args in (["--out", str(theirs)], ["--out", str(theirs), "--force"],
                 ["--out", str(tmp_path)]):
        assert main(["report", str(run_dir), *args]) == 2
        assert "is not a quyhoach report" in capsys.readouterr().err
    assert theirs.read_text(encoding="utf-8") == "<p>minutes of the meeting</p>"
    before = sorted(p.name for p in tmp_path.iterdir())
    for folder in (tmp_path, tmp_path / "nowhere" / "x", run_dir / "manifest.json"):
        assert main(["report", str(folder)]) == 2
        err = capsys.readouterr().err
        assert "is not a quyhoach results directory" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_a_failed_write_leaves_the_old_report_and_no_temporary(tmp_path, monkeypatch):
    target = write_page(render_stub("one"), tmp_path / REPORT_NAME)

    def refuse(*_):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("quyhoach.html.os.replace", refuse)
    with pytest.raises(quyhoach.ResultsError, match="No space left on device.*free disk"):
        write_page(render_stub("two"), target, overwrite=True)
    assert "one" in target.read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == [REPORT_NAME]


def render_stub(text: str) -> str:
    """A page that reads as a quyhoach report (its generator tag), holding ``text``."""
    from quyhoach.html import GENERATOR

    return f"<!DOCTYPE html><html><head>{GENERATOR}</head><body>{text}</body></html>"


# ---------------------------------------------------------------- results read back

def test_read_back_with_the_recorded_plan_unchanged(tmp_path, drawn):
    res, why = load_run(drawn.to_parquet(tmp_path / "r"))
    assert why == "" and res.plan is not None and res.history is None
    page = render(res, charts=["population"])
    assert "Cơ sở (QĐ 1585/QĐ-TTg)" in page and 'class="missing"' not in page
    assert html.escape(WORDS["vi"]["drives_missing"].format(p="80 %")) in page  # no rerun
    assert missing_words(res, why, "vi") == []


def test_read_back_says_what_it_lacks_when_the_plan_changed_or_is_gone(tmp_path):
    plan = write_plan(tmp_path)
    run_dir = quyhoach.simulate(plan, scenarios=["base"]).to_parquet(tmp_path / "r")
    plan.write_text(plan.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    res, why = load_run(run_dir)
    assert why == "changed" and res.plan is None
    page = render(res, lang="en", charts=["population"], missing=missing_words(res, why, "en"))
    notice = _text(re.search(r'<div class="missing">(.*?)</div>', page, flags=re.S)[1])
    assert "scenario labels" in notice and f"the plan file {plan} has changed" in notice
    assert "<th>base</th>" in page  # the stored id stands in for the label
    plan.unlink()
    assert load_run(run_dir)[1] == "not_found"


def test_read_back_of_a_plan_with_regions_lacks_the_reconciliation(tmp_path):
    run_dir = quyhoach.simulate(LANG_SON, scenarios=["base"]).to_parquet(tmp_path / "r")
    manifest = run_dir / "manifest.json"
    meta = json.loads(manifest.read_text(encoding="utf-8"))
    manifest.write_text(json.dumps({**meta, "plan_file": str(tmp_path / "gone.toml")}),
                        encoding="utf-8")
    res, why = load_run(run_dir)
    lacks = missing_words(res, why, "vi")
    assert len(lacks) == 2 and "bảng đối chiếu" in lacks[1]
    page = render(res, charts=["population"], missing=lacks)
    assert TEXT["vi"]["reconcile"] not in page


# ---------------------------------------------------------------- a real browser

BROWSER = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")
                if shutil.which(n)), None)
needs_browser = pytest.mark.skipif(
    BROWSER is None, reason="no headless Chromium on this machine (Debian: apt-get install -y "
                            "chromium); the report's rendering is not checked")

PROBE = """<script>
window.addEventListener("load", function () {
  var table = document.querySelector("table");
  var cells = Array.from(table.querySelectorAll("tbody td"));
  var probe = document.createElement("pre");
  probe.id = "probe";
  probe.textContent = JSON.stringify({
    images: Array.from(document.images).map(function (i) {
      return [i.complete, i.naturalWidth, i.naturalHeight, i.getBoundingClientRect().width];
    }),
    rows: table.tBodies[0].rows.length,
    coloured: cells.filter(function (td) {
      return getComputedStyle(td).backgroundColor !== "rgba(0, 0, 0, 0)";
    }).length,
    sections: document.querySelectorAll("section").length
  });
  document.body.appendChild(probe);
});
</script>"""


def _chromium(tmp_path, *args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--no-first-run", "--hide-scrollbars", f"--user-data-dir={tmp_path / 'profile'}",
         *args], capture_output=True, text=True, timeout=240)


@pytest.mark.browser
@needs_browser
def test_a_headless_browser_renders_the_table_and_the_charts(tmp_path, drawn, page):
    """Chromium loads the page: every chart decodes, the table has a row per target with
    its verdict colours; its screenshot shows them; it prints to a PDF of several pages."""
    from PIL import Image, ImageStat

    report = tmp_path / "report.html"
    report.write_text(page, encoding="utf-8")
    probed = tmp_path / "probed.html"
    probed.write_text(page.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = _chromium(tmp_path, "--virtual-time-budget=10000", "--dump-dom",
                    probed.as_uri()).stdout
    found = json.loads(html.unescape(re.search(r'<pre id="probe">(.*?)</pre>', dom,
                                               flags=re.S)[1]))
    assert len(found["images"]) == 1 + len(CHARTS) + page.count(': tornado"')
    charts = found["images"][:1 + len(CHARTS)]
    assert all(done and w > 500 and h > 300 and shown > 500 for done, w, h, shown in charts)
    # a tornado chart's height follows its bars (two bars: about 300 pixels)
    assert all(done and w > 500 and h > 200 and shown > 500
               for done, w, h, shown in found["images"][1 + len(CHARTS):])
    assert found["rows"] == len(drawn.plan.targets) and found["sections"] == 5
    assert found["coloured"] == len(drawn.plan.targets) * len(drawn.scenarios)

    shot = tmp_path / "shot.png"
    _chromium(tmp_path, "--window-size=1280,5200", f"--screenshot={shot}", report.as_uri())
    image = Image.open(shot).convert("RGB")
    assert image.size == (1280, 5200)
    grey = image.convert("L")
    assert ImageStat.Stat(grey).stddev[0] > 20  # not blank
    assert sum(grey.histogram()[:128]) > 20_000  # dark text and lines
    colours = image.getcolors(maxcolors=1 << 20)
    counts = {rgb: n for n, rgb in colours}

    def pixels(hex_colour: str, tolerance: int = 6) -> int:
        want = tuple(int(hex_colour[i:i + 2], 16) for i in (0, 2, 4))
        return sum(n for rgb, n in counts.items()
                   if all(abs(a - b) <= tolerance for a, b in zip(rgb, want, strict=True)))

    assert pixels(COLOURS["off track"]) > 5_000 and pixels(COLOURS["unlikely"]) > 1_000
    assert pixels("1f77b4", 30) > 2_000  # the base scenario's lines in the charts

    pdf = tmp_path / "report.pdf"
    _chromium(tmp_path, "--no-pdf-header-footer", f"--print-to-pdf={pdf}", report.as_uri())
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page[^s]", data)) >= 5


def test_the_chance_sought_must_be_a_percentage(tmp_path, capsys):
    from quyhoach.cli import main

    assert main(["run", str(LAI_CHAU), "--html", "--chance", "120", "--out",
                 str(tmp_path / "r")]) == 2
    assert "'120': give a percentage strictly between 0 and 100" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
