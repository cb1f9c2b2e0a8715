"""Two drafts of a plan compared (quyhoach.diff)."""

import numpy as np

import quyhoach
from conftest import LAI_CHAU, ROOT
from quyhoach.diff import diff, format_diff

DRAFT = ROOT / "scenarios" / "drafts" / "lai_chau_2021_06.toml"


def test_the_june_2021_draft_against_the_approved_plan():
    d = diff(DRAFT, LAI_CHAU)
    added = d.targets.set_index("target_id")
    assert added.loc["grdp_growth_2021_2030_approved", "change"] == "added"
    assert added.loc["grdp_growth_2021_2030_approved", "what"] == \
        "grdp_real about 10 ± 1 (2021-2030)"
    assert added.loc["grdp_per_capita_2030", "what"] == "grdp_per_capita >= 116.6 (2030)"
    assert "removed" not in set(d.targets["change"])  # the approved file keeps the draft's
    assert d.assumptions.empty  # the draft file keeps the approved plan's scenarios
    same = d.outcomes  # the draft's targets, under the same assumptions: unchanged
    np.testing.assert_array_equal(same["projected_old"], same["projected_new"])
    assert len(same) == 4 * len(quyhoach.load_plan(DRAFT).targets)
    text = format_diff(d, "vi")
    assert "SO SÁNH HAI DỰ THẢO" in text and "grdp_growth_2021_2030_approved: thêm" in text


def test_changed_assumptions_and_targets_are_listed_and_moved(tmp_path):
    old = quyhoach.load_plan(LAI_CHAU)
    new = old.with_scenario("base", growth={"industry_construction": {"2025-2030": 16.0,
                                                                       "2031-2050": 9.0}})
    new = new.with_target("tourists_2030", value=2500000.0)
    d = diff(old, new, draws=400, seed=3)
    a = d.assumptions.set_index(["scenario", "key", "years"])
    assert a.loc[("base", "growth.industry_construction", "2025-2030"), "new"] == 16.0
    assert ("low", "growth.industry_construction", "2025-2030") not in a.index  # own values
    t = d.targets.set_index("target_id")
    assert t.loc["tourists_2030", "what"] == "value: 2000000.0 → 2500000.0"
    o = d.outcomes.set_index(["scenario", "target_id"])
    g = o.loc[("base", "industry_growth_2021_2030")]
    assert g["projected_new"] > g["projected_old"] and g["probability_new"] >= \
        g["probability_old"]
    assert "[base] growth.industry_construction 2025-2030: 13.6 → 16" in format_diff(d, "en")


def test_the_diff_command_prints_both_languages(capsys):
    from quyhoach.cli import main

    assert main(["diff", str(DRAFT), str(LAI_CHAU), "--draws", "0", "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("TWO DRAFTS COMPARED") and "grdp_per_capita_2030: added" in out
    assert main(["diff", str(DRAFT), str(ROOT / "no_such.toml")]) == 2
