"""Pure numba kernels: numpy, numba and math only; arrays in, ``out`` arrays filled."""
