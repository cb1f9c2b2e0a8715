"""Uncertainty in plan files: what is sampled, kept apart from what is chosen.

``[uncertainty]`` at the top of a plan applies to every scenario; a scenario's own
``[scenarios.<name>.uncertainty]`` replaces entries by name. Three kinds:

``parameters``
    One draw per simulation, held over the whole projection: an *offset* added to the
    scenario's value, in the parameter's file units (``normal``: mean, sd;
    ``truncnormal``: sd, min, max; ``uniform``: min, max; ``triangular``/``pert``:
    min, mode, max), or for ``lognormal`` (sigma) a *factor* exp(sigma z) on it.
    ``"growth.services" = { dist = "pert", min = -2, mode = 0, max = 1.5 }`` reads
    "services growth may be 2 points lower or 1.5 points higher than assumed".
``shocks``
    Year-to-year deviations with AR(1) persistence: ``s[t] = persistence * s[t-1] + e[t]``
    with ``e`` normal (sd = innovation sd, file units). The groups ``growth`` and
    ``inflation`` have one sd per sector and a correlation matrix across sectors; any
    other parameter path (e.g. ``"tourism.visitor_growth"``) is a scalar shock.
``disruptions``
    Rare events (a pandemic-like year): each projection year occurs with
    ``probability``; growth falls by ``depth`` points per sector (and ``tourism``) that
    year and is made up evenly over the next ``recovery_years`` (0: a permanent loss).
    ``depth.urbanization`` (points of population, positive, ``recovery_years = 0``) is an
    administrative reclassification: a town upgraded to urban status that year.

Every number must be finite; spreads and offsets may not exceed the width of the
parameter's plausible range (``quyhoach.registry.spread_limit``), and counts are
bounded (at most ``MAX_DISRUPTIONS`` events, ``MAX_RECOVERY_YEARS`` years of recovery),
so nothing a plan says can overflow or oversize the Monte Carlo kernel.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from .errors import did_you_mean, shown
from .periods import as_number, number_problem
from .registry import INDICATORS, PARAMETERS, SECTORS, spread_limit

DISTRIBUTIONS = {
    "normal": ("mean", "sd"),
    "truncnormal": ("sd", "min", "max"),
    "lognormal": ("sigma",),
    "uniform": ("min", "max"),
    "triangular": ("min", "mode", "max"),
    "pert": ("min", "mode", "max"),
}
OPTIONAL_ARGS = {"normal": {"mean": 0.0}}
ARG_MEANING = {"mean": "mean offset", "sd": "standard deviation", "sigma": "log-scale sd",
               "min": "lowest offset", "mode": "most likely offset", "max": "highest offset"}
KEYS = {"parameters", "shocks", "disruptions"}
GROUPS = ("growth", "inflation")
DISRUPTION_KEYS = {"name", "probability", "depth", "recovery_years", "note"}
DEPTH_KEYS = (*SECTORS, "tourism", "urbanization")
MAX_DISRUPTIONS = 20
MAX_RECOVERY_YEARS = 50
MAX_SIGMA = 3.0  # a lognormal factor exp(3 z): one sd multiplies by 20


def uncertain_paths() -> set[str]:
    """Parameter paths that may carry uncertainty."""
    return ({p.path for p in PARAMETERS if p.channel}
            | {f"indicators.{i}.speed" for i in INDICATORS})


@dataclass(frozen=True)
class ParameterDraw:
    """Uncertainty of one parameter: distribution name and its arguments (file units)."""

    path: str
    dist: str
    args: MappingProxyType

    def lowest_offset(self, value: float) -> float:
        """The lowest value ``value`` can take under this draw, for sanity checks.

        Bounded distributions give their minimum; a normal its mean - 5 sd (a one in
        3.5 million draw); a lognormal factor its 5-sigma tail.
        """
        a = self.args
        if self.dist == "normal":
            return value + a["mean"] - 5.0 * a["sd"]
        if self.dist == "truncnormal":
            return value + max(a["min"], -5.0 * a["sd"])
        if self.dist == "lognormal":
            return value * math.exp(5.0 * a["sigma"] * (1.0 if value < 0 else -1.0))
        return value + a["min"]


@dataclass(frozen=True)
class ShockGroup:
    """AR(1) shocks on one or more parameters (innovation sd in file units)."""

    name: str
    paths: tuple[str, ...]
    sd: np.ndarray
    persistence: float
    correlation: np.ndarray


@dataclass(frozen=True)
class Disruption:
    name: str
    probability: float
    depth: MappingProxyType  # sector or "tourism" → points of growth lost in the event year
    recovery_years: int


@dataclass(frozen=True)
class Uncertainty:
    """Everything sampled for one scenario."""

    parameters: tuple[ParameterDraw, ...] = ()
    shocks: tuple[ShockGroup, ...] = ()
    disruptions: tuple[Disruption, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not (self.parameters or self.shocks or self.disruptions)


def stream_key(name: str) -> int:
    """Stable 64-bit key of a random source, from its name (never from its position)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "little")


def merge(shared, override) -> dict:
    """A scenario's uncertainty over the plan's (or a plan's over its model's): entries
    replace by name, disruptions too.

    Either side may be malformed (not a table); ``parse`` reports that, and the merge
    keeps what it can instead of failing.
    """
    shared = shared if isinstance(shared, dict) else {}
    override = override if isinstance(override, dict) else {}
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in shared.items()}
    for key, value in override.items():
        if key in ("parameters", "shocks") and isinstance(value, dict) \
                and isinstance(out.get(key), dict):
            out[key] = {**out[key], **value}
        elif key == "disruptions" and _named(value) and _named(out.get(key)):
            mine = {d["name"] for d in value}  # the override's first: its indices stay
            out[key] = list(value) + [d for d in out[key] if d["name"] not in mine]
        else:
            out[key] = value
    return out


def _named(events) -> bool:
    """A list of disruption tables that each have a name (merged by name)."""
    return isinstance(events, list) and all(isinstance(d, dict) and isinstance(d.get("name"), str)
                                            for d in events)


def parse(table, where: str, problems) -> Uncertainty:
    """Validate an uncertainty table; add every problem found to ``problems``."""
    if isinstance(table, dict) and not table:
        return Uncertainty()
    if not isinstance(table, dict):
        problems.add(where, f"expected a table with parameters, shocks and disruptions, "
                            f"found {shown(table)}")
        return Uncertainty()
    for key in table:
        if key not in KEYS:
            problems.add(where, f"unknown key '{key}'" + did_you_mean(key, KEYS))
    return Uncertainty(
        parameters=tuple(_parameters(table.get("parameters", {}), f"{where}.parameters",
                                     problems)),
        shocks=tuple(_shocks(table.get("shocks", {}), f"{where}.shocks", problems)),
        disruptions=tuple(_disruptions(table.get("disruptions", []),
                                       f"{where}.disruptions", problems)))


def _number(spec, key, w, problems, meaning: str = ""):
    """A finite number at ``spec[key]``, or None (reported)."""
    if key not in spec:
        what = f" ({meaning})" if meaning else ""
        problems.add(f"{w}.{key}", f"missing; expected a number{what}")
        return None
    v = as_number(spec[key])
    if v is None:
        problems.add(f"{w}.{key}", number_problem(spec[key]))
    return v


def _parameters(table, where, problems):
    if not isinstance(table, dict):
        problems.add(where, f"expected a table of parameter paths, found {shown(table)}")
        return []
    allowed = uncertain_paths()
    out = []
    for path, spec in table.items():
        w = f'{where}."{path}"'
        if path not in allowed:
            problems.add(w, f"'{path}' cannot carry uncertainty" + did_you_mean(path, allowed))
            continue
        draw = _parameter(path, spec, w, problems)
        if draw is not None:
            out.append(draw)
    return out


def _parameter(path, spec, w, problems) -> ParameterDraw | None:
    """One parameter's distribution, checked; None when it cannot be used."""
    if not isinstance(spec, dict) or "dist" not in spec:
        problems.add(w, "expected a table like { dist = \"normal\", sd = 1.0 }")
        return None
    dist = spec["dist"]
    if not isinstance(dist, str) or dist not in DISTRIBUTIONS:
        problems.add(f"{w}.dist", f"unknown distribution {shown(dist)}"
                     + did_you_mean(dist if isinstance(dist, str) else "", DISTRIBUTIONS))
        return None
    names = DISTRIBUTIONS[dist]
    for key in spec:
        if key not in (*names, "dist", "note"):
            problems.add(w, f"unknown key '{key}' for a {dist} distribution; expected "
                            f"{', '.join(names)}")
    args = dict(OPTIONAL_ARGS.get(dist, {}))
    for name in names:
        if name in spec or name not in args:
            args[name] = _number(spec, name, w, problems,
                                 f"the {ARG_MEANING[name]} of the {dist} distribution")
    if any(v is None for v in args.values()):
        return None
    before = len(problems.items)
    _check_distribution(dist, args, w, problems)
    _check_spread(path, dist, args, w, problems)
    if len(problems.items) > before:
        return None
    return ParameterDraw(path, dist, MappingProxyType(args))


def _check_spread(path, dist, args, w, problems) -> None:
    """Offsets and spreads within the width of the parameter's plausible range."""
    if dist == "lognormal":
        if args["sigma"] > MAX_SIGMA:
            problems.add(f"{w}.sigma", f"{args['sigma']:g} is more than {MAX_SIGMA:g}: a "
                         "factor exp(sigma z) that large is a mistake, not an uncertainty")
        return
    limit = spread_limit(path)
    for name, v in args.items():
        if abs(v) > limit:
            problems.add(f"{w}.{name}", f"{v:g} is wider than every plausible value of "
                         f"{path} (a range {limit:g} wide); offsets and spreads are in the "
                         "parameter's own units")


def _check_distribution(dist, a, w, problems) -> None:
    for name in ("sd", "sigma"):
        if name in a and a[name] < 0:
            problems.add(f"{w}.{name}", f"{a[name]:g} is negative; a spread must be >= 0")
    if dist == "truncnormal":
        if not a["min"] <= 0.0 <= a["max"] or a["min"] == a["max"]:
            problems.add(w, f"the window min={a['min']:g}, max={a['max']:g} must contain 0 "
                            "(the assumed value) and have width")
        elif a["sd"] > 0 and max(a["max"], -a["min"]) < 0.05 * a["sd"]:
            problems.add(w, "the window is too narrow for sd; use uniform instead")
    if dist == "uniform" and not a["min"] < a["max"]:
        problems.add(w, f"expected min < max, found min={a['min']:g}, max={a['max']:g}")
    if dist in ("triangular", "pert") and not (a["min"] <= a["mode"] <= a["max"]
                                               and a["min"] < a["max"]):
        problems.add(w, f"expected min <= mode <= max with min < max, found "
                        f"{a['min']:g}, {a['mode']:g}, {a['max']:g}; these are offsets from "
                        "the scenario's value (e.g. min = -2, mode = 0, max = 1.5)")
    elif dist in ("uniform", "triangular", "pert") and not a["min"] <= 0.0 <= a["max"]:
        problems.add(w, f"the range {a['min']:g} to {a['max']:g} leaves out 0, the scenario's "
                        "own value: these are offsets from it (for 'growth 9-11 %, most likely "
                        "9.5' write min = -0.5, mode = 0, max = 1.5); to shift the central "
                        "value, change the scenario instead")


def _shocks(table, where, problems):
    if not isinstance(table, dict):
        problems.add(where, f"expected a table of shock groups, found {shown(table)}")
        return []
    allowed = set(GROUPS) | uncertain_paths() - {f"{g}.{s}" for g in GROUPS for s in SECTORS}
    out = []
    for name, spec in table.items():
        w = f'{where}."{name}"' if "." in name else f"{where}.{name}"
        if name not in allowed:
            problems.add(w, f"unknown shock group '{name}'" + did_you_mean(name, allowed)
                         + " (sector growth and inflation shocks go in the 'growth' and "
                           "'inflation' groups)")
            continue
        if not isinstance(spec, dict):
            problems.add(w, "expected a table with sd and persistence")
            continue
        group = _shock_group(name, spec, w, problems)
        if group is not None:
            out.append(group)
    return out


def _shock_group(name, spec, w, problems) -> ShockGroup | None:
    """One shock group, checked; None when it cannot be used."""
    group = name in GROUPS
    keys = {"sd", "persistence", "correlation", "note"} if group else {"sd", "persistence",
                                                                       "note"}
    for key in spec:
        if key not in keys:
            problems.add(w, f"unknown key '{key}'" + did_you_mean(key, keys))
    phi = as_number(spec.get("persistence", 0.0))
    if phi is None or not -1 < phi < 1:
        problems.add(f"{w}.persistence", f"expected a number in (-1, 1), found "
                     f"{shown(spec.get('persistence'))}; 1 or more makes shocks explode")
        return None
    if group:
        sd = _sector_sds(spec.get("sd"), name, f"{w}.sd", problems)
        corr = _correlation(spec.get("correlation"), f"{w}.correlation", problems)
        paths = tuple(f"{name}.{s}" for s in SECTORS)
    else:
        v = as_number(spec.get("sd"))
        if v is None:
            problems.add(f"{w}.sd", number_problem(spec.get("sd")))
            return None
        sd, corr, paths = np.array([v]), np.eye(1), (name,)
    if sd is None or corr is None:
        return None
    if np.any(sd < 0):
        problems.add(f"{w}.sd", "a standard deviation must be >= 0")
        return None
    limit = min(spread_limit(p) for p in paths)
    if np.any(sd > limit):
        problems.add(f"{w}.sd", f"{sd.max():g} is wider than every plausible value of "
                     f"{name} (a range {limit:g} wide); shock sds are in the parameter's units")
        return None
    return ShockGroup(name, paths, sd, float(phi), corr)


def _sector_sds(sd_table, name, w, problems) -> np.ndarray | None:
    """One sd per sector (0 where not given), or None (reported)."""
    if not isinstance(sd_table, dict):
        problems.add(w, "expected one sd per sector, e.g. { agriculture = 1.5, "
                        "industry_construction = 5.0, services = 2.0, product_taxes = 3.0 }")
        return None
    ok = True
    for key, v in sd_table.items():
        if key not in SECTORS:
            problems.add(w, f"unknown sector '{key}'" + did_you_mean(key, SECTORS))
            ok = False
        elif as_number(v) is None:
            problems.add(f"{w}.{key}", number_problem(v))
            ok = False
    if not ok:
        return None
    return np.array([as_number(sd_table.get(s, 0.0)) for s in SECTORS])


def _correlation(value, w, problems):
    n = len(SECTORS)
    if value is None:
        return np.eye(n)
    rows = value if isinstance(value, list) else None
    if rows is None or len(rows) != n or any(not isinstance(r, list) or len(r) != n
                                             for r in rows):
        problems.add(w, f"expected a {n}x{n} matrix (sectors {', '.join(SECTORS)}; rows in "
                        f"that order), found {_shape(value)}")
        return None
    numbers = [[as_number(x) for x in r] for r in rows]
    if any(x is None for r in numbers for x in r):
        problems.add(w, f"expected a {n}x{n} matrix of finite numbers (rows in sector order "
                     f"{', '.join(SECTORS)})")
        return None
    m = np.array(numbers, dtype=float)
    if not np.allclose(m, m.T):
        i, j = np.argwhere(~np.isclose(m, m.T))[0]
        problems.add(w, f"not symmetric: row {i + 1}, column {j + 1} is {m[i, j]:g} but row "
                     f"{j + 1}, column {i + 1} is {m[j, i]:g}")
        return None
    if not np.allclose(np.diag(m), 1.0) or np.any(np.abs(m) > 1):
        problems.add(w, "expected 1 on the diagonal and values within [-1, 1]")
        return None
    try:
        np.linalg.cholesky(m)
    except np.linalg.LinAlgError:
        low = float(np.linalg.eigvalsh(m).min())
        problems.add(w, f"not positive definite (smallest eigenvalue {low:.3g}); the "
                     "correlations contradict each other: lower the largest ones")
        return None
    return m


def _shape(value) -> str:
    """What a would-be matrix is, for a message: 'shape (2, 2)', '3 uneven rows', ..."""
    if not isinstance(value, list):
        return shown(value)
    lengths = {len(r) if isinstance(r, list) else -1 for r in value}
    if len(lengths) == 1 and -1 not in lengths:
        return f"shape ({len(value)}, {lengths.pop()})"
    return f"{len(value)} rows that are not all lists of the same length"


def _disruptions(items, where, problems):
    if not isinstance(items, list):
        problems.add(where, "expected [[uncertainty.disruptions]] entries")
        return []
    if len(items) > MAX_DISRUPTIONS:
        problems.add(where, f"{len(items)} disruptions; at most {MAX_DISRUPTIONS} (each is a "
                     "rare event drawn every year; merge similar ones)")
        return []
    out: list[Disruption] = []
    names: dict[str, int] = {}
    for i, spec in enumerate(items):
        w = f"{where}[{i}]"
        if not isinstance(spec, dict):
            problems.add(w, "expected a table")
            continue
        event = _disruption(i, spec, w, problems)
        if event is None:
            continue
        if event.name in names:
            problems.add(f"{w}.name", f"'{event.name}' is also disruption [{names[event.name]}]; "
                         "each needs its own name (it keys the event's random numbers)")
            continue
        names[event.name] = i
        out.append(event)
    return out


def _disruption(i, spec, w, problems) -> Disruption | None:
    """One disruption, checked; None when it cannot be used."""
    for key in spec:
        if key not in DISRUPTION_KEYS:
            problems.add(w, f"unknown key '{key}'" + did_you_mean(key, DISRUPTION_KEYS))
    name = spec.get("name", f"disruption_{i}")
    if not isinstance(name, str) or not name.strip():
        problems.add(f"{w}.name", f"expected a name (text), found {shown(name)}")
        name = None
    p = _number(spec, "probability", w, problems, "the chance of the event in a year")
    if p is not None and not 0 <= p <= 1:
        problems.add(f"{w}.probability", f"{p:g} is not a probability; write 0.05 for a "
                     "5 % chance per year")
        p = None
    depth = _depth(spec.get("depth", {}), f"{w}.depth", problems)
    years = spec.get("recovery_years", 0)
    if isinstance(years, bool) or not isinstance(years, int) \
            or not 0 <= years <= MAX_RECOVERY_YEARS:
        problems.add(f"{w}.recovery_years", f"expected a whole number from 0 to "
                     f"{MAX_RECOVERY_YEARS}, found {shown(years)} (0: the loss is permanent; "
                     f"a recovery longer than {MAX_RECOVERY_YEARS} years is one too)")
        return None
    if depth is not None and "urbanization" in depth and years:
        problems.add(f"{w}.recovery_years", f"{years}: a reclassification (depth.urbanization) "
                     "is permanent; set recovery_years = 0, or put the growth losses that "
                     "recover in a disruption of their own")
        return None
    if name is None or p is None or depth is None:
        return None
    return Disruption(name, p, MappingProxyType(depth), years)


def _depth(depth, w, problems) -> dict | None:
    """Points of growth lost per sector (and tourism), each a finite number <= 0; points
    of population reclassified urban (``urbanization``), a number >= 0."""
    if not isinstance(depth, dict) or not depth:
        problems.add(w, "expected points of growth lost per sector, e.g. "
                        "{ services = -8.0, tourism = -50.0 }, or points of population "
                        "reclassified urban, { urbanization = 2.0 }")
        return None
    out = {}
    for key, v in depth.items():
        if key not in DEPTH_KEYS:
            problems.add(w, f"unknown key '{key}'" + did_you_mean(key, DEPTH_KEYS))
            continue
        number = as_number(v)
        if key == "urbanization":
            if number is None or not 0 <= number <= 100:
                problems.add(f"{w}.{key}", "expected the points of population reclassified "
                             f"urban (0-100), found {shown(v)}")
                continue
        elif number is None or number > 0:
            problems.add(f"{w}.{key}", f"expected a negative number of points, found {shown(v)}")
            continue
        out[key] = number
    return out if len(out) == len(depth) else None
