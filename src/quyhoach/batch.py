"""Batch runs: many plans × scenarios into one resumable, hive-partitioned Parquet dataset.

Layout of a dataset directory::

    manifest.json
    paths/province=<p>/scenario=<s>/part-0.parquet
    bands/...        feasibility/...        draws/...   (draws only with keep_draws)

Every task (one plan × one scenario) is independent. Its random numbers depend only on
(seed, source name, draw index), never on which tasks ran before or beside it. So a task
re-run alone writes the same bytes. Workers write their own files, each under a
temporary name renamed into place when complete. Only the coordinator writes
``manifest.json`` (atomically, after each finished task). A batch killed at any moment
therefore leaves complete files, and running the same command again skips the tasks
whose files are intact (checked by SHA-256) and redoes the rest.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
import traceback
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from . import __version__
from .errors import QuyhoachError, ResultsError

TABLES = ("paths", "bands", "feasibility")
PARTITION_COLUMNS = ("province", "scenario")
SEED_SCHEME = ("every random source has a counter-based stream keyed by (seed, blake2b-64 of "
               "its name, draw index); tasks and scenarios share the seed, so any task re-run "
               "alone with the same plan, inputs, seed and n_draws gives the same bytes")


@dataclass(frozen=True)
class Task:
    """One plan × one scenario."""

    plan_file: str
    province: str
    scenario: str
    plan_sha256: str

    @property
    def id(self) -> str:
        return f"{self.province}/{self.scenario}"


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


def plan_tasks(paths) -> tuple[list[Task], dict]:
    """Load every plan (validation included) and list its tasks; failures by plan file."""
    from .plan import load_plan

    tasks, failed = [], {}
    for path in find_plans(paths):
        try:
            plan = load_plan(path)
        except QuyhoachError as exc:
            failed[str(path)] = str(exc)
            continue
        for s in plan.scenario_names:
            task = Task(str(path.resolve()), plan.province, s, plan.sha256)
            clash = next((t for t in tasks if t.id == task.id), None)
            if clash is not None:
                failed[str(path)] = (f"task {task.id} is also defined by {clash.plan_file}; "
                                     "give each plan its own [plan] province or scenario names")
                break
            tasks.append(task)
    return tasks, failed


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_atomic(table, path: Path) -> dict:
    """Write a Parquet file under a temporary name, then rename it into place."""
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, path)
    return {"rows": table.num_rows, "sha256": _sha256(path),
            "path": path.as_posix()}


def _arrow(df, meta: dict):
    import pyarrow as pa

    df = df.drop(columns=[c for c in PARTITION_COLUMNS if c in df.columns])
    table = pa.Table.from_pandas(df, preserve_index=False)
    return table.replace_schema_metadata({**(table.schema.metadata or {}),
                                          b"quyhoach": json.dumps(meta).encode()})


def run_task(task: Task, out: str, draws: int, seed: int, keep_draws: bool,
             threads: int | None = None, chunk_size: int = 32768) -> dict:
    """Simulate one task and write its partitions; runs in a worker process.

    ``threads`` limits numba's threads for this task (1 when a pool of processes shares
    the cores). Returns a manifest entry: status, seconds, files (rows, sha256), or the
    error.
    """
    import numba

    from .plan import load_plan
    from .simulate import simulate

    start = time.perf_counter()
    entry = {"plan_file": task.plan_file, "plan_sha256": task.plan_sha256}
    try:
        if threads:
            numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
        plan = load_plan(task.plan_file)
        if plan.sha256 != task.plan_sha256:
            raise ResultsError(f"{task.plan_file} changed while the batch was running")
        res = simulate(plan, [task.scenario], draws=draws, seed=seed if draws else None,
                       chunk_size=chunk_size, keep_draws=keep_draws)
        meta = {"engine_version": __version__, "seed": seed, "n_draws": draws,
                "plan_sha256": plan.sha256, "inputs_sha256": res.history.sha256}
        part = f"province={task.province}/scenario={task.scenario}/part-0.parquet"
        frames = {"paths": res.paths, "feasibility": res.feasibility()}
        if draws:
            frames["bands"] = res.bands()
        files = {}
        for name, df in frames.items():
            files[name] = _write_atomic(_arrow(df, meta), Path(out) / name / part)
        if res.draws_dir is not None:
            import pyarrow.parquet as pq

            kept = pq.read_table(res.draws_dir / f"scenario={task.scenario}")
            files["draws"] = _write_atomic(kept.replace_schema_metadata(
                {b"quyhoach": json.dumps(meta).encode()}), Path(out) / "draws" / part)
        for f in files.values():
            f["path"] = Path(f["path"]).relative_to(out).as_posix()
        entry.update(status="done", inputs_sha256=res.history.sha256, files=files)
    except QuyhoachError as exc:
        entry.update(status="failed", error=str(exc))
    except Exception as exc:  # a bug must not stop the other tasks; keep its trace
        entry.update(status="failed", error=f"{type(exc).__name__}: {exc}",
                     traceback=traceback.format_exc())
    entry["seconds"] = round(time.perf_counter() - start, 3)
    return entry


class Manifest:
    """``manifest.json`` of a dataset, written atomically by the coordinator only."""

    def __init__(self, out: Path, config: dict):
        self.path = out / "manifest.json"
        self.data = {"engine": "quyhoach", "engine_version": __version__, "config": config,
                     "seed_scheme": SEED_SCHEME, "tasks": {}}

    def load(self) -> dict | None:
        if not self.path.is_file():
            return None
        return json.loads(self.path.read_text(encoding="utf-8"))

    def save(self) -> None:
        self.data["updated_utc"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        tmp = self.path.with_name(f".manifest.json.tmp-{os.getpid()}")
        tmp.write_text(json.dumps(self.data, indent=2, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, self.path)


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
    if old is None:
        raise ResultsError(f"{out} exists and is not a quyhoach dataset (no manifest.json); "
                           "choose another --out or pass --force")
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


def _prepare(out: Path, config: dict, tasks: list[Task], force: bool) -> Manifest:
    """Check an existing dataset can be resumed (same configuration), or start one."""
    manifest = Manifest(out, config)
    if out.exists() and any(out.iterdir()):
        if force:
            for child in out.iterdir():
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        else:
            manifest.data["tasks"] = _resumable_tasks(out, manifest.load(), config, tasks)
    out.mkdir(parents=True, exist_ok=True)
    for tmp in out.rglob(".*.tmp-*"):  # debris of an interrupted write
        tmp.unlink()
    return manifest


def run_batch(paths, out, *, draws: int = 0, seed: int = 20210604, workers: int | None = None,
              keep_draws: bool = False, force: bool = False, engine: str = "local",
              scheduler: str | None = None, progress: bool = False) -> BatchSummary:
    """Run every plan × scenario and write (or resume) one dataset.

    Parameters
    ----------
    paths : list of str or pathlib.Path
        Plan files and/or directories of plan files.
    out : str or pathlib.Path
        Dataset directory; resumed when it holds a dataset of the same configuration.
    draws, seed : int
        Monte Carlo draws per task (0: central paths only) and the seed.
    workers : int, optional
        Local processes (default: one per core); each task then runs numba on one
        thread, so tasks, not threads, use the cores.
    keep_draws : bool
        Also write every draw (float32) under ``draws/``.
    force : bool
        Replace an existing dataset of another configuration.
    engine : {"local", "dask"}
        ``"dask"`` sends tasks to the dask.distributed scheduler at ``scheduler``
        (install ``quyhoach[dask]``); workers write their partitions directly, so the
        dataset directory must be on storage every worker can reach.
    progress : bool
        Progress bar over tasks (stderr).
    """
    start = time.perf_counter()
    out = Path(out)
    tasks, failed = plan_tasks(paths)
    if not tasks and not failed:
        raise ResultsError("no plan files found; give plan files or directories holding "
                           "*.toml plan files")
    config = {"seed": seed, "n_draws": draws, "keep_draws": keep_draws}
    manifest = _prepare(out, config, tasks, force)
    todo, skipped = [], []
    for t in tasks:
        (skipped if _complete(out, manifest.data["tasks"].get(t.id, {}), t) else todo).append(t)
    done = []
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), unit="task", file=sys.stderr, desc="batch")
    try:
        for task, entry in _execute(todo, out, draws, seed, keep_draws, workers, engine,
                                    scheduler):
            manifest.data["tasks"][task.id] = entry
            manifest.save()
            if entry["status"] == "done":
                done.append(task.id)
            else:
                failed[task.id] = entry["error"]
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    if not todo:
        manifest.save()
    size = sum(f.stat().st_size for f in out.rglob("*.parquet"))
    return BatchSummary(out, done, [t.id for t in skipped], failed,
                        time.perf_counter() - start, draws, size)


def _execute(todo, out, draws, seed, keep_draws, workers, engine, scheduler):
    """Yield (task, manifest entry) as tasks finish, on the chosen engine."""
    if not todo:
        return
    if engine == "dask":
        yield from _execute_dask(todo, out, draws, seed, keep_draws, scheduler)
        return
    if engine != "local":
        raise ResultsError(f"unknown engine '{engine}'; expected 'local' or 'dask'")
    from concurrent.futures import ProcessPoolExecutor, as_completed

    n = workers or os.cpu_count() or 1
    if n == 1:  # one worker: this process, one thread (as each pool worker)
        import numba

        before = numba.get_num_threads()
        try:
            for t in todo:
                yield t, run_task(t, str(out), draws, seed, keep_draws, 1)
        finally:
            numba.set_num_threads(before)
        return
    import multiprocessing

    # spawn, not fork: numba's threading layer in the parent is not fork-safe
    with ProcessPoolExecutor(max_workers=n,
                             mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(run_task, t, str(out), draws, seed, keep_draws, 1): t
                   for t in todo}
        for f in as_completed(futures):
            yield futures[f], f.result()


def _execute_dask(todo, out, draws, seed, keep_draws, scheduler):
    try:
        from distributed import Client, as_completed
    except ImportError as exc:
        raise ResultsError("the dask engine needs the optional extra: "
                           "pip install 'quyhoach[dask]'") from exc
    if not scheduler:
        raise ResultsError("--engine dask needs --scheduler ADDRESS (e.g. tcp://host:8786)")
    client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
    futures = {client.submit(run_task, t, str(Path(out).resolve()), draws, seed, keep_draws,
                             1, pure=False): t for t in todo}
    for f in as_completed(futures):
        yield futures[f], f.result()

