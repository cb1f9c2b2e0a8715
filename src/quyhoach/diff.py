"""Two drafts of a plan compared: assumptions, targets, and how every target moved.

A provincial plan goes draft 1 → draft 2 → final → consultation → appraisal → council →
approval. ``diff(old, new)`` says what changed between two plan files: each scenario's
assumptions (key, years, old and new value), targets added, removed or changed, and,
running both with the same seed and draws, how every target's projection and
probability moved.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .plan import Plan, load_plan

TARGET_FIELDS = ("indicator", "region", "kind", "first_year", "year", "comparison", "value",
                 "tolerance")


@dataclass(frozen=True)
class PlanDiff:
    """What changed from one draft to the next.

    Attributes
    ----------
    assumptions : pandas.DataFrame
        scenario, key, years ("2025-2030"), old, new (file units; NaN: not set), for
        every run of years in which a value differs; a scenario in one draft only is
        one row with key "(scenario)".
    targets : pandas.DataFrame
        target_id, change ("added", "removed", "changed"), what (the fields that
        changed, "field: old → new").
    outcomes : pandas.DataFrame
        scenario, target_id, projected_old, projected_new, met_old, met_new,
        probability_old, probability_new (NaN without draws), for targets and scenarios
        in both drafts.
    """

    old: str
    new: str
    assumptions: pd.DataFrame
    targets: pd.DataFrame
    outcomes: pd.DataFrame


def diff(old, new, *, draws: int = 0, seed: int | None = None) -> PlanDiff:
    """Compare two plan files (or plans): assumptions, targets, outcomes.

    Parameters
    ----------
    old, new : Plan or str or pathlib.Path
    draws, seed : int
        Monte Carlo of both drafts (the same draws for both); 0 draws compares the
        central paths only.
    """
    from .simulate import simulate

    old_plan = old if isinstance(old, Plan) else load_plan(old)
    new_plan = new if isinstance(new, Plan) else load_plan(new)
    before = simulate(old_plan, draws=draws, seed=seed)
    after = simulate(new_plan, draws=draws, seed=seed)
    return PlanDiff(str(old_plan.path), str(new_plan.path),
                    _assumptions(old_plan, new_plan), _targets(old_plan, new_plan),
                    _outcomes(before.feasibility(), after.feasibility()))


def _runs(years: np.ndarray, old: np.ndarray, new: np.ndarray) -> list[tuple[str, float,
                                                                               float]]:
    """(years, old, new) for each run of consecutive years with the same change."""
    def change(i: int):
        o, n = (None if np.isnan(v) else float(v) for v in (old[i], new[i]))
        return None if o == n else (o, n)

    out: list[tuple[str, float, float]] = []
    start = 0
    for i in range(1, len(years) + 1):
        if i < len(years) and change(i) == change(start):
            continue
        c = change(start)
        if c is not None:
            span = str(years[start]) if i - 1 == start else f"{years[start]}-{years[i - 1]}"
            out.append((span, np.nan if c[0] is None else c[0],
                        np.nan if c[1] is None else c[1]))
        start = i
    return out


def _assumptions(old: Plan, new: Plan) -> pd.DataFrame:
    rows: list[dict] = []
    for name in dict.fromkeys([*old.scenario_names, *new.scenario_names]):
        if name not in old.scenario_names or name not in new.scenario_names:
            rows.append({"scenario": name, "key": "(scenario)", "years": "",
                         "old": "absent" if name not in old.scenario_names else "present",
                         "new": "absent" if name not in new.scenario_names else "present"})
            continue
        a, b = old.scenario(name), new.scenario(name)
        for key in sorted(set(a.values) | set(b.values)):
            x = a.values.get(key, np.full(len(old.years), np.nan))
            y = b.values.get(key, np.full(len(new.years), np.nan))
            if len(x) != len(y):
                continue  # different year axes: compared through the outcomes
            for span, o, n in _runs(old.years, np.asarray(x), np.asarray(y)):
                rows.append({"scenario": name, "key": key, "years": span, "old": o, "new": n})
    return pd.DataFrame(rows, columns=["scenario", "key", "years", "old", "new"])


def _targets(old: Plan, new: Plan) -> pd.DataFrame:
    a = {t.id: t for t in old.targets}
    b = {t.id: t for t in new.targets}
    rows = []
    for tid in dict.fromkeys([*a, *b]):
        if tid not in b:
            rows.append({"target_id": tid, "change": "removed", "what": _stated(a[tid])})
        elif tid not in a:
            rows.append({"target_id": tid, "change": "added", "what": _stated(b[tid])})
        else:
            what = [f"{f}: {getattr(a[tid], f)!s} → {getattr(b[tid], f)!s}"
                    for f in TARGET_FIELDS if getattr(a[tid], f) != getattr(b[tid], f)]
            if what:
                rows.append({"target_id": tid, "change": "changed", "what": "; ".join(what)})
    return pd.DataFrame(rows, columns=["target_id", "change", "what"])


def _stated(t) -> str:
    """A target in a few words: ``grdp_per_capita >= 116.6 (2030)``."""
    period = f"{t.first_year}-{t.year}" if t.first_year else str(t.year)
    band = f" ± {t.tolerance:g}" if t.comparison == "about" else ""
    where = f" [{t.region}]" if t.region else ""
    return f"{t.indicator}{where} {t.comparison} {t.value:g}{band} ({period})"


def _outcomes(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    cols = ["scenario", "target_id", "projected", "met", "probability"]
    a = before[cols].astype({"scenario": str, "target_id": str})
    b = after[cols].astype({"scenario": str, "target_id": str})
    merged = a.merge(b, on=["scenario", "target_id"], suffixes=("_old", "_new"))
    return merged[["scenario", "target_id", "projected_old", "projected_new", "met_old",
                   "met_new", "probability_old", "probability_new"]]


TEXT = {
    "vi": {"title": "SO SÁNH HAI DỰ THẢO", "assumptions": "Giả định thay đổi",
           "targets": "Mục tiêu thêm, bỏ, thay đổi", "outcomes": "Dự báo và xác suất đạt",
           "added": "thêm", "removed": "bỏ", "changed": "đổi", "none": "(không có)"},
    "en": {"title": "TWO DRAFTS COMPARED", "assumptions": "Assumptions changed",
           "targets": "Targets added, removed, changed", "outcomes": "Projections and chances",
           "added": "added", "removed": "removed", "changed": "changed", "none": "(none)"},
}


def format_diff(d: PlanDiff, lang: str = "vi") -> str:
    """The comparison as text, Vietnamese or English."""
    t = TEXT[lang]
    lines = [f"{t['title']}: {d.old} → {d.new}", "", f"{t['assumptions']}:"]
    lines += [f"  - [{r.scenario}] {r.key} {r.years}: {_num(r.old)} → {_num(r.new)}"
              for r in d.assumptions.itertuples()] or [f"  {t['none']}"]
    lines += ["", f"{t['targets']}:"]
    lines += [f"  - {r.target_id}: {t[r.change]}{' — ' + r.what if r.what else ''}"
              for r in d.targets.itertuples()] or [f"  {t['none']}"]
    lines += ["", f"{t['outcomes']}:"]
    for r in d.outcomes.itertuples():
        moved = f"{_num(r.projected_old)} → {_num(r.projected_new)}"
        if not (np.isnan(r.probability_old) or np.isnan(r.probability_new)):
            moved += f" ({r.probability_old:.0%} → {r.probability_new:.0%})"
        if r.projected_old != r.projected_new or r.probability_old != r.probability_new:
            lines.append(f"  - [{r.scenario}] {r.target_id}: {moved}")
    return "\n".join(lines)


def _num(x) -> str:
    if isinstance(x, str):
        return x
    return "—" if x is None or np.isnan(x) else f"{x:.4g}"
