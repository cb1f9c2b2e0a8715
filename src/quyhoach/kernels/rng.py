"""Counter-based random numbers for reproducible parallel Monte Carlo.

Every random stream is keyed by (seed, source key, draw index): a draw sees the same
numbers whatever the thread count, chunk size or other sources in the plan. Within a
stream numbers come from SplitMix64 (passes BigCrush; one add and three xor-shift
multiplies per number). Normals use the Marsaglia-Tsang ziggurat (128 layers) with the
layer index and the value taken from different bits of one 64-bit number.
"""

import math

import numpy as np
from numba import uint64

from .jit import inlined, no_refcount

_GOLDEN = uint64(0x9E3779B97F4A7C15)
_M1 = uint64(0xBF58476D1CE4E5B9)
_M2 = uint64(0x94D049BB133111EB)


@inlined
def mix64(z):
    """SplitMix64 finaliser: a bijective scramble of a 64-bit integer."""
    z = (z ^ (z >> uint64(30))) * _M1
    z = (z ^ (z >> uint64(27))) * _M2
    return z ^ (z >> uint64(31))


@inlined
def stream_state(seed, key, draw):
    """Initial state of the stream of one source for one draw (all uint64)."""
    return mix64(mix64(seed ^ key) + uint64(draw) * _GOLDEN)


@inlined
def next64(state):
    """Advance a SplitMix64 state; returns (new_state, 64 random bits)."""
    state = state + _GOLDEN
    return state, mix64(state)


@inlined
def uniform(state):
    """(new_state, u) with u uniform on the open interval (0, 1)."""
    state, z = next64(state)
    return state, (float(z >> uint64(11)) + 0.5) * (1.0 / 9007199254740992.0)


def _ziggurat_tables():
    """Marsaglia & Tsang (2000) tables for the 128-layer normal ziggurat."""
    dn, tn, vn, m1 = 3.442619855899, 3.442619855899, 9.91256303526217e-3, 2147483648.0
    kn, wn, fn = np.zeros(128, np.int64), np.zeros(128), np.zeros(128)
    q = vn / math.exp(-0.5 * dn * dn)
    kn[0] = int((dn / q) * m1)
    kn[1] = 0
    wn[0], wn[127] = q / m1, dn / m1
    fn[0], fn[127] = 1.0, math.exp(-0.5 * dn * dn)
    for i in range(126, 0, -1):
        dn = math.sqrt(-2.0 * math.log(vn / dn + math.exp(-0.5 * dn * dn)))
        kn[i + 1] = int((dn / tn) * m1)
        tn = dn
        fn[i] = math.exp(-0.5 * dn * dn)
        wn[i] = dn / m1
    return kn, wn, fn


ZIG_K, ZIG_W, ZIG_F = _ziggurat_tables()
_ZIG_R = 3.442619855899


@inlined
def normal(state):
    """(new_state, z) with z standard normal (ziggurat; rare slow path out of line)."""
    state, z = next64(state)
    hz = np.int64(np.int32(np.uint32(z >> uint64(32))))
    iz = np.int64(z & uint64(127))
    if abs(hz) < ZIG_K[iz]:
        return state, hz * ZIG_W[iz]
    return _normal_tail(state, hz, iz)


@no_refcount
def _normal_tail(state, hz, iz):
    while True:
        x = hz * ZIG_W[iz]
        if iz == 0:  # the base strip: sample the tail beyond r
            while True:
                state, u1 = uniform(state)
                state, u2 = uniform(state)
                x = -math.log(u1) / _ZIG_R
                y = -math.log(u2)
                if y + y >= x * x:
                    break
            return state, (_ZIG_R + x) if hz > 0 else -(_ZIG_R + x)
        state, u = uniform(state)
        if ZIG_F[iz] + u * (ZIG_F[iz - 1] - ZIG_F[iz]) < math.exp(-0.5 * x * x):
            return state, x
        state, z = next64(state)
        hz = np.int64(np.int32(np.uint32(z >> uint64(32))))
        iz = np.int64(z & uint64(127))
        if abs(hz) < ZIG_K[iz]:
            return state, hz * ZIG_W[iz]


@no_refcount
def gamma(state, shape):
    """(new_state, g) with g ~ Gamma(shape, 1), shape >= 1 (Marsaglia-Tsang)."""
    d = shape - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    while True:
        state, x = normal(state)
        v = 1.0 + c * x
        if v <= 0.0:
            continue
        v = v * v * v
        state, u = uniform(state)
        if math.log(u) < 0.5 * x * x + d - d * v + d * math.log(v):
            return state, d * v


# Distribution codes (see quyhoach.uncertainty): args = (a, b, c) as documented there.
DIST_NORMAL = 0  # a = mean, b = sd
DIST_TRUNCNORMAL = 1  # a = sd, b = min, c = max (mean 0)
DIST_LOGNORMAL = 2  # a = sigma: multiplicative factor exp(sigma z)
DIST_UNIFORM = 3  # a = min, b = max
DIST_TRIANGULAR = 4  # a = min, b = mode, c = max
DIST_PERT = 5  # a = min, b = mode, c = max (beta with lambda = 4)


@no_refcount
def sample(state, dist, a, b, c):
    """(new_state, x): one variate of a parameter distribution."""
    if dist == DIST_NORMAL:
        state, z = normal(state)
        return state, a + b * z
    if dist == DIST_TRUNCNORMAL:
        for _ in range(10000):  # rejection; validation keeps the window reasonable
            state, z = normal(state)
            if b <= a * z <= c:
                return state, a * z
        return state, min(max(0.0, b), c)
    if dist == DIST_LOGNORMAL:
        state, z = normal(state)
        return state, math.exp(a * z)
    if dist == DIST_UNIFORM:
        state, u = uniform(state)
        return state, a + (b - a) * u
    if dist == DIST_TRIANGULAR:
        state, u = uniform(state)
        cut = (b - a) / (c - a)
        if u < cut:
            return state, a + math.sqrt(u * (c - a) * (b - a))
        return state, c - math.sqrt((1.0 - u) * (c - a) * (c - b))
    # PERT: min + (max - min) * Beta(alpha, beta)
    alpha = 1.0 + 4.0 * (b - a) / (c - a)
    beta = 1.0 + 4.0 * (c - b) / (c - a)
    state, g1 = gamma(state, alpha)
    state, g2 = gamma(state, beta)
    return state, a + (c - a) * g1 / (g1 + g2)
