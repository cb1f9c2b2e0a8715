"""Monte Carlo driver: uncertainty → kernel arrays, chunked runs, statistics.

Memory is bounded by one chunk: each chunk is reduced into histograms and per-block
sums as it goes. Only the series the outputs use are reduced (``band_series``: the
milestone years, the default fan charts' variables, the targets; every series with
``bands="all"``); a series' statistics do not depend on which others are reduced.
Quantiles are read from a 256-bin histogram per series whose range is set by a pilot
(the first 2048 draws, always the same ones), interpolating linearly within a bin: the
quantile error is at most one bin width, 1.5 × (pilot range) / 256, i.e. 0.6 % of the
pilot's range (tested against exact quantiles of kept draws). 256 bins keep each
thread's histograms (1.3 MB for Lai Châu) in cache: 512 bins measured 18 % slower. The
targets' quantiles (the feasibility table's median and 5-95 % band) are read from 256
finer bins around the pilot's estimate wherever the histogram's bin is wider than about
two Monte Carlo standard errors (``_refine``; ``benchmarks/bench_quantiles.py``).
"""

from __future__ import annotations

import sys
from collections import defaultdict
from dataclasses import dataclass, field

import numba
import numpy as np

from .assemble import (
    BLOCK_RANGES,
    CHANNELS,
    FORM_SCALE,
    PERCENT,
    Baselines,
    KernelInputs,
    first_projected_index,
)
from .errors import PlanError, Problems
from .kernels import layout as L
from .kernels import montecarlo as mk
from .kernels import projection as pk
from .kernels import rng
from .reconcile import groups as reconciliation_groups
from .registry import BLOCKS, BY_NAME, INDICATORS, SECTORS, VARIABLE_INDEX
from .targets import CMP_CODES, kernel_terms
from .uncertainty import DISTRIBUTIONS, stream_key

BLOCK = 256  # draws per block: fixes the summation order, so never change it lightly
N_BINS = 256
PILOT = 2048
QUANTILES = (0.05, 0.25, 0.50, 0.75, 0.95)
BANDS = ("reported", "all")  # what ``run`` reduces into bands by default, or everything
# Fan charts drawn by default (``quyhoach.html.HEADLINE_CHARTS``, ``quyhoach.cli.CHARTS``;
# with every target's variable): their bands are reduced at every year in the province.
CHART_VARIABLES = ("grdp_real", "population", "budget_revenue", "tourists")
GROUP = 32  # draws simulated before they are reduced series by series (cache locality)
# Targets' quantiles: finer bins around the pilot's estimate of each (see ``_refine``)
N_FINE = 256
ZOOM_HALF = 6.0  # half the window, in Monte Carlo standard errors of the pilot's quantile
BIN_LIMITED = 2.0  # a quantile's bin holds more draws than this × the rank's sd: refine
KEEP_BYTES = 2**28  # kept draws of one chunk, at most (float64 before the float32 spool)
DIST_CODES = {"normal": rng.DIST_NORMAL, "truncnormal": rng.DIST_TRUNCNORMAL,
              "lognormal": rng.DIST_LOGNORMAL, "uniform": rng.DIST_UNIFORM,
              "triangular": rng.DIST_TRIANGULAR, "pert": rng.DIST_PERT}
@dataclass(frozen=True)
class Summary:
    """Statistics of every series of one scenario's Monte Carlo.

    ``stats`` has shape (n_series, len(STAT_COLUMNS)); series are year × variable
    (row-major) followed by one per target. ``met`` is the number of draws meeting
    each target, ``joint`` the number meeting every target of each reconciliation
    group (``quyhoach.reconcile.groups``).
    """

    stats: np.ndarray
    met: np.ndarray
    n_draws: int
    joint: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))


STAT_COLUMNS = ("mean", "sd", "q05", "q25", "q50", "q75", "q95", "mcse_mean")


# Disruption depths other than a sector's growth: (channel, parameter whose first
# projected year starts the event's draws).
DEPTH_CHANNELS = {"tourism": (L.C_TOURIST_GROWTH, "tourism.visitor_growth"),
                  "urbanization": (L.C_RECLASS, "urbanization.speed")}


def _channel_and_scale(path: str, scenario) -> tuple[int, float] | None:
    if path.startswith("indicators."):
        name = path.split(".")[1]
        spec = scenario.indicators.get(name)
        if spec is None:
            return None
        return L.C_INDICATOR + INDICATORS.index(name), FORM_SCALE[spec.form]
    return CHANNELS[path], 0.01 if path in PERCENT else 1.0


def uncertainty_arrays(plan, scenario, baseline: Baselines) -> dict:
    """The kernel's view of a scenario's uncertainty (kernel units, stable stream keys).

    Each member region's own shocks come from its stream (key ``region_key``; 0 for the
    province, whose shocks are the common ones), mixed with the province's by
    ``common`` = ``regions.shock_share``.
    """
    problems = Problems(str(plan.path))
    u = scenario.uncertainty
    starts = first_projected_index(plan, baseline)
    growth_start = baseline.growth_start
    where = f"scenarios.{scenario.name}.uncertainty"
    p: dict[str, list] = {k: [] for k in ("key", "dist", "args", "channel", "scale", "mult",
                                          "name")}
    calibrated = set(plan.model.calibrated) if plan.model is not None else set()
    for d in u.parameters:
        cs = _channel_and_scale(d.path, scenario)
        if cs is None and f"parameters.{d.path}" in calibrated:
            continue  # the model file estimates what this scenario does not project
        if cs is None:
            problems.add(f'{where}.parameters."{d.path}"', f"scenario '{scenario.name}' does "
                         "not model this indicator; remove the entry or model the indicator")
            continue
        channel, scale = cs
        args = [d.args[n] for n in DISTRIBUTIONS[d.dist]]  # kernel order = declared order
        args = (args + [0.0, 0.0])[:3]
        p["key"].append(stream_key(f"parameter:{d.path}"))
        p["name"].append(f"parameter {d.path}")
        p["dist"].append(DIST_CODES[d.dist])
        p["args"].append(args)
        p["channel"].append(channel)
        p["scale"].append(scale)
        p["mult"].append(d.dist == "lognormal")
    s: dict[str, list] = {k: [] for k in ("key", "dim", "channel", "factor", "phi", "first",
                                          "name")}
    for grp in u.shocks:
        found = [_channel_and_scale(path, scenario) for path in grp.paths]
        chans = [c for c in found if c is not None]
        if len(chans) < len(found):
            problems.add(f'{where}.shocks."{grp.name}"', f"scenario '{scenario.name}' does "
                         "not model this indicator")
            continue
        scales = np.array([c[1] for c in chans])
        factor = np.zeros((4, 4))
        n = len(chans)
        factor[:n, :n] = np.diag(grp.sd * scales) @ np.linalg.cholesky(grp.correlation)
        s["key"].append(stream_key(f"shocks:{grp.name}"))
        s["name"].append(f"shocks {grp.name}")
        s["dim"].append(n)
        s["channel"].append([c[0] for c in chans] + [0] * (4 - n))
        s["factor"].append(factor)
        s["phi"].append(grp.persistence)
        # an indicator's shocks run from the first year (the kernel reads them only
        # after the indicator's own history)
        first = growth_start if grp.name == "growth" else 1 if grp.name == "inflation" \
            or grp.name.startswith("indicators.") else starts.get(grp.name, len(plan.years))
        s["first"].append(first)
    e: dict[str, list] = {k: [] for k in ("key", "prob", "depth", "recovery", "first", "name")}
    for ev in u.disruptions:
        depth = np.zeros(L.N_CHANNELS)
        hit_from = []
        for name, v in ev.depth.items():
            c, path = DEPTH_CHANNELS[name] if name in DEPTH_CHANNELS else (
                L.C_GROWTH + SECTORS.index(name), None)
            depth[c] = v / 100.0
            # from the first year every channel it hits is projected (history is not)
            hit_from.append(growth_start if path is None else starts.get(path, len(plan.years)))
        e["key"].append(stream_key(f"disruption:{ev.name}"))
        e["name"].append(f"disruption {ev.name}")
        e["prob"].append(ev.probability)
        e["depth"].append(depth)
        e["recovery"].append(ev.recovery_years)
        e["first"].append(max(hit_from))
    problems.raise_if_any(PlanError)
    region_key = [stream_key(f"region:{r}") for r in plan.regions.ids] + [0]
    reads = channels_read(plan.regions.mode())
    active = sorted(set(p["channel"]) | {c for row, n in zip(s["channel"], s["dim"], strict=True)
                                         for c in row[:n]}
                    | {int(c) for d in e["depth"] for c in np.flatnonzero(d)})
    return _as_arrays(p, s, e, active, region_key, reads, float(plan.regions.shock_share))


def channels_read(mode: np.ndarray) -> np.ndarray:
    """bool[n_regions, n_channels]: the rate channels each region's projected blocks read
    (``mode``: ``Regions.mode()``). A region's shocks are drawn for these only: a member
    that models its population draws no growth shocks of its own."""
    reads = np.zeros((mode.shape[0], L.N_CHANNELS), np.bool_)
    for b, block in enumerate(BLOCKS):
        stepped = mode[:, b] == pk.MODE_STEP
        for name, width in (*block.rates, *((name, 1) for name in block.reads)):
            first = getattr(L, f"C_{name.upper()}")
            reads[stepped, first:first + width] = True
    return reads


def _as_arrays(p: dict, s: dict, e: dict, active, region_key, reads, common: float) -> dict:
    """The kernel's uncertainty arrays from lists per source kind (see ``UNCERTAINTY_ARGS``)."""
    u64, i64, f64 = np.uint64, np.int64, np.float64
    return dict(
        p_key=np.array(p["key"], u64), p_dist=np.array(p["dist"], i64),
        p_args=np.array(p["args"], f64).reshape(-1, 3), p_channel=np.array(p["channel"], i64),
        p_scale=np.array(p["scale"], f64), p_mult=np.array(p["mult"], np.bool_),
        s_key=np.array(s["key"], u64), s_dim=np.array(s["dim"], i64),
        s_channel=np.array(s["channel"], i64).reshape(-1, 4),
        s_factor=np.array(s["factor"], f64).reshape(-1, 4, 4),
        s_phi=np.array(s["phi"], f64), s_first=np.array(s["first"], i64),
        e_key=np.array(e["key"], u64), e_prob=np.array(e["prob"], f64),
        e_depth=np.array(e["depth"], f64).reshape(-1, L.N_CHANNELS),
        e_recovery=np.array(e["recovery"], i64), e_first=np.array(e["first"], i64),
        active=np.array(active, i64), region_key=np.array(region_key, u64),
        region_reads=np.asarray(reads, np.bool_), common=common,
        # each source's name, for analyses that fix one source (quyhoach.analysis)
        p_name=np.array(p["name"], dtype=object), s_name=np.array(s["name"], dtype=object),
        e_name=np.array(e["name"], dtype=object))


def no_uncertainty(plan) -> dict:
    """Uncertainty arrays that draw nothing: the central path (shocks off)."""
    none: dict[str, list] = defaultdict(list)
    n_regions = len(plan.regions.members) + 1
    return _as_arrays(none, none, none, [], [0] * n_regions,
                      np.zeros((n_regions, L.N_CHANNELS), np.bool_), 1.0)


def target_arrays(plan) -> dict:
    """Targets as kernel arrays (``kernels.montecarlo.target_metric`` defines each kind),
    with the reconciliation groups whose joint success the kernel counts."""
    base, rows = plan.base_year, []
    order = plan.regions.order(plan.province)
    for t in plan.targets:
        kind, start, end = kernel_terms(t, base)
        rows.append((order.index(t.region or plan.province), kind, VARIABLE_INDEX[t.indicator],
                     start, end, BY_NAME[t.indicator].factor, CMP_CODES[t.comparison],
                     t.value, t.tolerance))
    cols: list = list(zip(*rows, strict=True)) if rows else [[]] * 9
    groups = reconciliation_groups(plan)
    ptr = np.cumsum([0, *(len(g) for g in groups)])
    return dict(t_region=np.array(cols[0], np.int64), t_kind=np.array(cols[1], np.int64),
                t_var=np.array(cols[2], np.int64), t_start=np.array(cols[3], np.int64),
                t_end=np.array(cols[4], np.int64), t_factor=np.array(cols[5], np.float64),
                t_cmp=np.array(cols[6], np.int64), t_value=np.array(cols[7], np.float64),
                t_tol=np.array(cols[8], np.float64), g_ptr=ptr.astype(np.int64),
                g_idx=np.array([j for g in groups for j in g], np.int64))


UNCERTAINTY_ARGS = ("p_key", "p_dist", "p_args", "p_channel", "p_scale", "p_mult",
                    "s_key", "s_dim", "s_channel", "s_factor", "s_phi", "s_first",
                    "e_key", "e_prob", "e_depth", "e_recovery", "e_first", "active",
                    "region_key", "region_reads", "common")
TARGET_ARGS = ("t_region", "t_kind", "t_var", "t_start", "t_end", "t_factor", "t_cmp",
               "t_value", "t_tol", "g_ptr", "g_idx")


class _Driver:
    """One scenario's arrays for ``kernels.montecarlo.run_chunk``, and its scratch.

    ``sel`` (increasing series indices, every target's among them; default: the
    targets only) are the series the kernel reduces; ``keep`` still receives every
    series.
    """

    def __init__(self, plan, inputs: KernelInputs, ua: dict, seed: int, sel=None):
        self.ta = target_arrays(plan)
        self.n_targets = len(plan.targets)
        self.n_groups = len(self.ta["g_ptr"]) - 1
        n_regions, n_years = inputs.rates.shape[:2]
        self.n_path = n_regions * n_years * L.N_VARIABLES
        self.n_series = self.n_path + self.n_targets
        targets = np.arange(self.n_path, self.n_series, dtype=np.int64)
        self.sel = targets if sel is None else np.ascontiguousarray(sel, dtype=np.int64)
        if not np.array_equal(self.sel[len(self.sel) - self.n_targets:], targets) or \
                np.any(np.diff(self.sel) <= 0) or (len(self.sel) and self.sel[0] < 0):
            raise ValueError("sel must be increasing series indices ending with every target")
        self.n_sel = len(self.sel)
        self.seed = np.uint64(seed)
        self.model = (inputs.rates, *inputs.kernel_args())
        self.unc = tuple(ua[name] for name in UNCERTAINTY_ARGS)
        self.tgt = tuple(self.ta[name] for name in TARGET_ARGS)
        threads = numba.config.NUMBA_NUM_THREADS
        self.scratch_shocks = np.zeros((threads, n_regions, n_years, L.N_CHANNELS))
        self.scratch_out = np.empty((threads, n_regions, n_years, L.N_VARIABLES))
        self.flat_out = self.scratch_out.reshape(threads, self.n_path)  # the same memory
        self.real = np.empty((threads, n_regions, L.N_SECTORS))
        self.price = np.empty((threads, n_regions, L.N_SECTORS))
        self.pinned = np.zeros((threads, n_regions), np.bool_)
        self.work = np.zeros((threads, 4, L.N_CHANNELS))
        self.region_work = np.zeros((threads, n_regions, 8))
        self.region_state = np.zeros((threads, n_regions), np.uint64)
        self.met_now = np.zeros((threads, max(self.n_targets, 1)), np.bool_)
        self.metrics = np.zeros((threads, max(self.n_targets, 1)))
        # a group of draws reduced series by series (GROUP x reduced series per thread)
        self.buf = np.empty((threads, GROUP, self.n_sel))
        self.low = np.full((threads, self.n_sel), np.inf)
        self.high = np.full((threads, self.n_sel), -np.inf)
        nq = len(QUANTILES)
        self.no_zoom = (np.zeros((0, nq)), np.zeros((0, nq)),
                        np.zeros((threads, 0, nq), np.int64),
                        np.zeros((threads, 0, nq, 1), np.int32))
        self.no_metrics = np.empty((0, self.n_targets))

    def reduce(self, first, n, lo, inv_width, shift, counts, keep, keep_metrics=None,
               zoom=None):
        """Draws first..first+n-1: per-block sums of the reduced series, met and joint
        counts (and ``keep``: every series; ``keep_metrics``: every target's metric;
        ``zoom``: the targets' finer bins, see ``run_chunk``); ``low`` and ``high`` keep
        the extremes of every draw reduced so far."""
        zoom = self.no_zoom if zoom is None else zoom
        keep_metrics = self.no_metrics if keep_metrics is None else keep_metrics
        n_blocks = -(-n // BLOCK)
        bsum = np.empty((n_blocks, self.n_sel))
        bsq = np.empty((n_blocks, self.n_sel))
        bmet = np.empty((n_blocks, self.n_targets), np.int64)
        bjoint = np.empty((n_blocks, self.n_groups), np.int64)
        mk.run_chunk(first, n, BLOCK, self.seed, *self.model, *self.unc, *self.tgt,
                     self.sel, *zoom, lo, inv_width, shift, counts, self.low, self.high,
                     bsum, bsq, bmet, bjoint, self.scratch_shocks, self.scratch_out,
                     self.flat_out, self.real, self.price, self.pinned, self.work,
                     self.region_work, self.region_state, self.met_now, self.metrics,
                     self.buf, keep, keep_metrics)
        return bsum, bsq, bmet, bjoint


def target_draws(plan, inputs: KernelInputs, ua: dict, *, draws: int,
                 seed: int) -> np.ndarray:
    """Every draw's metric of every target, float64 of shape (draws, n_targets).

    ``ua`` is ``uncertainty_arrays`` (or a copy with sources removed): the draws of
    the sources left are the same whatever is removed or changed (common random
    numbers), since each source has its own stream.
    """
    driver = _Driver(plan, inputs, ua, seed)
    metrics = np.empty((draws, driver.n_targets))
    dummy = np.zeros(driver.n_sel)
    counts = np.zeros((numba.config.NUMBA_NUM_THREADS, driver.n_sel, 1), np.int32)
    none = np.empty((0, driver.n_series))
    for first in range(0, draws, PILOT):
        n = min(PILOT, draws - first)
        driver.reduce(first, n, dummy, dummy, dummy, counts, none, metrics[first:first + n])
    return metrics


def central(plan, inputs: KernelInputs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The central path (shocks off) through the Monte Carlo's own driver.

    Returns
    -------
    paths : float64[n_regions, n_years, n_variables]
        Engine units.
    metrics : float64[n_targets]
        Each target's metric (table units), as every draw's is computed.
    met : bool[n_targets]
    """
    driver = _Driver(plan, inputs, no_uncertainty(plan), 0)
    keep = np.empty((1, driver.n_series))
    dummy = np.zeros(driver.n_sel)
    counts = np.zeros((numba.config.NUMBA_NUM_THREADS, driver.n_sel, 1), np.int32)
    _, _, met, _ = driver.reduce(0, 1, dummy, dummy, dummy, counts, keep)
    paths = keep[0, :driver.n_path].reshape(inputs.rates.shape[0], inputs.rates.shape[1], -1)
    return paths, keep[0, driver.n_path:], met[0].astype(bool)


def band_series(plan, bands="reported", mode=None) -> np.ndarray:
    """The series a Monte Carlo reduces into bands (increasing series indices; every
    target's series among them): see ``BANDS``.

    Parameters
    ----------
    bands : "reported", "all" or a collection of variable names
        "reported": the targets' series (each target's metric), every variable in every
        region at the milestone years (the base year, every fifth year after it, the
        horizon, and the first and last year of every target), and what the fan charts
        draw by default (``quyhoach.html.default_charts``: ``CHART_VARIABLES`` and the
        variable of every level or share target of the province) at every year in the
        province. "all": every region × year × variable. Variable names: the reported
        series and these variables at every year in every region.
    mode : numpy.ndarray, optional
        ``KernelInputs.mode``: a block not modelled in a region (NaN in every draw, so
        NaN statistics whether reduced or not) is left out.
    """
    order = plan.regions.order(plan.province)
    n_regions, n_years, n_vars = len(order), len(plan.years), L.N_VARIABLES
    n_path = n_regions * n_years * n_vars
    targets = np.arange(n_path, n_path + len(plan.targets), dtype=np.int64)
    mask = np.zeros((n_regions, n_years, n_vars), np.bool_)
    extra = [] if isinstance(bands, str) else list(bands)
    if isinstance(bands, str) and bands == "all":
        mask[:] = True
        return _modelled(mask, mode, targets)
    if isinstance(bands, str) and bands != "reported":
        raise ValueError(f"bands must be 'reported', 'all' or variable names, got {bands!r}")
    unknown = [v for v in extra if v not in VARIABLE_INDEX]
    if unknown:
        raise ValueError(f"bands: unknown variable(s) {', '.join(map(repr, unknown))}")
    t = np.arange(n_years)
    milestone = (t % 5 == 0) | (t == n_years - 1)
    province = order.index(plan.province)
    # what the fan charts draw by default (quyhoach.html.default_charts)
    charted = [*CHART_VARIABLES, *(x.indicator for x in plan.targets
                                   if x.kind in ("level", "share")
                                   and (x.region or plan.province) == plan.province)]
    for x in plan.targets:
        _, start, end = kernel_terms(x, plan.base_year)
        milestone[[i for i in (start, end) if 0 <= i < n_years]] = True
    mask[:, milestone, :] = True
    mask[province, :, [VARIABLE_INDEX[v] for v in charted]] = True
    if extra:
        mask[:, :, [VARIABLE_INDEX[v] for v in extra]] = True
    return _modelled(mask, mode, targets)


def _modelled(mask: np.ndarray, mode, targets: np.ndarray) -> np.ndarray:
    """Series indices of ``mask`` (region, year, variable) without the blocks a region
    does not model, then the targets'."""
    if mode is not None:
        for r, b in zip(*np.nonzero(mode == pk.MODE_ABSENT), strict=True):
            mask[r, :, BLOCK_RANGES[b, 0]:BLOCK_RANGES[b, 1]] = False
    return np.concatenate([np.flatnonzero(mask.ravel()).astype(np.int64), targets])


def run(plan, scenario, inputs: KernelInputs, baseline, *, draws: int, seed: int,
        chunk_size: int = 32768, on_chunk=None, progress: bool = False,
        bands="reported") -> Summary:
    """Monte Carlo of one scenario.

    Parameters
    ----------
    draws : int
        Number of draws (>= 2).
    seed : int
        Any non-negative integer; with the plan and inputs it fixes every number.
    chunk_size : int
        Draws per chunk (rounded up to a multiple of 256); bounds memory, never results.
    on_chunk : callable, optional
        ``on_chunk(first_draw, values)`` with values float64 of shape
        (draws in chunk, n_series): every draw, for ``--keep-draws``.
    progress : bool
        Show a progress bar (stderr) when the run takes more than a second.
    bands : "reported", "all" or a collection of variable names
        The series reduced into bands (``band_series``); the others' statistics are NaN.
        Every series reduced has the same statistics, to the bit, whichever are reduced.

    Returns
    -------
    Summary
    """
    if draws < 2:
        raise ValueError(f"draws must be at least 2, got {draws}")
    driver = _Driver(plan, inputs, uncertainty_arrays(plan, scenario, baseline), seed,
                     band_series(plan, bands, inputs.mode))
    n_series, n_sel = driver.n_series, driver.n_sel
    chunk = max(BLOCK, -(-chunk_size // BLOCK) * BLOCK)
    if on_chunk:  # kept draws: a chunk's values stay under KEEP_BYTES (results unchanged)
        chunk = min(chunk, max(BLOCK, KEEP_BYTES // (8 * n_series) // BLOCK * BLOCK))
    threads = numba.get_num_threads()
    max_threads = numba.config.NUMBA_NUM_THREADS

    # Pilot: the first draws (the same whatever the chunking) fix bins and shifts. Only
    # their extremes (the kernel's low/high) and draw 0's values are kept, not every
    # value: with member regions the series run to tens of thousands.
    n_pilot = min(draws, PILOT)
    first_draw = np.empty((1, n_series))
    dummy = np.zeros(n_sel)
    no_counts = np.zeros((max_threads, n_sel, 1), np.int32)
    pilot_metrics = np.empty((n_pilot, driver.n_targets))  # the targets' pilot draws
    driver.reduce(0, 1, dummy, dummy, dummy, no_counts, first_draw, pilot_metrics[:1])
    driver.reduce(1, n_pilot - 1, dummy, dummy, dummy, no_counts, np.empty((0, n_series)),
                  pilot_metrics[1:])
    z_lo, z_inv = _zoom_windows(pilot_metrics)
    zoom = (z_lo, z_inv, np.zeros((max_threads, driver.n_targets, len(QUANTILES)), np.int64),
            np.zeros((max_threads, driver.n_targets, len(QUANTILES), N_FINE), np.int32))
    with np.errstate(all="ignore"):
        pmin, pmax = driver.low.min(axis=0), driver.high.max(axis=0)
        # Sums are of x - shift with shift = draw 0's value: near the mean (stable), and
        # a series is constant exactly when every x - shift is 0.
        x0 = first_draw[0, driver.sel]
        shift = np.where(np.isfinite(x0), x0, 0.0)
        span = np.where(np.isfinite(pmax - pmin), pmax - pmin, 0.0)
        lo = np.where(np.isfinite(pmin), pmin - 0.25 * span, 0.0)
        inv_width = np.where(span > 0, N_BINS / (1.5 * span), 0.0)

    counts = np.zeros((max_threads, n_sel, N_BINS), np.int32)
    total = np.zeros(n_sel)
    total_sq = np.zeros(n_sel)
    total_met = np.zeros(driver.n_targets, np.int64)
    total_joint = np.zeros(driver.n_groups, np.int64)
    bar = _progress(draws, progress, scenario.name, threads)
    try:
        for first in range(0, draws, chunk):
            n = min(chunk, draws - first)
            keep = np.empty((n, n_series)) if on_chunk else np.empty((0, n_series))
            bsum, bsq, bmet, bjoint = driver.reduce(first, n, lo, inv_width, shift, counts,
                                                    keep, zoom=zoom)
            for b in range(bsum.shape[0]):  # block order: independent of chunking
                total += bsum[b]
                total_sq += bsq[b]
            total_met += bmet.sum(axis=0)
            total_joint += bjoint.sum(axis=0)
            if on_chunk:
                on_chunk(first, keep)
            if bar is not None:
                bar.update(n)
    finally:
        if bar is not None:
            bar.close()
    counts = counts.sum(axis=0, dtype=np.int64)
    stats = np.full((n_series, len(STAT_COLUMNS)), np.nan)
    low, high = driver.low.min(axis=0), driver.high.max(axis=0)
    reduced = _statistics(total, total_sq, counts.sum(axis=1), shift, counts, lo, inv_width,
                          low, high)
    t = slice(n_sel - driver.n_targets, n_sel)  # the targets' rows
    _refine(reduced[t], counts[t], inv_width[t], z_lo, z_inv,
            zoom[2].sum(axis=0), zoom[3].sum(axis=0, dtype=np.int64), low[t], high[t])
    stats[driver.sel] = reduced
    return Summary(stats, total_met, draws, total_joint)


def _zoom_windows(pilot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per target and quantile, the window of finer bins: the pilot draws' quantile ±
    ``ZOOM_HALF`` Monte Carlo standard errors of it (an empty window, never used, where
    the pilot's draws are all equal or NaN). Returns (z_lo, z_inv), shape (targets, 5)."""
    n_targets, nq = pilot.shape[1], len(QUANTILES)
    z_lo, z_inv = np.full((n_targets, nq), np.inf), np.zeros((n_targets, nq))
    for j in range(n_targets):
        x = np.sort(pilot[:, j][~np.isnan(pilot[:, j])])
        if len(x) < 2 or not np.isfinite(x).all() or x[0] == x[-1]:
            continue
        for i, q in enumerate(QUANTILES):
            d = np.sqrt(q * (1 - q) / len(x))
            below, centre, above = np.quantile(x, [max(q - d, 0.0), q, min(q + d, 1.0)])
            half = ZOOM_HALF * (above - below) / 2
            if half > 0:
                z_lo[j, i] = centre - half
                z_inv[j, i] = N_FINE / (2 * half)
    return z_lo, z_inv


def _refine(stats, counts, inv_width, z_lo, z_inv, z_below, z_counts, low, high) -> None:
    """Targets' quantiles from their finer bins where the histogram limits them.

    A quantile read from the 256-bin histogram is kept unless its bin holds more than
    ``BIN_LIMITED`` times the sd of the quantile's rank (sqrt(n q (1 - q)) draws): there
    the bin is wider than about two Monte Carlo standard errors of the quantile, and the
    quantile is read instead from the finer bins around the pilot's estimate (when the
    rank falls in them), clipped to the draws' range. Both are integer counts of the same
    draws: the thread count and chunking change nothing. ``stats`` is changed in place.
    """
    n = counts.sum(axis=1)
    cum = np.cumsum(counts, axis=1)
    for j in range(stats.shape[0]):
        if n[j] == 0 or inv_width[j] <= 0 or stats[j, 1] == 0:
            continue
        for i, q in enumerate(QUANTILES):
            rank = q * n[j]
            b = int(np.argmax(cum[j] >= rank))
            if counts[j, b] <= BIN_LIMITED * np.sqrt(n[j] * q * (1 - q)) or z_inv[j, i] <= 0:
                continue
            fine = np.cumsum(z_counts[j, i]) + z_below[j, i]
            if not z_below[j, i] < rank <= fine[-1]:
                continue  # the quantile is outside the window: the histogram's stands
            f = int(np.argmax(fine >= rank))
            before = fine[f - 1] if f > 0 else z_below[j, i]
            frac = (rank - before) / z_counts[j, i, f]
            value = z_lo[j, i] + (f + frac) / z_inv[j, i]
            stats[j, 2 + i] = min(max(value, low[j]), high[j])


def _progress(draws, progress, name, threads):
    if not progress:
        return None
    from tqdm import tqdm

    return tqdm(total=draws, unit="draw", unit_scale=True, delay=1.0, file=sys.stderr,
                desc=f"{name} ({threads} threads)", leave=False)


def _statistics(total, total_sq, n, shift, counts, lo, inv_width, low, high) -> np.ndarray:
    """mean, sd, quantiles and Monte Carlo standard error per series.

    A quantile read from the histogram is clipped to the lowest and highest draw
    (``low``, ``high``): a value beyond the pilot's range lands in an edge bin, and
    interpolating within that bin must not place a band outside the draws, nor outside
    a variable's bounds, which every draw respects.
    """
    out = np.full((len(total), len(STAT_COLUMNS)), np.nan)
    with np.errstate(all="ignore"):
        nf = n.astype(float)
        mean = shift + total / nf
        var = (total_sq - total * total / nf) / (nf - 1)
        sd = np.sqrt(np.maximum(var, 0.0))
        constant = total_sq == 0  # every draw equals draw 0 (history, no uncertainty)
        mean = np.where(constant, shift, mean)
        sd = np.where(constant, 0.0, sd)
        out[:, 0], out[:, 1], out[:, 7] = mean, sd, sd / np.sqrt(nf)
        cum = np.cumsum(counts, axis=1)
        width = np.where(inv_width > 0, 1.0 / inv_width, 0.0)
        for qi, q in enumerate(QUANTILES):
            rank = q * n
            b = np.argmax(cum >= rank[:, None], axis=1)
            below = np.where(b > 0, cum[np.arange(len(b)), b - 1], 0)
            inside = counts[np.arange(len(b)), b]
            frac = np.where(inside > 0, (rank - below) / np.maximum(inside, 1), 0.5)
            out[:, 2 + qi] = np.where(constant, shift,
                                      np.clip(lo + (b + frac) * width, low, high))
        out[n == 0] = np.nan
    return out
