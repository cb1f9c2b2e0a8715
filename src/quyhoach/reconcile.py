"""Reconciliation of a province's targets with its members' (localities, former provinces).

Before a province submits its plan, each locality's targets are set beside the
province's: the same indicator, kind and period, one row per region. The table shows,
per scenario, each region's target and projection, the sum of the members' targets
against the province's target (for levels, which add up), and the probability that the
whole group is met together in the same draw.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .registry import BY_NAME


def _key(t) -> tuple:
    return t.indicator, t.kind, t.first_year, t.year


def groups(plan) -> list[list[int]]:
    """Targets to reconcile: indices of the targets (province's first) sharing an
    indicator, kind and period in more than one region."""
    by_key: dict[tuple, list[int]] = {}
    for j, t in enumerate(plan.targets):
        by_key.setdefault(_key(t), []).append(j)
    out = []
    for members in by_key.values():
        if len({plan.targets[j].region for j in members}) > 1:
            out.append(sorted(members, key=lambda j: (plan.targets[j].region != "", j)))
    return out


COLUMNS = ["scenario", "group", "indicator", "kind", "period", "region", "region_vi",
           "region_en", "target_id", "comparison", "target", "unit", "projected", "met",
           "probability", "members_target_sum", "probability_together"]


def table(results) -> pd.DataFrame:
    """The reconciliation table of a simulated run (see the module docstring).

    Columns: scenario, group (the reconciled indicator and period), indicator, kind,
    period, region (id; the province's key for the whole), region_vi, region_en,
    target_id, comparison, target, unit, projected (central), met (central),
    probability (Monte Carlo; NaN without draws), members_target_sum (on the
    province's row: the sum of its members' targets, for levels that add up),
    probability_together (share of draws meeting every target of the group).
    """
    plan = results.plan
    feas = results.feasibility()
    rows = []
    for g, members in enumerate(groups(plan)):
        targets = [plan.targets[j] for j in members]
        head = targets[0]
        var = BY_NAME[head.indicator]
        period = f"{head.first_year}-{head.year}" if head.first_year else str(head.year)
        adds_up = var.parent.rule == "sum" and head.kind in ("level", "cumulative")
        member_sum = sum(t.value for t in targets if t.region) if adds_up else np.nan
        for name in results.scenarios:
            together = results.joint_probability(name, g)
            for t in targets:
                row = feas[(feas["scenario"] == name) & (feas["target_id"] == t.id)].iloc[0]
                region = t.region or plan.province
                rows.append({
                    "scenario": name, "group": f"{head.indicator} {period}",
                    "indicator": head.indicator, "kind": head.kind, "period": period,
                    "region": region,
                    "region_vi": plan.regions.name(t.region, "vi") if t.region else plan.name_vi,
                    "region_en": plan.regions.name(t.region, "en") if t.region else plan.name_en,
                    "target_id": t.id, "comparison": t.comparison, "target": t.value,
                    "unit": row["unit"], "projected": row["projected"], "met": row["met"],
                    "probability": row["probability"],
                    "members_target_sum": member_sum if not t.region else np.nan,
                    "probability_together": together})
    return pd.DataFrame(rows, columns=COLUMNS)
