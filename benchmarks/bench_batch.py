"""Batch runs: speed-up with workers, resume time, memory per worker.

    python benchmarks/bench_batch.py            # 20 tasks × 10^5 draws (~2 minutes)
    python benchmarks/bench_batch.py --smoke    # seconds (run by the tests)

Tasks are copies of the Lai Châu plan under other province names (5 plans × 4
scenarios). Every configuration runs in a fresh process; memory is each process's peak
resident set (VmHWM), for the coordinator and for its largest worker.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PLAN = HERE.parent / "scenarios" / "lai_chau.toml"
INPUTS = HERE.parent / "inputs" / "lai_chau"

RUN = """
import json, re, resource, sys, time
from quyhoach.batch import run_batch
t = time.perf_counter()
s = run_batch([sys.argv[1]], sys.argv[2], draws=int(sys.argv[3]), seed=1,
              workers=int(sys.argv[4]))
hwm = int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1))
print(json.dumps({"seconds": time.perf_counter() - t, "done": len(s.done),
                  "skipped": len(s.skipped), "failed": len(s.failed),
                  "coordinator_mb": hwm / 1024,
                  "worker_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""
ONE_TASK = """
import re, sys
import quyhoach
quyhoach.simulate(sys.argv[1], scenarios=["base"], draws=int(sys.argv[2]), seed=1)
print(int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1)) / 1024)
"""


def make_plans(folder: Path, n: int) -> Path:
    text = PLAN.read_text(encoding="utf-8").replace(
        'inputs = "../inputs/lai_chau"', f'inputs = "{INPUTS.as_posix()}"').replace(
        'model = "../models/lai_chau.toml"',
        f'model = "{(HERE.parent / "models" / "lai_chau.toml").as_posix()}"')
    for i in range(n):
        (folder / f"province_{i}.toml").write_text(
            text.replace('province = "lai_chau"', f'province = "copy_{i}"'), encoding="utf-8")
    return folder


def run(plans: Path, out: Path, draws: int, workers: int) -> dict:
    proc = subprocess.run([sys.executable, "-c", RUN, str(plans), str(out), str(draws),
                           str(workers)], check=True, capture_output=True, text=True)
    return json.loads(proc.stdout.splitlines()[-1])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--smoke", action="store_true")
    args = p.parse_args(argv)
    n_plans, draws = (1, 300) if args.smoke else (5, 100_000)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "plans").mkdir()
        plans = make_plans(tmp / "plans", n_plans)
        one = subprocess.run([sys.executable, "-c", ONE_TASK, str(plans / "province_0.toml"),
                              str(draws)], check=True, capture_output=True, text=True)
        single_mb = float(one.stdout.split()[-1])
        w1 = run(plans, tmp / "w1", draws, 1)
        w2 = run(plans, tmp / "w2", draws, 2)
        again = run(plans, tmp / "w2", draws, 2)
        shutil.rmtree(tmp / "w1")
    tasks = n_plans * 4
    print(f"# Batch: {tasks} tasks (plan × scenario) × {draws:,} draws\n")
    print("| run | seconds | tasks done / skipped | coordinator MB | largest worker MB |")
    print("|---|---|---|---|---|")
    for name, r in (("1 worker", w1), ("2 workers", w2), ("resume (all done)", again)):
        print(f"| {name} | {r['seconds']:.2f} | {r['done']} / {r['skipped']} | "
              f"{r['coordinator_mb']:.0f} | {r['worker_mb']:.0f} |")
    print(f"\nspeed-up 1 → 2 workers: {w1['seconds'] / w2['seconds']:.2f}x; "
          f"single task alone: {single_mb:.0f} MB peak, so the bound for 2 workers is "
          f"{2 * single_mb:.0f} MB (+ coordinator {w2['coordinator_mb']:.0f} MB)")


if __name__ == "__main__":
    main()
