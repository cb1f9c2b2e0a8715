"""Speed and memory of the Monte Carlo core, measured as ratios in one run.

    python benchmarks/bench_montecarlo.py            # full sweep, 10^3 .. 10^6 draws (~5 min)
    python benchmarks/bench_montecarlo.py --smoke    # tiny sizes, seconds (run by the tests)

Prints: JIT compile vs cached start-up; the projection kernel (same shocks) in numba with
1 and all threads vs plain numpy vs a pure-Python loop; the whole Monte Carlo (shocks,
projection, targets, bands) fused in numba vs a numpy pipeline that stores every draw
and calls np.quantile; peak memory of a run; every scenario at the largest size.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import warnings
from functools import partial
from pathlib import Path

import numba
import numpy as np

HERE = Path(__file__).resolve().parent
PLAN = HERE.parent / "scenarios" / "lai_chau.toml"
sys.path.insert(0, str(HERE))

import quyhoach  # noqa: E402
from numpy_model import is_met_numpy, simulate_paths_numpy, target_metric_numpy  # noqa: E402
from quyhoach import montecarlo as mc  # noqa: E402
from quyhoach.kernels import layout as L  # noqa: E402
from quyhoach.kernels import montecarlo as mk  # noqa: E402
from quyhoach.kernels import projection as k  # noqa: E402

THREADS = numba.config.NUMBA_NUM_THREADS


def timed(fn, repeat=1):
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - t)
    return best, value


def run_python(code: str, env=None) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=env, capture_output=True)
    return time.perf_counter() - t


def startup():
    code = (f"import quyhoach; quyhoach.simulate({str(PLAN)!r}, scenarios=['base'], "
            "draws=256, seed=1)")
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        cold = run_python(code, env)
        warm = run_python(code, env)
        cli_env = {**env, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
        run_python(f"import quyhoach; quyhoach.simulate({str(PLAN)!r})", env)
        t = time.perf_counter()
        subprocess.run(["quyhoach", "check", str(PLAN)], check=True, env=cli_env,
                       capture_output=True)
        cli = time.perf_counter() - t
    print("\n## Start-up (fresh processes)\n")
    print("| what | seconds |\n|---|---|")
    print(f"| import + first Monte Carlo, empty numba cache (JIT compile) | {cold:.2f} |")
    print(f"| same, numba cache warm | {warm:.2f} |")
    print(f"| `quyhoach check` (load, validate, central paths), cache warm | {cli:.2f} |")
    print(f"\ncompile / cached ratio: {cold / warm:.1f}x")


def scenario_setup():
    res = quyhoach.simulate(PLAN, scenarios=["base"])
    inputs = res._runs["base"].inputs
    return res, inputs


def shocks_for(res, n, seed=1):
    """The kernel's own shocks for draws 0..n-1, materialised (for the comparisons)."""
    plan = res.plan
    from quyhoach.assemble import build_baselines
    baseline = build_baselines(plan, res.history)
    ua = mc.uncertainty_arrays(plan, plan.scenario("base"), baseline)
    inputs = res._runs["base"].inputs
    n_regions = inputs.rates.shape[0]
    shocks = np.zeros((n, n_regions, len(plan.years), L.N_CHANNELS))
    work = np.zeros((n, 4, L.N_CHANNELS))
    region_work = np.zeros((n, n_regions, 8))
    region_state = np.zeros((n, n_regions), np.uint64)
    args = tuple(ua[x] for x in mc.UNCERTAINTY_ARGS)
    _fill_shocks(n, np.uint64(seed), inputs.rates, args, shocks, work, region_work,
                 region_state)
    return shocks


@numba.njit(parallel=True)
def _fill_shocks(n, seed, rates, args, shocks, work, region_work, region_state):
    for i in numba.prange(n):
        mk.draw_shocks(i, seed, rates, *args, shocks, i, work[i], region_work[i],
                       region_state[i])


def projection(res, inputs, sizes, python_max):
    print("\n## Projection kernel, same shocks (draws × 31 years; seconds, best of 3)\n")
    print(f"| draws | numba 1 thread | numba {THREADS} threads | numpy | pure Python | "
          f"numpy / numba | 1 / {THREADS} threads | Mpath-years/s |")
    print("|---|---|---|---|---|---|---|---|")
    years = len(res.plan.years) - 1
    for n in sizes:
        shocks = shocks_for(res, n)
        out = np.zeros((n, 1, len(res.plan.years), L.N_VARIABLES))  # touched once, reused

        def kernel(shocks=shocks, out=out):
            k.simulate_paths(inputs.rates, shocks, *inputs.kernel_args(), out)

        numba.set_num_threads(1)
        t1, _ = timed(kernel, 3)
        a = out.copy()
        numba.set_num_threads(THREADS)
        tn, _ = timed(kernel, 3)
        b = out.copy()
        tnp, c = timed(partial(simulate_paths_numpy, inputs, shocks[:, 0]),
                       3 if n <= 10**4 else 1)
        assert np.array_equal(a, b, equal_nan=True)
        np.testing.assert_allclose(c, a[:, 0], rtol=1e-10, equal_nan=True)
        py = "–"
        if n <= python_max:
            tp = pure_python_seconds(n)
            py = f"{tp:.2f} ({tp / tn:.0f}x)"
        print(f"| {n:,} | {t1:.4f} | {tn:.4f} | {tnp:.4f} | {py} | {tnp / tn:.1f}x | "
              f"{t1 / tn:.2f}x | {n * years / tn / 1e6:.1f} |")


def pure_python_seconds(n: int) -> float:
    """The same kernel interpreted (NUMBA_DISABLE_JIT=1), timed in a fresh process."""
    code = f"""
import time, numpy as np, quyhoach
from quyhoach.simulate import run_kernel
from quyhoach.kernels import projection as k
from quyhoach.kernels import layout as L
res = quyhoach.simulate({str(PLAN)!r}, scenarios=["base"])
inputs = res._runs["base"].inputs
shocks = np.zeros(({n}, 1, len(res.plan.years), L.N_CHANNELS))
t = time.perf_counter(); run_kernel(inputs, shocks); print(time.perf_counter() - t)
"""
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    out = subprocess.run([sys.executable, "-c", code], check=True, env=env,
                         capture_output=True, text=True)
    return float(out.stdout.split()[-1])


def numpy_pipeline(res, inputs, n):
    """Store every draw, then np.quantile: the way without a fused kernel."""
    shocks = shocks_for(res, n)[:, 0]
    out = simulate_paths_numpy(inputs, shocks)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN series (no data there)
        np.nanquantile(out, [0.05, 0.25, 0.5, 0.75, 0.95], axis=0)
        np.nanmean(out, axis=0), np.nanstd(out, axis=0)
        for t in res.plan.targets:
            x = out[:, :, quyhoach.registry.VARIABLE_INDEX[t.indicator]]
            x = x * quyhoach.registry.BY_NAME[t.indicator].factor
            metric = target_metric_numpy(t, x, res.plan.base_year)
            is_met_numpy(t, metric).mean()
            np.quantile(metric, [0.05, 0.5, 0.95])


def full_monte_carlo(res, inputs, sizes, numpy_max):
    print("\n## Whole Monte Carlo: shocks, projection, 29 targets, bands of 44 variables × "
          "31 years (`bands=\"all\"`; one scenario; seconds)\n")
    print(f"| draws | fused numba 1 thread | fused numba {THREADS} threads | numpy, store "
          "all + np.quantile | numpy pipeline / fused | Mpath-years/s |")
    print("|---|---|---|---|---|---|")
    plan = res.plan
    years = len(plan.years) - 1
    for n in sizes:
        fused = partial(quyhoach.simulate, plan, scenarios=["base"], draws=n, seed=1,
                        bands="all")  # every band, as the numpy pipeline computes
        numba.set_num_threads(1)
        t1, _ = timed(fused)
        numba.set_num_threads(THREADS)
        tn, _ = timed(fused)
        cell, ratio = "–", "–"
        if n <= numpy_max:
            tnp, _ = timed(partial(numpy_pipeline, res, inputs, n))
            cell, ratio = f"{tnp:.2f}", f"{tnp / tn:.1f}x"
        print(f"| {n:,} | {t1:.2f} | {tn:.2f} | {cell} | {ratio} | {n * years / tn / 1e6:.1f} |")


def peak_memory(n):
    # VmHWM (peak RSS) resets on exec; ru_maxrss would report the parent's peak
    peak = ("import re; print(re.search(r'VmHWM:\\s+(\\d+)', "
            "open('/proc/self/status').read()).group(1))")
    code = (f"import quyhoach; quyhoach.simulate({str(PLAN)!r}, scenarios=['base'], "
            f"draws={n}, seed=1); {peak}")
    base = f"import quyhoach; quyhoach.simulate({str(PLAN)!r}, scenarios=['base']); {peak}"
    mb = [int(subprocess.run([sys.executable, "-c", c], check=True, capture_output=True,
                             text=True).stdout.split()[-1]) / 1024 for c in (base, code)]
    print(f"\n## Peak memory (RSS of a fresh process)\n\ncentral path only: {mb[0]:.0f} MB; "
          f"{n:,} draws: {mb[1]:.0f} MB (+{mb[1] - mb[0]:.0f} MB for the Monte Carlo)")


def all_scenarios(n):
    numba.set_num_threads(THREADS)
    plan = quyhoach.load_plan(PLAN)
    print(f"\n## Every scenario, {n:,} draws each, {THREADS} threads\n")
    print("| scenario | seconds |\n|---|---|")
    for name in plan.scenario_names:
        t, _ = timed(partial(quyhoach.simulate, plan, scenarios=[name], draws=n, seed=1))
        print(f"| {name} | {t:.2f} |")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--smoke", action="store_true", help="tiny sizes, for CI")
    args = p.parse_args(argv)
    print(f"# quyhoach {quyhoach.__version__} benchmarks — {os.cpu_count()} cores, "
          f"numba {numba.__version__}, numpy {np.__version__}")
    res, inputs = scenario_setup()
    quyhoach.simulate(PLAN, scenarios=["base"], draws=300, seed=1)  # warm up the JIT
    if args.smoke:
        projection(res, inputs, [200], python_max=20)
        full_monte_carlo(res, inputs, [500], numpy_max=500)
        return
    startup()
    peak_memory(10**6)
    projection(res, inputs, [10**3, 10**4, 10**5], python_max=10**3)
    full_monte_carlo(res, inputs, [10**3, 10**4, 10**5, 10**6], numpy_max=10**5)
    all_scenarios(10**6)


if __name__ == "__main__":
    main()
