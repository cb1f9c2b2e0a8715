"""Results on disk: Parquet tables plus ``manifest.json``, written atomically.

A results directory is built under a temporary name beside its target and renamed
into place only when every file is complete, so an interrupted run leaves no
half-written directory. An existing directory is replaced only when asked.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from . import __version__
from .errors import ResultsError

TABLES = ("paths", "feasibility", "bands")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def manifest(results) -> dict:
    """Everything needed to trace and reproduce a run."""
    import numba
    import numpy

    plan = results.plan
    return {
        "engine": "quyhoach",
        "engine_version": __version__,
        "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "plan_file": str(plan.path),
        "plan_sha256": plan.sha256,
        "inputs_sha256": results.history.sha256,
        "province": plan.province,
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
    ``draws/scenario=<name>/`` when the run kept its draws.

    Parameters
    ----------
    results : quyhoach.results.Results
    directory : str or pathlib.Path
        Created; must not exist unless ``overwrite``.
    overwrite : bool
        Replace an existing results directory (the old one is removed only after the
        new one is complete).
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
        If the directory exists and ``overwrite`` is false.
    """
    target = Path(directory)
    if target.exists() and not overwrite:
        raise ResultsError(f"{target} already exists; choose another --out directory or "
                           "pass --force (overwrite=True) to replace it")
    target.parent.mkdir(parents=True, exist_ok=True)
    meta = manifest(results)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        files = {}
        frames = {"paths": results.paths, "feasibility": results.feasibility(),
                  "bands": results.bands()}
        for name in TABLES:
            df = frames[name]
            table = pa.Table.from_pandas(df, preserve_index=False)
            table = table.replace_schema_metadata({
                **(table.schema.metadata or {}),
                b"quyhoach": json.dumps({k: meta[k] for k in (
                    "engine_version", "plan_sha256", "inputs_sha256", "n_draws",
                    "seed")}).encode()})
            path = tmp / f"{name}.parquet"
            pq.write_table(table, path, compression="zstd")
            files[f"{name}.parquet"] = {"rows": len(df), "sha256": _sha256(path)}
        if results.draws_dir is not None:
            shutil.copytree(results.draws_dir, tmp / "draws")
            for part in sorted((tmp / "draws").rglob("*.parquet")):
                rel = part.relative_to(tmp).as_posix()
                files[rel] = {"rows": pq.ParquetFile(part).metadata.num_rows,
                              "sha256": _sha256(part)}
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
        if target.exists():
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            target.rename(old)
            tmp.rename(target)
            shutil.rmtree(old)
        else:
            tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


@dataclass(frozen=True)
class StoredResults:
    """Results read back from disk: the tables and the manifest."""

    paths: pd.DataFrame
    feasibility: pd.DataFrame
    bands: pd.DataFrame
    manifest: dict


def _as_list(value):
    return [value] if isinstance(value, (str, int)) else list(value)


def read_results(directory, *, province=None, scenario=None, variable=None,
                 years=None) -> StoredResults:
    """Read a results directory (``quyhoach run``) or a batch dataset (``quyhoach batch``).

    Filters are pushed down to pyarrow, so only matching row groups and partitions are
    read.

    Parameters
    ----------
    directory : str or pathlib.Path
    province, scenario : str or list of str, optional
    variable : str or list of str, optional
        Filters ``paths`` and ``bands`` on ``variable`` and ``feasibility`` on
        ``indicator``.
    years : int, list of int or (first, last) tuple, optional
        Filters ``paths`` and ``bands``.

    Returns
    -------
    StoredResults
        ``paths``, ``feasibility``, ``bands`` (empty when the run had no draws) and
        ``manifest``.
    """
    import pyarrow.dataset as ds

    d = Path(directory)
    if not (d / "manifest.json").is_file():
        raise ResultsError(f"{d} is not a quyhoach results directory: missing manifest.json")
    meta = json.loads((d / "manifest.json").read_text(encoding="utf-8"))
    batch = "tasks" in meta
    frames = {}
    for name in TABLES:
        source = d / name if batch else d / f"{name}.parquet"
        if not source.exists():
            if not batch:
                raise ResultsError(f"{d} is not a quyhoach results directory: missing "
                                   f"{name}.parquet")
            frames[name] = pd.DataFrame()
            continue
        partitioning = ds.HivePartitioning.discover(infer_dictionary=True) if batch else None
        data = ds.dataset(source, format="parquet", partitioning=partitioning)
        names = set(data.schema.names)
        conditions = []
        for column, value in (("province", province), ("scenario", scenario),
                              ("variable" if name != "feasibility" else "indicator", variable)):
            if value is not None and column in names:
                conditions.append(ds.field(column).isin(_as_list(value)))
        if years is not None and "year" in names:
            if isinstance(years, tuple):
                conditions.append((ds.field("year") >= years[0]) & (ds.field("year") <= years[1]))
            else:
                conditions.append(ds.field("year").isin(_as_list(years)))
        flt = None
        for c in conditions:
            flt = c if flt is None else flt & c
        frames[name] = data.to_table(filter=flt).to_pandas()
    return StoredResults(frames["paths"], frames["feasibility"], frames["bands"], meta)
