"""The plain-numpy model used by the benchmarks gives the kernel's numbers."""

import sys

import numpy as np

import quyhoach
from conftest import LAI_CHAU, ROOT
from quyhoach.kernels import layout as L
from test_kernel import run_kernel

sys.path.insert(0, str(ROOT / "benchmarks"))
from numpy_model import simulate_paths_numpy  # noqa: E402


def test_numpy_model_equals_kernel_on_lai_chau_with_shocks():
    res = quyhoach.simulate(LAI_CHAU, scenarios=["high"])
    inputs = res._runs["high"].inputs
    rng = np.random.default_rng(0)
    shocks = rng.normal(0, 0.01, (50, len(res.plan.years), L.N_CHANNELS))
    shocks[:, :, L.C_FX] = 0.0
    np.testing.assert_allclose(simulate_paths_numpy(inputs, shocks), run_kernel(inputs, shocks),
                               rtol=1e-12, equal_nan=True)
