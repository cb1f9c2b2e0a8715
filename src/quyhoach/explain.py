"""What it would take and what drives a miss, as text for the committee (vi/en).

``quyhoach explain PLAN`` prints, for one scenario, every target with its chance, the
plan lever's value that gives it the chance sought (``quyhoach.analysis.effort``), the
rate the indicator then needs against the best year the inputs show, the sources
that account for most of its variance (``quyhoach.analysis.drivers``) and the one or
two conditions on the sampled inputs under which it is mostly missed, or, for a target
missed in most draws, mostly met (``quyhoach.misses.miss_conditions``).
"""

from __future__ import annotations

import math

from . import analysis, misses

TEXT = {
    "vi": {"title": "CẦN GÌ ĐỂ ĐẠT MỤC TIÊU VỚI XÁC SUẤT {p:.0%} — kịch bản {scenario}",
           "lever": "đòn bẩy", "shift": "điều chỉnh", "now": "xác suất hiện nay",
           "needed": "chỉ tiêu khi đó cần bình quân", "best": "cao nhất từng đạt",
           "beyond": "VƯỢT mọi năm trong số liệu", "drivers": "nguồn bất định chính",
           "condition": "điều kiện",
           "method": "Cùng một bộ mô phỏng ({draws} lần, seed {seed}) cho mọi phép tính; "
                     "tỷ trọng phương sai = phần phương sai mất đi khi cố định riêng nguồn đó. "
                     "Điều kiện (thuật toán PRIM): một hay hai khoảng giá trị của các yếu tố "
                     "bất định nơi tập trung các lần không đạt (hoặc các lần đạt, với mục tiêu "
                     "không đạt trong đa số lần mô phỏng)."},
    "en": {"title": "WHAT IT WOULD TAKE FOR A {p:.0%} CHANCE — scenario {scenario}",
           "lever": "lever", "shift": "shift", "now": "chance now",
           "needed": "the indicator then needs on average", "best": "best year observed",
           "beyond": "BEYOND any year in the inputs", "drivers": "main sources of uncertainty",
           "condition": "condition",
           "method": "The same draws ({draws}, seed {seed}) for every evaluation; variance "
                     "share = the variance that fixing that source alone removes. Condition "
                     "(PRIM): one or two ranges of the sampled inputs where the misses "
                     "concentrate (or the draws that meet it, for a target missed in most "
                     "draws)."},
}


def format_explain(results, scenario: str | None = None, *, probability: float = 0.8,
                   draws: int = analysis.DRAWS, seed: int | None = None,
                   lang: str = "vi", top: int = 3) -> str:
    """Effort and drivers of every target of one scenario, as text."""
    t = TEXT[lang]
    name = scenario or results.scenarios[0]
    effort = analysis.effort(results, name, probability=probability, draws=draws,
                             seed=seed).set_index("target_id")
    shares = analysis.drivers(results, name, draws=draws, seed=seed)
    conditions = misses.miss_conditions(results, name, draws=draws,
                                          seed=seed).set_index("target_id")
    used = analysis.seed_of(results, seed)
    lines = [t["title"].format(p=probability, scenario=name), ""]
    for target in results.plan.targets:
        e = effort.loc[target.id]
        label = target.label_vi if lang == "vi" else target.label_en
        lines.append(f"- {label} [{target.id}]: {t['now']} {e['probability_before']:.0%}")
        lines += [f"    {line}" for line in effort_lines(e, lang)]
        sources = drivers_text(shares, target.id, top)
        if sources:
            lines.append(f"    {t['drivers']}: {sources}")
        c = conditions.loc[target.id]
        if c["status"] != "always_met":
            lines.append(f"    {t['condition']}: {c[f'text_{lang}']}")
    lines += ["", t["method"].format(draws=draws, seed=used)]
    return "\n".join(lines)


def effort_lines(e, lang: str) -> list[str]:
    """One target's ``analysis.effort`` row in words: the lever's shift, what the
    indicator then needs against the best year observed, and the note."""
    t = TEXT[lang]
    lines = []
    if not math.isnan(e["shift"]):
        mean = "" if math.isnan(e["lever_mean"]) else f" (→ {e['lever_mean']:.3g})"
        lever = ", ".join(misses.path_name(k, lang) for k in str(e["lever"]).split(", "))
        lines.append(f"{t['lever']} {lever}: {t['shift']} {e['shift']:+.3g} "
                     f"{e['lever_unit']}{mean}; {t['needed']} "
                     f"{e['needed_rate']:.3g} {e['needed_unit']}"
                     + (f" ({t['best']}: {e['best_observed']:.3g}"
                        + (f"; {t['beyond']}" if e["beyond_history"] else "") + ")"
                        if not math.isnan(e["best_observed"]) else ""))
    note = e["note_vi"] if lang == "vi" else e["note"]
    if note:
        lines.append(str(note))
    return lines


def drivers_text(shares, target_id: str, top: int = 3) -> str:
    """The ``top`` sources of a target's variance over 1 %: 'shocks growth 96%, ...'."""
    mine = shares[shares["target_id"] == target_id].dropna(subset=["share"])
    mine = mine[mine["share"] > 0.01].sort_values("share", ascending=False).head(top)
    return ", ".join(f"{r.source} {r.share:.0%}" for r in mine.itertuples())
