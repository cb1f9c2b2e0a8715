"""How the kernels' functions are compiled (numba), in one place.

Every kernel function is cached on disk and uses numpy's error model (a division by zero
gives inf or NaN, as the reference model's numpy does); ``fastmath`` stays off, so
results are compared bit for bit across thread counts. Two kinds:

``inlined``
    Small functions called for every region and year with many arrays (``follow_history``,
    the block steps, the random-number primitives, a target's metric). numba inlines them
    into their caller before type inference: a call would pass every array's data
    pointer, shape and strides (about ten words each, some 20 arrays) and update each
    array's reference count atomically, for a few lines of arithmetic. With the
    ``no_refcount`` helpers below this took Lai Châu's Monte Carlo from 100 to 17-19 µs
    per draw on one thread (``benchmarks/README.md``).
``no_refcount``
    Functions that stay calls (rarely taken paths, whole-draw steps): compiled without
    numba's runtime (``_nrt=False``, the option numba's developers use for this in
    numba#2350), so passing arrays in costs no atomic reference counting. They borrow
    their caller's arrays and cannot allocate: an allocation fails to compile.
"""

from numba import njit

inlined = njit(cache=True, inline="always", error_model="numpy")
no_refcount = njit(cache=True, error_model="numpy", _nrt=False)
