"""The queries a national team runs on a batch dataset, exactly as the README shows them
("Batch runs and the results dataset"): which provinces have less than a 50 % chance of
their GRDP growth target, in DuckDB and in Polars, and ``quyhoach.read_results`` for a
list of provinces.

The dataset is built once per module in ``<tmp>/results/all`` and every test runs from
``<tmp>``, so the README's relative paths are used as they stand.
"""

from pathlib import Path

import pandas as pd
import pytest

import quyhoach
from conftest import ROOT
from quyhoach.batch import run_batch
from quyhoach.results import FEASIBILITY_COLUMNS

PROVINCES = ["lai_chau", "lang_son", "quang_ninh"]

# ---------------------------------------------------------------- as in the README
DUCKDB_SQL = """\
SELECT province, scenario, target_id, period, target, projected, probability, verdict
FROM read_parquet('results/all/feasibility/**/*.parquet', hive_partitioning = true)
WHERE indicator = 'grdp_real' AND kind = 'average_growth' AND region = province
  AND probability < 0.5
ORDER BY probability, province, scenario, target_id;
"""

POLARS_CODE = """\
import polars as pl

below_half = (
    pl.scan_parquet("results/all/feasibility/**/*.parquet", hive_partitioning=True)
    .filter(pl.col("indicator") == "grdp_real", pl.col("kind") == "average_growth",
            pl.col("region") == pl.col("province"), pl.col("probability") < 0.5)
    .select("province", "scenario", "target_id", "period", "target", "projected",
            "probability", "verdict")
    .sort("probability", "province", "scenario", pl.col("target_id").cast(pl.String))
    .collect()
)
"""

READ_RESULTS_CODE = """\
import quyhoach

north = quyhoach.read_results("results/all", province=["lai_chau", "lang_son"],
                              scenario="base", variable="grdp_real")
north.feasibility()[["province", "target_id", "projected", "probability", "verdict"]]
"""
# ----------------------------------------------------------------------------------

COLUMNS = ["province", "scenario", "target_id", "period", "target", "projected",
           "probability", "verdict"]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """``<tmp>`` holding the three seed provinces' dataset in ``results/all``."""
    tmp = tmp_path_factory.mktemp("queries")
    plans = [ROOT / "scenarios" / f"{p}.toml" for p in PROVINCES]
    summary = run_batch(plans, tmp / "results" / "all", draws=200, seed=1, workers=1)
    assert not summary.failed and len(summary.done) == 12  # 3 plans x 4 scenarios
    return tmp


@pytest.fixture
def here(workdir, monkeypatch):
    monkeypatch.chdir(workdir)
    return workdir


def expected_below_half(workdir) -> list[tuple]:
    """The answer recomputed with pandas, one file at a time, the province, scenario and
    region taken from the file's folders (no hive reader involved)."""
    frames = []
    for part in sorted((workdir / "results" / "all" / "feasibility").glob(
            "province=*/plan=*/scenario=*/region=*/part-0.parquet")):
        df = pd.read_parquet(part)
        assert list(df.columns) == [c for c in FEASIBILITY_COLUMNS  # the folders' levels
                                    if c not in ("scenario", "region")]
        levels = dict(f.name.split("=", 1) for f in part.parents[:4])
        frames.append(df.assign(province=levels["province"], scenario=levels["scenario"],
                                region=levels["region"]))
    assert len({(f["province"].iat[0], f["scenario"].iat[0]) for f in frames}) == 12
    df = pd.concat(frames, ignore_index=True)
    for col in ("province", "scenario", "region", "target_id", "indicator", "kind", "period",
                "verdict"):
        df[col] = df[col].astype(str)
    growth = df[(df["indicator"] == "grdp_real") & (df["kind"] == "average_growth")
                & (df["region"] == df["province"])]
    assert set(growth["province"]) == set(PROVINCES)
    assert (growth["probability"] >= 0.5).any()  # the filter leaves some out
    below = growth[growth["probability"] < 0.5].sort_values(
        ["probability", "province", "scenario", "target_id"], kind="stable")
    return [tuple(row) for row in below[COLUMNS].itertuples(index=False, name=None)]


def test_duckdb_lists_growth_targets_below_half(here):
    duckdb = pytest.importorskip("duckdb")
    result = duckdb.sql(DUCKDB_SQL)
    assert result.columns == COLUMNS
    rows = result.fetchall()
    expected = expected_below_half(here)
    assert rows == expected
    assert len(rows) > 0 and all(r[6] < 0.5 for r in rows)
    assert [r[6] for r in rows] == sorted(r[6] for r in rows)
    assert {r[2] for r in rows} <= {"grdp_growth_2021_2030_draft",
                                    "grdp_growth_2021_2030_approved", "grdp_growth_2021_2025",
                                    "grdp_growth_2021_2030", "rrd_grdp_growth_2021_2030"}


def test_polars_gives_the_same_answer(here):
    duckdb = pytest.importorskip("duckdb")
    pytest.importorskip("polars")
    scope: dict = {}
    exec(POLARS_CODE, scope)
    below_half = scope["below_half"]
    assert below_half.columns == COLUMNS
    assert below_half.rows() == duckdb.sql(DUCKDB_SQL).fetchall()
    assert below_half.rows() == expected_below_half(here)


def test_read_results_of_a_list_of_provinces(here):
    scope: dict = {}
    exec(READ_RESULTS_CODE, scope)
    north = scope["north"]
    table = north.feasibility()
    assert set(table["province"]) == {"lai_chau", "lang_son"}
    assert set(table["scenario"]) == {"base"}
    assert set(table["indicator"]) == {"grdp_real"}
    assert set(north.paths["province"]) == {"lai_chau", "lang_son"}
    assert set(north.paths["variable"]) == {"grdp_real"}
    assert set(north.bands()["province"]) == {"lai_chau", "lang_son"}
    shown = eval(READ_RESULTS_CODE.strip().splitlines()[-1], scope)
    assert list(shown.columns) == ["province", "target_id", "projected", "probability",
                                   "verdict"]
    assert len(shown) == len(table) > 0
    # the same rows as the whole dataset holds for those provinces
    whole = quyhoach.read_results("results/all").feasibility()
    whole = whole[whole["province"].isin(["lai_chau", "lang_son"])
                  & (whole["scenario"] == "base") & (whole["indicator"] == "grdp_real")]
    assert sorted(map(tuple, whole[["province", "target_id"]].astype(str).to_numpy())) == \
        sorted(map(tuple, table[["province", "target_id"]].astype(str).to_numpy()))


@pytest.mark.parametrize(("selection", "message"), [
    ({"province": ["lai_chau", "lang_sn"]}, "holds no province 'lang_sn'; did you mean "
                                            "'lang_son'?"),
    ({"province": "ha_noi"}, "holds no province 'ha_noi'; expected one of 'lai_chau', "
                             "'lang_son', 'quang_ninh'"),
    ({"scenario": ["base", "hgh"]}, "holds no scenario 'hgh'; did you mean 'high'?"),
    ({"region": ["lai_chau", "cao_lock"]}, "holds no region 'cao_lock'; did you mean "
                                           "'cao_loc'?"),
    ({"variable": "popluation"}, "holds no variable 'popluation'; did you mean "
                                 "'population'?"),
])
def test_an_unknown_key_is_refused_not_read_as_empty(here, selection, message):
    with pytest.raises(quyhoach.ResultsError) as err:
        quyhoach.read_results("results/all", **selection)
    assert str(err.value) == f"results/all {message}"


def test_a_province_whose_tasks_failed_is_refused_as_such(workdir, tmp_path):
    import json
    import shutil

    copy = tmp_path / "ds"
    shutil.copytree(workdir / "results" / "all", copy)
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    for task_id, entry in manifest["tasks"].items():
        if task_id.startswith("lai_chau/"):
            entry.update(status="failed", error="RuntimeError: boom")
            entry.pop("files", None)
    (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    for table in ("paths", "bands", "feasibility"):
        shutil.rmtree(copy / table / "province=lai_chau")
    with pytest.raises(quyhoach.ResultsError, match=r"no finished task of province "
                                                    r"'lai_chau'.*run the batch again"):
        quyhoach.read_results(copy, province=["lai_chau", "lang_son"])
    assert set(quyhoach.read_results(copy, province="lang_son").paths["province"]) == \
        {"lang_son"}


def test_a_results_directory_refuses_keys_it_does_not_hold(tmp_path, lai_chau_results):
    out = lai_chau_results.to_parquet(tmp_path / "run")
    with pytest.raises(quyhoach.ResultsError, match="holds no province 'lang_son'; "
                                                    "expected one of 'lai_chau'"):
        quyhoach.read_results(out, province="lang_son")
    with pytest.raises(quyhoach.ResultsError, match="holds no scenario 'bse'; did you "
                                                    "mean 'base'"):
        quyhoach.read_results(out, scenario=["high", "bse"])
    one = quyhoach.read_results(out, province="lai_chau")
    assert one.province == "lai_chau" and len(one.paths) == len(lai_chau_results.paths)


def test_the_readme_shows_exactly_the_tested_queries():
    """The tests run these constants; the README must show the same text."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    for code in (DUCKDB_SQL, POLARS_CODE, READ_RESULTS_CODE):
        assert code.strip() in readme
