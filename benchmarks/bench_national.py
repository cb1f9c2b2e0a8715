"""The national batch: every province and the country, at 1 and 2 workers.

    python benchmarks/bench_national.py                   # 35 plans x 3 scenarios x 10^5 draws
    python benchmarks/bench_national.py --draws 10000     # the same at 10^4 draws
    python benchmarks/bench_national.py --smoke           # two provinces, seconds (tests)

``quyhoach init all --national-structure`` writes the 34 provinces of 2025 and
``viet_nam`` (the country: the 63 former provinces as members, the merged provinces as
groups), then ``quyhoach.batch.run_batch`` runs them in a fresh process per worker
count. Reported: wall time, the coordinator's and the largest worker's peak resident
set (VmHWM / ru_maxrss), the task times from ``manifest.json``, and the time a
16-worker cluster would take: the measured task times scheduled longest first on 16
workers (a lower bound: it leaves out start-up and the network). The two datasets
must be byte-identical (checked).
"""

from __future__ import annotations

import argparse
import hashlib
import heapq
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from bench_batch import RUN  # noqa: E402  (a batch in a fresh process, with its memory)


def write_plans(folder: Path, smoke: bool) -> Path:
    """Every province of 2025 and the country (two provinces for a smoke run)."""
    from quyhoach.init import init_all, init_province

    tables = {"gso_dir": ROOT / "inputs" / "gso", "all_dir": ROOT / "inputs" / "all_provinces",
              "band_scales": ROOT / "models" / "band_scales.toml"}
    start = time.perf_counter()
    if smoke:
        for name in ("Thái Nguyên", "Điện Biên"):
            init_province(name, "2025", folder, national_structure=True, **tables)
    else:
        _, failed = init_all("2025", folder, national_structure=True, **tables)
        if failed:
            raise SystemExit(f"init failed for {sorted(failed)}")
    print(f"init: {len(list((folder / 'scenarios').glob('*.toml')))} plans in "
          f"{time.perf_counter() - start:.1f} s")
    return folder / "scenarios"


def hashes(out: Path) -> dict:
    return {p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.rglob("*.parquet"))}


def longest_first(seconds: list[float], workers: int) -> float:
    """Makespan of the task times scheduled longest first on ``workers``."""
    loads = [0.0] * workers
    for s in sorted(seconds, reverse=True):
        heapq.heapreplace(loads, loads[0] + s)
    return max(loads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=100_000)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--plans", type=Path, help="plans written before (skip init)")
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    draws = 100 if args.smoke else args.draws
    with tempfile.TemporaryDirectory() as tmp:
        plans = args.plans or write_plans(Path(tmp) / "national", args.smoke)
        rows, datasets = [], []
        for workers in (int(w) for w in args.workers.split(",")):
            out = Path(tmp) / f"ds_{workers}"
            proc = subprocess.run([sys.executable, "-c", RUN, str(plans), str(out), str(draws),
                                   str(workers)], check=True, capture_output=True, text=True)
            row = json.loads(proc.stdout.splitlines()[-1])
            tasks = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["tasks"]
            row["workers"], row["task_seconds"] = workers, [t["seconds"] for t in
                                                            tasks.values()]
            rows.append(row)
            datasets.append(hashes(out))
        identical = all(d == datasets[0] for d in datasets)
        print(f"\n{len(rows[0]['task_seconds'])} tasks x {draws:,} draws; datasets identical "
              f"across worker counts: {identical}\n")
        print("| workers | wall s | coordinator MB | largest worker MB | task s (sum) | "
              "longest task s | failed |")
        print("|---|---|---|---|---|---|---|")
        for r in rows:  # one worker runs the tasks in the coordinator's process
            worker = (f"{r['worker_mb']:.0f}" if r["worker_mb"] else
                      f"{r['coordinator_mb']:.0f} (in-process)")
            print(f"| {r['workers']} | {r['seconds']:.1f} | {r['coordinator_mb']:.0f} | "
                  f"{worker} | {sum(r['task_seconds']):.1f} | "
                  f"{max(r['task_seconds']):.1f} | {r['failed']} |")
        one = min(rows, key=lambda r: r["workers"])["task_seconds"]  # unshared cores
        print(f"\nprojected 16 workers (task times of the {min(r['workers'] for r in rows)}-"
              f"worker run, longest first): {longest_first(one, 16):.1f} s; the longest task "
              f"alone {max(one):.1f} s")
        if not identical:
            raise SystemExit("the datasets differ between worker counts")


if __name__ == "__main__":
    main()
