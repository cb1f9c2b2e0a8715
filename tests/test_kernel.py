"""The projection kernel: closed forms, accounting identities, pure-Python equality."""

import ast
import inspect

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quyhoach import registry as variables
from quyhoach.assemble import KernelInputs
from quyhoach.kernels import layout as L
from quyhoach.kernels import projection as k
from quyhoach.simulate import run_kernel as run_regions


def run_kernel(inputs, shocks):
    """The kernel on a one-region plan: shocks and output without the region axis."""
    return run_regions(inputs, np.ascontiguousarray(shocks[:, None]))[:, 0]

N_YEARS = 11


def synthetic(growth=0.07, inflation=0.03, shares=(0.2, 0.4, 0.3, 0.1), n_years=N_YEARS,
              pop0=500.0, birth=20.0, death=6.0, migration=-1.0, urban0=0.2, speed=0.05):
    """Kernel inputs for a made-up province: every block from year 0, constant rates."""
    rates = np.zeros((n_years, L.N_CHANNELS))
    rates[:, L.C_GROWTH:L.C_GROWTH + 4] = growth
    rates[:, L.C_INFLATION:L.C_INFLATION + 4] = inflation
    rates[:, L.C_ICOR] = 5.0
    rates[:, L.C_BIRTH], rates[:, L.C_DEATH], rates[:, L.C_MIGRATION] = birth, death, migration
    rates[:, L.C_URBAN_SPEED] = speed
    rates[:, L.C_INCOME_ELASTICITY] = 1.0
    rates[:, L.C_BUOYANCY] = 1.0
    rates[:, L.C_IMPORT_EXPORT_GROWTH] = 0.08
    rates[:, L.C_LAND_USE_GROWTH] = -0.02
    rates[:, L.C_TOURIST_GROWTH] = 0.1
    rates[:, L.C_SPENDING_GROWTH] = 0.05
    rates[:, L.C_FX] = 25000.0
    rates[:, L.C_INDICATOR:L.C_INDICATOR + 5] = [-0.02, 0.01, 0.2, 0.1, 0.3]
    anchor = np.full((n_years, 4), np.nan)
    anchor[0] = shares
    hist = np.full((n_years, L.N_HISTORY), np.nan)
    hist[0, [L.H_POPULATION, L.H_URBAN, L.H_INCOME, L.H_TOURISTS, L.H_SPENDING]] = [
        pop0, urban0, 30.0, 1e5, 1.0]
    # a split budget: domestic + import-export + land use = the total
    hist[0, [L.H_BUDGET, L.H_DOMESTIC, L.H_IMPORT_EXPORT, L.H_LAND_USE]] = [
        2000.0, 1200.0, 700.0, 100.0]
    hist[0, L.H_INDICATOR:L.H_INDICATOR + 5] = [0.2, 0.5, 0.4, 0.9, 0.8]
    return KernelInputs.one_region(
        rates=rates, growth_actual=np.full(n_years, np.nan),
        nominal_actual=np.full(n_years, np.nan), per_capita_actual=np.full(n_years, np.nan),
        anchor_shares=anchor,
        grdp0=20000.0, hist=hist, jump=np.zeros(L.N_HISTORY, dtype=np.int64),
        ind_form=np.array([k.FORM_POINTS, k.FORM_POINTS, k.FORM_GAP_CLOSING,
                           k.FORM_PROPORTIONAL, k.FORM_LOGISTIC], dtype=np.int64),
        ind_lower=np.zeros(5), ind_upper=np.ones(5))


def central(inputs):
    return run_kernel(inputs, np.zeros((1, inputs.rates.shape[1], L.N_CHANNELS)))[0]


def test_output_layout_matches_variable_registry():
    names = {v.name: i for i, v in enumerate(variables.VARIABLES)}
    assert len(variables.VARIABLES) == L.N_VARIABLES
    assert names["grdp_real"] == L.V_GRDP_REAL
    assert names["va_real_agriculture"] == L.V_VA_REAL
    assert names["va_nominal_agriculture"] == L.V_VA_NOMINAL
    assert names["share_agriculture"] == L.V_SHARE
    assert names["va_growth_agriculture"] == L.V_VA_GROWTH
    assert names["investment_rate"] == L.V_INVESTMENT_RATE
    assert names["population_rural"] == L.V_POPULATION_RURAL
    assert names["spending_per_visitor"] == L.V_SPENDING_PER_VISITOR
    assert names["poverty_rate"] == L.V_INDICATOR
    assert variables.INDICATORS == tuple(v.name for v in variables.VARIABLES[L.V_INDICATOR:])


def test_kernel_imports_only_numpy_numba_math():
    from quyhoach.kernels import layout, montecarlo, rng

    for module in (k, montecarlo, rng, layout):
        tree = ast.parse(inspect.getsource(module))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 1:
                names = []  # a sibling kernel module
            elif isinstance(node, ast.ImportFrom):
                names = [(node.module or "").split(".")[0]]
            else:
                continue
            assert set(names) <= {"numpy", "numba", "math"}, (module.__name__, names)


def test_kernel_layout_is_generated_from_the_registry():
    from quyhoach import layout

    assert layout.main(["--check"]) == 0, "run python -m quyhoach.layout"
    values = layout.constants()
    for name, index in values.items():
        if name.startswith("V_") and name != "V_INDICATOR":
            first = variables.VARIABLES[index].name.upper()
            assert first == name[2:] or first.startswith(name[2:] + "_"), (name, first)
    assert variables.VARIABLES[values["V_INDICATOR"]].name == variables.INDICATORS[0]
    assert values["N_VARIABLES"] == len(variables.VARIABLES)


def test_every_output_obeys_its_registry_rule(lai_chau_results):
    """The kernel writes each output where the registry says, as the registry says."""
    from quyhoach.registry import BY_NAME, VARIABLE_INDEX, VARIABLES

    run = lai_chau_results._runs["base"]
    rng = np.random.default_rng(5)
    shocks = rng.normal(0.0, 0.02, (20, 1, len(lai_chau_results.plan.years), L.N_CHANNELS))
    shocks[..., L.C_FX] = 0.0
    out = run_regions(run.inputs, shocks)[:, 0]

    def x(name):
        return out[:, :, VARIABLE_INDEX[name]]

    sums = {"grdp_real": [f"va_real_{s}" for s in variables.SECTORS],
            "grdp_nominal": [f"va_nominal_{s}" for s in variables.SECTORS],
            "population": ["population_urban", "population_rural"]}
    checked = set()
    with np.errstate(all="ignore"):
        for total, parts in sums.items():
            np.testing.assert_allclose(sum(x(p) for p in parts), x(total), rtol=1e-12)
            checked |= {total, *parts}
        for v in VARIABLES:
            rule = v.parent
            if rule.rule == "ratio":
                want = x(rule.of[0]) / x(rule.of[1]) * rule.scale
            elif rule.rule == "growth":
                level = x(rule.of[0])
                want = np.concatenate([np.full((20, 1), np.nan),
                                       level[:, 1:] / level[:, :-1] - 1], axis=1)
            else:
                got = x(v.name)
                ok = np.isnan(got) | ((got >= v.lower) & (got <= v.upper))
                assert ok.all(), f"{v.name} outside its bounds [{v.lower}, {v.upper}]"
                checked.add(v.name)
                continue
            np.testing.assert_allclose(x(v.name), want, rtol=1e-9, atol=1e-12,
                                       err_msg=v.name)
            checked.add(v.name)
    assert checked == set(BY_NAME)


def test_constant_growth_gives_closed_form():
    g, pi = 0.07, 0.03
    out = central(synthetic(growth=g, inflation=pi))
    t = np.arange(N_YEARS)
    np.testing.assert_allclose(out[:, L.V_GRDP_REAL], 20000.0 * (1 + g) ** t, rtol=1e-13)
    np.testing.assert_allclose(out[:, L.V_GRDP_NOMINAL], 20000.0 * ((1 + g) * (1 + pi)) ** t,
                               rtol=1e-13)
    np.testing.assert_allclose(out[1:, L.V_GRDP_GROWTH], g, rtol=1e-12)
    natural = (20.0 - 6.0 - 1.0) / 1000.0
    np.testing.assert_allclose(out[:, L.V_POPULATION], 500.0 * (1 + natural) ** t, rtol=1e-13)
    # investment need = ICOR x increase of real GRDP, at current prices
    dy = np.diff(out[:, L.V_GRDP_REAL])
    np.testing.assert_allclose(out[1:, L.V_INVESTMENT_NEED_REAL], 5.0 * dy, rtol=1e-13)
    # points form: poverty falls 2 points a year; proportional: +10 %/yr until the
    # upper bound (100 %) stops it
    np.testing.assert_allclose(out[:, L.V_INDICATOR], 0.2 - 0.02 * t, atol=1e-14)
    np.testing.assert_allclose(out[:2, L.V_INDICATOR + 3], 0.9 * 1.1 ** t[:2], rtol=1e-13)
    np.testing.assert_array_equal(out[2:, L.V_INDICATOR + 3], 1.0)


def test_equal_sector_growth_keeps_structure():
    out = central(synthetic())
    np.testing.assert_allclose(out[:, L.V_SHARE:L.V_SHARE + 4],
                               np.tile([0.2, 0.4, 0.3, 0.1], (N_YEARS, 1)), rtol=1e-13)


def test_actual_growth_is_pinned_and_structure_reanchored():
    inputs = synthetic()
    inputs.growth_actual[0, 1:3] = [0.05, -0.02]
    inputs.anchor_shares[0, 2] = [0.25, 0.35, 0.3, 0.1]
    out = central(inputs)
    np.testing.assert_allclose(out[1:3, L.V_GRDP_GROWTH], [0.05, -0.02], rtol=1e-12)
    np.testing.assert_allclose(out[2, L.V_SHARE:L.V_SHARE + 4], [0.25, 0.35, 0.3, 0.1],
                               rtol=1e-13)
    assert out[2, L.V_INVESTMENT_NEED] == 0.0  # no investment need when GRDP falls


shocks_strategy = st.floats(-0.05, 0.05)


@settings(max_examples=40, deadline=None)
@given(
    g=st.lists(st.floats(-0.05, 0.25), min_size=4, max_size=4),
    pi=st.lists(st.floats(-0.02, 0.10), min_size=4, max_size=4),
    raw_shares=st.lists(st.floats(0.05, 1.0), min_size=4, max_size=4),
    seed=st.integers(0, 2**32 - 1),
)
def test_identities_hold_in_every_draw(g, pi, raw_shares, seed):
    shares = np.array(raw_shares) / sum(raw_shares)
    inputs = synthetic(shares=shares)
    inputs.rates[0, :, L.C_GROWTH:L.C_GROWTH + 4] = g
    inputs.rates[0, :, L.C_INFLATION:L.C_INFLATION + 4] = pi
    rng = np.random.default_rng(seed)
    shocks = rng.normal(0, 0.02, (8, N_YEARS, L.N_CHANNELS))
    shocks[:, :, L.C_FX] = 0.0
    out = run_kernel(inputs, shocks)
    s = slice(L.V_SHARE, L.V_SHARE + 4)
    np.testing.assert_allclose(out[:, :, s].sum(axis=2), 1.0, rtol=1e-12)
    real = out[:, :, L.V_VA_REAL:L.V_VA_REAL + 4]
    nominal = out[:, :, L.V_VA_NOMINAL:L.V_VA_NOMINAL + 4]
    np.testing.assert_allclose(real.sum(axis=2), out[:, :, L.V_GRDP_REAL], rtol=1e-12)
    np.testing.assert_allclose(nominal.sum(axis=2), out[:, :, L.V_GRDP_NOMINAL], rtol=1e-12)
    np.testing.assert_allclose(out[:, :, L.V_GRDP_REAL] * out[:, :, L.V_GRDP_DEFLATOR],
                               out[:, :, L.V_GRDP_NOMINAL], rtol=1e-12)
    np.testing.assert_allclose(out[:, :, L.V_POPULATION_URBAN] + out[:, :, L.V_POPULATION_RURAL],
                               out[:, :, L.V_POPULATION], rtol=1e-12)
    ind = out[:, :, L.V_INDICATOR:]
    assert np.all((ind >= 0.0) & (ind <= 1.0))
    assert np.all((out[:, :, L.V_URBANIZATION_RATE] > 0) & (out[:, :, L.V_URBANIZATION_RATE] <= 1))


def test_jitted_kernel_equals_pure_python():
    inputs = synthetic()
    rng = np.random.default_rng(7)
    shocks = rng.normal(0, 0.01, (3, N_YEARS, L.N_CHANNELS))
    shocks[:, :, L.C_FX] = 0.0
    jitted = run_kernel(inputs, shocks)
    pure = np.empty((3, 1, N_YEARS, L.N_VARIABLES))
    k.simulate_paths.py_func(inputs.rates, shocks[:, None], *inputs.kernel_args(), pure)
    pure = pure[:, 0]
    np.testing.assert_allclose(jitted, pure, rtol=1e-14, atol=0)


def test_jitted_kernel_equals_the_interpreted_kernel(tmp_path):
    """Every helper interpreted too (NUMBA_DISABLE_JIT=1 in a fresh process)."""
    import os
    import subprocess
    import sys

    inputs = synthetic()
    shocks = np.random.default_rng(3).normal(0, 0.01, (2, N_YEARS, L.N_CHANNELS))
    shocks[:, :, L.C_FX] = 0.0
    np.savez(tmp_path / "case.npz", shocks=shocks, **{
        f: getattr(inputs, f) for f in inputs.__dataclass_fields__})
    code = (
        "import numpy as np, sys; from quyhoach.assemble import KernelInputs; "
        "from quyhoach.simulate import run_kernel; "
        f"d = dict(np.load({str(tmp_path / 'case.npz')!r})); s = d.pop('shocks'); "
        f"np.save({str(tmp_path / 'out.npy')!r}, run_kernel(KernelInputs(**d), s[:, None])[:, 0])")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120,
                   env={**os.environ, "NUMBA_DISABLE_JIT": "1"})
    np.testing.assert_allclose(run_kernel(inputs, shocks), np.load(tmp_path / "out.npy"),
                               rtol=1e-14, atol=0)


def test_zero_shocks_in_many_draws_repeat_the_central_path():
    inputs = synthetic()
    one = central(inputs)
    many = run_kernel(inputs, np.zeros((5, N_YEARS, L.N_CHANNELS)))
    assert all(np.array_equal(one, many[d], equal_nan=True) for d in range(5))


@pytest.mark.parametrize("n_indicators", [0, 2, 9])
def test_the_kernel_projects_any_number_of_bounded_indicators(n_indicators):
    """The bounded indicators come last on every axis: the kernel takes as many as its
    arrays hold (a registry with more indicators needs no kernel change)."""
    from quyhoach.assemble import AGG_A, AGG_B, AGG_RULE, AGG_SCALE, BLOCK_RANGES

    base = synthetic()
    n = n_indicators
    rates = np.zeros((1, N_YEARS, L.C_INDICATOR + n))
    rates[..., :L.C_INDICATOR] = base.rates[..., :L.C_INDICATOR]
    speeds = 0.01 * (np.arange(n) + 1)
    rates[0, 1:, L.C_INDICATOR:] = speeds
    hist = np.full((1, N_YEARS, L.H_INDICATOR + n), np.nan)
    hist[..., :L.H_INDICATOR] = base.hist[..., :L.H_INDICATOR]
    hist[0, 0, L.H_INDICATOR:] = 0.1
    jump = np.zeros((1, L.H_INDICATOR + n), dtype=np.int64)
    jump[0, :L.H_INDICATOR] = base.jump[0, :L.H_INDICATOR]
    n_vars = L.V_INDICATOR + n
    blocks = BLOCK_RANGES.copy()
    blocks[L.B_INDICATORS, 1] = n_vars
    agg = [np.resize(a, n_vars) for a in (AGG_RULE, AGG_A, AGG_B, AGG_SCALE)]
    out = np.empty((1, 1, N_YEARS, n_vars))
    k.simulate_paths(rates, np.zeros_like(rates)[None], base.growth_actual,
                     base.nominal_actual, base.per_capita_actual, base.anchor_shares,
                     base.grdp0, hist, jump, np.full(n, k.FORM_POINTS, dtype=np.int64),
                     np.zeros(n), np.ones(n), base.mode, blocks, base.child_ptr,
                     base.child_idx, *agg, out)
    t = np.arange(N_YEARS)[:, None]
    np.testing.assert_allclose(out[0, 0, :, L.V_INDICATOR:], np.minimum(0.1 + speeds * t, 1.0),
                               rtol=1e-12)
    np.testing.assert_array_equal(out[0, 0, :, :L.V_INDICATOR],
                                  central(base)[:, :L.V_INDICATOR])
