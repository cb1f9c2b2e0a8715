"""Time per Monte Carlo draw against the number of regions (members + the province).

Lai Châu split into n equal members, with every block projected by member (the most
work per region) and with population and urbanization only (the usual locality plan).
Prints a markdown table: seconds per 1000 draws (the whole Monte Carlo of one scenario:
shocks, projection, reduction, targets), and the ratio to the province-wide plan.
Usage: ``python benchmarks/bench_regions.py [draws]``.
"""

import platform
import sys
import tempfile
import time
from pathlib import Path

import numba

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import quyhoach  # noqa: E402
from quyhoach import montecarlo  # noqa: E402
from quyhoach.assemble import build_baselines  # noqa: E402
from test_regions import ALL_BLOCKS, split_plan  # noqa: E402

LOCALITY = ("population", "urbanization")


def seconds_per_draw(plan_path, draws: int) -> float:
    plan = quyhoach.load_plan(plan_path)
    res = quyhoach.simulate(plan, scenarios=["base"])
    baselines = build_baselines(plan, res.history)
    inputs = res._runs["base"].inputs
    sc = plan.scenario("base")
    montecarlo.run(plan, sc, inputs, baselines, draws=512, seed=1)  # compile, warm caches
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        montecarlo.run(plan, sc, inputs, baselines, draws=draws, seed=1)
        best = min(best, time.perf_counter() - t)
    return best / draws


def main(draws: int = 4096) -> None:
    print(f"# Regions scaling ({platform.processor() or platform.machine()}, "
          f"{numba.get_num_threads()} threads, {draws} draws, best of 3)\n")
    whole = seconds_per_draw(ROOT / "scenarios" / "lai_chau.toml", draws)
    print("| regions (members + province) | blocks by member | ms per 1000 draws | "
          "per region | ratio to 1 region |")
    print("|---|---|---|---|---|")
    print(f"| 1 | – | {whole * 1e6:.0f} | {whole * 1e6:.0f} | 1.00 |")
    for n in (2, 5, 11, 23):
        names = tuple(f"m{i}" for i in range(n))
        for label, blocks in (("all", ALL_BLOCKS), ("population, urbanization", LOCALITY)):
            with tempfile.TemporaryDirectory() as tmp:
                path = split_plan(Path(tmp), blocks, weights=(1.0 / n,) * n, members=names)
                s = seconds_per_draw(path, draws)
            print(f"| {n + 1} | {label} | {s * 1e6:.0f} | {s * 1e6 / (n + 1):.0f} | "
                  f"{s / whole:.2f} |")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 4096)
