"""Results on disk: Parquet tables plus ``manifest.json``, written atomically.

A results directory is built under a temporary name beside its target and renamed
into place only when every file is complete, so an interrupted run leaves no
half-written directory, and a later run removes what a killed one left behind. One
process writes a folder at a time (an OS lock). An existing directory is replaced only
when asked, and only when it is a quyhoach output (see ``quyhoach.outdir``).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import platform
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from . import __version__
from .errors import ResultsError
from .outdir import clean_stale_spools, output_path, replacing

TABLES = ("paths", "feasibility", "bands")


def _sha256(path: Path) -> str:
    """SHA-256 of a file, read in blocks (draw files reach gigabytes)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def manifest(results) -> dict:
    """Everything needed to trace and reproduce a run.

    Results read back (no plan) keep the manifest they were read with, less its list
    of files, with the scenarios they hold and the filters they were read with
    (``selection``) if any.
    """
    import numba
    import numpy

    plan = results.plan
    if plan is None:
        meta = {k: v for k, v in results.manifest.items() if k != "files"}
        meta["scenarios"] = results.scenarios
        return {**meta, "selection": results.selection} if results.selection else meta
    return {
        "engine": "quyhoach",
        "engine_version": __version__,
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "plan_file": str(plan.path),
        "plan_sha256": plan.sha256,
        # a plan changed in code: what changed, and the plan as run (plan_sha256 is its hash)
        "plan_edits": list(plan.edits),
        "plan_text": plan.to_toml() if plan.edited else None,
        "inputs_sha256": results.history.sha256,
        "province": plan.province,
        # the province's key, then its members; blocks projected by member and the share
        # of shock variance common to the province
        "regions": results.regions,
        "regions_blocks": list(plan.regions.blocks),
        "regions_shock_share": plan.regions.shock_share if plan.regions.members else None,
        "base_year": plan.base_year,
        "last_actual_year": plan.last_actual_year,
        "horizon": plan.horizon,
        "scenarios": results.scenarios,
        "n_draws": results.draws,
        "seed": results.seed,
        "random_streams": "counter-based: (seed, blake2b-64 of source name, draw index) "
                          "-> SplitMix64; blocks of 256 draws summed in block order",
        "assumptions": results.notes,
        "model_file": str(plan.model.path) if plan.model else None,
        "model_sha256": plan.model.sha256 if plan.model else None,
        "calibrated_uncertainty": list(plan.model.calibrated) if plan.model else [],
        "assumed_data": [vars(a) for a in plan.assumed_data],
        "untracked_targets": [vars(u) for u in plan.untracked_targets],
        "software": {"python": platform.python_version(), "numpy": numpy.__version__,
                     "numba": numba.__version__, "pandas": pd.__version__,
                     "pyarrow": pa.__version__},
    }


def write_results(results, directory, *, overwrite: bool = False, excel: bool = False,
                  charts=(), lang: str = "vi") -> Path:
    """Write ``paths``, ``feasibility``, ``bands`` (.parquet), ``manifest.json``, and
    ``draws/scenario=<name>/`` with ``sampled_inputs/scenario=<name>/`` (each draw's
    sampled inputs, ``quyhoach.misses.write_sampled_inputs``) when the run kept its
    draws.

    The folder is written whole under a temporary name beside it and renamed into place
    (``quyhoach.outdir.replacing``): one writer at a time, never half-written.

    Parameters
    ----------
    results : quyhoach.results.Results
    directory : str or pathlib.Path
        Created; must not exist unless ``overwrite``.
    overwrite : bool
        Replace an existing quyhoach output (the old one is moved aside and removed
        only once the new one is in place). Anything else is never replaced.
    excel : bool
        Also write ``feasibility.xlsx`` for officials.
    charts : sequence of str
        Variables to draw as fan charts (``fan_<variable>.png``).
    lang : {"vi", "en"}
        Language of the workbook and charts.

    Returns
    -------
    pathlib.Path
        The directory written.

    Raises
    ------
    ResultsError
        If the directory exists and ``overwrite`` is false, is not a quyhoach output, is
        a symbolic link, is being written by another process, or cannot be written
        (e.g. a full disk; nothing is then left behind).
    """
    target = Path(directory)
    meta = manifest(results)
    clean_stale_spools(tempfile.gettempdir())  # draws kept by killed runs
    with replacing(target, overwrite=overwrite) as tmp:
        clean_stale_spools(output_path(target).parent)
        files = _write_tables(results, meta, tmp)
        if results.draws_dir is not None:
            files.update(_place_draws(results.draws_dir, tmp, results.scenarios))
            files.update(_sampled_inputs(results, meta, tmp))
        if excel:
            from .report import to_excel

            files["feasibility.xlsx"] = {"sha256": _sha256(to_excel(
                results, tmp / "feasibility.xlsx", lang))}
        for variable in charts:
            from .charts import fan_chart

            png = fan_chart(results, variable, tmp / f"fan_{variable}.png", lang=lang)
            files[png.name] = {"sha256": _sha256(png)}
        meta["files"] = files
        (tmp / "manifest.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False),
                                           encoding="utf-8")
    return target


def _write_tables(results, meta: dict, folder: Path) -> dict:
    """``paths``, ``feasibility`` and ``bands`` as Parquet in ``folder``; their entries."""
    files = {}
    frames = results.tables()
    stamp = json.dumps({k: meta[k] for k in ("engine_version", "plan_sha256",
                                             "inputs_sha256", "n_draws", "seed")}).encode()
    for name in TABLES:
        df = frames[name]
        table = pa.Table.from_pandas(df, preserve_index=False)
        table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                               b"quyhoach": stamp})
        path = folder / f"{name}.parquet"
        pq.write_table(table, path, compression="zstd")
        files[f"{name}.parquet"] = {"rows": len(df), "sha256": _sha256(path)}
    return files


def _place_draws(spool: Path, folder: Path, scenarios) -> dict:
    """Link (or, across file systems, stream-copy) the kept draws of ``scenarios`` into
    ``folder/draws``.

    The spool stays intact, so the results can be written again. Nothing is read into
    memory: draw files reach gigabytes.
    """
    files = {}
    keep = {f"scenario={s}" for s in scenarios}
    for part in sorted(spool.glob("scenario=*/*.parquet")):
        if part.parent.name not in keep:
            continue
        rel = part.relative_to(spool)
        dest = folder / "draws" / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        link_or_copy(part, dest)
        files[f"draws/{rel.as_posix()}"] = {"rows": pq.ParquetFile(dest).metadata.num_rows,
                                            "sha256": _sha256(dest)}
    return files


def _sampled_inputs(results, meta: dict, folder: Path) -> dict:
    """Every kept draw's sampled inputs, ``sampled_inputs/scenario=<name>/part-0.parquet``:
    recovered from the streams for a simulated run, linked from the directory a run
    was read back from."""
    files = {}
    for name in results.scenarios:
        rel = f"sampled_inputs/scenario={name}/part-0.parquet"
        dest = folder / rel
        if results.plan is not None:
            from .misses import write_sampled_inputs

            dest.parent.mkdir(parents=True)
            write_sampled_inputs(results, name, dest, metadata={b"quyhoach": json.dumps(
                {k: meta[k] for k in ("engine_version", "plan_sha256", "inputs_sha256",
                                      "n_draws", "seed")}).encode()})
        else:
            source = results.draws_dir.parent / rel
            if not source.is_file():
                continue
            dest.parent.mkdir(parents=True)
            link_or_copy(source, dest)
        files[rel] = {"rows": pq.ParquetFile(dest).metadata.num_rows, "sha256": _sha256(dest)}
    return files


def link_or_copy(source: Path, dest: Path) -> None:
    """Hard-link ``source`` as ``dest``, or stream-copy it where links are impossible."""
    try:
        os.link(source, dest, follow_symlinks=False)
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP,
                             errno.EACCES):
            raise
        shutil.copyfile(source, dest, follow_symlinks=False)


def _as_list(value):
    return [value] if isinstance(value, (str, int)) else list(value)


def read_tables(directory, selection: dict) -> tuple[dict, dict, dict]:
    """The tables and manifest of a results directory or a batch dataset.

    Filters are pushed down to pyarrow, so only matching row groups and partitions are
    read (``quyhoach.read_results`` documents them).

    Returns
    -------
    frames : dict[str, pandas.DataFrame]
        ``paths``, ``feasibility``, ``bands``.
    manifest : dict
    context : dict
        ``scenarios`` (those read; None for a dataset), ``last_target_year`` and
        ``draws_dir`` (a results directory's kept draws, or None).

    Raises
    ------
    ResultsError
        Not a results directory or dataset, or a table missing.
    """
    d = Path(directory)
    if not (d / "manifest.json").is_file():
        raise ResultsError(f"{d} is not a quyhoach results directory: missing manifest.json")
    meta = json.loads((d / "manifest.json").read_text(encoding="utf-8"))
    batch = "tasks" in meta
    frames = {name: _read_table(d, name, batch, selection) for name in TABLES}
    scenarios = meta.get("scenarios") if not batch else None
    if scenarios is not None and "scenario" in selection:
        scenarios = [s for s in scenarios if s in _as_list(selection["scenario"])]
    draws = d / "draws"
    return frames, meta, {"scenarios": scenarios,
                          "last_target_year": _last_target_year_on_disk(d, batch),
                          "draws_dir": draws if draws.is_dir() and not batch else None}


def _source(d: Path, name: str, batch: bool) -> Path:
    """Where a table lies: a file in a results directory, a folder in a dataset."""
    return d / name if batch else d / f"{name}.parquet"


def _read_table(d: Path, name: str, batch: bool, selection: dict) -> pd.DataFrame:
    """One table, read with the selection's filters (pushed down to pyarrow)."""
    import pyarrow.dataset as ds

    source = _source(d, name, batch)
    if not source.exists():
        if not batch:
            raise ResultsError(f"{d} is not a quyhoach results directory: missing "
                               f"{name}.parquet")
        return pd.DataFrame()
    partitioning = ds.HivePartitioning.discover(infer_dictionary=True) if batch else None
    data = ds.dataset(source, format="parquet", partitioning=partitioning)
    # an empty table (bands of a run without draws) has columns of no type: nothing to filter
    typed = {f.name for f in data.schema if str(f.type) != "null"}
    return data.to_table(filter=_filter(ds, typed, name, selection)).to_pandas()


def _filter(ds, names: set, table: str, selection: dict):
    """The pyarrow expression of the selection on one table's columns (None: all)."""
    conditions = []
    for key, value in selection.items():
        column = "indicator" if key == "variable" and table == "feasibility" else key
        if key == "years" and "year" in names:
            if isinstance(value, tuple):
                conditions.append((ds.field("year") >= value[0]) & (ds.field("year") <= value[1]))
            else:
                conditions.append(ds.field("year").isin(_as_list(value)))
        elif key != "years" and column in names:
            conditions.append(ds.field(column).isin(_as_list(value)))
    flt = None
    for c in conditions:
        flt = c if flt is None else flt & c
    return flt


def _last_target_year_on_disk(d: Path, batch: bool) -> int | None:
    """The last year of any target (the feasibility table's ``period``, read whole)."""
    import pyarrow.dataset as ds

    source = _source(d, "feasibility", batch)
    if not source.exists():
        return None
    partitioning = ds.HivePartitioning.discover(infer_dictionary=True) if batch else None
    data = ds.dataset(source, format="parquet", partitioning=partitioning)
    if "period" not in data.schema.names:
        return None
    periods = data.to_table(columns=["period"]).column("period").unique().to_pylist()
    return max((int(str(p).rsplit("-", 1)[-1]) for p in periods), default=None)
