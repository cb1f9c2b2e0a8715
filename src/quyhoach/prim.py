"""PRIM: one box of inputs where an outcome concentrates (scenario discovery).

The patient rule induction method (Friedman and Fisher 1999), as scenario discovery uses
it (Bryant and Lempert 2010): start from every draw, and repeatedly peel off the 5 % of
the draws still in the box at one end of one input, choosing the peel that leaves the
highest share of cases (draws with the outcome) in the box, until the box would hold
fewer than 10 % of all draws. Each box on that trajectory has a

- **coverage**: the share of all cases that lie in the box, and a
- **density**: the share of the draws in the box that are cases,

and the box reported is the one that balances the two best (their harmonic mean, the
F-score: a box that holds few cases or is no denser than the whole is of no use). For a
box a committee can read, at most two inputs are restricted: every input is peeled
alone, and pairs of the best few are peeled together; a pair is kept only when it
clearly beats the best single input.

Pure numpy on arrays: ``quyhoach.misses.miss_conditions`` supplies the sampled inputs
and the outcome (a target missed, or met), and words the box.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations

import numpy as np

PEEL = 0.05  # share of the box's draws peeled per step
MIN_SUPPORT = 0.10  # the box keeps at least this share of all draws
SHORTLIST = 4  # inputs whose pairs are tried
PAIR_GAIN = 0.05  # F-score a second condition must add to be worth reading
TIE = 0.05  # F-scores this close are as good: a preferred input is then reported


@dataclass(frozen=True)
class Box:
    """A box ``lower[i] <= x[:, i] <= upper[i]`` (±inf: that side is not restricted).

    Attributes
    ----------
    lower, upper : numpy.ndarray
        One bound per input (the inputs' own units); each finite bound is a sampled
        value, kept in the box.
    coverage : float
        Share of all cases inside the box (0-1).
    density : float
        Share of the draws inside the box that are cases (0-1).
    support : float
        Share of all draws inside the box (0-1).
    base : float
        Share of all draws that are cases (the density of the whole).
    """

    lower: np.ndarray
    upper: np.ndarray
    coverage: float
    density: float
    support: float
    base: float

    @property
    def restricted(self) -> list[int]:
        """The inputs the box restricts, in input order."""
        return [i for i in range(len(self.lower))
                if np.isfinite(self.lower[i]) or np.isfinite(self.upper[i])]

    @property
    def score(self) -> float:
        """The F-score: harmonic mean of coverage and density (0 without cases)."""
        c, d = self.coverage, self.density
        return 2.0 * c * d / (c + d) if c + d > 0 else 0.0

    def contains(self, x: np.ndarray) -> np.ndarray:
        """Whether each row of ``x`` (draws × inputs) lies in the box."""
        x = np.asarray(x, dtype=float)
        return np.all((x >= self.lower) & (x <= self.upper), axis=1)


def _box(lower, upper, inside, y, n_cases) -> Box:
    n = len(y)
    m = int(inside.sum())
    hits = int(np.count_nonzero(y & inside))
    return Box(lower.copy(), upper.copy(), hits / n_cases if n_cases else 0.0,
               hits / m if m else 0.0, m / n, n_cases / n)


def peel(x: np.ndarray, y: np.ndarray, dims, *, alpha: float = PEEL,
         min_support: float = MIN_SUPPORT) -> list[Box]:
    """The peeling trajectory on the inputs ``dims``, from the whole to the last box.

    Parameters
    ----------
    x : numpy.ndarray, shape (draws, inputs)
        Sampled inputs (finite).
    y : numpy.ndarray of bool, shape (draws,)
        The outcome (a case).
    dims : sequence of int
        Inputs that may be restricted.
    alpha : float
        Share of the box's draws peeled per step (at least one draw; a run of equal
        values at the edge goes as a whole).
    min_support : float
        No box holds fewer than this share of all draws.

    Returns
    -------
    list of Box
        The whole first; each next box has a peel more.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=bool)
    n, k = x.shape
    n_cases = int(y.sum())
    if len(dims) == 1:
        return _peel_one(x, y, int(dims[0]), alpha, min_support)
    lower, upper = np.full(k, -np.inf), np.full(k, np.inf)
    inside = np.ones(n, dtype=bool)
    trajectory = [_box(lower, upper, inside, y, n_cases)]
    floor = max(1, math.ceil(min_support * n))
    while True:
        m = int(inside.sum())
        step = max(1, math.ceil(alpha * m))
        best = None  # (density, support, dim, side, threshold, new inside)
        for d in dims:
            v = np.sort(x[inside, d])
            for side in ("lower", "upper"):
                cut = _cut(v, step, side)
                if cut is None:
                    continue
                keep = inside & (x[:, d] >= cut if side == "lower" else x[:, d] <= cut)
                kept = int(keep.sum())
                if kept < floor or kept == m:
                    continue
                density = np.count_nonzero(y & keep) / kept
                key = (density, kept)
                if best is None or key > best[:2]:
                    best = (density, kept, d, side, cut, keep)
        if best is None:
            return trajectory
        _, _, d, side, cut, inside = best
        if side == "lower":
            lower[d] = cut
        else:
            upper[d] = cut
        trajectory.append(_box(lower, upper, inside, y, n_cases))


def _peel_one(x: np.ndarray, y: np.ndarray, d: int, alpha: float,
              min_support: float) -> list[Box]:
    """``peel`` on one input, sorted once: the box is a run ``a:b`` of the sorted draws
    (the same boxes as the general peel, by the same rules, without a sort a step)."""
    n, k = x.shape
    order = np.argsort(x[:, d], kind="stable")
    xs = x[order, d]
    cum = np.concatenate([[0], np.cumsum(y[order])])
    n_cases = int(cum[-1])
    lower, upper = np.full(k, -np.inf), np.full(k, np.inf)

    def box(a: int, b: int) -> Box:
        hits, m = int(cum[b] - cum[a]), b - a
        return Box(lower.copy(), upper.copy(), hits / n_cases if n_cases else 0.0,
                   hits / m if m else 0.0, m / n, n_cases / n)

    a, b = 0, n
    trajectory = [box(a, b)]
    floor = max(1, math.ceil(min_support * n))
    while True:
        m = b - a
        step = max(1, math.ceil(alpha * m))
        best = None  # (density, kept, side, new a, new b)
        if m > step:
            cut = xs[a + step]
            na = int(np.searchsorted(xs, cut if cut > xs[a] else xs[a],
                                     "left" if cut > xs[a] else "right"))
            cut = xs[b - 1 - step]
            nb = int(np.searchsorted(xs, cut if cut < xs[b - 1] else xs[b - 1],
                                     "right" if cut < xs[b - 1] else "left"))
            for side, lo, hi in (("lower", na, b), ("upper", a, nb)):
                kept = hi - lo
                if kept < floor or kept == m:
                    continue
                key = ((cum[hi] - cum[lo]) / kept, kept)
                if best is None or key > best[:2]:
                    best = (*key, side, lo, hi)
        if best is None:
            return trajectory
        _, _, side, a, b = best
        if side == "lower":
            lower[d] = xs[a]
        else:
            upper[d] = xs[b - 1]
        trajectory.append(box(a, b))


def _cut(v: np.ndarray, step: int, side: str) -> float | None:
    """The new bound that peels ``step`` of the sorted values ``v`` off one side (all
    of a run of equal values at the edge), or None when nothing can go."""
    if len(v) <= step:
        return None
    if side == "lower":
        cut = v[step]
        if cut == v[0]:  # ties at the edge: the next distinct value
            above = v[v > v[0]]
            return float(above[0]) if len(above) else None
        return float(cut)
    cut = v[len(v) - 1 - step]
    if cut == v[-1]:
        below = v[v < v[-1]]
        return float(below[-1]) if len(below) else None
    return float(cut)


def best_on(trajectory: list[Box]) -> Box:
    """The box of a trajectory with the highest F-score (the first, on ties)."""
    return max(trajectory, key=lambda b: b.score)


def find_box(x: np.ndarray, y: np.ndarray, *, alpha: float = PEEL,
             min_support: float = MIN_SUPPORT, max_inputs: int = 2,
             shortlist: int = SHORTLIST, pair_gain: float = PAIR_GAIN,
             prefer=(), tie: float = TIE) -> Box:
    """One box of at most ``max_inputs`` (1 or 2) conditions where the cases concentrate.

    Every input is peeled alone; the ``shortlist`` best are then peeled in pairs, and
    a pair is chosen only when its F-score beats the best single input's by
    ``pair_gain``. The whole (nothing restricted) is returned when no box beats it.

    Parameters
    ----------
    x : numpy.ndarray, shape (draws, inputs)
    y : numpy.ndarray of bool, shape (draws,)
    alpha, min_support : float
        See ``peel``.
    prefer : sequence of int
        Inputs reported rather than another single input whose box scores at most
        ``tie`` higher (strongly correlated inputs give about equal boxes; the one
        that reads plainly, e.g. the target's own sector, is then said).

    Returns
    -------
    Box
        Its density is at least the share of cases overall (the whole's density):
        a box of lower density also has a lower F-score than the whole.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=bool)
    whole = peel(x, y, [], alpha=alpha, min_support=min_support)[0]
    if not y.any() or y.all():
        return whole
    varying = [i for i in range(x.shape[1]) if np.ptp(x[:, i]) > 0]
    singles = {i: best_on(peel(x, y, [i], alpha=alpha, min_support=min_support))
               for i in varying}
    best = max([whole, *singles.values()], key=lambda b: b.score)
    near = [singles[i] for i in prefer if i in singles and singles[i].restricted
            and singles[i].score >= best.score - tie]
    if near:
        best = max(near, key=lambda b: b.score)
    if max_inputs < 2:
        return best
    ranked = sorted(singles, key=lambda i: singles[i].score, reverse=True)[:shortlist]
    pairs = [best_on(peel(x, y, [a, b], alpha=alpha, min_support=min_support))
             for a, b in combinations(sorted(ranked), 2)]
    pairs = [p for p in pairs if len(p.restricted) == 2]
    pair = max(pairs, key=lambda b: b.score, default=None)
    return pair if pair is not None and pair.score >= best.score + pair_gain else best
