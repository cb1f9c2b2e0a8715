"""What officials read: probabilities near 0 and 1, the workbook (no live formulas from
plan text), and runs without draws."""

import math

import openpyxl
import pytest

import quyhoach
from conftest import LAI_CHAU, ROOT, write_plan
from quyhoach.report import (
    COLOURS,
    TEXT,
    number_format,
    percent,
    percent_format,
    to_excel,
    write_as_text,
)

LANG_SON = ROOT / "scenarios" / "lang_son.toml"


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


# ---------------------------------------------------------------- the workbook for officials

@pytest.fixture(scope="module")
def drawn():
    """Lai Châu with draws, two scenarios (module-wide: the workbook tests only read)."""
    return quyhoach.simulate(LAI_CHAU, scenarios=["base", "low"], draws=200, seed=5)


@pytest.fixture(scope="module")
def book_vi(drawn, tmp_path_factory):
    return openpyxl.load_workbook(to_excel(drawn, tmp_path_factory.mktemp("xl") / "f.xlsx"))


def test_sheet_names_are_whole_words_within_excel_limits(book_vi, drawn, tmp_path):
    sheets = TEXT["vi"]["sheets"]
    assert book_vi.sheetnames == [
        sheets["table"], sheets["detail"], sheets["untracked"], sheets["assumptions"],
        sheets["legend"], sheets["run"], "paths", "bands", "feasibility (data)"]
    english = openpyxl.load_workbook(to_excel(drawn, tmp_path / "en.xlsx", lang="en"))
    assert english.sheetnames[:6] == ["Target feasibility", "Scenario detail",
                                      "Targets not modelled", "Assumptions", "Legend", "Run"]
    for name in [*book_vi.sheetnames, *english.sheetnames]:
        assert len(name) <= 31 and not set(name) & set("[]:*?/\\")


def test_committee_sheet_has_numbers_with_formats_labels_and_frozen_bold_header(book_vi,
                                                                                 drawn):
    ws = book_vi[TEXT["vi"]["sheets"]["table"]]
    header = [c.value for c in ws[1]]
    assert header[:3] == ["#", "Chỉ tiêu", "Mục tiêu"]
    assert "Cơ sở (QĐ 1585/QĐ-TTg)" in header and "Thấp" in header
    assert not {"base", "low"} & set(header)  # labels, not ids
    assert all(c.font.b for c in ws[1]) and ws.freeze_panes == "C2"
    assert ws.column_dimensions["B"].width >= 30
    assert ws.max_row - 1 == len(drawn.plan.targets)
    growth = ws[2]  # average GRDP growth 2021-2030 >= 9.5
    assert growth[2].data_type == "n" and growth[2].value == 9.5
    assert growth[2].number_format == '"≥ "#,##0.00'
    projected, mark, probability = growth[5], growth[6], growth[7]
    assert projected.data_type == "n" and projected.number_format == "#,##0.00"
    assert mark.value == "✗"
    assert probability.data_type == "n" and "%" in probability.number_format
    assert probability.fill.fgColor.rgb.endswith(COLOURS[drawn.feasibility()["verdict"][0]])
    tourists = next(row for row in ws.iter_rows(min_row=2) if row[4].value == "2030"
                    and "khách du lịch" in row[1].value)
    assert tourists[2].value == 2_000_000 and tourists[2].number_format == '"≥ "#,##0'


def test_probability_formats_never_show_0_or_100_for_near_certainty():
    assert percent_format(0.004) == '"<1%"' and percent_format(0.996) == '">99%"'
    assert percent_format(0.0) == percent_format(0.5) == percent_format(1.0) == "0%"
    assert number_format(2_000_000.0) == "#,##0" and number_format(9.5) == "#,##0.00"
    assert number_format(545.0, "≈ ", " ± 5") == '"≈ "#,##0.0" ± 5"'


def test_legend_run_assumptions_and_untracked_sheets(book_vi, drawn):
    sheets = TEXT["vi"]["sheets"]
    legend = {r[0]: r[1] for r in book_vi[sheets["legend"]].iter_rows(min_row=2,
                                                                        values_only=True)}
    assert legend["khả năng cao"] == "xác suất đạt ≥ 80%" and legend["chệch hướng"] == "dưới 10%"
    assert legend["Đơn vị: tỷ đồng"] == "billion VND"
    run = {r[0]: r[1] for r in book_vi[sheets["run"]].iter_rows(min_row=2, values_only=True)}
    manifest = drawn.manifest
    assert run["Seed"] == "5" and run["Số lần mô phỏng mỗi kịch bản"] == 200
    assert run["Phiên bản quyhoach"] == quyhoach.__version__
    assert run["SHA-256 tệp quy hoạch"] == manifest["plan_sha256"]
    assert set(manifest["inputs_sha256"].values()) <= set(run.values())
    notes = [r[-1] for r in book_vi[sheets["assumptions"]].iter_rows(min_row=2,
                                                                       values_only=True)]
    assert drawn.plan.assumed_data[0].note in notes and set(drawn.notes) <= set(notes)
    untracked = book_vi[sheets["untracked"]]
    assert untracked.max_row - 1 == len(drawn.plan.untracked_targets)
    assert untracked["B2"].value == drawn.plan.untracked_targets[0].label_vi


def test_paths_and_bands_sheets_are_numbers_by_label(book_vi):
    paths = book_vi["paths"]
    assert paths.freeze_panes == "F2" and paths["E1"].value == "variable"
    row = next(r for r in paths.iter_rows(min_row=2) if r[4].value == "population")
    assert row[0].value == "Cơ sở (QĐ 1585/QĐ-TTg)" and row[1].value == "Toàn tỉnh"
    assert row[5].data_type == "n" and row[5].number_format == "#,##0.0"
    bands = book_vi["bands"]
    assert [c.value for c in bands[1]][6:9] == ["mean", "sd", "q05"]
    assert bands["G2"].data_type == "n"


def test_reconciliation_sheets_for_a_plan_with_members(tmp_path):
    res = quyhoach.simulate(LANG_SON, scenarios=["base"], draws=50, seed=1)
    book = openpyxl.load_workbook(to_excel(res, tmp_path / "f.xlsx"))
    assert TEXT["vi"]["sheets"]["reconcile"] in book.sheetnames
    assert "reconciliation (data)" in book.sheetnames
    ws = book[TEXT["vi"]["sheets"]["reconcile"]]
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    province = next(r for r in rows if r[1] == "Toàn tỉnh")
    total = next(r for r in rows if r[1] == "Tổng các địa phương")
    assert total[3] == pytest.approx(province[3])
    assert "Thành phố Lạng Sơn" in {r[1] for r in rows}


def test_workbook_of_results_read_back_labels_with_ids(tmp_path, drawn):
    back = quyhoach.read_results(drawn.to_parquet(tmp_path / "r"))
    book = openpyxl.load_workbook(to_excel(back, tmp_path / "f.xlsx", lang="en"))
    header = [c.value for c in book["Target feasibility"][1]]
    assert "base" in header and book["Target feasibility"].max_row - 1 == \
        len(drawn.plan.targets)
    assert book["Targets not modelled"].max_row - 1 == len(drawn.plan.untracked_targets)
