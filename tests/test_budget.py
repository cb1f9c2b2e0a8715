"""Budget revenue by component: domestic (buoyancy), import-export and land use."""

import re

import numpy as np
import pytest

import quyhoach
from conftest import LAI_CHAU, ROOT, localise
from quyhoach.kernels import layout as L
from test_kernel import run_kernel, synthetic


def test_a_split_budget_is_the_sum_of_its_components_in_every_draw():
    inputs = synthetic()
    rng = np.random.default_rng(2)
    shocks = rng.normal(0.0, 0.02, (50, inputs.rates.shape[1], L.N_CHANNELS))
    shocks[:, :, L.C_FX] = 0.0
    out = run_kernel(inputs, shocks)
    parts = (out[:, :, L.V_BUDGET_DOMESTIC] + out[:, :, L.V_BUDGET_IMPORT_EXPORT]
             + out[:, :, L.V_BUDGET_LAND_USE])
    np.testing.assert_allclose(out[:, 1:, L.V_BUDGET_REVENUE], parts[:, 1:], rtol=1e-13)


def test_components_follow_their_own_rules():
    inputs = synthetic()
    out = run_kernel(inputs, np.zeros((1, inputs.rates.shape[1], L.N_CHANNELS)))[0]
    ie = out[:, L.V_BUDGET_IMPORT_EXPORT]
    np.testing.assert_allclose(ie[1:] / ie[:-1], 1.08, rtol=1e-12)  # its own growth
    land = out[:, L.V_BUDGET_LAND_USE]
    np.testing.assert_allclose(land[1:] / land[:-1], 0.98, rtol=1e-12)
    nominal, domestic = out[:, L.V_GRDP_NOMINAL], out[:, L.V_BUDGET_DOMESTIC]
    np.testing.assert_allclose(domestic[1:] / domestic[:-1], nominal[1:] / nominal[:-1],
                               rtol=1e-12)  # buoyancy 1: grows with nominal GRDP


SPLIT_2024 = (("budget_domestic", 2024, 1900), ("budget_import_export", 2024, 300),
              ("budget_land_use", 2024, 165))


def _with_components(tmp_path, growth: str | None, split=SPLIT_2024,
                     drop_total=False) -> quyhoach.plan.Plan:
    """Lai Châu with a made-up split of its revenue (2024: 2,365 = 1,900 + 300 + 165)."""
    rows = (ROOT / "inputs" / "lai_chau" / "history.csv").read_text(encoding="utf-8")
    if drop_total:
        rows = "\n".join(r for r in rows.splitlines() if not r.startswith("budget_revenue,"))
        rows += "\n"
    for name, year, value in split:
        rows += f"{name},{year},{value},billion VND,estimate,test split,made up for a test\n"
    (tmp_path / "inputs").mkdir(parents=True)
    (tmp_path / "inputs" / "history.csv").write_text(rows, encoding="utf-8")
    text = localise(LAI_CHAU.read_text(encoding="utf-8"))
    text = re.sub(r'(?m)^inputs = ".*"$', f'inputs = "{tmp_path / "inputs"}"', text)
    if growth is not None:  # keys of the base scenario's [scenarios.base.budget] table
        text = text.replace("[scenarios.base.budget]\n", f"[scenarios.base.budget]\n{growth}\n",
                            1)
    plan = tmp_path / "plan.toml"
    plan.write_text(text, encoding="utf-8")
    return quyhoach.load_plan(plan)


def test_a_plan_with_a_split_budget_runs_and_sums(tmp_path):
    plan = _with_components(tmp_path, "import_export_growth = 10.0\nland_use_growth = 0.0")
    res = quyhoach.simulate(plan, scenarios=["base"])
    y = list(plan.years)
    total = res.values("base", "budget_revenue")
    parts = sum(res.values("base", v) for v in
                ("budget_domestic", "budget_import_export", "budget_land_use"))
    assert total[y.index(2024)] == 2365.0  # the observed total stays as observed
    np.testing.assert_allclose(total[y.index(2025):], parts[y.index(2025):], rtol=1e-12)
    ie = res.values("base", "budget_import_export")
    assert ie[y.index(2026)] == pytest.approx(300 * 1.1 ** 2, rel=1e-12)


def test_a_split_budget_needs_the_components_assumptions(tmp_path):
    with pytest.raises(quyhoach.PlanError) as err:
        quyhoach.simulate(_with_components(tmp_path, None), scenarios=["base"])
    text = str(err.value)
    assert "scenarios.base.budget.import_export_growth: no value for 2025-2050" in text
    assert "scenarios.base.budget.land_use_growth: no value for 2025-2050" in text


def test_a_split_budget_without_a_total_grows_domestic_revenue_with_buoyancy(tmp_path):
    split = (("budget_domestic", 2022, 1500), ("budget_import_export", 2022, 400))
    plan = _with_components(tmp_path, "import_export_growth = 10.0", split, drop_total=True)
    res = quyhoach.simulate(plan, scenarios=["base"])
    y = list(plan.years)
    domestic = res.values("base", "budget_domestic")
    nominal = res.values("base", "grdp_nominal")
    t = y.index(2023)  # buoyancy applies from the year after domestic revenue's last figure
    b = res._runs["base"].inputs.rates[-1, t, L.C_BUOYANCY]
    assert b > 0 and domestic[t] == pytest.approx(1500 * (nominal[t] / nominal[t - 1]) ** b)
    total = res.values("base", "budget_revenue")
    assert total[y.index(2022)] == 1900.0
    np.testing.assert_allclose(total[y.index(2023):], domestic[y.index(2023):]
                               + res.values("base", "budget_import_export")[y.index(2023):])
    status = res._runs["base"].status["budget_revenue"]
    assert status[y.index(2022)] == "derived" and status[y.index(2023)] == "projected"


def test_a_split_must_cover_the_totals_years_and_add_up(tmp_path):
    split = (("budget_domestic", 2022, 1500), ("budget_import_export", 2022, 400))
    with pytest.raises(quyhoach.InputDataError, match=r"observed in \[2023, 2024\] but its "
                                                        r"components only to 2022"):
        quyhoach.simulate(_with_components(tmp_path / "a", "import_export_growth = 10.0", split))
    bad = (("budget_domestic", 2024, 1000), ("budget_import_export", 2024, 300))
    with pytest.raises(quyhoach.InputDataError, match="2365 billion VND, but its components "
                                                      "add up to 1300"):
        quyhoach.simulate(_with_components(tmp_path / "b", "import_export_growth = 10.0", bad))
    alone = (("budget_import_export", 2024, 300),)
    with pytest.raises(quyhoach.InputDataError, match="without budget_domestic"):
        quyhoach.simulate(_with_components(tmp_path / "c", "import_export_growth = 10.0", alone))
