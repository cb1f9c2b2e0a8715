"""Quantile error of the bands against exact quantiles of the same draws, in MCSE units.

    python benchmarks/bench_quantiles.py                 # Lai Châu, 10^4 .. 10^6 draws
    python benchmarks/bench_quantiles.py --max 10000000  # and 10^7 (a subset of series)

The Monte Carlo reads its quantiles from a 256-bin histogram per series. For each draw
count this runs one scenario keeping every draw of some series (``on_chunk``), takes the
exact quantiles of those draws (``numpy.quantile``, linear), and reports the error of the
band's quantile (the targets' and the path series' apart: the targets' quantiles are
refined where the histogram limits them, ``montecarlo._refine``) in units of that
quantile's Monte Carlo standard error (the sampling error of the exact quantile itself):

    mcse(q) = (x[q + d] - x[q - d]) / 2,  d = sqrt(q (1 - q) / n)

(the order-statistic interval of a quantile, as ArviZ's ``mcse`` for quantiles), so an
error of 1 MCSE is as large as the Monte Carlo noise of the answer. Series whose draws
are all equal (history) are skipped. Prints the largest and the 90th percentile error
per draw count, and which series and quantile is worst.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import quyhoach  # noqa: E402
from quyhoach import montecarlo  # noqa: E402
from quyhoach.assemble import build_baselines  # noqa: E402
from quyhoach.plan import Plan  # noqa: E402
from quyhoach.registry import VARIABLES  # noqa: E402

QUANTILES = montecarlo.QUANTILES
COLUMNS = {q: montecarlo.STAT_COLUMNS.index(f"q{round(q * 100):02d}") for q in QUANTILES}


def quantile_mcse(x: np.ndarray, q: float) -> float:
    """Monte Carlo standard error of the q-quantile of draws x (sorted)."""
    n = len(x)
    d = np.sqrt(q * (1 - q) / n)
    lo, hi = np.quantile(x, [max(q - d, 0.0), min(q + d, 1.0)], method="linear")
    return float(hi - lo) / 2


def errors(plan, scenario: str, draws: int, seed: int, series: np.ndarray) -> list[tuple]:
    """(series, q, band, exact, mcse, error in MCSE, error / range of the draws) for every
    non-constant series given; the error in MCSE is NaN at a point mass (mcse 0)."""
    plan = plan if isinstance(plan, Plan) else quyhoach.load_plan(plan)
    res = quyhoach.simulate(plan, scenarios=[scenario])
    baselines = build_baselines(plan, res.history)
    inputs = res._runs[scenario].inputs
    kept = np.empty((draws, len(series)))

    def on_chunk(first, values):
        kept[first:first + len(values)] = values[:, series]

    summary = montecarlo.run(plan, plan.scenario(scenario), inputs, baselines, draws=draws,
                             seed=seed, on_chunk=on_chunk, bands="all")
    rows = []
    for i, s in enumerate(series):
        x = kept[:, i]
        x = np.sort(x[~np.isnan(x)])
        if len(x) < 2 or x[0] == x[-1]:
            continue
        for q, col in COLUMNS.items():
            exact = float(np.quantile(x, q, method="linear"))
            band = float(summary.stats[s, col])
            mcse = quantile_mcse(x, q)
            # a point mass (a bound many draws reach) has no sampling error there: its
            # error is reported apart, as a fraction of the draws' range
            err = abs(band - exact) / mcse if mcse > 0 else np.nan
            rows.append((int(s), q, band, exact, mcse, err, abs(band - exact) / (x[-1] - x[0])))
            if not x[0] <= band <= x[-1]:
                raise AssertionError(f"series {s}: band {band} outside the draws' range")
    return rows


def _name(plan, s: int) -> str:
    """A series' name: variable year (region) or a target's id."""
    order = plan.regions.order(plan.province)
    n_years, n_vars = len(plan.years), len(VARIABLES)
    if s >= len(order) * n_years * n_vars:
        return plan.targets[s - len(order) * n_years * n_vars].id
    r, rest = divmod(s, n_years * n_vars)
    t, v = divmod(rest, n_vars)
    where = "" if order[r] == plan.province else f" ({order[r]})"
    return f"{VARIABLES[v].name} {plan.years[t]}{where}"


def default_series(plan, n_path_series: int = 24) -> np.ndarray:
    """Every target's metric and an even spread of the reported path series."""
    sel = montecarlo.band_series(plan)
    n_targets = len(plan.targets)
    path = sel[: len(sel) - n_targets]
    pick = path[np.linspace(0, len(path) - 1, n_path_series).astype(int)]
    return np.concatenate([pick, sel[len(sel) - n_targets:]])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--plan", default=str(ROOT / "scenarios" / "lai_chau.toml"))
    ap.add_argument("--scenario", default="base")
    ap.add_argument("--max", type=int, default=1_000_000, help="largest draw count")
    ap.add_argument("--seed", type=int, default=20210604)
    a = ap.parse_args()
    plan = quyhoach.load_plan(a.plan)
    print(f"# Quantile error of the bands ({Path(a.plan).name}, scenario {a.scenario}): "
          "|band - exact quantile of the same draws| in MCSE of the quantile\n")
    print("| draws | series × quantiles | median | 90th pct | max | worst | "
          "at a point mass: n, max error / range | seconds |")
    print("|---|---|---|---|---|---|---|---|")
    draws = 10_000
    while draws <= a.max:
        # at 10^7 draws keep fewer series (kept draws: draws × series × 8 bytes)
        series = default_series(plan, 24 if draws < 10_000_000 else 4)
        if draws >= 10_000_000:
            series = series[:8]
        t = time.perf_counter()
        every = errors(plan, a.scenario, draws, a.seed, series)
        seconds = time.perf_counter() - t
        n_path = len(plan.regions.order(plan.province)) * len(plan.years) * len(VARIABLES)
        for label, rows in (("targets", [r for r in every if r[0] >= n_path]),
                            ("path series", [r for r in every if r[0] < n_path])):
            if not rows:
                continue
            err = np.array([r[5] for r in rows])
            atom = np.isnan(err)
            worst = rows[int(np.nanargmax(err))]
            atoms = f"{atom.sum()}, {max((r[6] for r in rows if np.isnan(r[5])), default=0):.1e}"
            print(f"| {draws:,} | {label}: {len(rows)} | {np.nanmedian(err):.2f} | "
                  f"{np.nanquantile(err, 0.9):.2f} | {np.nanmax(err):.2f} | "
                  f"({_name(plan, worst[0])}, q{round(worst[1] * 100):02d}) | {atoms} | "
                  f"{seconds:.1f} |", flush=True)
        draws *= 10


if __name__ == "__main__":
    main()
