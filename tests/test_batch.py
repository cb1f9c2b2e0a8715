"""Batch datasets: resumable, atomic, identical whether interrupted or not."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import LAI_CHAU, write_plan

import quyhoach
from quyhoach.batch import plan_tasks, run_batch, run_task
from quyhoach.cli import main


def file_hashes(out):
    return {p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.rglob("*.parquet"))}


@pytest.fixture
def plans(tmp_path):
    """Two valid provinces (the real plan and a renamed copy) and a broken plan."""
    d = tmp_path / "plans"
    d.mkdir()
    (d / "a_lai_chau.toml").write_text(write_plan(tmp_path).read_text(encoding="utf-8"),
                                       encoding="utf-8")
    copy = write_plan(tmp_path, [('province = "lai_chau"', 'province = "lai_chau_copy"')])
    (d / "b_copy.toml").write_text(copy.read_text(encoding="utf-8"), encoding="utf-8")
    bad = write_plan(tmp_path, [("icor = 5.5", "icor = 55")])
    (d / "c_bad.toml").write_text(bad.read_text(encoding="utf-8"), encoding="utf-8")
    return d


def test_batch_writes_a_hive_dataset_and_reports_the_failing_plan(plans, tmp_path):
    out = tmp_path / "ds"
    s = run_batch([plans], out, draws=300, seed=5, workers=2)
    assert len(s.done) == 8 and not s.skipped
    assert list(s.failed) == [str(plans / "c_bad.toml")]
    assert "55 is above the maximum 20" in s.failed[str(plans / "c_bad.toml")]
    files = file_hashes(out)
    assert "paths/province=lai_chau/scenario=base/part-0.parquet" in files
    assert "bands/province=lai_chau_copy/scenario=high/part-0.parquet" in files
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["config"] == {"seed": 5, "n_draws": 300, "keep_draws": False}
    entry = manifest["tasks"]["lai_chau/low"]
    assert entry["status"] == "done" and entry["files"]["paths"]["rows"] > 1000
    assert "seed" in manifest["seed_scheme"]
    import pyarrow.parquet as pq

    f = pq.ParquetFile(out / "paths/province=lai_chau/scenario=base/part-0.parquet")
    meta = json.loads(f.schema_arrow.metadata[b"quyhoach"])
    assert meta["seed"] == 5 and meta["n_draws"] == 300 and len(meta["plan_sha256"]) == 64
    assert f.metadata.row_group(0).column(0).compression == "ZSTD"
    assert str(f.schema_arrow.field("variable").type).startswith("dictionary")


def test_resume_skips_finished_tasks_and_changes_nothing(plans, tmp_path):
    out = tmp_path / "ds"
    run_batch([plans], out, draws=300, seed=5, workers=1)
    before = file_hashes(out)
    t = time.perf_counter()
    s = run_batch([plans], out, draws=300, seed=5, workers=1)
    assert time.perf_counter() - t < 5  # loading plans and hashing files only
    assert not s.done and len(s.skipped) == 8
    assert file_hashes(out) == before


def test_a_task_rerun_alone_gives_the_same_bytes(plans, tmp_path):
    run_batch([plans], tmp_path / "all", draws=300, seed=5, workers=2)
    tasks, _ = plan_tasks([plans / "b_copy.toml"])
    task = next(t for t in tasks if t.scenario == "high")
    run_task(task, str(tmp_path / "alone"), 300, 5, False)
    alone = file_hashes(tmp_path / "alone")
    full = file_hashes(tmp_path / "all")
    assert alone and all(full[k] == v for k, v in alone.items())


def test_damaged_file_is_redone(plans, tmp_path):
    out = tmp_path / "ds"
    run_batch([plans / "a_lai_chau.toml"], out, draws=0, workers=1)
    target = out / "paths/province=lai_chau/scenario=low/part-0.parquet"
    good = target.read_bytes()
    target.write_bytes(good[:100])
    s = run_batch([plans / "a_lai_chau.toml"], out, draws=0, workers=1)
    assert s.done == ["lai_chau/low"] and target.read_bytes() == good


def test_other_configuration_is_refused_without_force(plans, tmp_path):
    out = tmp_path / "ds"
    run_batch([plans / "a_lai_chau.toml"], out, draws=0, workers=1)
    with pytest.raises(quyhoach.ResultsError, match="holds a dataset made with"):
        run_batch([plans / "a_lai_chau.toml"], out, draws=300, seed=1, workers=1)
    s = run_batch([plans / "a_lai_chau.toml"], out, draws=300, seed=1, workers=1, force=True)
    assert len(s.done) == 4
    changed = write_plan(tmp_path, [("icor = 5.5", "icor = 6.0")])
    (plans / "a_lai_chau.toml").write_text(changed.read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(quyhoach.ResultsError, match="plan of .* changed"):
        run_batch([plans / "a_lai_chau.toml"], out, draws=300, seed=1, workers=1)


def test_not_a_dataset_is_refused(tmp_path):
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "notes.txt").write_text("mine")
    with pytest.raises(quyhoach.ResultsError, match="not a quyhoach dataset"):
        run_batch([LAI_CHAU], tmp_path / "ds", draws=0)
    assert (tmp_path / "ds" / "notes.txt").read_text() == "mine"


def test_kill_9_then_resume_gives_the_uninterrupted_dataset(plans, tmp_path):
    (plans / "c_bad.toml").unlink()
    args = [str(plans), "--draws", "40000", "--seed", "3", "--workers", "1"]
    code = ("import sys; from quyhoach.cli import main; sys.exit(main(sys.argv[1:]))")
    out = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-c", code, "batch", *args, "--out", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    manifest = out / "manifest.json"
    deadline = time.time() + 120
    while time.time() < deadline:  # kill once some, not all, tasks are done
        if manifest.exists() and len(json.loads(manifest.read_text())["tasks"]) >= 2:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = json.loads(manifest.read_text())["tasks"]
    assert 2 <= len(done) < 8, "the batch should have been killed part-way"
    for part in out.rglob("*.parquet"):  # only complete files under real names
        import pyarrow.parquet as pq

        pq.read_metadata(part)
    assert main(["batch", *args, "--out", str(out)]) == 0
    assert main(["batch", *args, "--out", str(tmp_path / "whole")]) == 0
    assert file_hashes(out) == file_hashes(tmp_path / "whole")
    assert not [p for p in out.rglob("*") if ".tmp-" in p.name]


def test_read_results_pushes_filters_down(plans, tmp_path):
    out = tmp_path / "ds"
    run_batch([plans], out, draws=300, seed=5, workers=2)
    r = quyhoach.read_results(out, province="lai_chau", scenario=["base", "high"],
                              variable="population", years=(2025, 2030))
    assert set(r.paths["scenario"]) == {"base", "high"}
    assert set(r.paths["variable"]) == {"population"}
    assert r.paths["year"].between(2025, 2030).all() and len(r.paths) == 12
    assert set(r.bands["variable"]) == {"population"}
    assert set(r.feasibility["indicator"]) == {"population"}
    assert r.manifest["config"]["n_draws"] == 300


def test_duckdb_queries_the_dataset(plans, tmp_path):
    duckdb = pytest.importorskip("duckdb")
    out = tmp_path / "ds"
    run_batch([plans], out, draws=300, seed=5, workers=2)
    rows = duckdb.sql(
        f"SELECT province, scenario, value FROM read_parquet('{out.as_posix()}/paths/**/*.parquet',"
        " hive_partitioning = true) WHERE variable = 'population' AND year = 2030 "
        "ORDER BY province, scenario").fetchall()
    assert len(rows) == 8
    assert rows[0][:2] == ("lai_chau", "base") and 530 < rows[0][2] < 540
    probs = duckdb.sql(
        f"SELECT count(*) FROM read_parquet('{out.as_posix()}/feasibility/**/*.parquet', "
        "hive_partitioning = true) WHERE probability BETWEEN 0 AND 1").fetchall()[0][0]
    assert probs == 8 * 29


def test_dask_engine_on_a_local_cluster(plans, tmp_path):
    distributed = pytest.importorskip("distributed")
    (plans / "c_bad.toml").unlink()
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        s = run_batch([plans], tmp_path / "dask", draws=300, seed=5, engine="dask",
                      scheduler=client)
    assert len(s.done) == 8 and s.ok
    run_batch([plans], tmp_path / "local", draws=300, seed=5, workers=2)
    assert file_hashes(tmp_path / "dask") == file_hashes(tmp_path / "local")


def test_cli_batch_exit_codes(plans, tmp_path, capsys):
    assert main(["batch", str(plans), "--out", str(tmp_path / "ds"), "--draws", "0",
                 "--workers", "1"]) == 1  # one plan failed
    text = capsys.readouterr().out
    assert "8 done, 0 skipped" in text and "1 failed" in text and "c_bad.toml" in text
    assert main(["batch", str(plans), "--out", str(tmp_path / "ds"), "--draws", "5"]) == 2
    assert "holds a dataset made with" in capsys.readouterr().err
