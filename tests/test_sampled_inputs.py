"""Each kept draw's sampled inputs are written beside its outputs (``--keep-draws``)."""

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import quyhoach
from conftest import LAI_CHAU
from quyhoach import misses

DRAWS, SEED = 300, 3


@pytest.fixture(scope="module")
def kept(tmp_path_factory):
    res = quyhoach.simulate(LAI_CHAU, scenarios=["base", "high"], draws=DRAWS, seed=SEED,
                            keep_draws=True)
    out = res.to_parquet(tmp_path_factory.mktemp("kept") / "r")
    return res, out


def read(out, scenario="base") -> pd.DataFrame:
    return pd.read_parquet(out / "sampled_inputs" / f"scenario={scenario}" / "part-0.parquet")


def test_inputs_have_the_keys_of_the_draws_in_the_same_order(kept):
    res, out = kept
    for scenario in res.scenarios:
        inputs = read(out, scenario)
        draws = pd.read_parquet(out / "draws" / f"scenario={scenario}" / "part-0.parquet",
                                columns=["draw", "region", "year"])
        assert len(inputs) == DRAWS * len(res.years)
        pd.testing.assert_frame_equal(inputs[["draw", "region", "year"]], draws)
    manifest = quyhoach.read_results(out).manifest
    assert "sampled_inputs/scenario=base/part-0.parquet" in manifest["files"]
    meta = pq.ParquetFile(out / "sampled_inputs/scenario=base/part-0.parquet").schema_arrow
    assert b'"seed": 3' in meta.metadata[b"quyhoach"]


def test_inputs_are_what_each_draw_sampled(kept):
    """Averaged over a target's years they are ``sample_inputs``' values of that draw,
    and a parameter is held: one value per draw over the years it moves."""
    res, out = kept
    sample = misses.sample_inputs(res, "base", draws=DRAWS, seed=SEED)
    inputs = read(out)
    years = np.asarray(sample.years)
    assert [c.id for c in sample.columns] == list(inputs.columns[3:])
    province = inputs[inputs["region"] == res.plan.province]
    for c, col in enumerate(sample.columns):
        values = province[col.id].to_numpy().reshape(DRAWS, len(years))
        for j in range(len(res.plan.targets)):
            first, last = sample.windows[j, c]
            if first > last:
                continue
            if col.kind in ("offset", "factor"):
                moved = values[:, first:last + 1]
                np.testing.assert_array_equal(moved, moved[:, :1].repeat(moved.shape[1], 1))
                got = values[:, last]
            elif col.kind == "events":
                got = values[:, first:last + 1].sum(axis=1)
            else:
                got = values[:, first:last + 1].astype(float).mean(axis=1)
            np.testing.assert_allclose(got, sample.values[:, j, c], rtol=1e-5, atol=1e-6)
    sd = {c.id: province[c.id].std() for c in sample.columns}
    assert all(v > 0 for k, v in sd.items() if not k.startswith("disruption")), sd


def test_read_back_results_keep_their_sampled_inputs(kept, tmp_path):
    _, out = kept
    again = quyhoach.read_results(out).to_parquet(tmp_path / "again")
    for s in ("base", "high"):
        rel = f"sampled_inputs/scenario={s}/part-0.parquet"
        assert (again / rel).read_bytes() == (out / rel).read_bytes()


def test_inputs_do_not_depend_on_threads_or_chunks(tmp_path):
    import numba

    written = []
    for threads, chunk in ((1, 64), (min(2, numba.config.NUMBA_NUM_THREADS), 100)):
        numba.set_num_threads(threads)
        res = quyhoach.simulate(LAI_CHAU, scenarios=["base"], draws=200, seed=9,
                                keep_draws=True, chunk_size=chunk)
        out = res.to_parquet(tmp_path / f"t{threads}-{chunk}")
        written.append((out / "sampled_inputs/scenario=base/part-0.parquet").read_bytes())
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    assert written[0] == written[1]
