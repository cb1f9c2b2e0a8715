"""Golden Monte Carlo of the Lai Châu plan, so that a change of random numbers, binning
or summation order cannot pass unnoticed.

Every scenario is run with the draws and seed of ``tests/golden/bless.py`` and compared
with the blessed probabilities (exactly: draws meeting each target) and bands (mean, sd,
q05, q50, q95 of every variable at milestone years; to 1e-12 of the row's magnitude,
since the results are meant to be bit-identical). The run is repeated with one thread
and with other chunk sizes: each must give the same golden numbers.
"""

import numba
import pytest

from golden.bless import (
    BY_NAME,
    MC_DRAWS,
    MC_SEED,
    MC_YEARS,
    REBLESS,
    compare,
    mc_bands,
    mc_probabilities,
    monte_carlo,
    read,
    rows_of,
)

RTOL = 1e-12
ALL = numba.config.NUMBA_NUM_THREADS

# (threads, chunk_size): None = all threads / the default chunk size (32768, so the
# 2000 draws are one chunk). The first is how bless.py makes the goldens; 700 is not a
# multiple of the 256-draw block; 256 makes every block its own chunk.
CONFIGS = {
    "all-threads": (None, None),
    "all-threads-chunk700": (None, 700),
    "1-thread-chunk256": (1, 256),
}
FILES = {"lai_chau_mc_probabilities.csv": mc_probabilities,
         "lai_chau_mc_bands.csv": mc_bands}


@pytest.fixture(scope="module")
def runs():
    """Each configuration's Results, made once (about a second each)."""
    cache = {}

    def get(config):
        if config not in cache:
            threads, chunk = CONFIGS[config]
            numba.set_num_threads(threads or ALL)
            try:
                cache[config] = monte_carlo(chunk)
            finally:
                numba.set_num_threads(ALL)
        return cache[config]
    return get


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("name", FILES)
def test_monte_carlo_matches_golden(runs, name, config):
    golden = BY_NAME[name]
    want = read(golden)
    assert want[1], f"{golden.path} is missing or empty; make it with {REBLESS}"
    got = rows_of(FILES[name](runs(config)))
    diff = compare(want, got, golden.keys, golden.exact, rtol=RTOL)
    if diff:
        threads, chunk = CONFIGS[config]
        pytest.fail(
            f"{name}: the Monte Carlo ({MC_DRAWS} draws, seed {MC_SEED}, "
            f"{threads or ALL} thread(s), chunk_size {chunk or 'default'}) differs from "
            f"the golden (probabilities exactly, floats to {RTOL:g} of their row):\n"
            f"{diff.report(golden.keys)}\n"
            f"If only some thread counts or chunk sizes fail, the results depend on how "
            f"the draws are split: a bug, never re-bless it. If every configuration "
            f"fails alike and the change is intended (random numbers, binning, model or "
            f"plan), re-bless with\n    {REBLESS}", pytrace=False)


def test_goldens_cover_every_scenario_target_variable_and_year(runs):
    """A bless that silently dropped rows would weaken every test above."""
    res = runs("all-threads")
    probabilities = read(BY_NAME["lai_chau_mc_probabilities.csv"])[1]
    pairs = {(r["scenario"], r["target_id"]) for r in probabilities}
    assert pairs == {(s, t.id) for s in res.scenarios for t in res.plan.targets}
    assert {r["draws"] for r in probabilities} == {MC_DRAWS}
    bands = read(BY_NAME["lai_chau_mc_bands.csv"])[1]
    assert {r["scenario"] for r in bands} == set(res.scenarios)
    assert {r["variable"] for r in bands} == set(res.bands()["variable"].astype(str))
    assert {r["year"] for r in bands} == set(MC_YEARS)
