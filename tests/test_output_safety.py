"""Output folders: one writer at a time, only quyhoach outputs replaced, no link
followed, nothing half-written or left behind after a kill, clear errors on a full disk."""

import errno
import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pyarrow.parquet as pq
import pytest

import quyhoach
from conftest import LAI_CHAU
from quyhoach import outdir
from quyhoach.backtest import write_backtest
from quyhoach.results import DrawSpool
from quyhoach.store import write_results

CLI = "import sys; from quyhoach.cli import main; sys.exit(main(sys.argv[1:]))"


def hidden(folder):
    """Names of the hidden entries (locks, temporaries, spools) in a folder."""
    return sorted(n for n in os.listdir(folder) if n.startswith("."))


def hold_lock(folder):
    """A separate process holding the OS lock of ``folder`` until killed."""
    code = ("import sys, time; from quyhoach.outdir import OutputLock\n"
            "with OutputLock(sys.argv[1]):\n    print('locked', flush=True); time.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-c", code, str(folder)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def stop(proc):
    proc.kill()
    proc.wait()
    if proc.stdout:
        proc.stdout.close()


@pytest.fixture
def stranger(tmp_path):
    """A folder of someone else's files."""
    d = tmp_path / "mine"
    d.mkdir()
    (d / "thesis.docx").write_text("years of work")
    return d


# ---------------------------------------------------------------- replacing a folder

def test_force_refuses_a_folder_that_is_not_an_output(lai_chau_results, stranger):
    with pytest.raises(quyhoach.ResultsError, match="is not a quyhoach output") as err:
        write_results(lai_chau_results, stranger, overwrite=True)
    assert str(stranger) in str(err.value) and "files but no manifest.json" in str(err.value)
    assert (stranger / "thesis.docx").read_text() == "years of work"
    assert hidden(stranger.parent) == []


def test_force_refuses_a_foreign_manifest(lai_chau_results, stranger):
    (stranger / "manifest.json").write_text(json.dumps({"engine": "other"}))
    with pytest.raises(quyhoach.ResultsError, match="not a quyhoach manifest"):
        write_results(lai_chau_results, stranger, overwrite=True)
    assert (stranger / "thesis.docx").exists()


def test_symlinked_out_is_refused_even_with_force(lai_chau_results, stranger, tmp_path):
    link = tmp_path / "link"
    link.symlink_to(stranger)
    for overwrite in (False, True):
        with pytest.raises(quyhoach.ResultsError, match="is a symbolic link"):
            write_results(lai_chau_results, link, overwrite=overwrite)
    assert sorted(os.listdir(stranger)) == ["thesis.docx"] and link.is_symlink()


def test_force_replaces_an_output_and_leaves_nothing_aside(lai_chau_results, tmp_path):
    out = tmp_path / "res"
    write_results(lai_chau_results, out)
    (out / "extra.txt").write_text("from the old run")
    write_results(lai_chau_results, out, overwrite=True)
    assert not (out / "extra.txt").exists() and (out / "manifest.json").is_file()
    assert hidden(tmp_path) == []  # no lock, temporary or old copy left


def test_a_failed_write_keeps_the_old_output(lai_chau_results, tmp_path, monkeypatch):
    out = tmp_path / "res"
    write_results(lai_chau_results, out)
    before = (out / "paths.parquet").read_bytes()

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(args[1]))

    monkeypatch.setattr(pq, "write_table", full)
    with pytest.raises(quyhoach.ResultsError, match="No space left on device") as err:
        write_results(lai_chau_results, out, overwrite=True)
    assert f"could not write {out}" in str(err.value) and "free disk space" in str(err.value)
    assert (out / "paths.parquet").read_bytes() == before
    assert hidden(tmp_path) == []


# ---------------------------------------------------------------- one writer at a time

def test_a_second_writer_is_refused_while_the_first_holds_the_lock(lai_chau_results,
                                                                    tmp_path):
    out = tmp_path / "res"
    proc = hold_lock(out)
    try:
        with pytest.raises(quyhoach.ResultsError, match="being written by another") as err:
            write_results(lai_chau_results, out)
        assert str(out) in str(err.value) and f"pid {proc.pid}" in str(err.value)
        assert not out.exists()
    finally:
        stop(proc)
    write_results(lai_chau_results, out)  # the lock died with its process
    assert hidden(tmp_path) == []


def test_the_lock_is_reentrant_within_a_process(lai_chau_results, tmp_path):
    out = tmp_path / "res"
    with outdir.OutputLock(out):  # e.g. held by the CLI from simulation to writing
        write_results(lai_chau_results, out)
        assert (tmp_path / ".res.lock").exists()
    assert hidden(tmp_path) == []


# ---------------------------------------------------------------- after a kill

def test_temporaries_of_killed_writers_are_removed_by_the_next(lai_chau_results, tmp_path):
    out = tmp_path / "res"
    write_results(lai_chau_results, out)
    for name in (".res.tmp-999999-0123abcd", ".res.old-999999-89abcdef"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "paths.parquet").write_bytes(b"partial")
    (tmp_path / ".res.lock").write_text("999999")  # a killed writer's lock file
    (tmp_path / ".other.tmp-1-x").mkdir()  # another folder's: not ours to remove
    write_results(lai_chau_results, out, overwrite=True)
    assert hidden(tmp_path) == [".other.tmp-1-x"]


def test_an_output_moved_aside_by_a_killed_writer_is_put_back(lai_chau_results, tmp_path):
    out = tmp_path / "res"
    write_results(lai_chau_results, out)
    os.rename(out, tmp_path / ".res.old-999999-00112233")  # killed between the two renames
    with pytest.raises(quyhoach.ResultsError, match="already exists"):
        write_results(lai_chau_results, out)
    assert (out / "manifest.json").is_file() and hidden(tmp_path) == []


def test_stale_draw_spools_are_removed_and_live_ones_kept(tmp_path):
    live = outdir.SpoolFolder(tmp_path)
    dead = tmp_path / f"{outdir.SPOOL_PREFIX}999999-x"
    (dead / "scenario=base").mkdir(parents=True)
    (dead / "scenario=base" / "part-0.parquet").write_bytes(b"x" * 1000)
    (dead / outdir.SPOOL_LOCK).write_text("")  # its lock died with its process
    unborn = tmp_path / f"{outdir.SPOOL_PREFIX}999999-y"  # killed before its lock existed
    unborn.mkdir()
    outdir.clean_stale_spools(tmp_path)
    assert hidden(tmp_path) == [live.path.name]
    live.release()
    assert hidden(tmp_path) == []


def test_a_killed_keep_draws_run_leaks_nothing_after_the_next_run(tmp_path):
    # `run` spools kept draws beside its output, never in the system's temp folder
    spools = tmp_path / "tmp"
    spools.mkdir()
    env = {**os.environ, "TMPDIR": str(spools)}
    proc = subprocess.Popen([sys.executable, "-c", CLI, "run", str(LAI_CHAU), "--out",
                             str(tmp_path / "res"), "--draws", "400000", "--seed", "1",
                             "--keep-draws"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline and not list(tmp_path.glob(".quyhoach-spool-*/scenario=*")):
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert list(tmp_path.glob(".quyhoach-spool-*")), "the run should have been spooling"
    done = subprocess.run([sys.executable, "-c", CLI, "run", str(LAI_CHAU), "--out",
                           str(tmp_path / "res"), "--draws", "300", "--seed", "1",
                           "--scenario", "base", "--keep-draws"], env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res", "tmp"]
    assert list(spools.iterdir()) == []


# ---------------------------------------------------------------- full disk

@pytest.mark.skipif(not hasattr(signal, "SIGXFSZ"), reason="needs RLIMIT_FSIZE")
def test_a_full_disk_during_run_is_one_clear_line_and_leaves_nothing(tmp_path):
    # Files may not grow past 20 kB: writing the tables fails as on a full disk.
    code = ("import resource, signal, sys\n"
            "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
            "resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, resource.RLIM_INFINITY))\n"
            "from quyhoach.cli import main\nsys.exit(main(sys.argv[1:]))")
    out = tmp_path / "res"
    proc = subprocess.run([sys.executable, "-c", code, "run", str(LAI_CHAU), "--out",
                           str(out), "--draws", "0"], capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"quyhoach: error: could not write {out}: File too large")
    assert os.listdir(tmp_path) == []


# ---------------------------------------------------------------- kept draws

def spool_bytes(draws, chunk, tmp_path):
    res = quyhoach.simulate(LAI_CHAU, scenarios=["high"], draws=draws, seed=2,
                            chunk_size=chunk, keep_draws=True, spool_dir=tmp_path)
    return (res.draws_dir / "scenario=high" / "part-0.parquet").read_bytes()


def test_kept_draws_are_byte_identical_across_chunk_sizes(tmp_path, monkeypatch):
    monkeypatch.setattr(DrawSpool, "ROW_GROUP_DRAWS", 512)
    first = spool_bytes(1500, 256, tmp_path)
    assert spool_bytes(1500, 700, tmp_path) == first
    assert spool_bytes(1500, 32768, tmp_path) == first
    res = quyhoach.simulate(LAI_CHAU, scenarios=["high"], draws=1500, seed=2,
                            keep_draws=True, spool_dir=tmp_path)
    meta = pq.ParquetFile(res.draws_dir / "scenario=high" / "part-0.parquet").metadata
    n_years = len(res.plan.years)
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == \
        [512 * n_years, 512 * n_years, 476 * n_years]


def test_kept_draws_are_linked_not_read_into_memory(tmp_path, monkeypatch):
    res = quyhoach.simulate(LAI_CHAU, scenarios=["base"], draws=300, seed=1, keep_draws=True,
                            spool_dir=tmp_path)
    spooled = res.draws_dir / "scenario=base" / "part-0.parquet"

    def whole(*args, **kwargs):
        raise AssertionError("a draw file was read whole into memory")

    monkeypatch.setattr(type(spooled), "read_bytes", whole)
    monkeypatch.setattr(pq, "read_table", whole)
    out = res.to_parquet(tmp_path / "res")
    kept = out / "draws" / "scenario=base" / "part-0.parquet"
    assert os.stat(kept).st_ino == os.stat(spooled).st_ino  # a hard link: no copy at all
    meta = json.loads(pq.ParquetFile(kept).schema_arrow.metadata[b"quyhoach"])
    assert meta["seed"] == 1 and meta["n_draws"] == 300
    assert meta["plan_sha256"] == res.plan.sha256 and meta["inputs_sha256"] == res.history.sha256
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["files"]["draws/scenario=base/part-0.parquet"]["rows"] == 300 * 31
    assert spooled.exists()  # the results can be written again


# ---------------------------------------------------------------- back-test output

def backtest_frames():
    return pd.DataFrame({"x": [1.0]}), pd.DataFrame({"y": [2.0]}), {"population": 1.2}


def test_backtest_force_refuses_a_folder_that_is_not_its_output(stranger, tmp_path):
    forecasts, scores, scales = backtest_frames()
    with pytest.raises(quyhoach.ResultsError, match="is not a quyhoach output"):
        write_backtest(forecasts, scores, scales, 1.0, stranger, tmp_path / "s.toml",
                       overwrite=True)
    assert sorted(os.listdir(stranger)) == ["thesis.docx"]


def test_backtest_output_is_replaced_whole(tmp_path):
    forecasts, scores, scales = backtest_frames()
    out = tmp_path / "bt"
    out.mkdir()  # as written by an older version: no manifest
    for name in ("forecasts.parquet", "scores.parquet", "summary.json"):
        (out / name).write_text("old")
    write_backtest(forecasts, scores, scales, 1.0, out, tmp_path / "s.toml", overwrite=True)
    assert sorted(os.listdir(out)) == ["forecasts.parquet", "manifest.json", "scores.parquet",
                                       "summary.json"]
    write_backtest(forecasts, scores, scales, 1.0, out, tmp_path / "s.toml", overwrite=True)
    assert pd.read_parquet(out / "scores.parquet")["y"].tolist() == [2.0]
    assert hidden(tmp_path) == []
