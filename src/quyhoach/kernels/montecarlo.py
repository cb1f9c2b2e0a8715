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
LAYOUT_STAMP = 3240414129266724671

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
                e_key, e_prob, e_depth, e_recovery, e_first, active, shocks, w, work):
    """Fill shocks[w] (years × channels) for global draw g.

    ``work`` is a per-thread scratch of shape (4, n_channels), reused across draws.
    """
    n_years = shocks.shape[1]
    add, mult, z, level = work[0], work[1], work[2], work[3]
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
    for a in range(active.shape[0]):
        c = active[a]
        shocks[w, 0, c] = 0.0
        for t in range(1, n_years):
            shocks[w, t, c] = add[c] + rates[t, c] * mult[c]
    # AR(1) shocks, correlated within a group: s[t] = phi s[t-1] + A z[t]
    for q in range(s_key.shape[0]):
        state = stream_state(seed, s_key[q], g)
        k = s_dim[q]
        for i in range(k):
            level[i] = 0.0
        for t in range(s_first[q], n_years):
            for i in range(k):
                state, z[i] = normal(state)
            for i in range(k):
                e = 0.0
                for j in range(i + 1):
                    e += s_factor[q, i, j] * z[j]
                level[i] = s_phi[q] * level[i] + e
                shocks[w, t, s_channel[q, i]] += level[i]
    # disruptions: a bad year, made up over the recovery years
    for e in range(e_key.shape[0]):
        state = stream_state(seed, e_key[e], g)
        r = e_recovery[e]
        for t in range(e_first[e], n_years):
            state, u = uniform(state)
            if u < e_prob[e]:
                for c in range(e_depth.shape[1]):
                    dc = e_depth[e, c]
                    if dc != 0.0:
                        shocks[w, t, c] += dc
                        for t2 in range(t + 1, min(t + 1 + r, n_years)):
                            shocks[w, t2, c] -= dc / r


@njit(cache=True, error_model="numpy")
def target_metric(out, w, kind, var, start, end, factor):
    """One target's metric for the draw in out[w] (table units; see quyhoach.targets)."""
    if kind == KIND_LEVEL:
        return out[w, end, var] * factor
    if kind == KIND_GROWTH:
        return ((out[w, end, var] / out[w, start, var]) ** (1.0 / (end - start)) - 1.0) * 100.0
    if kind == KIND_CHANGE:
        return (out[w, end, var] * factor - out[w, start, var] * factor) / (end - start)
    total = 0.0
    for t in range(start, end + 1):
        total += out[w, t, var] * factor
    return total


@njit(cache=True, inline="always", error_model="numpy")
def accumulate(x, s, i, b, w, lo, inv_width, shift, counts, block_sum, block_sumsq, keep):
    """Add value x of series s (draw i of the chunk, block b, thread w) to the reduction."""
    if keep.shape[0] > 0:
        keep[i, s] = x
    if math.isnan(x):
        return
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
              p_key, p_dist, p_args, p_channel, p_scale, p_mult,
              s_key, s_dim, s_channel, s_factor, s_phi, s_first,
              e_key, e_prob, e_depth, e_recovery, e_first, active,
              t_kind, t_var, t_start, t_end, t_factor, t_cmp, t_value, t_tol,
              lo, inv_width, shift, counts,
              block_sum, block_sumsq, block_met,
              scratch_shocks, scratch_out, work, keep):
    """Simulate draws first_draw .. first_draw + n_draws - 1 and reduce them.

    Series ``s`` are ``year * n_variables + variable`` followed by one per target.
    Per thread: ``counts[thread, s, bin]`` (histogram of non-NaN values, whose total
    is their number). Per block of ``block`` draws (in chunk order):
    ``block_sum``/``block_sumsq`` of ``value - shift[s]`` and ``block_met`` (draws that
    meet each target). ``keep`` (draws × series) receives every value when it has
    ``n_draws`` rows (pilot or ``keep_draws``); give it 0 rows otherwise.
    """
    n_years, n_vars = scratch_out.shape[1], scratch_out.shape[2]
    n_path = n_years * n_vars
    n_blocks = (n_draws + block - 1) // block
    for b in prange(n_blocks):
        w = get_thread_id()
        for s in range(block_sum.shape[1]):
            block_sum[b, s] = 0.0
            block_sumsq[b, s] = 0.0
        for j in range(t_kind.shape[0]):
            block_met[b, j] = 0
        for i in range(b * block, min((b + 1) * block, n_draws)):
            g = first_draw + i
            draw_shocks(g, seed, rates, p_key, p_dist, p_args, p_channel, p_scale, p_mult,
                        s_key, s_dim, s_channel, s_factor, s_phi, s_first,
                        e_key, e_prob, e_depth, e_recovery, e_first, active,
                        scratch_shocks, w, work[w])
            simulate_draw(w, rates, scratch_shocks, growth_actual, nominal_actual,
                          per_capita_actual, anchor_shares, grdp0, hist, jump, ind_form,
                          ind_lower, ind_upper, scratch_out)
            s = 0
            for t in range(n_years):
                for v in range(n_vars):
                    accumulate(scratch_out[w, t, v], s, i, b, w, lo, inv_width, shift, counts,
                               block_sum, block_sumsq, keep)
                    s += 1
            for j in range(t_kind.shape[0]):
                x = target_metric(scratch_out, w, t_kind[j], t_var[j], t_start[j], t_end[j],
                                  t_factor[j])
                if t_cmp[j] == CMP_GE:
                    met = x >= t_value[j]
                elif t_cmp[j] == CMP_LE:
                    met = x <= t_value[j]
                else:
                    met = abs(x - t_value[j]) <= t_tol[j] + 1e-12
                if met:
                    block_met[b, j] += 1
                accumulate(x, n_path + j, i, b, w, lo, inv_width, shift, counts, block_sum,
                           block_sumsq, keep)
