"""Reconciliation of a province's targets and projections with its members'.

Before a province submits its plan, each locality's figures are set beside the
province's. For every province target on an indicator projected by member (and every
target a member states), the table shows, per scenario, each region's target (where
one is stated) and projection, the members' sum against the province (for levels,
which add up), and the probability that the targets of the group are met together in
the same draw. Indicators projected by member without any target are shown in the last
target year, so the province can see what each member contributes before it sets their
targets; a ratio's level beside it (the urban population beside urbanization), whose
members' sum is the province's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import targets as tg
from .plan import Target
from .registry import BLOCK_OF_OUTPUT, BY_NAME, HISTORY

COLUMNS = ["scenario", "group", "indicator", "kind", "period", "region", "region_vi",
           "region_en", "parts", "target_id", "comparison", "target", "unit", "projected", "met",
           "probability", "share_of_province", "probability_together"]


def _key(t) -> tuple:
    return t.indicator, t.kind, t.first_year, t.year


def _by_member(plan, indicator: str) -> bool:
    """Whether the members project an output (its block is in ``regions.blocks``)."""
    return BLOCK_OF_OUTPUT[indicator] in plan.regions.blocks


def groups(plan) -> list[list[int]]:
    """Targets reconciled together (indices, the province's first): those sharing an
    indicator, kind and period, where a member states one or the members project the
    indicator."""
    by_key: dict[tuple, list[int]] = {}
    for j, t in enumerate(plan.targets):
        by_key.setdefault(_key(t), []).append(j)
    out = []
    for members in by_key.values():
        ts = [plan.targets[j] for j in members]
        if any(t.region for t in ts) or _by_member(plan, ts[0].indicator):
            out.append(sorted(members, key=lambda j: (plan.targets[j].region != "", j)))
    return out


def table(results) -> pd.DataFrame:
    """The reconciliation table of a simulated run (see the module docstring).

    Columns: scenario, group, indicator, kind, period, region (id; the province's key
    for the whole), region_vi, region_en, parts (for a group of members, the members it
    sums; else ""), target_id ("" where the region states no
    target), comparison, target (NaN where none), unit, projected (central), met
    (central; False without a target), probability (Monte Carlo; NaN without draws or
    target), share_of_province (a member's projection over the province's, for levels
    that add up), probability_together (share of draws meeting every target of the
    group).
    """
    plan = results.plan
    if not plan.regions.members:
        return pd.DataFrame(columns=COLUMNS)
    feas = results.feasibility().set_index(["scenario", "target_id"])
    rows: list[dict] = []
    covered = set()
    for g, members in enumerate(groups(plan)):
        targets = [plan.targets[j] for j in members]
        covered.add(targets[0].indicator)
        for name in results.scenarios:
            rows += _group_rows(results, name, targets, feas, results.joint_probability(name, g))
    year = results._last_target_year
    for indicator in _untargeted(plan, covered):
        if not np.isfinite(results.values(results.scenarios[0], indicator)).any():
            continue
        probe = Target(f"{indicator}_{year}", indicator, "level", ">=", np.nan, 0.0, year,
                          None, "", "", "")
        for name in results.scenarios:
            rows += _group_rows(results, name, [probe], None, np.nan)
    return pd.DataFrame(rows, columns=COLUMNS)


def _untargeted(plan, covered: set) -> list[str]:
    """Indicators projected by member without a target, shown in the last target year:
    each one history pins and, after a ratio (urbanization = urban / total population),
    the level it is the ratio of, whose members' sum is the province's."""
    out: list[str] = []
    for h in HISTORY:
        indicator = h.pins[0]
        if indicator in covered or not _by_member(plan, indicator) or h.derived_from:
            continue
        out.append(indicator)
        parent = BY_NAME[indicator].parent
        if parent.rule == "ratio":
            numerator = parent.of[0]
            if BY_NAME[numerator].parent.rule == "sum" and _by_member(plan, numerator) \
                    and numerator not in covered:
                out.append(numerator)
    return list(dict.fromkeys(out))


def _group_rows(results, scenario: str, targets: list, feas, together: float) -> list[dict]:
    """The province's row, then one per member, for one group and scenario."""
    plan = results.plan
    head = targets[0]
    var = BY_NAME[head.indicator]
    period = f"{head.first_year}-{head.year}" if head.first_year else str(head.year)
    adds_up = var.parent.rule == "sum" and head.kind in ("level", "cumulative")
    stated = {t.region: t for t in targets}
    base = plan.base_year
    parts = {m.id: m.parts for m in plan.regions.members}
    rows = []
    province_value = np.nan
    for region in [plan.province, *plan.regions.ids]:
        key = "" if region == plan.province else region
        t = stated.get(key) if feas is not None else None  # None: no target stated
        x = results.values(scenario, head.indicator, region)[None, :]
        with np.errstate(all="ignore"):
            projected = float(tg.target_metric(head, x, base)[0])
        if region == plan.province:
            province_value = projected
        row = feas.loc[(scenario, t.id)] if t is not None and feas is not None else None
        t = t if row is not None else None
        rows.append({
            "scenario": scenario, "group": f"{head.indicator} {period}",
            "indicator": head.indicator, "kind": head.kind, "period": period,
            "region": region,
            "region_vi": plan.regions.name(key, "vi") if key else plan.name_vi,
            "region_en": plan.regions.name(key, "en") if key else plan.name_en,
            "parts": ", ".join(parts.get(key, ())),
            "target_id": t.id if t is not None else "",
            "comparison": t.comparison if t is not None else "",
            "target": t.value if t is not None else np.nan,
            "unit": tg.metric_unit(head), "projected": projected,
            "met": bool(row["met"]) if row is not None else False,
            "probability": float(row["probability"]) if row is not None else np.nan,
            "share_of_province": (projected / province_value if adds_up and key
                                  and province_value else np.nan),
            "probability_together": together})
    return rows
