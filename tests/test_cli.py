"""The command line and the results directory: atomic, never silently overwritten."""

import json
import subprocess
import sys

import pyarrow.parquet as pq
from conftest import LAI_CHAU, write_plan

import quyhoach
from quyhoach.cli import main


def test_run_prints_vietnamese_table_and_writes_results(tmp_path, capsys):
    out = tmp_path / "res"
    assert main(["run", str(LAI_CHAU), "--out", str(out), "--draws", "500", "--seed", "3"]) == 0
    text = capsys.readouterr().out
    assert "BẢNG ĐÁNH GIÁ KHẢ NĂNG ĐẠT MỤC TIÊU" in text
    assert "Chi tiết kịch bản: Cơ sở" in text and "500 lần mô phỏng Monte Carlo, seed 3" in text
    assert "Tăng trưởng GRDP bình quân 2021-2030" in text
    assert "12,5 %/năm (2025-2030)" in text  # growth needed in the years left
    assert sorted(p.name for p in out.iterdir()) == ["bands.parquet", "feasibility.parquet",
                                                     "manifest.json", "paths.parquet"]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["engine_version"] == quyhoach.__version__
    assert manifest["n_draws"] == 500 and manifest["seed"] == 3
    assert len(manifest["plan_sha256"]) == 64 and manifest["inputs_sha256"]
    assert manifest["files"]["paths.parquet"]["rows"] > 1000
    meta = json.loads(pq.read_schema(out / "paths.parquet").metadata[b"quyhoach"])
    assert meta["plan_sha256"] == manifest["plan_sha256"]


def test_english_table(tmp_path, capsys):
    assert main(["run", str(LAI_CHAU), "--out", str(tmp_path / "r"), "--lang", "en",
                 "--draws", "0"]) == 0
    text = capsys.readouterr().out
    assert "TARGET FEASIBILITY" in text and "12.5 %/yr (2025-2030)" in text


def test_refuses_to_overwrite_without_force(tmp_path, capsys):
    out = tmp_path / "res"
    assert main(["run", str(LAI_CHAU), "--out", str(out), "--draws", "0"]) == 0
    before = (out / "manifest.json").read_bytes()
    assert main(["run", str(LAI_CHAU), "--out", str(out), "--draws", "0"]) == 2
    err = capsys.readouterr().err
    assert "already exists" in err and "--force" in err
    assert (out / "manifest.json").read_bytes() == before
    assert main(["run", str(LAI_CHAU), "--out", str(out), "--force", "--draws", "0"]) == 0
    assert [p.name for p in tmp_path.iterdir()] == ["res"]  # no temporary left behind


def test_bad_plan_exits_2_without_traceback_and_writes_nothing(tmp_path):
    plan = write_plan(tmp_path, [("[scenarios.base.growth]", "[scenarios.base.grwth]")])
    out = tmp_path / "res"
    proc = subprocess.run([sys.executable, "-m", "quyhoach.cli", "run", str(plan), "--out",
                           str(out)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "unknown key 'grwth'" in proc.stderr and "did you mean 'growth'?" in proc.stderr
    assert not out.exists()


def test_check_command(capsys):
    assert main(["check", str(LAI_CHAU)]) == 0
    assert "OK — 4 scenarios" in capsys.readouterr().out


def test_unknown_scenario_is_a_clear_error(tmp_path, capsys):
    assert main(["run", str(LAI_CHAU), "--out", str(tmp_path / "r"), "--scenario", "hihg",
                 "--draws", "0"]) == 2
    assert "did you mean 'high'?" in capsys.readouterr().err


def test_read_results_round_trip(tmp_path, lai_chau_results):
    out = lai_chau_results.to_parquet(tmp_path / "r")
    back = quyhoach.read_results(out)
    assert back.paths.shape == lai_chau_results.paths.shape
    assert str(back.paths["scenario"].dtype) == "category"
    assert back.feasibility["target_id"].tolist() == \
        lai_chau_results.feasibility()["target_id"].tolist()
    assert back.manifest["scenarios"] == ["base", "low", "high", "recent_trend"]


def test_read_results_names_what_is_missing(tmp_path):
    import pytest

    with pytest.raises(quyhoach.ResultsError, match="missing manifest.json"):
        quyhoach.read_results(tmp_path)


def test_keep_draws_writes_draws_partitioned_by_scenario(tmp_path):
    out = tmp_path / "res"
    assert main(["run", str(LAI_CHAU), "--out", str(out), "--draws", "300", "--seed", "1",
                 "--keep-draws", "--scenario", "base", "--scenario", "high"]) == 0
    parts = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.parquet"))
    assert "draws/scenario=base/part-0.parquet" in parts
    assert "draws/scenario=high/part-0.parquet" in parts
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["files"]["draws/scenario=base/part-0.parquet"]["rows"] == 300 * 31


def test_bad_draws_and_threads_are_clear_errors(tmp_path, capsys):
    assert main(["run", str(LAI_CHAU), "--out", str(tmp_path / "a"), "--draws", "1"]) == 2
    assert "at least 2" in capsys.readouterr().err
    assert main(["run", str(LAI_CHAU), "--out", str(tmp_path / "b"), "--threads", "99"]) == 2
    assert "this machine allows" in capsys.readouterr().err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_excel_and_fan_charts_for_officials(tmp_path):
    out = tmp_path / "res"
    assert main(["run", str(LAI_CHAU), "--out", str(out), "--draws", "300", "--seed", "1",
                 "--excel", "--charts", "population"]) == 0
    import openpyxl

    book = openpyxl.load_workbook(out / "feasibility.xlsx", read_only=True)
    assert book.sheetnames[0] == "BẢNG ĐÁNH GIÁ KHẢ NĂNG ĐẠT MỤC TIÊ"[:31]
    assert "paths" in book.sheetnames and "bands" in book.sheetnames
    first = book[book.sheetnames[0]]
    header = [c.value for c in next(first.iter_rows(max_row=1))]
    assert header[:3] == ["#", "Chỉ tiêu", "Mục tiêu"]
    png = (out / "fan_population.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert {"feasibility.xlsx", "fan_population.png"} <= set(manifest["files"])
