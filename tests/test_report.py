"""What officials read: probabilities near 0 and 1, the workbook (no live formulas from
plan text), and runs without draws."""

import math

import openpyxl
import pytest

import quyhoach
from conftest import write_plan
from quyhoach.report import percent, to_excel, write_as_text


@pytest.mark.parametrize("p, text", [
    (0.0, "0%"), (1e-9, "<1%"), (0.004, "<1%"), (0.005, "<1%"), (0.0051, "1%"),
    (0.5, "50%"), (0.994, "99%"), (0.995, ">99%"), (0.9999, ">99%"), (1.0, "100%"),
    (math.nan, "–")])
def test_only_certainty_prints_as_0_or_100_percent(p, text):
    assert percent(p, "vi") == text and percent(p, "en") == text


HOSTILE = [
    ('label_vi = "Cơ sở (QĐ 1585/QĐ-TTg)"', 'label_vi = "=HYPERLINK(\\"http://x.example\\",\\"y\\")"'),
    ('label_vi = "Tăng trưởng GRDP bình quân 2021-2030 (dự thảo 2021)"',
     'label_vi = "+SUM(1,2)"'),
    ('source = "QĐ 1585/QĐ-TTg 07/12/2023"', 'source = "@cmd|calc"'),
    ('label_en = "Average GRDP growth 2021-2030 (approved: 9-11 %)"',
     'label_en = "-2+3"'),
]


def test_plan_text_never_becomes_a_spreadsheet_formula(tmp_path):
    plan = write_plan(tmp_path, HOSTILE)
    res = quyhoach.simulate(plan, scenarios=["base"], draws=50, seed=1)
    book_path = to_excel(res, tmp_path / "f.xlsx", lang="vi")
    book = openpyxl.load_workbook(book_path)
    texts, numbers = set(), []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str) and cell.value[:1] in "=+-@":
                    assert cell.data_type == "s" and cell.quotePrefix, cell.coordinate
                    texts.add(cell.value)
                elif isinstance(cell.value, float) and cell.value < 0:
                    numbers.append(cell.value)
    assert {'=HYPERLINK("http://x.example","y")', "+SUM(1,2)", "@cmd|calc"} <= texts
    assert numbers and all(c.data_type == "n" for c in book["feasibility (data)"]["P"][1:]
                           if isinstance(c.value, float))  # 'required': numbers stay numbers


def test_english_workbook_keeps_english_labels_as_text(tmp_path):
    plan = write_plan(tmp_path, HOSTILE)
    res = quyhoach.simulate(plan, scenarios=["base"])
    book = openpyxl.load_workbook(to_excel(res, tmp_path / "f.xlsx", lang="en"))
    first = book.worksheets[0]
    cells = [c for row in first.iter_rows() for c in row if c.value == "-2+3"]
    assert cells and all(c.data_type == "s" and c.quotePrefix for c in cells)


def test_write_as_text_marks_tab_and_carriage_return_too():
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["\t=1+1", "\r@x", "safe", -3.5, "=A1"])
    assert sheet["E1"].data_type == "f"  # what openpyxl does with '=...' by itself
    assert write_as_text(book) == 3
    assert [c.data_type for c in sheet[1]] == ["s", "s", "s", "n", "s"]


def test_bands_of_a_run_without_draws_say_why(lai_chau_results):
    assert lai_chau_results.draws == 0
    with pytest.raises(quyhoach.ResultsError, match=r"no Monte Carlo draws \(draws=0\).*"
                                                    r"--draws 10000"):
        lai_chau_results.bands("grdp_real")
    with pytest.raises(quyhoach.ResultsError, match="no bands"):
        lai_chau_results.bands(scenario="base")
    with pytest.raises(quyhoach.ResultsError, match="no bands"):
        lai_chau_results.bands()


def test_a_run_without_draws_writes_an_empty_bands_table(lai_chau_results, tmp_path):
    import pyarrow.parquet as pq

    out = lai_chau_results.to_parquet(tmp_path / "out")
    bands = pq.read_table(out / "bands.parquet")
    assert bands.num_rows == 0 and {"q05", "q95", "central"} <= set(bands.column_names)
    with pytest.raises(quyhoach.ResultsError, match="no bands"):
        quyhoach.read_results(out).bands()


def test_bands_name_an_unknown_scenario(tmp_path):
    res = quyhoach.simulate(write_plan(tmp_path), scenarios=["base"], draws=20, seed=1)
    with pytest.raises(KeyError, match="did you mean 'base'"):
        res.bands("grdp_real", "bse")
    assert len(res.bands("grdp_real", "base")) == 31


def test_workbook_and_charts_of_a_run_without_draws(tmp_path, lai_chau_results):
    from quyhoach.charts import fan_chart

    book = openpyxl.load_workbook(to_excel(lai_chau_results, tmp_path / "f.xlsx"))
    assert "bands" not in book.sheetnames and "paths" in book.sheetnames
    png = fan_chart(lai_chau_results, "population", tmp_path / "p.png")
    assert png.read_bytes()[:4] == b"\x89PNG"
