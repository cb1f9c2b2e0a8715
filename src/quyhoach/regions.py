"""A plan's regions: the province and its localities (or its former provinces).

A plan may declare members of the province (``[regions]``): the localities that
reconcile their figures with the province's, or the former provinces of a merged one.
Blocks listed in ``regions.blocks`` are projected in every member; the province's
figures for them are formed from the members' in every draw by the registry's rules
(levels summed; shares, per-capita values, growth rates and structure recomputed from
the sums). Every other block stays province-wide. A member takes the province's
assumptions unless its table in a scenario says otherwise
(``[scenarios.<name>.regions.<member>.<section>]``), as a scenario takes its parent's.

Shocks: parameter draws and disruptions are common to the province; each AR(1) shock
of a member is ``sqrt(s) × the province's + sqrt(1 - s) × its own``, with ``s =
regions.shock_share``: two members' shocks have correlation ``s``. At 1 the members
move together (their sum is as uncertain as the province's); at 0 independently.

A member with ``parts`` is a group of other members (Lạng Sơn city with Cao Lộc, which
the plan merges into it): its figures are its parts' sums in every draw, reported beside
the province, which sums the parts once.

In the kernel the regions are ordered members first, then groups, the province last
(children before their parent).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import Problems, did_you_mean, shown
from .fields import check_identifier, check_keys, get
from .registry import BLOCKS

REGION_KEYS = {"label_vi", "label_en", "blocks", "shock_share", "members"}
MEMBER_KEYS = {"id", "name_vi", "name_en", "note", "parts", "joins"}
# What a block projected in a member needs there too (its inputs, or the weights by
# which the province averages its members).
NEEDS = {"economy": ("population",), "investment": ("economy",),
         "urbanization": ("population",), "income": ("economy", "population"),
         "budget": ("economy",), "indicators": ("population",)}
BY_MEMBER = tuple(b.name for b in BLOCKS if b.outputs)  # blocks that can be split
MODE_STEP, MODE_CHILDREN, MODE_ABSENT = 0, 1, 2  # as kernels/projection.py
MAX_MEMBERS = 200


@dataclass(frozen=True)
class Member:
    """One member region: an identifier and its names.

    A member with ``parts`` is a group of other members (a city with the district it
    absorbs, the localities of a former province): its figures are its parts' sums in
    every draw, reported beside the province; it has no history or assumptions of its
    own, and the province sums its parts, never the group. ``joins`` dates a part's
    entry into the group (a district merged into the city in 2030): before that year
    the group is the other parts alone, a boundary change reported as it happens.
    """

    id: str
    name_vi: str
    name_en: str
    note: str = ""
    parts: tuple[str, ...] = ()
    joins: tuple[tuple[str, int], ...] = ()  # (part, first calendar year in the group)


@dataclass(frozen=True)
class Regions:
    """The plan's regional structure; no members: one province-wide region.

    Attributes
    ----------
    members : tuple of Member
        Localities or former provinces, in the plan's order.
    blocks : tuple of str
        Blocks projected in every member (registry block names).
    projected : tuple of str, optional
        Blocks the plan projects at all (``[plan] blocks``); None: every block. A plan
        of population and social indicators only leaves out the economy.
    shock_share : float
        Share of each AR(1) shock's variance common to the whole province (0-1).
    label_vi, label_en : str
        What the members are ("Huyện, thành phố" / "Localities").
    """

    members: tuple[Member, ...] = ()
    blocks: tuple[str, ...] = ()
    shock_share: float = 1.0
    label_vi: str = ""
    label_en: str = ""
    projected: tuple[str, ...] | None = None

    @property
    def leaf_ids(self) -> list[str]:
        """The members that project their blocks (not groups)."""
        return [m.id for m in self.members if not m.parts]

    @property
    def ids(self) -> list[str]:
        """Every member in kernel order: those that project, then the groups."""
        return [*self.leaf_ids, *(m.id for m in self.members if m.parts)]

    def order(self, province: str) -> list[str]:
        """Region ids in kernel order: members, groups, then the province."""
        return [*self.ids, province]

    def mode(self) -> np.ndarray:
        """``mode[region, block]`` (kernel order): where each block is projected."""
        n, leaves = len(self.members), len(self.leaf_ids)
        mode = np.full((n + 1, len(BLOCKS)), MODE_ABSENT, dtype=np.int64)
        for b, block in enumerate(BLOCKS):
            if self.projected is not None and block.name not in self.projected:
                continue
            split = block.name in self.blocks
            mode[:leaves, b] = MODE_STEP if split else MODE_ABSENT
            mode[leaves:n, b] = MODE_CHILDREN if split else MODE_ABSENT
            mode[n, b] = MODE_CHILDREN if split else MODE_STEP
        return mode

    def children(self, base_year: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """(child_ptr, child_idx): a group's children are its parts; the province's are
        every member that projects (not the groups, which would count them twice).
        ``child_idx[i]`` is (child, first year index it counts from: 0, or its
        ``joins`` year less ``base_year``)."""
        index = {r: i for i, r in enumerate(self.ids)}
        groups = [m for m in self.members if m.parts]
        lists: list[list[tuple[int, int]]] = [[] for _ in self.leaf_ids]
        for g in groups:
            joins = dict(g.joins)
            lists.append([(index[p], max(joins.get(p, base_year) - base_year, 0))
                          for p in g.parts])
        lists.append([(i, 0) for i in range(len(self.leaf_ids))])
        ptr = np.cumsum([0, *(len(c) for c in lists)]).astype(np.int64)
        return ptr, np.array([i for c in lists for i in c], dtype=np.int64).reshape(-1, 2)

    def stepped(self, region: int) -> set[str]:
        """Blocks projected in region ``region`` (kernel order)."""
        mode = self.mode()[region]
        return {b.name for b, m in zip(BLOCKS, mode, strict=True) if m == MODE_STEP}

    def name(self, region: str, language: str = "vi") -> str:
        for m in self.members:
            if m.id == region:
                return m.name_vi if language == "vi" else m.name_en
        return region


def parse(table, province: str, problems: Problems, projected=None) -> Regions:
    """The ``[regions]`` table of a plan file (absent: province-wide) and the blocks the
    plan projects (``[plan] blocks``, absent: all)."""
    projected = None if projected is None else _projected(projected, problems)
    if table is None:
        return Regions(projected=projected)
    if not isinstance(table, dict):
        problems.add("regions", f"expected a table with blocks, shock_share and "
                     f"[[regions.members]], found {shown(table)}")
        return Regions()
    check_keys(table, REGION_KEYS, "regions", problems)
    blocks = _blocks(table.get("blocks"), problems, projected)
    share = get(table, "shock_share", float, "regions", problems, 1.0, required=False)
    if isinstance(share, float) and not 0.0 <= share <= 1.0:
        problems.add("regions.shock_share", f"expected a share of variance from 0 to 1, "
                     f"found {share:g}")
        share = 1.0
    items = table.get("members")
    if not isinstance(items, list) or not items:
        problems.add("regions.members", "expected [[regions.members]] entries (id, name_vi, "
                     "name_en), one per locality or former province")
        return Regions()
    if len(items) > MAX_MEMBERS:
        problems.add("regions.members", f"{len(items)} members; at most {MAX_MEMBERS}")
        return Regions()
    members, seen = [], {province}
    for i, item in enumerate(items):
        w = f"regions.members[{i}]"
        if not isinstance(item, dict):
            problems.add(w, f"expected a table with id, name_vi, name_en, found {shown(item)}")
            continue
        check_keys(item, MEMBER_KEYS, w, problems)
        rid = get(item, "id", str, w, problems, "")
        if not rid or not check_identifier(rid, f"{w}.id", problems, "region",
                                           "name_vi / name_en"):
            continue
        if rid in seen:
            what = "the province's own key" if rid == province else "another member's id"
            problems.add(f"{w}.id", f"'{rid}' is {what}; every region needs its own id")
            continue
        seen.add(rid)
        members.append(Member(rid, get(item, "name_vi", str, w, problems, rid, required=False),
                              get(item, "name_en", str, w, problems, rid, required=False),
                              get(item, "note", str, w, problems, "", required=False,
                                   blank_ok=True),
                              _parts(item.get("parts"), w, problems),
                              _joins(item.get("joins"), w, problems)))
    _check_parts(members, problems)
    return Regions(tuple(members), blocks, share if isinstance(share, float) else 1.0,
                   get(table, "label_vi", str, "regions", problems, "Địa phương",
                        required=False),
                   get(table, "label_en", str, "regions", problems, "Localities",
                        required=False), projected)


def _blocks(raw, problems: Problems, projected=None) -> tuple[str, ...]:
    """Blocks projected by member: known, projected by the plan, and closed under what
    each needs there."""
    if not isinstance(raw, list) or not raw or not all(isinstance(b, str) for b in raw):
        problems.add("regions.blocks", "expected a list of the blocks projected in each "
                     f"member, e.g. [\"population\", \"urbanization\"] (of {', '.join(BY_MEMBER)})")
        return ()
    known = [b for b in raw if b in BY_MEMBER]
    for b in raw:
        if b not in BY_MEMBER:
            problems.add("regions.blocks", f"unknown block '{shown(b)[1:-1]}'"
                         + did_you_mean(b, BY_MEMBER))
    for b in known:
        missing = [n for n in NEEDS.get(b, ()) if n not in known]
        if missing:
            problems.add("regions.blocks", f"'{b}' by member needs {' and '.join(missing)} by "
                         f"member too (its inputs, or the weights of the province's average); "
                         f"add {', '.join(repr(m) for m in missing)}")
    outside = [b for b in known if projected is not None and b not in projected]
    if outside:
        problems.add("regions.blocks", f"{', '.join(outside)} by member, but [plan] blocks "
                     "leaves them out; add them to plan.blocks or remove them here")
    return tuple(b.name for b in BLOCKS if b.name in known)  # registry order


def _projected(raw, problems: Problems) -> tuple[str, ...] | None:
    """``[plan] blocks``: known blocks, with population, closed under what each needs."""
    if not isinstance(raw, list) or not raw or not all(isinstance(b, str) for b in raw):
        problems.add("plan.blocks", "expected a list of the blocks the plan projects, e.g. "
                     f"[\"population\", \"urbanization\"] (of {', '.join(BY_MEMBER)}); leave "
                     "the key out to project every block")
        return None
    for b in raw:
        if b not in BY_MEMBER:
            problems.add("plan.blocks", f"unknown block '{shown(b)[1:-1]}'"
                         + did_you_mean(b, BY_MEMBER))
    known = {b for b in raw if b in BY_MEMBER} | {"population", "exchange_rate"}
    for b in sorted(known):
        missing = [n for n in NEEDS.get(b, ()) if n not in known]
        if missing:
            problems.add("plan.blocks", f"'{b}' needs {' and '.join(missing)} (its inputs); "
                         f"add {', '.join(repr(m) for m in missing)}")
    return tuple(b.name for b in BLOCKS if b.name in known)  # registry order


def _parts(raw, where: str, problems: Problems) -> tuple[str, ...]:
    """The members a group sums (empty for a member that projects its blocks)."""
    if raw is None:
        return ()
    if not isinstance(raw, list) or not raw or not all(isinstance(x, str) for x in raw):
        problems.add(f"{where}.parts", f"expected a list of member ids, found {shown(raw)}")
        return ()
    return tuple(raw)


def _joins(raw, where: str, problems: Problems) -> tuple[tuple[str, int], ...]:
    """``joins = { part = year }``: the year each dated part enters its group."""
    if raw is None:
        return ()
    if not isinstance(raw, dict) or not all(isinstance(y, int) and not isinstance(y, bool)
                                            for y in raw.values()):
        problems.add(f"{where}.joins", f"expected a table of part = year, e.g. "
                     f"{{ cao_loc = 2030 }}, found {shown(raw)}")
        return ()
    return tuple(raw.items())


def _check_parts(members: list[Member], problems: Problems) -> None:
    """A group's parts are other members that project their blocks, each named once."""
    leaves = [m.id for m in members if not m.parts]
    for i, m in enumerate(members):
        for part in m.parts:
            if part not in leaves:
                what = "a group" if part in {g.id for g in members} else "not a member"
                problems.add(f"regions.members[{i}].parts", f"'{shown(part)[1:-1]}' is {what}; "
                             "a group sums members that project their blocks"
                             + did_you_mean(part, leaves))
        if len(set(m.parts)) < len(m.parts):
            problems.add(f"regions.members[{i}].parts", "a member is named twice")
        for part, _ in m.joins:
            if part not in m.parts:
                problems.add(f"regions.members[{i}].joins", f"'{shown(part)[1:-1]}' is not "
                             "one of this group's parts" + did_you_mean(part, m.parts)
                             + "; a part joins the group from a year")
