"""Batch datasets: resumable, atomic, identical whether interrupted or not."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import quyhoach
from conftest import LAI_CHAU, ROOT, two_provinces, write_plan
from quyhoach.batch import plan_tasks, run_batch, run_task
from quyhoach.cli import main
from quyhoach.errors import OptionError


def file_hashes(out):
    return {p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.rglob("*.parquet"))}


@pytest.fixture
def plans(tmp_path):
    """Two valid provinces (the real plan and a renamed copy) and a broken plan."""
    d = two_provinces(tmp_path)
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
    base = "province=lai_chau/plan=a_lai_chau/scenario=base/region=lai_chau/part-0.parquet"
    assert f"paths/{base}" in files
    assert ("bands/province=lai_chau_copy/plan=b_copy/scenario=high/region=lai_chau_copy/"
            "part-0.parquet") in files
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["config"] == {"seed": 5, "n_draws": 300, "keep_draws": False,
                                  "bands": "reported", "layout": "province/plan/scenario/region"}
    entry = manifest["tasks"]["lai_chau/a_lai_chau/low"]
    assert entry["status"] == "done"
    assert entry["files"]["paths/region=lai_chau"]["rows"] > 1000
    assert "seed" in manifest["seed_scheme"]
    import pyarrow.parquet as pq

    f = pq.ParquetFile(out / "paths" / base)
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
    target = (out / "paths/province=lai_chau/plan=a_lai_chau/scenario=low/region=lai_chau"
              / "part-0.parquet")
    good = target.read_bytes()
    target.write_bytes(good[:100])
    s = run_batch([plans / "a_lai_chau.toml"], out, draws=0, workers=1)
    assert s.done == ["lai_chau/a_lai_chau/low"] and target.read_bytes() == good


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


@pytest.mark.slow  # ~25 s: kills a 2-worker batch at random moments, then resumes
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
    assert set(r.bands()["variable"]) == {"population"}
    assert set(r.feasibility()["indicator"]) == {"population"}
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
    assert probs == 8 * len(quyhoach.load_plan(LAI_CHAU).targets)


def test_dask_engine_on_a_local_cluster(plans, tmp_path):
    distributed = pytest.importorskip("distributed")
    (plans / "c_bad.toml").unlink()
    psutil = pytest.importorskip("psutil")
    # ":0": the OS picks a free port (None still binds the default 8787, and a busy
    # 8787 then fails the suite with a warning)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        listening = {c.laddr.port for c in psutil.Process().net_connections()
                     if c.status == psutil.CONN_LISTEN}
        assert 8787 not in listening and 8786 not in listening  # no fixed port
        s = run_batch([plans], tmp_path / "dask", draws=300, seed=5, engine="dask",
                      scheduler=client)
    assert len(s.done) == 8 and s.ok
    run_batch([plans], tmp_path / "local", draws=300, seed=5, workers=2)
    assert file_hashes(tmp_path / "dask") == file_hashes(tmp_path / "local")


def test_a_national_subset_is_byte_identical_through_dask(tmp_path):
    """Plans written by ``quyhoach init`` (a merged province with its former provinces as
    regions, and an unmerged one), run through the local pool and a Dask LocalCluster:
    the same bytes."""
    distributed = pytest.importorskip("distributed")
    from quyhoach.init import find_crosswalk, init_province

    data = {"gso_dir": ROOT / "inputs" / "gso", "all_dir": ROOT / "inputs" / "all_provinces",
            "band_scales": ROOT / "models" / "band_scales.toml", "crosswalk": find_crosswalk()}
    for name in ("Thái Nguyên", "Điện Biên"):
        init_province(name, "2025", tmp_path / "national", national_structure=True, **data)
    plans = tmp_path / "national" / "scenarios"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        s = run_batch([plans], tmp_path / "dask", draws=200, seed=11, engine="dask",
                      scheduler=client)
    assert len(s.done) == 6 and s.ok
    run_batch([plans], tmp_path / "local", draws=200, seed=11, workers=2, keep_draws=False)
    hashes = file_hashes(tmp_path / "dask")
    assert any("region=bac_kan" in f for f in hashes)  # a former province's own files
    assert hashes == file_hashes(tmp_path / "local")


def test_cli_batch_exit_codes(plans, tmp_path, capsys):
    assert main(["batch", str(plans), "--out", str(tmp_path / "ds"), "--draws", "0",
                 "--workers", "1"]) == 1  # one plan failed
    text = capsys.readouterr().out
    assert "8 done, 0 skipped" in text and "1 failed" in text and "c_bad.toml" in text
    assert main(["batch", str(plans), "--out", str(tmp_path / "ds"), "--draws", "5"]) == 2
    assert "holds a dataset made with" in capsys.readouterr().err


# ---------------------------------------------------------------- output safety

def batch_process(plans, out, *extra):
    """A batch in another process (long enough to be caught running)."""
    return subprocess.Popen([sys.executable, "-c", CLI, "batch", str(plans), "--out", str(out),
                             "--draws", "200000", "--seed", "3", *extra],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


CLI = "import sys; from quyhoach.cli import main; sys.exit(main(sys.argv[1:]))"


def wait_for(condition, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_force_refuses_a_folder_that_is_not_a_dataset(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    with pytest.raises(quyhoach.ResultsError, match="is not a quyhoach output"):
        run_batch([LAI_CHAU], mine, draws=0, workers=1, force=True)
    assert os.listdir(mine) == ["notes.txt"] and os.listdir(tmp_path) == ["mine"]


def test_a_symlinked_dataset_is_refused_even_with_force(plans, tmp_path):
    real = tmp_path / "real"
    run_batch([plans / "a_lai_chau.toml"], real, draws=0, workers=1)
    before = file_hashes(real)
    link = tmp_path / "link"
    link.symlink_to(real)
    for force in (False, True):
        with pytest.raises(quyhoach.ResultsError, match="is a symbolic link"):
            run_batch([plans / "a_lai_chau.toml"], link, draws=300, workers=1, force=force)
    assert file_hashes(real) == before


def test_a_symlink_inside_a_dataset_is_refused(plans, tmp_path):
    out = tmp_path / "ds"
    run_batch([plans / "a_lai_chau.toml"], out, draws=0, workers=1)
    elsewhere = tmp_path / "elsewhere"
    (out / "paths").rename(elsewhere)
    (out / "paths").symlink_to(elsewhere)
    with pytest.raises(quyhoach.ResultsError, match="holds a symbolic link"):
        run_batch([plans / "a_lai_chau.toml"], out, draws=0, workers=1)


def test_force_replaces_a_dataset_and_leaves_nothing_aside(plans, tmp_path):
    out = tmp_path / "ds"
    run_batch([plans / "a_lai_chau.toml"], out, draws=0, workers=1)
    (out / "stray.txt").write_text("old")
    s = run_batch([plans / "a_lai_chau.toml"], out, draws=300, seed=1, workers=1, force=True)
    assert len(s.done) == 4 and not (out / "stray.txt").exists()
    assert sorted(os.listdir(tmp_path)) == ["ds", "plan.toml", "plans"]  # no lock, no old copy


def test_an_interrupted_force_keeps_the_dataset_it_replaces(plans, tmp_path, monkeypatch):
    from quyhoach import batch

    out, plan = tmp_path / "ds", plans / "a_lai_chau.toml"
    run_batch([plan], out, draws=0, workers=1)
    before = file_hashes(out)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(batch, "_run_tasks", interrupted)
        with pytest.raises(KeyboardInterrupt):
            run_batch([plan], out, draws=300, seed=2, workers=1, force=True)
    kept = [p for p in tmp_path.iterdir() if p.name.startswith(".ds.old-")]
    assert len(kept) == 1 and file_hashes(kept[0]) == before
    with pytest.raises(quyhoach.ResultsError, match="the dataset it replaces is kept at"):
        run_batch([plan], out, draws=0, workers=1)  # another configuration: refused
    assert kept[0].exists()  # and still kept
    s = run_batch([plan], out, draws=300, seed=2, workers=1, force=True)
    assert len(s.done) == 4 and not kept[0].exists()
    assert "replaces" not in json.loads((out / "manifest.json").read_text())


def test_a_second_batch_into_the_dataset_is_refused(plans, tmp_path):
    out = tmp_path / "ds"
    first = batch_process(plans / "a_lai_chau.toml", out, "--workers", "1")
    try:
        assert wait_for(lambda: (out / "manifest.json").exists())
        with pytest.raises(quyhoach.ResultsError, match="being written by another") as err:
            run_batch([plans / "a_lai_chau.toml"], out, draws=300, seed=9, workers=1)
        assert str(out) in str(err.value) and f"pid {first.pid}" in str(err.value)
    finally:
        first.kill()
        first.wait()


def test_the_manifest_exists_before_the_first_task(plans, tmp_path, monkeypatch):
    out = tmp_path / "ds"

    def killed(*args, **kwargs):
        assert json.loads((out / "manifest.json").read_text())["config"]["seed"] == 5
        raise KeyboardInterrupt  # as if killed while the first task runs

    monkeypatch.setattr(quyhoach.batch, "run_task", killed)
    with pytest.raises(KeyboardInterrupt):
        run_batch([plans / "a_lai_chau.toml"], out, draws=0, seed=5, workers=1)
    monkeypatch.undo()
    s = run_batch([plans / "a_lai_chau.toml"], out, draws=0, seed=5, workers=1)  # resumes
    assert len(s.done) == 4 and s.ok


def test_pool_workers_die_with_their_coordinator(plans, tmp_path):
    psutil = pytest.importorskip("psutil")
    (plans / "c_bad.toml").unlink()
    out = tmp_path / "ds"
    coordinator = batch_process(plans, out, "--workers", "2", "--keep-draws")
    parent = psutil.Process(coordinator.pid)

    def busy():  # pool workers past their start-up, simulating
        return [p for p in parent.children() if "spawn_main" in " ".join(p.cmdline())
                and p.cpu_times().user > 2]

    try:
        assert wait_for(lambda: len(busy()) == 2)
        workers = busy()
        spooling = wait_for(lambda: len(list(out.glob(".quyhoach-spool-*"))) == 2, 15)
    finally:
        coordinator.send_signal(signal.SIGKILL)  # the coordinator only, not its group
        coordinator.wait()
    gone, alive = psutil.wait_procs(workers, timeout=5)
    for p in alive:
        p.kill()
    assert not alive, "pool workers kept running after their coordinator died"
    assert spooling  # the killed workers left their draw spools in the dataset...
    s = run_batch([plans], out, draws=0, workers=1, force=True)
    assert len(s.done) == 8  # ...and the next batch removed them
    assert not [p for p in out.rglob(".*") if p.name != "manifest.json"]


def fail_writes(monkeypatch, scenario: str, error: int):
    """Make writing a task's feasibility table fail (after its paths file was written)."""
    import errno

    import pyarrow.parquet as pq

    real = pq.write_table

    def failing(table, where, **kwargs):
        if "feasibility" in str(where) and f"scenario={scenario}" in str(where):
            raise OSError(error, os.strerror(error), str(where))
        real(table, where, **kwargs)

    assert error in errno.errorcode
    monkeypatch.setattr(pq, "write_table", failing)


def test_a_full_disk_stops_the_batch_and_keeps_the_finished_tasks(plans, tmp_path,
                                                                  monkeypatch):
    import errno

    out = tmp_path / "ds"
    fail_writes(monkeypatch, "low", errno.ENOSPC)
    with pytest.raises(quyhoach.ResultsError) as err:
        run_batch([plans / "a_lai_chau.toml"], out, draws=0, workers=1)
    msg = str(err.value)
    assert msg.startswith(f"could not write {out}: No space left on device")
    assert "the batch stopped: 1 finished task(s) are kept and 3 remain to run" in msg
    assert "free disk space, then run the same command again to resume" in msg
    assert "\n" not in msg
    tasks = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["tasks"]
    assert {k: v["status"] for k, v in tasks.items()} == {  # nothing started after "low"
        "lai_chau/a_lai_chau/base": "done", "lai_chau/a_lai_chau/low": "failed"}
    assert not list(out.rglob("scenario=low"))  # no file of the failed task is visible
    assert not [p for p in out.rglob(".*") if p.name != "manifest.json"]
    monkeypatch.undo()
    s = run_batch([plans / "a_lai_chau.toml"], out, draws=0, workers=1)  # resumes
    assert s.skipped == ["lai_chau/a_lai_chau/base"] and len(s.done) == 3 and s.ok


def test_a_full_disk_is_exit_2_and_one_line(plans, tmp_path, monkeypatch, capsys):
    import errno

    fail_writes(monkeypatch, "base", errno.EDQUOT)
    assert main(["batch", str(plans / "a_lai_chau.toml"), "--out", str(tmp_path / "ds"),
                 "--draws", "0", "--workers", "1"]) == 2
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if "quyhoach" in line]
    assert len(lines) == 1 and lines[0].startswith("quyhoach: error: could not write ")
    assert "Disk quota exceeded" in lines[0] and "run the same command again" in lines[0]
    assert "Traceback" not in captured.err and captured.out == ""


def test_an_ordinary_task_failure_does_not_stop_the_batch(plans, tmp_path, monkeypatch):
    """Only a write the environment refuses stops the batch; a task's own error does not."""
    import errno

    out = tmp_path / "ds"
    fail_writes(monkeypatch, "low", errno.ENOENT)  # e.g. a file that vanished
    s = run_batch([plans / "a_lai_chau.toml"], out, draws=0, workers=1)
    assert list(s.failed) == ["lai_chau/a_lai_chau/low"] and len(s.done) == 3
    assert "No such file or directory" in s.failed["lai_chau/a_lai_chau/low"]
    assert not list(out.rglob("scenario=low"))
    monkeypatch.undo()
    assert run_batch([plans / "a_lai_chau.toml"], out, draws=0, workers=1).done == [
        "lai_chau/a_lai_chau/low"]


def test_which_errors_stop_the_batch(tmp_path):
    import errno

    from quyhoach.batch import refused_write

    out = tmp_path / "ds"
    for code in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS):
        e = OSError(code, os.strerror(code))
        assert refused_write(e, out) is e
    denied = OSError(errno.EACCES, "Permission denied", str(out / "paths" / "x.parquet"))
    assert refused_write(denied, out) is denied
    elsewhere = OSError(errno.EACCES, "Permission denied", str(tmp_path / "plan.toml"))
    assert refused_write(elsewhere, out) is None  # reading a plan: that task's failure
    assert refused_write(OSError(errno.ENOENT, "No such file"), out) is None
    assert refused_write(quyhoach.PlanError([]), out) is None
    try:  # a spool's write error, raised from the OS error
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as exc:
            raise quyhoach.ResultsError("could not write the spool") from exc
    except quyhoach.ResultsError as wrapped:
        assert refused_write(wrapped, out) is wrapped.__cause__


@pytest.mark.skipif(not hasattr(signal, "SIGXFSZ"), reason="needs RLIMIT_FSIZE")
def test_a_file_size_limit_stops_a_pool_batch_with_exit_2(plans, tmp_path):
    """As on a full disk: files may not grow past 10 kB, so every task's write fails."""
    code = ("import resource, signal, sys\n"
            "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
            "resource.setrlimit(resource.RLIMIT_FSIZE, (10_000, resource.RLIM_INFINITY))\n"
            "from quyhoach.cli import main\nsys.exit(main(sys.argv[1:]))")
    out = tmp_path / "ds"
    proc = subprocess.run([sys.executable, "-c", code, "batch", str(plans / "a_lai_chau.toml"),
                           "--out", str(out), "--draws", "0", "--workers", "2"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith(f"quyhoach: error: could not write {out}: File too large")
    assert "0 finished task(s) are kept and 4 remain to run" in last
    assert "raise the file-size limit (ulimit -f)" in last
    tasks = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["tasks"]
    assert len(tasks) == 2  # the two running tasks; none started after the failure
    assert not list(out.rglob("*.parquet"))
    s = run_batch([plans / "a_lai_chau.toml"], out, draws=0, workers=1)  # resumes
    assert len(s.done) == 4 and s.ok
    assert not [p for p in out.rglob(".*") if p.name != "manifest.json"]


def test_a_plan_that_crashes_the_loader_does_not_stop_the_batch(plans, tmp_path,
                                                                 monkeypatch):
    import quyhoach.plan

    real = quyhoach.plan.load_plan

    def fragile(path):
        if "b_copy" in str(path):
            raise RecursionError("maximum recursion depth exceeded")
        return real(path)

    monkeypatch.setattr(quyhoach.plan, "load_plan", fragile)
    s = run_batch([plans], tmp_path / "ds", draws=0, workers=1)
    assert len(s.done) == 4
    assert "RecursionError" in s.failed[str(plans / "b_copy.toml")]
    assert str(plans / "c_bad.toml") in s.failed


@pytest.mark.parametrize("edit", [('province = "lai_chau"', 'province = "x/../../escaped"'),
                                  ("[scenarios.low]", '[scenarios."../../low"]')])
def test_names_never_lead_writes_out_of_the_dataset(plans, tmp_path, edit):
    bad = write_plan(tmp_path, [edit])
    out = tmp_path / "deep" / "ds"
    s = run_batch([bad], out, draws=0, workers=1)
    assert str(bad) in s.failed and not s.done
    written = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")
               if p.is_file()}
    assert written == {"deep/ds/manifest.json", "plan.toml"} | {
        p.relative_to(tmp_path).as_posix() for p in plans.iterdir()}


def test_kept_draws_are_moved_not_read_into_memory(plans, tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    def whole(*args, **kwargs):
        raise AssertionError("a draw file was read whole into memory")

    monkeypatch.setattr(pq, "read_table", whole)
    out = tmp_path / "ds"
    s = run_batch([plans / "a_lai_chau.toml"], out, draws=300, seed=5, workers=1,
                  keep_draws=True)
    assert len(s.done) == 4
    f = pq.ParquetFile(out / "draws/province=lai_chau/plan=a_lai_chau/scenario=high/"
                            "part-0.parquet")
    assert f.metadata.num_rows == 300 * 31
    assert json.loads(f.schema_arrow.metadata[b"quyhoach"])["seed"] == 5
    inputs = pq.ParquetFile(out / "sampled_inputs/province=lai_chau/plan=a_lai_chau/"
                                  "scenario=high/part-0.parquet")
    assert inputs.metadata.num_rows == 300 * 31
    assert inputs.schema_arrow.names[:3] == ["draw", "region", "year"]
    entry = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["tasks"]
    assert entry["lai_chau/a_lai_chau/high"]["files"]["sampled_inputs"]["rows"] == 300 * 31
    assert not list(out.glob(".*spool*"))


def test_two_plan_files_of_one_name_and_province_clash(plans, tmp_path):
    """The plan level is the file name: a second file of that name (elsewhere) clashes
    and none of its tasks runs."""
    text = (plans / "a_lai_chau.toml").read_text(encoding="utf-8")
    (tmp_path / "elsewhere").mkdir()
    clash = tmp_path / "elsewhere" / "a_lai_chau.toml"
    clash.write_text(text.replace("[scenarios.base]", '[scenarios.first]\ninherits = "base"\n\n'
                                  "[scenarios.base]", 1), encoding="utf-8")
    tasks, failed = plan_tasks([plans / "a_lai_chau.toml", clash])
    assert str(clash) in failed
    assert "is also defined by" in failed[str(clash)]
    assert "different file names" in failed[str(clash)]
    assert all(t.plan_file != str(clash.resolve()) for t in tasks)


def test_drafts_of_one_province_run_side_by_side(plans, tmp_path):
    """Two drafts of one province (two plan files) are two plans in one dataset."""
    draft = plans / "a_lai_chau_draft1.toml"
    draft.write_text((plans / "a_lai_chau.toml").read_text(encoding="utf-8"),
                     encoding="utf-8")
    out = tmp_path / "ds"
    s = run_batch([plans / "a_lai_chau.toml", draft], out, draws=200, seed=5, workers=1)
    assert len(s.done) == 8 and not s.failed
    assert "lai_chau/a_lai_chau_draft1/base" in s.done
    both = quyhoach.read_results(out, scenario="base")
    assert sorted(both.paths["plan"].unique()) == ["a_lai_chau", "a_lai_chau_draft1"]
    with pytest.raises(quyhoach.ResultsError, match=r"several plans .*plan="):
        both.values("base", "population")
    one = quyhoach.read_results(out, plan="a_lai_chau_draft1", scenario="base")
    assert set(one.paths["plan"]) == {"a_lai_chau_draft1"}
    # the same plan and seed give the same numbers under either file name
    other = quyhoach.read_results(out, plan="a_lai_chau", scenario="base")
    assert np.array_equal(one.values("base", "population"), other.values("base", "population"))
    with pytest.raises(quyhoach.ResultsError, match="no plan 'a_lai_chau_draft2'.*draft1"):
        quyhoach.read_results(out, plan="a_lai_chau_draft2")


def test_a_plan_file_name_that_cannot_name_a_folder_is_refused(plans, tmp_path):
    odd = plans / "Lai Châu draft.toml"
    odd.write_text((plans / "a_lai_chau.toml").read_text(encoding="utf-8"), encoding="utf-8")
    tasks, failed = plan_tasks([odd])
    assert not tasks
    assert "file name 'Lai Châu draft'" in failed[str(odd)] and "identifiers" in failed[str(odd)]


def test_bands_of_a_batch_are_part_of_its_configuration(plans, tmp_path):
    """``bands="all"`` computes every band (the reported ones with the same bits); a
    dataset of one setting is never resumed with the other."""
    import pandas as pd

    one = plans / "a_lai_chau.toml"
    run_batch([one], tmp_path / "some", draws=200, seed=5, workers=1)
    run_batch([one], tmp_path / "all", draws=200, seed=5, workers=1, bands="all")
    some = quyhoach.read_results(tmp_path / "some", scenario="base").bands()
    every = quyhoach.read_results(tmp_path / "all", scenario="base").bands()
    assert len(every) > len(some)
    keys = ["region", "variable", "year"]
    both = some.merge(every, on=keys, suffixes=("", "_all"))
    assert len(both) == len(some)
    pd.testing.assert_series_equal(both["q05"], both["q05_all"], check_names=False)
    with pytest.raises(quyhoach.ResultsError, match="'bands': 'all'"):
        run_batch([one], tmp_path / "some", draws=200, seed=5, workers=1, bands="all")
    with pytest.raises(OptionError, match="bands must be 'reported', 'all'"):
        run_batch([one], tmp_path / "x", draws=200, seed=5, bands="every")
