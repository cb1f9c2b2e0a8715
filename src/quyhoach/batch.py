"""Batch runs: many plans × scenarios into one resumable, hive-partitioned Parquet dataset.

Layout of a dataset directory::

    manifest.json
    paths/province=<p>/plan=<file>/scenario=<s>/region=<r>/part-0.parquet
    bands/...        feasibility/...
    draws/province=<p>/plan=<file>/scenario=<s>/part-0.parquet   (only with keep_draws)
    sampled_inputs/...   each kept draw's sampled inputs, the same keys (with keep_draws)

``plan`` is the plan file's name without ``.toml``, so several drafts of one province
(``lai_chau.toml``, ``drafts/lai_chau_2021_06.toml``) share a dataset side by side.
``region`` is the province or one of its members; the draws keep it as a column.

Every task (one plan × one scenario) is independent. Its random numbers depend only on
(seed, source name, draw index), never on which tasks ran before or beside it. So a task
re-run alone writes the same bytes.

Safety (see also ``quyhoach.outdir``):

* One coordinator per dataset: it holds an OS lock (``.NAME.lock`` beside the dataset)
  for the whole batch; a second batch (or run) into the same folder is refused.
* The dataset appears whole: it is created under a temporary name with its
  ``manifest.json`` and renamed into place before the first task, so a batch killed at
  any moment can be resumed. Only the coordinator writes ``manifest.json`` (atomically,
  after each finished task).
* A worker writes a task's files into a private hidden folder inside the dataset and
  moves them into their partitions only when all are complete; a task that fails has
  its partition files removed, so readers never see a failed task's data. Pool workers
  die with their coordinator.
* ``force`` replaces only a quyhoach output (moved aside until the batch ends), never
  through a symbolic link. The temporaries and draw spools of a killed batch are
  removed by the next one.
* A write the environment refuses (a full disk, a quota, a file-size limit, a read-only
  file system, no permission on the dataset) is the batch failing, not one task: no
  further task is started, the running ones finish, the finished ones are kept, and
  ``run_batch`` raises ``ResultsError`` (the command exits 2); the same command resumes.
  Any other failure of a task (a bad plan) is recorded and the others go on.

Running the same command again skips the tasks whose files are intact (checked by
SHA-256) and redoes the rest.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from . import __version__, outdir
from .errors import QuyhoachError, ResultsError

TABLES = ("paths", "bands", "feasibility")
PARTITION_COLUMNS = ("province", "plan", "scenario", "region")
# Recorded in the configuration, so a dataset of another layout is never resumed into.
LAYOUT = "/".join(PARTITION_COLUMNS)
SEED_SCHEME = ("every random source has a counter-based stream keyed by (seed, blake2b-64 of "
               "its name, draw index); tasks and scenarios share the seed, so any task re-run "
               "alone with the same plan, inputs, seed and n_draws gives the same bytes")
IDENTIFIER = re.compile(r"[\w-]+")  # letters, digits, '_', '-': safe as a folder name
TASK_TMP = ".task.tmp-"  # prefix of a task's private folder inside the dataset
PR_SET_PDEATHSIG = 1  # linux/prctl.h
# A write the environment refuses stops the batch (exit 2), whatever the plan: the next
# task would fail the same way. (errno, the fix)
_FULL = "free disk space"
_REFUSED_WRITES = {errno.ENOSPC: _FULL, errno.EDQUOT: f"{_FULL} (or raise the quota)",
                   errno.EFBIG: "raise the file-size limit (ulimit -f) or write the dataset "
                                "to another file system",
                   errno.EROFS: "make the dataset's file system writable",
                   errno.EACCES: "make the dataset folder writable",
                   errno.EPERM: "make the dataset folder writable"}
_ON_THE_DATASET = (errno.EACCES, errno.EPERM)  # refusals elsewhere (a plan) are the task's


@dataclass(frozen=True)
class Task:
    """One plan × one scenario. ``plan`` is the plan file's name without ``.toml``."""

    plan_file: str
    province: str
    scenario: str
    plan_sha256: str
    plan: str = ""

    @property
    def id(self) -> str:
        return f"{self.province}/{self.plan}/{self.scenario}"

    @property
    def folder(self) -> str:
        """The task's folder in each table: ``province=P/plan=D/scenario=S``."""
        return f"province={self.province}/plan={self.plan}/scenario={self.scenario}"

    def part(self, region: str | None = None) -> str:
        """A file of the task: one region's (``.../region=R/part-0.parquet``), or the
        task's draws (``.../part-0.parquet``)."""
        inner = f"region={region}/" if region is not None else ""
        return f"{self.folder}/{inner}part-0.parquet"

    @property
    def safe(self) -> bool:
        """Whether its names are identifiers, so its files stay in their folders."""
        return all(IDENTIFIER.fullmatch(n) for n in (self.province, self.plan, self.scenario))


@dataclass
class BatchSummary:
    """What a batch did. ``failed`` maps task id (or plan file) to its error message."""

    out: Path
    done: list
    skipped: list
    failed: dict
    seconds: float
    draws: int
    bytes_written: int

    @property
    def ok(self) -> bool:
        return not self.failed

    def describe(self) -> str:
        simulated = len(self.done) * self.draws
        rate = simulated / self.seconds if self.seconds > 0 and simulated else 0.0
        lines = [f"{len(self.done)} done, {len(self.skipped)} skipped (already complete), "
                 f"{len(self.failed)} failed in {self.seconds:.1f} s; "
                 f"{rate:,.0f} draws/s; dataset {self.bytes_written / 1e6:.1f} MB at {self.out}"]
        lines += [f"  failed {task}: {err}" for task, err in self.failed.items()]
        return "\n".join(lines)


def find_plans(paths) -> list[Path]:
    """Plan files named directly, and every ``*.toml`` in named directories (sorted)."""
    found = []
    for p in map(Path, paths):
        if p.is_dir():
            found += sorted(p.glob("*.toml"))
        else:
            found.append(p)
    return found


def _unsafe_names(plan, path: Path) -> str | None:
    """Why a plan's file, province or scenario names cannot name dataset folders, or
    None (its regions are checked when it loads)."""
    bad = [f"file name '{path.stem}'"] if not IDENTIFIER.fullmatch(path.stem) else []
    bad += [f"province '{plan.province}'"] if not IDENTIFIER.fullmatch(plan.province) else []
    bad += [f"scenario '{s}'" for s in plan.scenario_names if not IDENTIFIER.fullmatch(s)]
    if not bad:
        return None
    return (f"{', '.join(bad)}: expected identifiers (letters, digits, '_' or '-'), as "
            "they name the dataset's folders; rename them and put Vietnamese names in "
            "label_vi")


def _load(path: Path):
    """(plan, None) or (None, why it cannot run): a loader crash is a failure, not a stop."""
    from .plan import load_plan

    try:
        plan = load_plan(path)
    except QuyhoachError as exc:
        return None, str(exc)
    except Exception as exc:  # a bug on one plan must not stop the others
        return None, (f"{type(exc).__name__}: {exc} (quyhoach could not read this plan; "
                      "this is a bug, please report it with the plan file)")
    return plan, _unsafe_names(plan, path)


def plan_tasks(paths) -> tuple[list[Task], dict]:
    """Load every plan (validation included) and list its tasks; failures by plan file."""
    tasks: list[Task] = []
    failed: dict = {}
    for path in find_plans(paths):
        plan, why = _load(path)
        if why is not None:
            failed[str(path)] = why
            continue
        own = [Task(str(path.resolve()), plan.province, s, plan.sha256, path.stem)
               for s in plan.scenario_names]
        clash = next((t for t in tasks for o in own if t.id == o.id), None)
        if clash is not None:  # none of this plan's tasks run, not some of them
            failed[str(path)] = (f"task {clash.id} is also defined by {clash.plan_file}; "
                                 "two plans of one province need different file names "
                                 "(the dataset's plan level), e.g. "
                                 f"{path.stem}_draft2.toml")
            continue
        tasks += own
    return tasks, failed


def _sha256(path: Path) -> str:
    """SHA-256 of a file, read in blocks (draw files reach gigabytes)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _arrow(df, meta: dict):
    import pyarrow as pa

    df = df.drop(columns=[c for c in PARTITION_COLUMNS if c in df.columns])
    table = pa.Table.from_pandas(df, preserve_index=False)
    return table.replace_schema_metadata({**(table.schema.metadata or {}),
                                          b"quyhoach": json.dumps(meta).encode()})


def _stage_table(table, staged: Path, rel: str) -> dict:
    """Write a Parquet file at ``staged/rel``; its manifest entry."""
    import pyarrow.parquet as pq

    path = staged / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, compression="zstd")
    return {"rows": table.num_rows, "sha256": _sha256(path), "path": rel}


def _stage_draws(source: Path, staged: Path, rel: str) -> dict:
    """Move the spooled draws to ``staged/rel`` (a rename: the spool is in the dataset)."""
    import pyarrow.parquet as pq

    path = staged / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(source, path)  # rename; a streamed copy across file systems
    return {"rows": pq.ParquetFile(path).metadata.num_rows, "sha256": _sha256(path),
            "path": rel}


def _by_region(df):
    """(region, rows) of a table, regions in their order in the table."""
    if df.empty:
        return []
    return [(r, df[df["region"] == r]) for r in dict.fromkeys(df["region"])]


def _stage_sampled_inputs(res, task: Task, staged: Path, meta: dict) -> dict:
    """Write each kept draw's sampled inputs at ``staged/sampled_inputs/...``."""
    from .misses import write_sampled_inputs

    rel = f"sampled_inputs/{task.part()}"
    path = staged / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = write_sampled_inputs(res, task.scenario, path,
                                metadata={b"quyhoach": json.dumps(meta).encode()})
    return {"rows": rows, "sha256": _sha256(path), "path": rel}


def _publish_task(staged: Path, out: Path, files: dict) -> None:
    """Move a task's complete files from its private folder into their partitions."""
    for f in files.values():
        dest = out / f["path"]
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged / f["path"], dest)


def remove_task_files(out: Path, task: Task) -> None:
    """Remove a task's partition files (and its emptied folders), so readers never see
    the data of a task that failed."""
    if not task.safe:
        return
    for name in (*TABLES, "draws", "sampled_inputs"):
        path = out / name / task.folder
        try:
            outdir.remove(path)
        except OSError:  # best effort: reporting the failure matters more
            continue
        for folder in (path.parent, path.parent.parent):
            try:
                folder.rmdir()
            except OSError:  # not empty, or not there
                break


def _write_task(task: Task, out: Path, res, draws: int, seed: int) -> dict:
    """Stage every file of a finished simulation, then publish them; manifest entries."""
    meta = {"engine_version": __version__, "seed": seed, "n_draws": draws,
            "plan_sha256": res.plan.sha256, "inputs_sha256": res.history.sha256}
    frames = {"paths": res.paths, "feasibility": res.feasibility()}
    if draws:
        frames["bands"] = res.bands()
    staged = Path(tempfile.mkdtemp(prefix=f"{TASK_TMP}{os.getpid()}-", dir=out))
    try:
        files = {f"{name}/region={region}": _stage_table(
                     _arrow(part, meta), staged, f"{name}/{task.part(region)}")
                 for name, df in frames.items() for region, part in _by_region(df)}
        if res.draws_dir is not None:
            files["draws"] = _stage_draws(
                res.draws_dir / f"scenario={task.scenario}" / "part-0.parquet", staged,
                f"draws/{task.part()}")
            files["sampled_inputs"] = _stage_sampled_inputs(res, task, staged, meta)
        _publish_task(staged, out, files)
    finally:
        outdir.remove(staged)
    return files


def _simulate_task(task: Task, out: Path, draws: int, seed: int, keep_draws: bool,
                   threads: int | None, chunk_size: int, bands) -> tuple[str, dict]:
    """Simulate one task and write its partitions; (inputs hash, manifest entries)."""
    import numba

    from .plan import load_plan
    from .simulate import simulate

    if not task.safe:
        raise ResultsError(f"task {task.id}: plan file, province and scenario names must be "
                           "identifiers (letters, digits, '_' or '-'), as they name the "
                           "dataset's folders")
    if threads:
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    plan = load_plan(task.plan_file)
    if plan.sha256 != task.plan_sha256:
        raise ResultsError(f"{task.plan_file} changed while the batch was running")
    out.mkdir(parents=True, exist_ok=True)
    res = simulate(plan, [task.scenario], draws=draws, seed=seed if draws else None,
                   chunk_size=chunk_size, keep_draws=keep_draws, spool_dir=out, bands=bands)
    try:
        return res.history.sha256, _write_task(task, out, res, draws, seed)
    finally:
        if res.draws_dir is not None:
            outdir.remove(res.draws_dir)  # the spool's lock goes with ``res``


def run_task(task: Task, out: str, draws: int, seed: int, keep_draws: bool,
             bands="reported", threads: int | None = None, chunk_size: int = 32768) -> dict:
    """Simulate one task and write its partitions; runs in a worker process.

    ``threads`` limits numba's threads for this task (1 when a pool of processes shares
    the cores); ``bands`` is ``quyhoach.simulate``'s. Returns a manifest entry:
    status, seconds, files (rows, sha256), or the error. A task that fails leaves no
    partition files.
    """
    start = time.perf_counter()
    folder = Path(out)
    entry: dict = {"plan_file": task.plan_file, "plan_sha256": task.plan_sha256}
    try:
        inputs_sha256, files = _simulate_task(task, folder, draws, seed, keep_draws,
                                              threads, chunk_size, bands)
        entry.update(status="done", inputs_sha256=inputs_sha256, files=files)
    except Exception as exc:  # a failure of one task must not stop the others
        entry.update(_failure(exc, folder))
    if entry["status"] != "done":
        remove_task_files(folder, task)
    entry["seconds"] = round(time.perf_counter() - start, 3)
    return entry


def refused_write(exc: BaseException, out: Path) -> OSError | None:
    """The OS error behind ``exc`` when the environment refused a write: a full disk, a
    quota, a file-size limit, a read-only file system, or no permission on the dataset."""
    for _ in range(8):  # the error itself, or what it was raised from
        if isinstance(exc, OSError):
            if exc.errno not in _REFUSED_WRITES:
                return None
            if exc.errno in _ON_THE_DATASET and exc.filename is not None and \
                    not _inside(exc.filename, out):
                return None
            return exc
        behind = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
        if behind is None:
            return None
        exc = behind
    return None


def _inside(filename, out: Path) -> bool:
    try:
        return Path(os.path.abspath(filename)).is_relative_to(os.path.abspath(out))
    except (TypeError, ValueError):
        return False


def _failure(exc: Exception, out: Path) -> dict:
    """A failed task's manifest entry; ``stop`` (the fix) when the batch must stop."""
    refused = refused_write(exc, out)
    if refused is not None:
        what = os.strerror(refused.errno) if refused.errno else str(refused)
        where = f" ({refused.filename})" if refused.filename else ""
        return {"status": "failed", "error": f"could not write {out}: {what}{where}",
                "stop": _REFUSED_WRITES.get(refused.errno or 0, _FULL)}
    if isinstance(exc, QuyhoachError):
        return {"status": "failed", "error": str(exc)}
    if isinstance(exc, OSError):  # a vanished file, a read error: clear, and resumable
        return {"status": "failed", "error": str(outdir.write_error(
            out, exc, kept="the finished tasks are kept (run again to resume)"))}
    return {"status": "failed", "error": f"{type(exc).__name__}: {exc}",  # a bug: keep its trace
            "traceback": traceback.format_exc()}


class Manifest:
    """``manifest.json`` of a dataset, written atomically by the coordinator only."""

    def __init__(self, out: Path, config: dict):
        self.out = out
        self.path = out / "manifest.json"
        self.data: dict = {"engine": "quyhoach", "engine_version": __version__, "config": config,
                     "seed_scheme": SEED_SCHEME, "tasks": {}}

    def load(self) -> dict | None:
        """The manifest on disk, or None when there is none."""
        outdir.refuse_link(self.path)
        if not self.path.is_file():
            return None
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ResultsError(f"{self.path} cannot be read as a dataset manifest ({exc}); "
                               "use another --out, or --force to replace the dataset") from exc

    def save(self, folder: Path | None = None) -> None:
        """Write the manifest (into ``folder``, default the dataset) atomically."""
        folder = folder or self.out
        self.data["updated_utc"] = datetime.now(UTC).isoformat(timespec="seconds")
        tmp = folder / f".manifest.json.tmp-{os.getpid()}"
        try:
            tmp.write_text(json.dumps(self.data, indent=2, ensure_ascii=False),
                           encoding="utf-8")
            os.replace(tmp, folder / "manifest.json")
        except OSError as exc:
            outdir.remove(tmp)
            raise outdir.write_error(folder / "manifest.json", exc, kept=(
                "the finished tasks are kept (run the same command again to resume)")) from exc


def _complete(out: Path, entry: dict, task: Task) -> bool:
    """A finished task whose plan is unchanged and whose files are intact."""
    if entry.get("status") != "done" or entry.get("plan_sha256") != task.plan_sha256:
        return False
    for f in entry.get("files", {}).values():
        path = out / f["path"]
        if not path.is_file() or _sha256(path) != f["sha256"]:
            return False
    return True


def _resumable_tasks(out: Path, old: dict | None, config: dict, tasks: list[Task]) -> dict:
    """The task entries of an existing dataset, if it can be resumed as it is."""
    if not isinstance(old, dict) or old.get("engine") != "quyhoach":
        raise ResultsError(f"{out} exists and is not a quyhoach dataset (no manifest.json "
                           "saying engine \"quyhoach\"); choose another --out")
    if not isinstance(old.get("tasks"), dict):
        raise ResultsError(f"{out} holds the results of `quyhoach run`, not a batch dataset; "
                           "choose another --out, or --force to replace them")
    if old.get("config") != config or old.get("engine_version") != __version__:
        raise ResultsError(
            f"{out} holds a dataset made with {old.get('config')} (engine "
            f"{old.get('engine_version')}), not {config} (engine {__version__}); "
            "use another --out, or --force to replace it")
    changed = [t.id for t in tasks if t.id in old["tasks"]
               and old["tasks"][t.id].get("plan_sha256") not in (None, t.plan_sha256)]
    if changed:
        raise ResultsError(f"{out}: the plan of {', '.join(changed)} changed since those "
                           "tasks ran; use another --out, or --force to replace the dataset")
    return old["tasks"]


def _clean_inside(out: Path) -> None:
    """Remove what killed writers left inside a dataset: task folders, temporary files
    and draw spools. Call with the dataset's lock held."""
    outdir.clean_stale_spools(out)
    for root, dirs, files in os.walk(out):
        for name in [*dirs, *files]:
            if name.startswith(".") and ".tmp-" in name:
                outdir.remove(Path(root) / name)
        dirs[:] = [d for d in dirs if not d.startswith(".")]


def _create(out: Path, manifest: Manifest) -> None:
    """Make a new dataset appear whole, manifest included (replacing an empty folder)."""
    try:
        tmp = outdir.temp_beside(out)
    except OSError as exc:
        raise outdir.write_error(out, exc) from exc
    try:
        manifest.save(tmp)
        os.replace(tmp, out)
    except OSError as exc:
        outdir.remove(tmp)
        raise outdir.write_error(out, exc) from exc
    except BaseException:
        outdir.remove(tmp)
        raise


def _has_content(out: Path) -> bool:
    if not os.path.lexists(out):
        return False
    if not out.is_dir():
        return True
    with os.scandir(out) as entries:
        return next(entries, None) is not None


def _prepare(out: Path, config: dict, tasks: list[Task],
             force: bool) -> tuple[Manifest, Path | None]:
    """Resume the dataset at ``out`` (same configuration) or start one; call with its
    lock held. Returns the manifest and, with ``force``, the old dataset moved aside."""
    outdir.clean_stale(out)
    manifest = Manifest(out, config)
    loaded = manifest.load() if _has_content(out) else None
    replaces = loaded.get("replaces") if isinstance(loaded, dict) else None
    if _has_content(out):
        if not force:
            try:
                manifest.data["tasks"] = _resumable_tasks(out, loaded, config, tasks)
            except ResultsError as exc:
                if replaces:  # an unfinished --force: the dataset it replaces is kept
                    raise ResultsError(f"{exc} (the dataset it replaces is kept at "
                                       f"{out.parent / replaces})") from None
                raise
            if replaces:
                manifest.data["replaces"] = replaces
            outdir.refuse_links_inside(out)
            _clean_inside(out)
            return manifest, (out.parent / replaces if replaces else None)
        outdir.check_replaceable(out)
        if replaces:  # an unfinished --force again: its partial dataset goes, not the old
            outdir.remove(out)
        else:
            replaces = outdir.move_aside(out).name
    if replaces:  # kept (and named here) until the new dataset is complete
        manifest.data["replaces"] = replaces
    _create(out, manifest)
    return manifest, (out.parent / replaces if replaces else None)


def _check_engine(engine: str, scheduler, workers) -> None:
    if engine not in ("local", "dask"):
        raise ResultsError(f"unknown engine '{engine}'; expected 'local' or 'dask'")
    if engine == "dask" and not scheduler:
        raise ResultsError("--engine dask needs --scheduler ADDRESS (e.g. tcp://host:8786)")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                or workers < 1):
        raise ResultsError(f"workers = {workers!r}: give a whole number of local worker "
                           "processes, at least 1 (default: one per core)")


def run_batch(paths, out, *, draws: int = 0, seed: int = 20210604, workers: int | None = None,
              keep_draws: bool = False, bands="reported", force: bool = False,
              engine: str = "local",
              scheduler: str | None = None, progress: bool = False) -> BatchSummary:
    """Run every plan × scenario and write (or resume) one dataset.

    Parameters
    ----------
    paths : list of str or pathlib.Path
        Plan files and/or directories of plan files.
    out : str or pathlib.Path
        Dataset directory; resumed when it holds a dataset of the same configuration.
        Never a symbolic link.
    draws, seed : int
        Monte Carlo draws per task (0: central paths only) and the seed.
    workers : int, optional
        Local processes (default: one per core); each task then runs numba on one
        thread, so tasks, not threads, use the cores.
    keep_draws : bool
        Also write every draw (float32) under ``draws/`` and what it sampled under
        ``sampled_inputs/``.
    bands : "reported", "all" or a list of variable names
        The bands each task computes (``quyhoach.simulate``); part of the dataset's
        configuration.
    force : bool
        Replace an existing quyhoach output of another configuration (anything else is
        refused).
    engine : {"local", "dask"}
        ``"dask"`` sends tasks to the dask.distributed scheduler at ``scheduler``
        (install ``quyhoach[dask]``); workers write their partitions directly, so the
        dataset directory must be on storage every worker can reach.
    progress : bool
        Progress bar over tasks (stderr).

    Raises
    ------
    ResultsError
        When the folder is being written by another process, is a link, holds something
        else than a dataset of this configuration (without ``force``), or is not a
        quyhoach output (with ``force``), or when the manifest cannot be written;
        also when a task's write was refused by the environment (full disk, quota,
        file-size limit, read-only or forbidden dataset): the batch stops starting tasks,
        keeps the finished ones, and the same call resumes it.
    """
    from .simulate import check_bands

    start = time.perf_counter()
    out = Path(out)
    target = outdir.output_path(out)
    _check_engine(engine, scheduler, workers)
    outdir.refuse_link(target)
    tasks, failed = plan_tasks(paths)
    if not tasks and not failed:
        raise ResultsError("no plan files found; give plan files or directories holding "
                           "*.toml plan files")
    check_bands(bands)
    config = {"seed": seed, "n_draws": draws, "keep_draws": keep_draws,
              "bands": bands if isinstance(bands, str) else sorted(bands), "layout": LAYOUT}
    with outdir.OutputLock(target):
        manifest, old = _prepare(target, config, tasks, force)
        todo: list[Task] = []
        skipped: list[Task] = []
        for t in tasks:
            entry = manifest.data["tasks"].get(t.id, {})
            (skipped if _complete(target, entry, t) else todo).append(t)
        done = _run_tasks(todo, target, manifest, failed, draws, seed, keep_draws, workers,
                          engine, scheduler, progress, bands)
        if not todo:
            manifest.save()
        if old is not None and all(t.id in done or t in skipped for t in tasks):
            outdir.remove(old)  # the new dataset is complete: the one it replaced goes
            manifest.data.pop("replaces", None)
            manifest.save()
    size = sum(f.stat().st_size for f in target.rglob("*.parquet"))
    return BatchSummary(out, done, [t.id for t in skipped], failed,
                        time.perf_counter() - start, draws, size)


def _run_tasks(todo, out, manifest, failed, draws, seed, keep_draws, workers, engine,
               scheduler, progress, bands="reported") -> list:
    """Run the tasks, recording each in the manifest as it finishes; the ids done.

    A write the environment refuses (full disk, quota, file-size limit, read-only or
    forbidden dataset) stops the batch: no task is started after it, the running ones
    finish and are recorded, then ``ResultsError`` says what failed and that the same
    command resumes.
    """
    done: list = []
    stop: dict = {}  # the first refused write's entry and fix, once there is one
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), unit="task", file=sys.stderr, desc="batch")
    events = _execute(todo, out, draws, seed, keep_draws, workers, engine, scheduler, stop,
                      bands)
    try:
        for task, entry in events:
            fix = entry.pop("stop", None)
            if fix is not None and not stop:
                stop.update(error=entry["error"], fix=fix)
            _record(task, entry, out, manifest, done, failed)
            if bar is not None:
                bar.update(1)
    finally:
        events.close()  # an exception here stops the workers
        if bar is not None:
            bar.close()
    if stop:
        raise _stopped(stop, manifest, len(todo) - len(done))
    return done


def _record(task: Task, entry: dict, out: Path, manifest: Manifest, done: list,
            failed: dict) -> None:
    if entry["status"] != "done":
        remove_task_files(out, task)  # also when its worker died mid-write
    manifest.data["tasks"][task.id] = entry
    manifest.save()
    if entry["status"] == "done":
        done.append(task.id)
    else:
        failed[task.id] = entry["error"]


def _stopped(stop: dict, manifest: Manifest, remaining: int) -> ResultsError:
    """The one-line error of a batch stopped by a refused write."""
    kept = sum(1 for e in manifest.data["tasks"].values() if e.get("status") == "done")
    return ResultsError(f"{stop['error']}; the batch stopped: {kept} finished task(s) are "
                        f"kept and {remaining} remain to run: {stop['fix']}, then run the same "
                        "command again to resume")


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def _die_with(parent: int) -> None:
    """Pool-worker initializer: end this worker as soon as its coordinator dies.

    On Linux the kernel sends SIGKILL when the parent dies (``PR_SET_PDEATHSIG``),
    even while a numba kernel holds the interpreter; elsewhere a watcher thread notices
    the new parent within half a second.
    """
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the coordinator died before the line above
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True,
                     name="quyhoach-watch-coordinator").start()


def _worker_died(task: Task) -> dict:
    return {"plan_file": task.plan_file, "plan_sha256": task.plan_sha256, "status": "failed",
            "error": "the worker process running this task died (killed, or out of "
                     "memory); run the batch again to redo it", "seconds": 0.0}


def _stop_workers(pool) -> None:
    """Kill a pool's workers now (an interrupted batch must not keep writing)."""
    pool.shutdown(wait=False, cancel_futures=True)
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.kill()


def _execute(todo, out, draws, seed, keep_draws, workers, engine, scheduler, stop=None,
             bands="reported"):
    """Yield (task, manifest entry) as tasks finish, on the chosen engine.

    Once ``stop`` is non-empty (the consumer sets it between two yields) no further
    task is started; the running ones are still yielded.
    """
    stop = {} if stop is None else stop
    if not todo:
        return
    if engine == "dask":
        yield from _execute_dask(todo, out, draws, seed, keep_draws, scheduler, stop, bands)
        return
    n = workers or os.cpu_count() or 1
    if n == 1:  # one worker: this process, one thread (as each pool worker)
        import numba

        before = numba.get_num_threads()
        try:
            for t in todo:
                if stop:
                    return
                yield t, run_task(t, str(out), draws, seed, keep_draws, bands, 1)
        finally:
            numba.set_num_threads(before)
        return
    yield from _execute_pool(todo, out, (draws, seed, keep_draws, bands, 1), n, stop)


def _execute_pool(todo, out, args: tuple, n: int, stop: dict):
    """A pool of ``n`` processes running one task each; the next task is submitted when
    one finishes (so a stop leaves nothing queued)."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    # spawn, not fork: numba's threading layer in the parent is not fork-safe
    pool = ProcessPoolExecutor(max_workers=min(n, len(todo)),
                               mp_context=multiprocessing.get_context("spawn"),
                               initializer=_die_with, initargs=(os.getpid(),))
    queue = iter(todo)
    running: dict = {}
    try:
        lost = _fill(pool, queue, running, n, (str(out), *args), stop)
        while running or lost:
            for task in lost:  # refused by a pool broken by a dead worker
                yield task, _worker_died(task)
            finished = wait(running, return_when=FIRST_COMPLETED).done if running else ()
            for f in finished:
                task = running.pop(f)
                try:
                    entry = f.result()
                except BrokenProcessPool:
                    entry = _worker_died(task)
                yield task, entry
            lost = _fill(pool, queue, running, n, (str(out), *args), stop)
    except BaseException:
        _stop_workers(pool)
        raise
    pool.shutdown(wait=True)


def _fill(pool, queue, running: dict, n: int, args: tuple, stop: dict) -> list:
    """Submit queued tasks until ``n`` run (none once stopped); those a broken pool refused."""
    from concurrent.futures.process import BrokenProcessPool

    lost = []
    while len(running) < n and not stop:
        task = next(queue, None)
        if task is None:
            break
        try:
            running[pool.submit(run_task, task, *args)] = task
        except BrokenProcessPool:
            lost.append(task)
    return lost


def _execute_dask(todo, out, draws, seed, keep_draws, scheduler, stop: dict, bands):
    """Tasks on a dask cluster. After a stop the tasks not yet finished are cancelled
    (one already running on a worker may still write its files: the next run redoes it)."""
    try:
        from distributed import Client, as_completed
    except ImportError as exc:
        raise ResultsError("the dask engine needs the optional extra: "
                           "pip install 'quyhoach[dask]'") from exc
    client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
    futures = {client.submit(run_task, t, str(Path(out).resolve()), draws, seed, keep_draws,
                             bands, 1, pure=False): t for t in todo}
    for f in as_completed(futures):
        yield futures[f], f.result()
        if stop:
            client.cancel([g for g in futures if not g.done()])
            return
