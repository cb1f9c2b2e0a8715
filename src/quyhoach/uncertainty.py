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
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from .errors import did_you_mean
from .variables import INDICATORS, SECTORS

DISTRIBUTIONS = {
    "normal": ("mean", "sd"),
    "truncnormal": ("sd", "min", "max"),
    "lognormal": ("sigma",),
    "uniform": ("min", "max"),
    "triangular": ("min", "mode", "max"),
    "pert": ("min", "mode", "max"),
}
OPTIONAL_ARGS = {"normal": {"mean": 0.0}}
KEYS = {"parameters", "shocks", "disruptions"}
GROUPS = ("growth", "inflation")
DISRUPTION_KEYS = {"name", "probability", "depth", "recovery_years", "note"}
DEPTH_KEYS = (*SECTORS, "tourism")


def uncertain_paths() -> set[str]:
    """Parameter paths that may carry uncertainty."""
    from .assemble import CHANNELS

    return set(CHANNELS) | {f"indicators.{i}.speed" for i in INDICATORS}


@dataclass(frozen=True)
class ParameterDraw:
    """Uncertainty of one parameter: distribution name and its arguments (file units)."""

    path: str
    dist: str
    args: MappingProxyType


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


def merge(shared: dict, override: dict) -> dict:
    """A scenario's uncertainty over the plan's: entries replace by name."""
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in shared.items()}
    for key, value in override.items():
        if key in ("parameters", "shocks") and isinstance(value, dict) \
                and isinstance(out.get(key), dict):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out


def parse(table, where: str, problems) -> Uncertainty:
    """Validate an uncertainty table; add every problem found to ``problems``."""
    if not table:
        return Uncertainty()
    if not isinstance(table, dict):
        problems.add(where, "expected a table with parameters, shocks and disruptions")
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


def _number(spec, key, w, problems):
    v = spec.get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        problems.add(f"{w}.{key}", f"expected a number, found {v!r}")
        return None
    return float(v)


def _parameters(table, where, problems):
    allowed = uncertain_paths()
    out = []
    if not isinstance(table, dict):
        problems.add(where, "expected a table of parameter paths")
        return out
    for path, spec in table.items():
        w = f'{where}."{path}"'
        if path not in allowed:
            problems.add(w, f"'{path}' cannot carry uncertainty" + did_you_mean(path, allowed))
            continue
        if not isinstance(spec, dict) or "dist" not in spec:
            problems.add(w, "expected a table like { dist = \"normal\", sd = 1.0 }")
            continue
        dist = spec["dist"]
        if dist not in DISTRIBUTIONS:
            problems.add(f"{w}.dist", f"unknown distribution {dist!r}"
                         + did_you_mean(str(dist), DISTRIBUTIONS))
            continue
        names = DISTRIBUTIONS[dist]
        for key in spec:
            if key not in (*names, "dist", "note"):
                problems.add(w, f"unknown key '{key}' for a {dist} distribution; expected "
                             f"{', '.join(names)}")
        args = dict(OPTIONAL_ARGS.get(dist, {}))
        for name in names:
            if name in spec or name not in args:
                args[name] = _number(spec, name, w, problems)
        if any(v is None for v in args.values()):
            continue
        _check_distribution(dist, args, w, problems)
        out.append(ParameterDraw(path, dist, MappingProxyType(args)))
    return out


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
    out = []
    if not isinstance(table, dict):
        problems.add(where, "expected a table of shock groups")
        return out
    allowed = set(GROUPS) | uncertain_paths() - {f"{g}.{s}" for g in GROUPS for s in SECTORS}
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
        group = name in GROUPS
        keys = {"sd", "persistence", "correlation", "note"} if group else {"sd", "persistence",
                                                                           "note"}
        for key in spec:
            if key not in keys:
                problems.add(w, f"unknown key '{key}'" + did_you_mean(key, keys))
        phi = spec.get("persistence", 0.0)
        if isinstance(phi, bool) or not isinstance(phi, (int, float)) or not -1 < phi < 1:
            problems.add(f"{w}.persistence", f"expected a number in (-1, 1), found {phi!r}; "
                         "1 or more makes shocks explode")
            continue
        if group:
            sd_table = spec.get("sd")
            if not isinstance(sd_table, dict):
                problems.add(f"{w}.sd", "expected one sd per sector, e.g. { agriculture = "
                             "1.5, industry_construction = 5.0, services = 2.0, "
                             "product_taxes = 3.0 }")
                continue
            for key in sd_table:
                if key not in SECTORS:
                    problems.add(f"{w}.sd", f"unknown sector '{key}'" + did_you_mean(key, SECTORS))
            sd = np.array([sd_table.get(s, 0.0) for s in SECTORS], dtype=float)
            corr = _correlation(spec.get("correlation"), f"{w}.correlation", problems)
            paths = tuple(f"{name}.{s}" for s in SECTORS)
        else:
            v = spec.get("sd")
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                problems.add(f"{w}.sd", f"expected a number, found {v!r}")
                continue
            sd, corr, paths = np.array([float(v)]), np.eye(1), (name,)
        if np.any(sd < 0):
            problems.add(f"{w}.sd", "a standard deviation must be >= 0")
        if corr is not None:
            out.append(ShockGroup(name, paths, sd, float(phi), corr))
    return out


def _correlation(value, w, problems):
    n = len(SECTORS)
    if value is None:
        return np.eye(n)
    try:
        m = np.array(value, dtype=float)
    except (TypeError, ValueError):
        problems.add(w, f"expected a {n}x{n} matrix of numbers (rows in sector order "
                     f"{', '.join(SECTORS)})")
        return None
    if m.shape != (n, n):
        problems.add(w, f"expected a {n}x{n} matrix (sectors {', '.join(SECTORS)}), found "
                     f"shape {m.shape}")
        return None
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


def _disruptions(items, where, problems):
    out = []
    if not isinstance(items, list):
        problems.add(where, "expected [[uncertainty.disruptions]] entries")
        return out
    for i, spec in enumerate(items):
        w = f"{where}[{i}]"
        if not isinstance(spec, dict):
            problems.add(w, "expected a table")
            continue
        for key in spec:
            if key not in DISRUPTION_KEYS:
                problems.add(w, f"unknown key '{key}'" + did_you_mean(key, DISRUPTION_KEYS))
        name = spec.get("name", f"disruption_{i}")
        p = _number(spec, "probability", w, problems)
        if p is not None and not 0 <= p <= 1:
            problems.add(f"{w}.probability", f"{p:g} is not a probability; write 0.05 for a "
                         "5 % chance per year")
        depth = spec.get("depth", {})
        if not isinstance(depth, dict) or not depth:
            problems.add(f"{w}.depth", "expected points of growth lost per sector, e.g. "
                         "{ services = -8.0, tourism = -50.0 }")
            continue
        for key, v in depth.items():
            if key not in DEPTH_KEYS:
                problems.add(f"{w}.depth", f"unknown key '{key}'" + did_you_mean(key, DEPTH_KEYS))
            elif isinstance(v, bool) or not isinstance(v, (int, float)) or v > 0:
                problems.add(f"{w}.depth.{key}", f"expected a negative number of points, "
                             f"found {v!r}")
        years = spec.get("recovery_years", 0)
        if isinstance(years, bool) or not isinstance(years, int) or years < 0:
            problems.add(f"{w}.recovery_years", f"expected a whole number >= 0, found {years!r}")
            continue
        if p is not None:
            out.append(Disruption(str(name), p, MappingProxyType(dict(depth)), years))
    return out
