"""The whole CLI, this tree against a release, in fresh processes, paired and interleaved.

    git worktree add /tmp/v010 v0.1.0
    python benchmarks/bench_release.py --against /tmp/v010             # 10^6 draws, 3 pairs
    python benchmarks/bench_release.py --against /tmp/v010 --draws 100000 --pairs 5
    python benchmarks/bench_release.py --against /tmp/v010 --bands all
    python benchmarks/bench_release.py --against /tmp/v010 --check 5    # start-up

Each pair runs ``quyhoach run PLAN --scenario base --draws N`` once with each tree (the
order alternates from pair to pair: A B, B A, ...), each in a fresh Python process with
that tree's ``src`` first on ``PYTHONPATH`` and the tree as working directory (its own plan
file and inputs), after one untimed small run each that fills numba's cache. It prints
the wall time and peak memory (RSS) of every run, the paired ratios, and then compares
the outputs of the last pair: every band both runs wrote (same scenario, region,
variable and year), every feasibility row and every central path, to the bit (the
targets' median, q05 and q95 apart: this tree reads them from finer bins where the
release's histogram bin was wider than about two Monte Carlo standard errors).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
BAND_KEYS = ["scenario", "region", "variable", "year"]
FEASIBILITY_KEYS = ["scenario", "target_id"]
# the targets' quantiles, refined where a bin is wider than about 2 MCSE (montecarlo._refine)
REFINED = ("median", "q05", "q95")


def run_command(tree: Path, args: list[str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak RSS (MB) of ``quyhoach ARGS`` of ``tree``."""
    env = dict(os.environ, PYTHONPATH=str(tree / "src"))
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "quyhoach.cli", *args], cwd=tree, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"{tree}: quyhoach {' '.join(args)} failed")
    return (time.perf_counter() - start, usage.ru_utime + usage.ru_stime,
            usage.ru_maxrss / 1024)


def startup(trees: dict, plan: str, pairs: int) -> None:
    """Paired ``quyhoach check PLAN`` (numba's cache warm): the start-up a run pays."""
    for tree in trees.values():
        run_command(tree, ["check", plan])  # warm numba's cache and the file cache
    print(f"# quyhoach check {plan}, numba cache warm, fresh process each\n")
    print("| pair | order | release s | this tree s | release / this |")
    print("|---|---|---|---|---|")
    for pair in range(pairs):
        order = list(trees) if pair % 2 == 0 else list(trees)[::-1]
        got = {name: run_command(trees[name], ["check", plan])[0] for name in order}
        a, b = got["release"], got["this tree"]
        print(f"| {pair + 1} | {' '.join('A' if n == 'release' else 'B' for n in order)} | "
              f"{a:.2f} | {b:.2f} | {a / b:.2f}x |")


def run_cli(tree: Path, args: list[str], out: Path) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system, every thread) and peak RSS (MB) of one
    ``quyhoach run`` of ``tree`` in a fresh process."""
    env = dict(os.environ, PYTHONPATH=str(tree / "src"))
    cmd = [sys.executable, "-m", "quyhoach.cli", "run", *args, "--out", str(out), "--force"]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=tree, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    err = proc.stderr.read() if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"{tree}: {' '.join(cmd)} failed ({proc.returncode}):\n{err}")
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def _read(directory: Path, name: str) -> pd.DataFrame:
    df = pd.read_parquet(directory / f"{name}.parquet")
    for col in df.columns:
        if isinstance(df[col].dtype, pd.CategoricalDtype):
            df[col] = df[col].astype(str)
    return df


def compare_outputs(old: Path, new: Path) -> list[str]:
    """Lines describing how the outputs differ where both have them (empty: identical)."""
    problems, lines = [], []
    bo, bn = _read(old, "bands"), _read(new, "bands")
    both = bo.merge(bn, on=BAND_KEYS, suffixes=("_old", "_new"))
    stats = [c for c in bo.columns if c not in BAND_KEYS and c != "unit"
             and pd.api.types.is_numeric_dtype(bo[c])]
    for col in stats:
        a, b = both[f"{col}_old"].to_numpy(float), both[f"{col}_new"].to_numpy(float)
        same = (a == b) | (np.isnan(a) & np.isnan(b))
        if not same.all():
            problems.append(f"bands.{col}: {int((~same).sum())} of {len(same)} rows differ")
    missing = len(bn) - len(both)
    lines.append(f"bands: {len(bo)} rows (release), {len(bn)} (this tree), {len(both)} in "
                 f"common, compared to the bit in {len(stats)} columns"
                 + (f"; {missing} rows only in this tree" if missing else ""))
    fo, fn = _read(old, "feasibility"), _read(new, "feasibility")
    fb = fo.merge(fn, on=FEASIBILITY_KEYS, suffixes=("_old", "_new"))
    if len(fb) != len(fo) or len(fb) != len(fn):
        problems.append(f"feasibility: {len(fo)} rows (release), {len(fn)} (this tree), "
                        f"{len(fb)} in common")
    refined = []
    for col in (c for c in fo.columns if c not in FEASIBILITY_KEYS and c in fn.columns):
        a, b = fb[f"{col}_old"], fb[f"{col}_new"]
        same = (a == b) | (a.isna() & b.isna())
        if same.all():
            continue
        if col in REFINED:  # read from finer bins where the release's were too coarse
            refined.append(f"{col} {int((~same).sum())}")
        else:
            problems.append(f"feasibility.{col}: {int((~same).sum())} rows differ")
    lines.append(f"feasibility: {len(fb)} rows compared to the bit in every column"
                 + (f"; target quantiles refined where the release's histogram limited "
                    f"them: {', '.join(refined)} rows" if refined else ""))
    po, pn = _read(old, "paths"), _read(new, "paths")
    if not po.equals(pn):
        problems.append("paths differ")
    lines.append(f"paths: {len(po)} rows compared")
    return lines + (problems or ["identical where both have them"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--against", type=Path, required=True, help="the release's work tree")
    ap.add_argument("--plan", default="scenarios/lai_chau.toml")
    ap.add_argument("--scenario", default="base")
    ap.add_argument("--draws", type=int, default=1_000_000)
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--bands", choices=("reported", "all"), default="reported",
                    help="this tree's --bands (the release always reduces every band)")
    ap.add_argument("--check", type=int, default=0, metavar="PAIRS",
                    help="time `quyhoach check PLAN` instead (this many pairs)")
    a = ap.parse_args()
    base = ["--scenario", a.scenario, "--seed", "20210604"]
    trees = {"release": a.against.resolve(), "this tree": ROOT}
    if a.check:
        startup(trees, a.plan, a.check)
        return
    extra = {"release": [], "this tree": ["--bands", a.bands]}
    with tempfile.TemporaryDirectory(prefix="bench-release-") as tmp:
        outs = {name: Path(tmp) / name.replace(" ", "_") for name in trees}
        for name, tree in trees.items():  # fill numba's cache, untimed
            run_cli(tree, [a.plan, *base, "--draws", "2000", *extra[name]], outs[name])
        rows = []
        for pair in range(a.pairs):
            order = list(trees) if pair % 2 == 0 else list(trees)[::-1]
            got = {}
            for name in order:
                got[name] = run_cli(trees[name], [a.plan, *base, "--draws", str(a.draws),
                                                  *extra[name]], outs[name])
            rows.append((" ".join("A" if n == "release" else "B" for n in order), got))
        print(f"# quyhoach run {a.plan} --scenario {a.scenario} --draws {a.draws:,} "
              f"(A: release at {trees['release']}, B: this tree with --bands {a.bands}); "
              f"{os.cpu_count()} CPUs, fresh process each\n")
        print("| pair | order | release s | this tree s | release / this | release CPU s | "
              "this tree CPU s | CPU ratio | release MB | this tree MB |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        ratios, cpu = [], []
        for i, (order, got) in enumerate(rows, 1):
            (ta, ca, ma), (tb, cb, mb) = got["release"], got["this tree"]
            ratios.append(ta / tb)
            cpu.append(ca / cb)
            print(f"| {i} | {order} | {ta:.2f} | {tb:.2f} | {ta / tb:.2f}x | {ca:.2f} | "
                  f"{cb:.2f} | {ca / cb:.2f}x | {ma:.0f} | {mb:.0f} |")
        print(f"\nspeed-up (release / this tree), wall: {min(ratios):.2f}-{max(ratios):.2f}x, "
              f"median {float(np.median(ratios)):.2f}x; CPU time: {min(cpu):.2f}-"
              f"{max(cpu):.2f}x, median {float(np.median(cpu)):.2f}x\n")
        for line in compare_outputs(outs["release"], outs["this tree"]):
            print(line)


if __name__ == "__main__":
    main()
