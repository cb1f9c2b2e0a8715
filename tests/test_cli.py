"""The command line and the results directory: atomic, never silently overwritten."""

import json
import subprocess
import sys

import pyarrow.parquet as pq

import quyhoach
from conftest import LAI_CHAU, write_plan
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
    assert back.feasibility()["target_id"].tolist() == \
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
    assert book.sheetnames[0] == "Khả năng đạt mục tiêu"
    assert "paths" in book.sheetnames and "bands" in book.sheetnames
    first = book[book.sheetnames[0]]
    header = [c.value for c in next(first.iter_rows(max_row=1))]
    assert header[:3] == ["#", "Chỉ tiêu", "Mục tiêu"]
    png = (out / "fan_population.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert {"feasibility.xlsx", "fan_population.png"} <= set(manifest["files"])


# ---------------------------------------------------------------- arguments refused early

def _refused(capsys, argv, *words):
    """main(argv) exits 2 with every word on stderr and no traceback; returns stderr."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    for w in words:
        assert w in err, err
    return err


def test_bad_numbers_are_refused_before_any_work(tmp_path, capsys, monkeypatch):
    sim = sys.modules["quyhoach.simulate"]  # the module (quyhoach.simulate is the function)

    def never(*args, **kwargs):
        raise AssertionError("simulated despite a bad argument")

    monkeypatch.setattr(sim, "simulate", never)
    out = str(tmp_path / "r")
    run = ["run", str(LAI_CHAU), "--out", out]
    _refused(capsys, run + ["--seed", "-1"], "argument --seed: -1 is out of range",
             "give 0 to 18,446,744,073,709,551,615")
    _refused(capsys, run + ["--seed", "2e3"], "expected a whole number, found '2e3'")
    _refused(capsys, run + ["--chunk-size", "0"], "argument --chunk-size: 0 is out of range",
             "give 1 to 1,048,576")
    _refused(capsys, run + ["--threads", "0"], "argument --threads: 0 is out of range")
    _refused(capsys, run + ["--draws", "10" * 20], "at most 100,000,000 draws")
    _refused(capsys, run + ["--draws", "-3"], "give 0 (central paths only) or at least 2")
    batch = ["batch", str(LAI_CHAU), "--out", out]
    _refused(capsys, batch + ["--workers", "-1"], "argument --workers: -1 is out of range",
             "local worker processes")
    _refused(capsys, batch + ["--workers", "100000"], "out of range")
    _refused(capsys, batch + ["--seed", "-1"], "argument --seed: -1 is out of range")
    assert not (tmp_path / "r").exists()


def test_a_wrong_chart_name_is_refused_before_simulating(tmp_path, capsys, monkeypatch):
    sim = sys.modules["quyhoach.simulate"]  # the module (quyhoach.simulate is the function)

    monkeypatch.setattr(sim, "simulate", None)  # any use would fail loudly
    out = tmp_path / "r"
    _refused(capsys, ["run", str(LAI_CHAU), "--out", str(out), "--charts", "grdp"],
             "argument --charts: unknown variable 'grdp'; did you mean 'grdp_real'?")
    _refused(capsys, ["run", str(LAI_CHAU), "--out", str(out), "--charts",
                      "population,turists"], "unknown variable 'turists'; did you mean "
                                             "'tourists'?")
    _refused(capsys, ["run", str(LAI_CHAU), "--out", str(out), "--charts", ","],
             "expected variable names separated by commas")
    assert not out.exists()


def test_charts_never_swallow_the_plan(tmp_path, capsys):
    out = tmp_path / "r"
    _refused(capsys, ["run", "--charts", str(LAI_CHAU), "--out", str(out)],
             "looks like the plan file, not chart variables",
             "quyhoach run PLAN --charts", "--charts grdp_real,population")
    assert not out.exists()
    # the plan first, then --charts alone: the default charts
    assert main(["run", str(LAI_CHAU), "--out", str(out), "--draws", "0", "--charts"]) == 0
    assert sorted(p.name for p in out.glob("fan_*.png")) == [
        "fan_budget_revenue.png", "fan_grdp_real.png", "fan_population.png",
        "fan_tourists.png"]
    # a comma-separated list, with = or a space
    assert main(["run", str(LAI_CHAU), "--out", str(tmp_path / "a"), "--draws", "0",
                 "--charts=population,tourists"]) == 0
    assert sorted(p.name for p in (tmp_path / "a").glob("fan_*.png")) == [
        "fan_population.png", "fan_tourists.png"]


def test_usage_errors_return_2_and_help_returns_0(capsys):
    assert main(["run"]) == 2
    assert "the following arguments are required: plan" in capsys.readouterr().err
    assert main(["--help"]) == 0


def test_a_full_disk_is_a_clear_error_with_nothing_left(tmp_path, capsys, monkeypatch):
    import errno

    import pyarrow.parquet as pq

    def full(table, where, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(where))

    monkeypatch.setattr(pq, "write_table", full)
    out = tmp_path / "res"
    err = _refused(capsys, ["run", str(LAI_CHAU), "--out", str(out), "--draws", "0"],
                   "No space left on device")
    assert err.startswith("quyhoach: error:") and not out.exists()
    assert not [p.name for p in tmp_path.iterdir() if "tmp" in p.name]  # no temporary left


def test_any_os_error_is_one_line_exit_2(tmp_path, capsys, monkeypatch):
    import errno

    sim = sys.modules["quyhoach.simulate"]  # the module (quyhoach.simulate is the function)

    def refused(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", "/somewhere/paths.parquet")

    monkeypatch.setattr(sim, "simulate", refused)
    err = _refused(capsys, ["run", str(LAI_CHAU), "--out", str(tmp_path / "r")],
                   "cannot read or write /somewhere/paths.parquet: Permission denied",
                   "fix permissions")
    assert err.count("\n") == 1

    def timeout(*args, **kwargs):
        raise OSError("Timed out trying to connect to tcp://10.0.0.5:8786 after 30 s")

    monkeypatch.setattr(sim, "simulate", timeout)
    _refused(capsys, ["run", str(LAI_CHAU), "--out", str(tmp_path / "r")],
             "quyhoach: error: Timed out trying to connect")


def test_out_of_memory_is_a_clear_error(tmp_path, capsys, monkeypatch):
    sim = sys.modules["quyhoach.simulate"]  # the module (quyhoach.simulate is the function)

    def too_big(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(sim, "simulate", too_big)
    _refused(capsys, ["run", str(LAI_CHAU), "--out", str(tmp_path / "r")],
             "out of memory", "Lower --chunk-size")


def test_backtest_provinces_are_checked(tmp_path, capsys):
    base = ["backtest", "--out", str(tmp_path / "bt"), "--scales", str(tmp_path / "s.toml")]
    _refused(capsys, base + ["--provinces", "lai_chua"],
             "--provinces: unknown province 'lai_chua'; did you mean 'lai_chau'?")
    _refused(capsys, base + ["--provinces", " , "], "expected province keys separated by "
                                                    "commas")
    assert not (tmp_path / "bt").exists()


def test_warmup_compiles_the_kernels_and_says_so(capsys):
    assert main(["warmup"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Monte Carlo kernels compiled into numba's cache in ")
