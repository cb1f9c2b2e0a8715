"""Time per Monte Carlo draw and peak memory against the number of regions and draws.

Lai Châu split into n equal members (regions = members + the province), with
population and urbanization by member (the usual locality plan) or every block by member
(``--blocks all``: the most work per region). Each (regions, draws) runs in a fresh
process: one untimed run of 512 draws (numba's cache, warm caches), then the whole Monte
Carlo of one scenario (shocks, projection, targets, the reported bands) timed once
(best of 3 under 10^5 draws). Peak memory is that process's peak RSS.

    python benchmarks/bench_regions.py                                   # 1,3,13,30 x 10^3-10^5
    python benchmarks/bench_regions.py --draws 1000,10000,100000,1000000,10000000 \\
        --big-regions 13                    # 10^7 draws for 13 regions only
    python benchmarks/bench_regions.py --blocks all --bands all

Prints a markdown table: seconds, microseconds per draw and per draw per region, and
the ratio of the time per draw to one region's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCALITY = ("population", "urbanization")


def one(regions: int, draws: int, blocks: str, bands: str) -> dict:
    """Time one configuration in this process (run by ``--one``)."""
    sys.path.insert(0, str(ROOT / "tests"))
    import quyhoach
    from quyhoach import montecarlo
    from quyhoach.assemble import build_baselines

    with tempfile.TemporaryDirectory() as tmp:
        if regions == 1:
            path = ROOT / "scenarios" / "lai_chau.toml"
        else:
            from test_regions import ALL_BLOCKS, split_plan

            n = regions - 1
            path = split_plan(Path(tmp), ALL_BLOCKS if blocks == "all" else LOCALITY,
                              weights=(1.0 / n,) * n, members=tuple(f"m{i}" for i in range(n)))
        plan = quyhoach.load_plan(path)
        res = quyhoach.simulate(plan, scenarios=["base"])
        baselines = build_baselines(plan, res.history)
        inputs = res._runs["base"].inputs
        sc = plan.scenario("base")
        montecarlo.run(plan, sc, inputs, baselines, draws=512, seed=1, bands=bands)
        best = float("inf")
        for _ in range(3 if draws < 100_000 else 1):
            t = time.perf_counter()
            montecarlo.run(plan, sc, inputs, baselines, draws=draws, seed=1, bands=bands)
            best = min(best, time.perf_counter() - t)
        # VmHWM: this process's peak resident memory (kB)
        status = Path("/proc/self/status").read_text()
        peak = int(status.split("VmHWM:")[1].split()[0]) / 1024
        return {"seconds": best, "peak_mb": peak, "series": int(len(montecarlo.band_series(
            plan, bands, inputs.mode)))}


def measure(regions: int, draws: int, blocks: str, bands: str) -> dict:
    """``one`` in a fresh process."""
    cmd = [sys.executable, __file__, "--one", str(regions), str(draws), blocks, bands]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--regions", default="1,3,13,30")
    ap.add_argument("--draws", default="1000,10000,100000")
    ap.add_argument("--big-regions", default="",
                    help="run draws of 10^6 and more only for these region counts")
    ap.add_argument("--blocks", choices=("locality", "all"), default="locality")
    ap.add_argument("--bands", choices=("reported", "all"), default="reported")
    ap.add_argument("--one", nargs=4, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one:
        regions, draws, blocks, bands = a.one
        print(json.dumps(one(int(regions), int(draws), blocks, bands)))
        return
    import numba

    big = {int(x) for x in a.big_regions.split(",") if x}
    print(f"# Regions and draws ({platform.machine()}, {os.cpu_count()} CPUs, "
          f"{numba.config.NUMBA_NUM_THREADS} threads; members model "
          f"{'every block' if a.blocks == 'all' else 'population and urbanization'}; "
          f"--bands {a.bands}; fresh process each)\n")
    print("| regions | draws | series reduced | seconds | µs per draw | µs per draw per region "
          "| per draw / 1 region's | peak MB |")
    print("|---|---|---|---|---|---|---|---|")
    first: dict[int, float] = {}
    for draws in (int(x) for x in a.draws.split(",")):
        for regions in (int(x) for x in a.regions.split(",")):
            if draws >= 1_000_000 and big and regions not in big:
                continue
            got = measure(regions, draws, a.blocks, a.bands)
            per = got["seconds"] / draws * 1e6
            first.setdefault(draws, per) if regions == 1 else None
            ratio = f"{per / first[draws]:.2f}" if draws in first else "–"
            print(f"| {regions} | {draws:,} | {got['series']:,} | {got['seconds']:.2f} | "
                  f"{per:.1f} | {per / regions:.1f} | {ratio} | {got['peak_mb']:.0f} |",
                  flush=True)


if __name__ == "__main__":
    main()
