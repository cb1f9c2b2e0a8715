"""The Monte Carlo kernel: draw shocks, project, evaluate targets, reduce — per draw.

Reproducibility contract (tested): results depend only on (inputs, seed, number of
draws). Each draw's random numbers come from counter-based streams keyed by
(seed, source key, global draw index); draws are grouped in fixed blocks whose float
sums are combined in block order; quantiles come from integer histograms, whose totals
do not depend on which thread counted what. So 1 or 2 threads and any chunk size give
the same bits.

Note: this module inlines jitted helpers from ``projection`` and ``rng``; numba's
cache does not notice edits there. After editing those modules, delete the
``__pycache__`` folders of ``quyhoach/kernels`` (the tests run with a fresh cache in CI).
"""

import math

from numba import get_thread_id, njit, prange

from .layout import LAYOUT_STAMP as _CURRENT
from .projection import simulate_draw
from .rng import normal, sample, stream_state, uniform

# Written by ``python -m quyhoach.layout`` with kernels/layout.py: a new layout changes
# this file, so numba rebuilds its cache of the kernels here instead of reusing them.
LAYOUT_STAMP = 9211251963120511514

if LAYOUT_STAMP != _CURRENT:  # a half-regenerated layout: never run with it
    raise ImportError("kernels/montecarlo.py and kernels/layout.py disagree; run "
                      "python -m quyhoach.layout")

# Target kinds and comparisons (see quyhoach.targets for the definitions).
KIND_LEVEL = 0
KIND_GROWTH = 1
KIND_CHANGE = 2
KIND_CUMULATIVE = 3
CMP_GE = 0
CMP_LE = 1
CMP_ABOUT = 2


@njit(cache=True, error_model="numpy")
def draw_shocks(g, seed, rates, p_key, p_dist, p_args, p_channel, p_scale, p_mult,
                s_key, s_dim, s_channel, s_factor, s_phi, s_first,
                e_key, e_prob, e_depth, e_recovery, e_first, active, region_key, common,
                shocks, w, work, region_work, region_state):
    """Fill shocks[w] (regions × years × channels) for global draw g.

    Parameter draws and disruptions are common to every region. An AR(1) group's
    innovations in region r are ``sqrt(common) z + sqrt(1 - common) z_r``: z from the
    group's stream (the whole province's, used as it is where ``region_key[r]`` is 0),
    z_r from the region's own stream (key ``s_key ^ region_key[r]``), so two regions'
    shocks have correlation ``common`` and each has the group's variance.
    ``work`` (4, n_channels), ``region_work`` (n_regions, 8) and ``region_state``
    (n_regions,) are per-thread scratch, reused across draws.
    """
    n_regions, n_years = shocks.shape[1], shocks.shape[2]
    add, mult, z = work[0], work[1], work[2]
    for a in range(active.shape[0]):
        add[active[a]] = 0.0
        mult[active[a]] = 0.0
    # parameter uncertainty: one variate per draw, held over the projection
    for p in range(p_key.shape[0]):
        state = stream_state(seed, p_key[p], g)
        state, x = sample(state, p_dist[p], p_args[p, 0], p_args[p, 1], p_args[p, 2])
        if p_mult[p]:
            mult[p_channel[p]] += x - 1.0
        else:
            add[p_channel[p]] += x * p_scale[p]
    for r in range(n_regions):
        for a in range(active.shape[0]):
            c = active[a]
            shocks[w, r, 0, c] = 0.0
            for t in range(1, n_years):
                shocks[w, r, t, c] = add[c] + rates[r, t, c] * mult[c]
    # AR(1) shocks, correlated within a group: s[t] = phi s[t-1] + A z[t]
    mix_common = math.sqrt(common)
    mix_own = math.sqrt(1.0 - common)
    for q in range(s_key.shape[0]):
        state = stream_state(seed, s_key[q], g)
        k = s_dim[q]
        for r in range(n_regions):
            if region_key[r] != 0:
                region_state[r] = stream_state(seed, s_key[q] ^ region_key[r], g)
            for i in range(k):
                region_work[r, i] = 0.0
        for t in range(s_first[q], n_years):
            for i in range(k):
                state, z[i] = normal(state)
            for r in range(n_regions):
                level = region_work[r]
                own = region_key[r] != 0
                if own:
                    rs = region_state[r]
                    for i in range(k):
                        rs, x = normal(rs)
                        level[4 + i] = mix_common * z[i] + mix_own * x
                    region_state[r] = rs
                for i in range(k):
                    e = 0.0
                    for j in range(i + 1):
                        e += s_factor[q, i, j] * (level[4 + j] if own else z[j])
                    level[i] = s_phi[q] * level[i] + e
                    shocks[w, r, t, s_channel[q, i]] += level[i]
    # disruptions: a bad year, made up over the recovery years
    for e in range(e_key.shape[0]):
        state = stream_state(seed, e_key[e], g)
        rec = e_recovery[e]
        for t in range(e_first[e], n_years):
            state, u = uniform(state)
            if u < e_prob[e]:
                for c in range(e_depth.shape[1]):
                    dc = e_depth[e, c]
                    if dc != 0.0:
                        for r in range(n_regions):
                            shocks[w, r, t, c] += dc
                            for t2 in range(t + 1, min(t + 1 + rec, n_years)):
                                shocks[w, r, t2, c] -= dc / rec


@njit(cache=True, error_model="numpy")
def target_metric(out, w, r, kind, var, start, end, factor):
    """One target's metric for region r of the draw in out[w] (table units).

    The one definition of every target kind, for the central path and every draw:
    level (and share) = x[end]; average growth = (x[end] / x[start]) ** (1 / (end -
    start)) - 1 in %/yr (geometric; start is the year before the period); change per
    year = (x[end] - x[start]) / (end - start); cumulative = sum of x[start..end].
    """
    if kind == KIND_LEVEL:
        return out[w, r, end, var] * factor
    if kind == KIND_GROWTH:
        return ((out[w, r, end, var] / out[w, r, start, var]) ** (1.0 / (end - start))
                - 1.0) * 100.0
    if kind == KIND_CHANGE:
        return (out[w, r, end, var] * factor - out[w, r, start, var] * factor) / (end - start)
    total = 0.0
    for t in range(start, end + 1):
        total += out[w, r, t, var] * factor
    return total


@njit(cache=True, error_model="numpy")
def is_met(x, cmp, value, tol):
    """Whether a target's metric x meets it (NaN never does)."""
    if cmp == CMP_GE:
        return x >= value
    if cmp == CMP_LE:
        return x <= value
    return abs(x - value) <= tol + 1e-12


@njit(cache=True, inline="always", error_model="numpy")
def accumulate(x, s, i, b, w, lo, inv_width, shift, counts, block_sum, block_sumsq, low,
               high, keep):
    """Add value x of series s (draw i of the chunk, block b, thread w) to the reduction:
    its histogram bin, its block's sums, and the thread's lowest and highest value."""
    if keep.shape[0] > 0:
        keep[i, s] = x
    if math.isnan(x):
        return
    if x < low[w, s]:
        low[w, s] = x
    if x > high[w, s]:
        high[w, s] = x
    dx = x - shift[s]
    block_sum[b, s] += dx
    block_sumsq[b, s] += dx * dx
    k = int((x - lo[s]) * inv_width[s])
    k = min(max(k, 0), counts.shape[2] - 1)
    counts[w, s, k] += 1


@njit(cache=True, parallel=True, error_model="numpy")
def run_chunk(first_draw, n_draws, block, seed,
              rates, growth_actual, nominal_actual, per_capita_actual, anchor_shares, grdp0,
              hist, jump, ind_form, ind_lower, ind_upper,
              mode, blocks, child_ptr, child_idx, agg_rule, agg_a, agg_b, agg_scale,
              p_key, p_dist, p_args, p_channel, p_scale, p_mult,
              s_key, s_dim, s_channel, s_factor, s_phi, s_first,
              e_key, e_prob, e_depth, e_recovery, e_first, active, region_key, common,
              t_region, t_kind, t_var, t_start, t_end, t_factor, t_cmp, t_value, t_tol,
              g_ptr, g_idx,
              lo, inv_width, shift, counts, low, high,
              block_sum, block_sumsq, block_met, block_joint,
              scratch_shocks, scratch_out, work, region_work, region_state, met_now, buf,
              keep):
    """Simulate draws first_draw .. first_draw + n_draws - 1 and reduce them.

    Series ``s`` are ``(region * n_years + year) * n_variables + variable`` followed by
    one per target. Per thread: ``counts[thread, s, bin]`` (histogram of non-NaN values,
    whose total is their number). Per block of ``block`` draws (in chunk order):
    ``block_sum``/``block_sumsq`` of ``value - shift[s]``, ``block_met`` (draws that
    meet each target) and ``block_joint`` (draws that meet every target of group g:
    ``g_idx[g_ptr[g]:g_ptr[g + 1]]``). Per thread, ``low``/``high[thread, s]``: the
    lowest and highest value met (quantiles are clipped to them). ``keep`` (draws ×
    series) receives every value
    when it has ``n_draws`` rows (pilot, central path or ``keep_draws``); give it 0 rows
    otherwise. ``buf[thread]`` (draws of a group × series) holds a group of draws'
    values before they are reduced series by series.
    """
    n_regions, n_years, n_vars = scratch_out.shape[1], scratch_out.shape[2], scratch_out.shape[3]
    n_path = n_regions * n_years * n_vars
    n_blocks = (n_draws + block - 1) // block
    for b in prange(n_blocks):
        w = get_thread_id()
        for s in range(block_sum.shape[1]):
            block_sum[b, s] = 0.0
            block_sumsq[b, s] = 0.0
        for j in range(t_kind.shape[0]):
            block_met[b, j] = 0
        for q in range(g_ptr.shape[0] - 1):
            block_joint[b, q] = 0
        end = min((b + 1) * block, n_draws)
        for first in range(b * block, end, buf.shape[1]):
            last = min(first + buf.shape[1], end)
            for i in range(first, last):
                g = first_draw + i
                draw_shocks(g, seed, rates, p_key, p_dist, p_args, p_channel, p_scale,
                            p_mult, s_key, s_dim, s_channel, s_factor, s_phi, s_first,
                            e_key, e_prob, e_depth, e_recovery, e_first, active, region_key,
                            common, scratch_shocks, w, work[w], region_work[w],
                            region_state[w])
                simulate_draw(w, rates, scratch_shocks, growth_actual, nominal_actual,
                              per_capita_actual, anchor_shares, grdp0, hist, jump, ind_form,
                              ind_lower, ind_upper, mode, blocks, child_ptr, child_idx,
                              agg_rule, agg_a, agg_b, agg_scale, scratch_out)
                row = buf[w, i - first]
                s = 0
                for r in range(n_regions):
                    for t in range(n_years):
                        for v in range(n_vars):
                            row[s] = scratch_out[w, r, t, v]
                            s += 1
                for j in range(t_kind.shape[0]):
                    x = target_metric(scratch_out, w, t_region[j], t_kind[j], t_var[j],
                                      t_start[j], t_end[j], t_factor[j])
                    row[n_path + j] = x
                    met = is_met(x, t_cmp[j], t_value[j], t_tol[j])
                    met_now[w, j] = met
                    if met:
                        block_met[b, j] += 1
                for q in range(g_ptr.shape[0] - 1):
                    together = True
                    for m in range(g_ptr[q], g_ptr[q + 1]):
                        together = together and met_now[w, g_idx[m]]
                    if together:
                        block_joint[b, q] += 1
            # reduce series by series: a series' histogram row stays in cache for the
            # whole group of draws, and its sums still add the draws in draw order
            for s in range(block_sum.shape[1]):
                for i in range(first, last):
                    accumulate(buf[w, i - first, s], s, i, b, w, lo, inv_width, shift,
                               counts, block_sum, block_sumsq, low, high, keep)
