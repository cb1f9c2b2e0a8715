"""Regions: a province made of members (localities, former provinces), in every draw."""

import csv

import numpy as np
import pytest

import quyhoach
from conftest import LAI_CHAU, ROOT, check, localise
from quyhoach import montecarlo
from quyhoach.assemble import build_baselines
from quyhoach.registry import BLOCK_OF_HISTORY, BLOCKS, BY_NAME, HISTORY, MODEL_UNITS, VARIABLES

MEMBERS = ("north", "centre", "south")
ALL_BLOCKS = tuple(b.name for b in BLOCKS if b.outputs)
PINS = {h.indicator: h.pins[0] for h in HISTORY}


def split_plan(tmp_path, blocks, weights=(0.5, 0.3, 0.2), shock_share=1.0, edits=(),
               members=MEMBERS):
    """Lai Châu split into members that each hold ``weights[i]`` of every level (the
    same rates, shares and per-capita figures): a province-wide plan in disguise."""
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    with open(ROOT / "inputs" / "lai_chau" / "history.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    out = [{**r, "region": ""} for r in rows]
    # the plan's assumed 2020 urban share, as a row of each member
    assumed = {"indicator": "urbanization_rate", "year": "2020", "value": "14.66", "unit": "%",
               "status": "estimate", "source": "test: the plan's assumption", "note": ""}
    for member, w in zip(members, weights, strict=True):
        for r in [*rows, assumed]:
            name = r["indicator"]
            if name not in MODEL_UNITS or BLOCK_OF_HISTORY[name] not in blocks:
                continue
            value = float(r["value"])
            if BY_NAME[PINS[name]].parent.rule == "sum":
                value *= w
            out.append({**r, "value": repr(value), "region": member})
    with open(inputs / "history.csv", "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=[*rows[0].keys(), "region"])
        writer.writeheader()
        writer.writerows(out)
    text = localise(LAI_CHAU.read_text(encoding="utf-8")).replace(
        (ROOT / "inputs" / "lai_chau").as_posix(), inputs.as_posix())
    members = "".join(f'\n[[regions.members]]\nid = "{m}"\nname_vi = "Huyện {m}"\n'
                      f'name_en = "{m.title()} district"\n' for m in members)
    regions = (f"[regions]\nblocks = {list(blocks)!r}\nshock_share = {shock_share}\n"
               f"{members}\n").replace("'", '"')
    text = text.replace("[[assumed_data]]", regions + "[[assumed_data]]", 1)
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = tmp_path / "plan.toml"
    path.write_text(text, encoding="utf-8")
    return path


def kept_draws(plan_path, scenario="base", draws=300, seed=3):
    """Every draw of one scenario, float64, shape (draws, regions, years, variables)."""
    plan = quyhoach.load_plan(plan_path)
    res = quyhoach.simulate(plan, scenarios=[scenario])
    baselines = build_baselines(plan, res.history)
    inputs = res._runs[scenario].inputs
    chunks = []
    montecarlo.run(plan, plan.scenario(scenario), inputs, baselines, draws=draws, seed=seed,
                   chunk_size=256, on_chunk=lambda first, values: chunks.append(values.copy()))
    values = np.concatenate(chunks)
    n_regions, n_years = inputs.rates.shape[:2]
    return res, values[:, : n_regions * n_years * len(VARIABLES)].reshape(
        draws, n_regions, n_years, len(VARIABLES))


@pytest.mark.slow
def test_members_sum_to_the_province_in_every_draw(tmp_path):
    plan = split_plan(tmp_path, ("population", "urbanization"), shock_share=0.5, edits=[(
        "[scenarios.base]", "[scenarios.base.regions.north.population]\n"
        'net_migration_rate = { "2023-2050" = -4.0 }\n\n[scenarios.base]')])
    res, x = kept_draws(plan)
    members, province = x[:, :3], x[:, 3]
    idx = {v.name: i for i, v in enumerate(VARIABLES)}
    with np.errstate(invalid="ignore", divide="ignore"):
        for name in ("population", "population_urban", "population_rural"):
            np.testing.assert_allclose(members[..., idx[name]].sum(axis=1),
                                       province[..., idx[name]], rtol=1e-13, err_msg=name)
        np.testing.assert_allclose(
            province[..., idx["urbanization_rate"]],
            province[..., idx["population_urban"]] / province[..., idx["population"]],
            rtol=1e-13)
        pop = province[..., idx["population"]]
        growth = np.concatenate([np.full((len(x), 1), np.nan), pop[:, 1:] / pop[:, :-1] - 1],
                                axis=1)
        np.testing.assert_allclose(province[..., idx["population_growth"]], growth,
                                   rtol=1e-12)
    # members differ from draw to draw, and not all alike: own shocks (shock_share 0.5)
    share = members[:, :, -1, idx["population"]] / pop[:, -1:]
    assert share.std(axis=0).min() > 0
    # the member's own migration rate is used; the others inherit the province's
    north = res.values("base", "population", "north")
    centre = res.values("base", "population", "centre")
    assert north[-1] / north[3] < centre[-1] / centre[3]
    # the economy stays province-wide: no member has it
    assert np.isnan(members[..., idx["grdp_nominal"]]).all()
    assert set(res.paths["region"]) == {"lai_chau", *MEMBERS}
    assert not (res.paths["region"].isin(MEMBERS) & (res.paths["variable"] == "grdp_real")).any()


@pytest.mark.slow
def test_a_province_split_into_proportional_members_gives_the_province_wide_results(tmp_path):
    whole = quyhoach.simulate(LAI_CHAU, draws=2000, seed=5)
    split = quyhoach.simulate(split_plan(tmp_path, ALL_BLOCKS), draws=2000, seed=5)
    a = whole.paths.set_index(["scenario", "variable", "year"])["value"]
    p = split.paths[split.paths["region"] == "lai_chau"]
    b = p.set_index(["scenario", "variable", "year"])["value"]
    assert a.index.equals(b.index)
    np.testing.assert_allclose(b.to_numpy(), a.to_numpy(), rtol=1e-11, atol=1e-9)
    fa, fb = whole.feasibility(), split.feasibility()
    np.testing.assert_allclose(fb["projected"], fa["projected"], rtol=1e-11)
    np.testing.assert_array_equal(fb["probability"], fa["probability"])
    ba = whole.bands().set_index(["scenario", "variable", "year"])
    bb = split.bands()
    bb = bb[bb["region"] == "lai_chau"].set_index(["scenario", "variable", "year"])
    for col in ("mean", "sd", "central"):
        np.testing.assert_allclose(bb[col], ba[col], rtol=1e-8, atol=1e-8, err_msg=col)


def test_history_rows_of_an_undeclared_region_are_refused(tmp_path):
    plan = split_plan(tmp_path, ("population",))
    text = plan.read_text(encoding="utf-8").replace('id = "south"', 'id = "west"')
    plan.write_text(text, encoding="utf-8")
    with pytest.raises(quyhoach.InputDataError) as err:
        quyhoach.simulate(plan)
    assert "region south: rows for a region the plan does not declare" in str(err.value)
    assert "its members are north, centre, west" in str(err.value)


def test_the_members_and_the_provinces_own_history_are_compared_in_the_notes(tmp_path):
    res = quyhoach.simulate(split_plan(tmp_path, ("population",), weights=(0.5, 0.3, 0.25)))
    assert any(n.startswith("population 2022: the members sum to") and "+5.00%" in n
               for n in res.notes)


def test_a_member_without_its_history_is_named(tmp_path):
    plan = split_plan(tmp_path, ("population",))
    lines = (plan.parent / "inputs" / "history.csv").read_text(encoding="utf-8").splitlines()
    kept = [ln for ln in lines if not (ln.startswith("population,") and ln.endswith(",south"))]
    (plan.parent / "inputs" / "history.csv").write_text("\n".join(kept) + "\n", encoding="utf-8")
    with pytest.raises(quyhoach.InputDataError) as err:
        quyhoach.simulate(plan)
    assert "population [region south]: missing base-year data" in str(err.value)


def test_a_block_by_member_needs_what_it_reads_by_member(tmp_path):
    with pytest.raises(quyhoach.PlanError) as err:
        quyhoach.load_plan(split_plan(tmp_path, ("urbanization",)))
    assert "'urbanization' by member needs population by member too" in str(err.value)


def test_a_target_may_name_a_member_and_an_unknown_member_is_refused(tmp_path):
    target = ('[[targets]]\nid = "north_population_2030"\nindicator = "population"\n'
              'region = "{}"\nkind = "level"\nyear = 2030\ncomparison = ">="\nvalue = 250\n'
              'label_vi = "Dân số"\nlabel_en = "Population"\nsource = "test"\n\n[[targets]]')
    plan = split_plan(tmp_path, ("population",),
                      edits=[("\n[[targets]]\n", "\n" + target.format("north") + "\n")])
    res = quyhoach.simulate(plan, draws=500, seed=1)
    row = res.feasibility().set_index(["scenario", "target_id"]).loc[("base",
                                                                       "north_population_2030")]
    assert row["region"] == "north"
    assert row["projected"] == pytest.approx(res.values("base", "population", "north")[-21])
    plan.write_text(plan.read_text(encoding="utf-8").replace('region = "north"',
                                                             'region = "nord"'), encoding="utf-8")
    with pytest.raises(quyhoach.PlanError) as err:
        quyhoach.load_plan(plan)
    assert "region: no member region 'nord' in [[regions.members]]; did you mean 'north'" \
        in str(err.value)


def test_a_scenario_table_for_an_unknown_member_is_refused(tmp_path):
    plan = split_plan(tmp_path, ("population",), edits=[(
        "[scenarios.base]", "[scenarios.base.regions.nort.population]\n"
        'birth_rate = { "2023-2050" = 15.0 }\n\n[scenarios.base]')])
    with pytest.raises(quyhoach.PlanError) as err:
        quyhoach.load_plan(plan)
    assert "scenarios.base.regions.nort: no member region 'nort'" in str(err.value)


def test_a_member_may_not_change_what_only_a_scenario_says(tmp_path):
    plan = split_plan(tmp_path, ("population",), edits=[(
        "[scenarios.base]", "[scenarios.base.regions.north]\nlabel_vi = \"x\"\n\n"
        "[scenarios.base]")])
    with pytest.raises(quyhoach.PlanError) as err:
        quyhoach.load_plan(plan)
    assert "scenarios.base.regions.north: unknown key 'label_vi'" in str(err.value)


def test_a_members_impossible_value_is_refused_as_in_a_scenario(tmp_path):
    plan = split_plan(tmp_path, ("population",), edits=[(
        "[scenarios.base]", "[scenarios.base.regions.north.population]\n"
        'death_rate = { "2023-2050" = -3.0 }\n\n[scenarios.base]')])
    with pytest.raises(quyhoach.PlanError) as err:
        quyhoach.load_plan(plan)
    assert "scenarios.base.regions.north.population.death_rate" in str(err.value)


def test_history_of_members_is_identical_in_every_draw(tmp_path):
    res, x = kept_draws(split_plan(tmp_path, ("population", "urbanization"), shock_share=0.3),
                        draws=200)
    run = res._runs["base"]
    for r, status in enumerate(run.region_status):
        for i, var in enumerate(VARIABLES):
            cells = status[var.name] != "projected"
            got = x[:, r, cells, i]
            want = np.broadcast_to(run.regional[r, cells, i], got.shape)
            assert np.array_equal(got, want, equal_nan=True), (r, var.name)


def test_regions_parse_errors(tmp_path):
    plan = split_plan(tmp_path, ("population",), shock_share=1.5)
    with pytest.raises(quyhoach.PlanError) as err:
        quyhoach.load_plan(plan)
    assert "regions.shock_share: expected a share of variance from 0 to 1, found 1.5" \
        in str(err.value)
    text = plan.read_text(encoding="utf-8").replace("shock_share = 1.5", "shock_share = 0.5")
    plan.write_text(text.replace('blocks = ["population"]', 'blocks = ["populaton"]'),
                    encoding="utf-8")
    with pytest.raises(quyhoach.PlanError) as err:
        quyhoach.load_plan(plan)
    assert "regions.blocks: unknown block 'populaton'; did you mean 'population'" \
        in str(err.value)
    plan.write_text(text.replace('id = "south"', 'id = "lai_chau"'), encoding="utf-8")
    with pytest.raises(quyhoach.PlanError) as err:
        quyhoach.load_plan(plan)
    assert "regions.members[2].id: 'lai_chau' is the province's own key" in str(err.value)


def test_results_of_a_plan_with_members_read_back_and_export(tmp_path):
    plan = split_plan(tmp_path, ("population", "urbanization"), shock_share=0.5)
    res = quyhoach.simulate(plan, scenarios=["base"], draws=300, seed=2)
    out = res.to_parquet(tmp_path / "out")
    back = quyhoach.read_results(out)
    assert back.manifest["regions"] == ["lai_chau", *MEMBERS]
    assert back.manifest["regions_blocks"] == ["population", "urbanization"]
    for region in (None, "north"):
        np.testing.assert_array_equal(back.values("base", "population", region),
                                      res.values("base", "population", region))
    b = back.bands("population", "base", region="south")
    assert len(b) and set(b["region"]) == {"south"}
    iamc = res.to_iamc()
    assert set(iamc["region"]) == {"lai_chau", *MEMBERS}
    north = iamc[(iamc["region"] == "north") & (iamc["variable"] == "Population")]
    assert not north.empty
    with pytest.raises(KeyError, match="no region 'nort'; did you mean 'north'"):
        res.values("base", "population", "nort")


def test_a_members_assumptions_change_in_code_through_the_same_validator(tmp_path):
    plan = quyhoach.load_plan(split_plan(tmp_path, ("population",)))
    fast = plan.with_scenario("fast", inherits="base",
                              regions={"north": {"population": {"birth_rate": 25.0}}})
    assert fast.scenario("fast").in_region("north").values["population.birth_rate"][-1] == 25.0
    assert fast.scenario("fast").in_region("south") is fast.scenario("fast")
    with pytest.raises(quyhoach.PlanError) as err:
        plan.with_scenario("bad", inherits="base",
                           regions={"north": {"population": {"birth_rate": 2000.0}}})
    assert "scenarios.bad.regions.north.population.birth_rate" in str(err.value)


def test_a_group_of_members_is_their_sum_and_is_not_counted_twice(tmp_path):
    group = ('\n[[regions.members]]\nid = "upland"\nname_vi = "Vùng cao"\nname_en = "Upland"\n'
             'parts = ["north", "centre"]\n\n[[assumed_data]]')
    plan = split_plan(tmp_path, ("population", "urbanization"), shock_share=0.5,
                      edits=[("\n[[assumed_data]]", group)])
    res, x = kept_draws(plan, draws=200)
    north, centre, south, upland, province = (x[:, i] for i in range(5))
    idx = {v.name: i for i, v in enumerate(VARIABLES)}
    pop = idx["population"]
    np.testing.assert_allclose(upland[..., pop], north[..., pop] + centre[..., pop],
                               rtol=1e-13)
    np.testing.assert_allclose(province[..., pop], north[..., pop] + centre[..., pop]
                               + south[..., pop], rtol=1e-13)
    with np.errstate(invalid="ignore"):
        np.testing.assert_allclose(
            upland[..., idx["urbanization_rate"]],
            (north[..., idx["population_urban"]] + centre[..., idx["population_urban"]])
            / upland[..., pop], rtol=1e-12)
    assert res.regions == ["lai_chau", "north", "centre", "south", "upland"]
    text = plan.read_text(encoding="utf-8").replace('parts = ["north", "centre"]',
                                                    'parts = ["north", "west"]')
    plan.write_text(text, encoding="utf-8")
    with pytest.raises(quyhoach.PlanError) as err:
        quyhoach.load_plan(plan)
    assert "parts: 'west' is not a member; a group sums members that project" in str(err.value)


SCENARIOS_RULE = "# ---------------------------------------------------------------- scenarios"


def assumed_for(region: str, year: int = 2020, value: float = 30.0) -> str:
    """An [[assumed_data]] entry of a member's urban share, before the scenarios."""
    return (f'[[assumed_data]]\nindicator = "urbanization_rate"\nregion = "{region}"\n'
            f'year = {year}\nvalue = {value}\nunit = "%"\nnote = "test: the member\'s share"'
            f"\n\n{SCENARIOS_RULE}")


def without_rows(plan, indicator: str, region: str) -> None:
    """Drop a member's rows of one indicator from the plan's copied history."""
    path = plan.parent / "inputs" / "history.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    kept = [ln for ln in lines if not (ln.startswith(f"{indicator},") and
                                       ln.endswith(f",{region}"))]
    assert len(kept) < len(lines)
    path.write_text("\n".join(kept) + "\n", encoding="utf-8")


def test_an_assumed_figure_may_belong_to_a_member(tmp_path):
    plan = split_plan(tmp_path, ("population", "urbanization"),
                      edits=[(SCENARIOS_RULE, assumed_for("south"))])
    without_rows(plan, "urbanization_rate", "south")
    res = quyhoach.simulate(plan, scenarios=["base"])
    assert res.plan.assumed_data[-1].region == "south"
    assert res.values("base", "urbanization_rate", "south")[0] == pytest.approx(30.0)
    assert res.values("base", "urbanization_rate", "north")[0] == pytest.approx(14.66)
    assert res.values("base", "urbanization_rate")[0] == pytest.approx(  # the province
        (0.5 * 14.66 + 0.3 * 14.66 + 0.2 * 30.0) / 1.0)
    rows = res.history.table
    row = rows[(rows["region"] == "south") & (rows["indicator"] == "urbanization_rate")]
    assert list(row["status"]) == ["assumed"] and list(row["year"]) == [2020]


def test_an_assumed_figure_of_a_member_the_inputs_observe_is_refused(tmp_path):
    plan = split_plan(tmp_path, ("population", "urbanization"),
                      edits=[(SCENARIOS_RULE, assumed_for("south"))])
    with pytest.raises(quyhoach.PlanError) as err:
        quyhoach.simulate(plan, scenarios=["base"])
    check(err.value, plan, "assumed_data[1]", "urbanization_rate 2020 of region south is "
          "already observed in the inputs (14.66)", "remove the assumption")


def test_an_assumed_figures_region_must_be_a_member_that_projects_it(tmp_path):
    plan = split_plan(tmp_path, ("population", "urbanization"),
                      edits=[(SCENARIOS_RULE, assumed_for("nort"))])
    with pytest.raises(quyhoach.PlanError) as err:
        quyhoach.load_plan(plan)
    check(err.value, plan, "assumed_data[1].region", "no member region 'nort' in "
          "[[regions.members]]", "did you mean 'north'", "leave region out for a figure of "
          "the province")

    (tmp_path / "group").mkdir()
    (tmp_path / "population").mkdir()
    group = ('\n[[regions.members]]\nid = "upland"\nname_vi = "Vùng cao"\nname_en = "Upland"\n'
             'parts = ["north", "centre"]\n\n[[assumed_data]]')
    plan = split_plan(tmp_path / "group", ("population", "urbanization"),
                      edits=[("\n[[assumed_data]]", group),
                             (SCENARIOS_RULE, assumed_for("upland"))])
    with pytest.raises(quyhoach.PlanError) as err:
        quyhoach.load_plan(plan)
    check(err.value, plan, "assumed_data[1].region", "'upland' is a group of members: its "
          "figures are the sums of its parts (north, centre)", "assume the parts' figures")

    plan = split_plan(tmp_path / "population", ("population",),
                      edits=[(SCENARIOS_RULE, assumed_for("south"))])
    with pytest.raises(quyhoach.PlanError) as err:
        quyhoach.load_plan(plan)
    check(err.value, plan, "assumed_data[1].region", "'urbanization_rate' is read by the "
          "urbanization block, which the members do not project (regions.blocks = "
          '["population"])', "add 'urbanization' to regions.blocks", "or leave region out")


def test_an_assumed_figure_of_a_member_needs_members(tmp_path):
    path = tmp_path / "plan.toml"
    path.write_text(localise(LAI_CHAU.read_text(encoding="utf-8")).replace(
        SCENARIOS_RULE, assumed_for("north", 2021), 1), encoding="utf-8")
    with pytest.raises(quyhoach.PlanError) as err:
        quyhoach.load_plan(path)
    check(err.value, path, "assumed_data[1].region", "'north', but the plan declares no "
          "[[regions.members]]", "leave region out for a figure of the province")


def test_a_member_without_the_jump_off_of_a_block_it_projects_is_refused(tmp_path):
    """The province's figure would be the members' sum with one member blank."""
    plan = split_plan(tmp_path, ("population", "urbanization"))
    without_rows(plan, "urbanization_rate", "south")
    with pytest.raises(quyhoach.InputDataError) as err:
        quyhoach.simulate(plan, scenarios=["base"])
    message = str(err.value)
    assert "urbanization_rate [region south]" in message
    assert ("missing base-year data: no urbanization_rate figure for south in 2020-2024, "
            "but the urbanization block is projected by member") in message
    assert "add a row with region 'south' to the inputs, or an [[assumed_data]] entry " \
           'with region = "south"' in message


def test_a_part_that_joins_its_group_later_counts_from_that_year(tmp_path):
    group = ('\n[[regions.members]]\nid = "upland"\nname_vi = "Vùng cao"\nname_en = "Upland"\n'
             'parts = ["north", "centre"]\njoins = { centre = 2030 }\n\n[[assumed_data]]')
    plan = split_plan(tmp_path, ("population",), edits=[("\n[[assumed_data]]", group)])
    res = quyhoach.simulate(plan, scenarios=["base"])
    north, centre, upland = (res.values("base", "population", r)
                             for r in ("north", "centre", "upland"))
    later = res.years >= 2030
    np.testing.assert_array_equal(upland[~later], north[~later])
    np.testing.assert_allclose(upland[later], (north + centre)[later], rtol=1e-13)
    province = res.values("base", "population")
    assert np.isfinite(province).all()  # the province sums every member in every year


@pytest.mark.parametrize("joins, where, words", [
    ("{ south = 2030 }", "regions.members[3].joins",
     "'south' is not one of this group's parts"),
    ("{ centre = 2020 }", "regions.members[3].joins.centre", "2020 is outside 2021-2050"),
    ('"2030"', "regions.members[3].joins", "expected a table of part = year"),
])
def test_a_groups_joins_are_checked(tmp_path, joins, where, words):
    group = ('\n[[regions.members]]\nid = "upland"\nname_vi = "Vùng cao"\nname_en = "Upland"\n'
             f'parts = ["north", "centre"]\njoins = {joins}\n\n[[assumed_data]]')
    plan = split_plan(tmp_path, ("population",), edits=[("\n[[assumed_data]]", group)])
    with pytest.raises(quyhoach.PlanError) as err:
        quyhoach.load_plan(plan)
    check(err.value, plan, where, words)


def test_a_region_draws_shocks_only_for_the_channels_its_blocks_read(tmp_path):
    """Members that model population and urbanization draw no growth shocks of their own
    (the province reads every channel; income also reads the exchange rate), and
    drawing every channel everywhere changes no draw of any region."""
    from quyhoach.kernels import layout as L

    plan = quyhoach.load_plan(split_plan(tmp_path, ("population", "urbanization")))
    reads = montecarlo.channels_read(plan.regions.mode())
    member, province = reads[0], reads[-1]
    read = {c for c in range(L.N_CHANNELS) if member[c]}
    assert read == {L.C_BIRTH, L.C_DEATH, L.C_MIGRATION, L.C_REVISION, L.C_URBAN_SPEED,
                    L.C_RECLASS}
    assert province[L.C_GROWTH:L.C_GROWTH + 4].all() and province[L.C_FX]
    res = quyhoach.simulate(plan, scenarios=["base"])
    baselines = build_baselines(plan, res.history)
    inputs = res._runs["base"].inputs
    ua = montecarlo.uncertainty_arrays(plan, plan.scenario("base"), baselines)
    everywhere = dict(ua, region_reads=np.ones_like(ua["region_reads"]))
    np.testing.assert_array_equal(
        montecarlo.target_draws(plan, inputs, ua, draws=300, seed=5),
        montecarlo.target_draws(plan, inputs, everywhere, draws=300, seed=5))
