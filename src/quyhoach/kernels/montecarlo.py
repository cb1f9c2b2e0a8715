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

from .jit import inlined, no_refcount
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


@no_refcount
def draw_shocks(g, seed, rates, p_key, p_dist, p_args, p_channel, p_scale, p_mult,
                s_key, s_dim, s_channel, s_factor, s_phi, s_first,
                e_key, e_prob, e_depth, e_recovery, e_first, active, region_key, reads,
                common, shocks, w, work, region_work, region_state):
    """Fill shocks[w] (regions × years × channels) for global draw g.

    Parameter draws and disruptions are common to every region. An AR(1) group's
    innovations in region r are ``sqrt(common) z + sqrt(1 - common) z_r``: z from the
    group's stream (the whole province's, used as it is where ``region_key[r]`` is 0),
    z_r from the region's own stream (key ``s_key ^ region_key[r]``), so two regions'
    shocks have correlation ``common`` and each has the group's variance. Region r's
    shocks are drawn only for the channels it reads (``reads[r, channel]``: its projected
    blocks'); the others are left as they were, never read.
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
            if not reads[r, c]:
                continue
            shocks[w, r, 0, c] = 0.0
            for t in range(1, n_years):
                shocks[w, r, t, c] = add[c] + rates[r, t, c] * mult[c]
    # AR(1) shocks, correlated within a group: s[t] = phi s[t-1] + A z[t]
    mix_common = math.sqrt(common)
    mix_own = math.sqrt(1.0 - common)
    shared = True  # no region draws its own innovations: one path for every region
    for r in range(n_regions):
        if region_key[r] != 0:
            shared = False
    for q in range(s_key.shape[0]):
        state = stream_state(seed, s_key[q], g)
        k = s_dim[q]
        if shared:
            ar_shared(state, k, s_factor[q], s_phi[q], s_channel[q], s_first[q], reads,
                      shocks, w, z, work[3])
            continue
        for r in range(n_regions):
            if region_key[r] != 0:
                region_state[r] = stream_state(seed, s_key[q] ^ region_key[r], g)
            for i in range(k):
                region_work[r, i] = 0.0
        for t in range(s_first[q], n_years):
            for i in range(k):
                state, z[i] = normal(state)
            for r in range(n_regions):
                drawn = False
                for i in range(k):
                    drawn = drawn or reads[r, s_channel[q, i]]
                if not drawn:  # the region reads none of the group's channels
                    continue
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
                            if not reads[r, c]:
                                continue
                            shocks[w, r, t, c] += dc
                            for t2 in range(t + 1, min(t + 1 + rec, n_years)):
                                shocks[w, r, t2, c] -= dc / rec


@no_refcount
def ar_shared(state, k, factor, phi, channel, first, reads, shocks, w, z, level):
    """One AR(1) group's shocks where every region takes the group's own path (no region
    draws innovations of its own): the path once, added to every region. The same
    operations, in the same order, as the general loop in ``draw_shocks``; a one-shock
    group (most of them) is unrolled."""
    n_regions, n_years = shocks.shape[1], shocks.shape[2]
    if k == 1:
        f = factor[0, 0]
        c = channel[0]
        x = 0.0
        for t in range(first, n_years):
            state, z0 = normal(state)
            x = phi * x + (0.0 + f * z0)
            for r in range(n_regions):
                if reads[r, c]:
                    shocks[w, r, t, c] += x
        return
    for i in range(k):
        level[i] = 0.0
    for t in range(first, n_years):
        for i in range(k):
            state, z[i] = normal(state)
        for i in range(k):
            e = 0.0
            for j in range(i + 1):
                e += factor[i, j] * z[j]
            level[i] = phi * level[i] + e
        for r in range(n_regions):
            for i in range(k):
                if reads[r, channel[i]]:
                    shocks[w, r, t, channel[i]] += level[i]


@inlined
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


@inlined
def is_met(x, cmp, value, tol):
    """Whether a target's metric x meets it (NaN never does)."""
    if cmp == CMP_GE:
        return x >= value
    if cmp == CMP_LE:
        return x <= value
    return abs(x - value) <= tol + 1e-12


@no_refcount
def reduce_group(group, n, b, w, lo, inv_width, shift, counts, block_sum, block_sumsq, low,
                 high):
    """Add the first n draws of ``group`` (draws × reduced series, in draw order) to the
    reduction of block b by thread w: each series' histogram, its block's sums of
    ``x - shift`` and the thread's lowest and highest value (NaN is skipped).

    Series by series: a series' histogram row stays in cache for the whole group, and
    its running sums and extremes stay in registers; the draws are still added in draw
    order, so the sums have the same bits as adding one draw at a time.
    """
    top = counts.shape[2] - 1
    for k in range(group.shape[1]):
        total = block_sum[b, k]
        total_sq = block_sumsq[b, k]
        least = low[w, k]
        most = high[w, k]
        origin = shift[k]
        edge = lo[k]
        scale = inv_width[k]
        for i in range(n):
            x = group[i, k]
            if math.isnan(x):
                continue
            if x < least:
                least = x
            if x > most:
                most = x
            dx = x - origin
            total += dx
            total_sq += dx * dx
            j = int((x - edge) * scale)
            j = min(max(j, 0), top)
            counts[w, k, j] += 1
        block_sum[b, k] = total
        block_sumsq[b, k] = total_sq
        low[w, k] = least
        high[w, k] = most


@njit(cache=True, parallel=True, error_model="numpy")
def run_chunk(first_draw, n_draws, block, seed,
              rates, growth_actual, nominal_actual, per_capita_actual, anchor_shares, grdp0,
              hist, jump, ind_form, ind_lower, ind_upper,
              mode, blocks, child_ptr, child_idx, agg_rule, agg_a, agg_b, agg_scale,
              p_key, p_dist, p_args, p_channel, p_scale, p_mult,
              s_key, s_dim, s_channel, s_factor, s_phi, s_first,
              e_key, e_prob, e_depth, e_recovery, e_first, active, region_key, region_reads,
              common, t_region, t_kind, t_var, t_start, t_end, t_factor, t_cmp, t_value, t_tol,
              g_ptr, g_idx, sel, z_lo, z_inv, z_below, z_counts,
              lo, inv_width, shift, counts, low, high,
              block_sum, block_sumsq, block_met, block_joint,
              scratch_shocks, scratch_out, flat_out, real, price, pinned, work, region_work,
              region_state, met_now, metrics, buf, keep, keep_metrics):
    """Simulate draws first_draw .. first_draw + n_draws - 1 and reduce them.

    Series ``s`` are ``(region * n_years + year) * n_variables + variable`` followed by
    one per target. Only the series ``sel`` (increasing; every target's series among
    them) are reduced: reduced series ``k`` is series ``sel[k]``, and every reduction
    array below is indexed by k. Per thread: ``counts[thread, k, bin]`` (histogram of
    non-NaN values, whose total is their number). Per block of ``block`` draws (in
    chunk order): ``block_sum``/``block_sumsq`` of ``value - shift[k]``, ``block_met``
    (draws that meet each target) and ``block_joint`` (draws that meet every target of
    group g: ``g_idx[g_ptr[g]:g_ptr[g + 1]]``). Per thread, ``low``/``high[thread, k]``:
    the lowest and highest value met (quantiles are clipped to them). ``keep`` (draws
    × every series) receives every value of every series when it has ``n_draws`` rows
    (pilot, central path or ``keep_draws``); give it 0 rows otherwise. ``buf[thread]``
    (draws of a group × reduced series) holds a group of draws' values before they are
    reduced series by series. Per-thread scratch, reused from draw to draw:
    ``scratch_shocks``, ``scratch_out`` (and ``flat_out``, the same memory as
    (threads, series)), ``real``/``price`` (regions × sectors), ``pinned`` (regions),
    ``work``, ``region_work``, ``region_state``, ``met_now`` and ``metrics`` (targets).

    Finer bins for the targets' quantiles (``z_lo`` has a row per target, or none): per
    target j and quantile i, ``z_counts[thread, j, i, bin]`` counts the metrics in the
    window ``z_lo[j, i] + [0, n_bins) / z_inv[j, i]`` and ``z_below[thread, j, i]``
    those under it. ``keep_metrics`` (draws × targets) receives every target's metric
    when it has ``n_draws`` rows; give it 0 rows otherwise.
    """
    n_path = flat_out.shape[1]
    n_targets = t_kind.shape[0]
    n_sel_path = sel.shape[0] - n_targets
    n_blocks = (n_draws + block - 1) // block
    keeping = keep.shape[0] > 0
    keeping_metrics = keep_metrics.shape[0] > 0
    n_zoom = z_lo.shape[0]
    n_fine = z_counts.shape[3]
    for b in prange(n_blocks):
        w = get_thread_id()
        for k in range(block_sum.shape[1]):
            block_sum[b, k] = 0.0
            block_sumsq[b, k] = 0.0
        for j in range(n_targets):
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
                            region_reads, common, scratch_shocks, w, work[w],
                            region_work[w], region_state[w])
                simulate_draw(w, rates, scratch_shocks, growth_actual, nominal_actual,
                              per_capita_actual, anchor_shares, grdp0, hist, jump, ind_form,
                              ind_lower, ind_upper, mode, blocks, child_ptr, child_idx,
                              agg_rule, agg_a, agg_b, agg_scale, real[w], price[w],
                              pinned[w], scratch_out)
                values = flat_out[w]
                row = buf[w, i - first]
                for k in range(n_sel_path):
                    row[k] = values[sel[k]]
                metric = metrics[w]
                for j in range(n_targets):
                    x = target_metric(scratch_out, w, t_region[j], t_kind[j], t_var[j],
                                      t_start[j], t_end[j], t_factor[j])
                    metric[j] = x
                    row[n_sel_path + j] = x
                    if j < n_zoom and not math.isnan(x):
                        for qi in range(z_lo.shape[1]):
                            d = x - z_lo[j, qi]
                            if d < 0.0:
                                z_below[w, j, qi] += 1
                            else:
                                f = d * z_inv[j, qi]
                                if f < n_fine:
                                    z_counts[w, j, qi, int(f)] += 1
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
                if keeping:
                    for s in range(n_path):
                        keep[i, s] = values[s]
                    for j in range(n_targets):
                        keep[i, n_path + j] = metric[j]
                if keeping_metrics:
                    for j in range(n_targets):
                        keep_metrics[i, j] = metric[j]
            reduce_group(buf[w], last - first, b, w, lo, inv_width, shift, counts,
                         block_sum, block_sumsq, low, high)
