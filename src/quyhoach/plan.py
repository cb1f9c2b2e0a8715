"""Plan files (``scenarios/<province>.toml``): parse, validate, resolve inheritance.

What the file says is turned into frozen dataclasses, in the file's units (percent,
per 1000). ``quyhoach.assemble`` converts them, once, into what the kernel needs.
Every problem in a file is collected before :class:`~quyhoach.errors.PlanError` is
raised. The file format is documented in the README ("Plan files").
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np

from .errors import PlanError, Problems, did_you_mean
from .periods import expand, parse_period
from .uncertainty import Uncertainty, merge as merge_uncertainty, parse as parse_uncertainty
from .variables import BY_NAME, INDICATORS, SECTORS


@dataclass(frozen=True)
class Parameter:
    """One year-keyed scenario assumption, declared once with its unit and bounds.

    ``lower``/``upper`` are plausibility bounds in the file's unit; ``percent`` marks
    rates written in percent, where a value like 0.095 is almost surely a fraction slip.
    """

    path: str
    unit: str
    lower: float
    upper: float
    percent: bool = False


PARAMETERS = (
    *(Parameter(f"growth.{s}", "%/yr", -30.0, 40.0, True) for s in SECTORS),
    *(Parameter(f"inflation.{s}", "%/yr", -20.0, 50.0, True) for s in SECTORS),
    Parameter("investment.icor", "ratio", 1.0, 20.0),
    Parameter("population.birth_rate", "per 1000", 0.0, 60.0),
    Parameter("population.death_rate", "per 1000", 0.0, 30.0),
    Parameter("population.net_migration_rate", "per 1000", -50.0, 50.0),
    Parameter("urbanization.speed", "logit points/yr", -0.5, 0.5),
    Parameter("income.elasticity", "ratio", 0.0, 3.0),
    Parameter("budget.buoyancy", "ratio", 0.0, 3.0),
    Parameter("tourism.visitor_growth", "%/yr", -90.0, 100.0, True),
    Parameter("tourism.spending_growth", "%/yr", -50.0, 50.0, True),
    Parameter("exchange_rate.depreciation", "%/yr", -20.0, 30.0),
)
PARAMETER_BY_PATH = {p.path: p for p in PARAMETERS}
SECTIONS: dict[str, set[str]] = {}
for _p in PARAMETERS:
    _section, _key = _p.path.split(".")
    SECTIONS.setdefault(_section, set()).add(_key)
SECTIONS["urbanization"].add("reclassification")
SECTIONS["exchange_rate"] |= {"vnd_per_usd", "reference_year"}
SCENARIO_META = {"label_vi", "label_en", "description", "inherits", "uncertainty"}
INDICATOR_KEYS = {"form", "speed", "lower", "upper"}
# Unit of an indicator's speed, by form (file units).
FORMS = {
    "points": "percentage points/yr",
    "proportional": "%/yr",
    "gap_closing": "% of the remaining gap/yr",
    "logistic": "logit points/yr",
}
TARGET_KINDS = {"level", "average_growth", "share", "change_per_year", "cumulative"}
COMPARISONS = {">=", "<=", "about"}
TOP_KEYS = {"plan", "scenarios", "targets", "untracked_targets", "assumed_data", "uncertainty"}
PLAN_KEYS = {"province", "name_vi", "name_en", "inputs", "base_year", "last_actual_year",
             "horizon", "model"}
TARGET_KEYS = {"id", "indicator", "kind", "year", "period", "comparison", "value",
               "tolerance", "label_vi", "label_en", "source", "note"}
UNTRACKED_KEYS = {"label_vi", "label_en", "target", "source", "reason"}
ASSUMED_KEYS = {"indicator", "year", "value", "unit", "note"}


@dataclass(frozen=True)
class IndicatorSpec:
    """A saturating indicator's dynamics: form, speed per year, bounds (file units)."""

    form: str
    speed: np.ndarray
    lower: float
    upper: float


@dataclass(frozen=True)
class Scenario:
    """One scenario, inheritance resolved, values per year in the file's units.

    Attributes
    ----------
    values : Mapping[str, numpy.ndarray]
        Parameter path (e.g. ``"growth.services"``) → array over the plan's years,
        NaN where the scenario says nothing.
    reclassification : tuple of (int, float)
        (year, percentage points of population reclassified urban that year).
    indicators : Mapping[str, IndicatorSpec]
        Saturating indicators this scenario models.
    fx_reference : tuple of (int, float) or None
        (year, VND per USD) anchoring the exchange-rate path.
    uncertainty : quyhoach.uncertainty.Uncertainty
        What the Monte Carlo samples (the plan's, with this scenario's overrides).
    """

    name: str
    label_vi: str
    label_en: str
    description: str
    values: MappingProxyType
    reclassification: tuple
    indicators: MappingProxyType
    fx_reference: tuple | None
    uncertainty: Uncertainty = Uncertainty()


@dataclass(frozen=True)
class Model:
    """A calibrated model file a plan refers to (``models/<province>.toml``)."""

    path: Path
    sha256: str
    uncertainty: dict
    forms: dict
    calibrated: tuple  # uncertainty entries taken from the model (not overridden)


@dataclass(frozen=True)
class Target:
    """A plan target. ``first_year`` is the first year of a period (None for a year)."""

    id: str
    indicator: str
    kind: str
    comparison: str
    value: float
    tolerance: float
    year: int
    first_year: int | None
    label_vi: str
    label_en: str
    source: str
    note: str = ""


@dataclass(frozen=True)
class UntrackedTarget:
    """A plan target the model has no indicator for; listed, never silently dropped."""

    label_vi: str
    label_en: str
    target: str
    source: str
    reason: str


@dataclass(frozen=True)
class AssumedFigure:
    """A figure the plan assumes where the inputs have none (flagged in every output)."""

    indicator: str
    year: int
    value: float
    unit: str
    note: str


@dataclass(frozen=True)
class Plan:
    """A validated plan file."""

    path: Path
    province: str
    name_vi: str
    name_en: str
    inputs_dir: Path
    base_year: int
    last_actual_year: int
    horizon: int
    scenarios: tuple[Scenario, ...]
    targets: tuple[Target, ...]
    untracked_targets: tuple[UntrackedTarget, ...]
    assumed_data: tuple[AssumedFigure, ...]
    sha256: str
    model: Model | None = None

    @property
    def years(self) -> np.ndarray:
        """Calendar years of the model axis, shape (n_years,)."""
        return np.arange(self.base_year, self.horizon + 1)

    def scenario(self, name: str) -> Scenario:
        for s in self.scenarios:
            if s.name == name:
                return s
        raise KeyError(f"no scenario '{name}'" + did_you_mean(name, self.scenario_names))

    @property
    def scenario_names(self) -> list[str]:
        return [s.name for s in self.scenarios]


def load_plan(path) -> Plan:
    """Read and validate a plan file.

    Parameters
    ----------
    path : str or pathlib.Path
        A TOML plan file, e.g. ``scenarios/lai_chau.toml``.

    Returns
    -------
    Plan

    Raises
    ------
    PlanError
        Listing every problem found, each with its key path and a suggested fix.
    """
    path = Path(path)
    problems = Problems(str(path))
    if not path.is_file():
        problems.add("", "file not found; check the path (plan files live in scenarios/)")
        problems.raise_if_any(PlanError)
    raw_bytes = path.read_bytes()
    try:
        doc = tomllib.loads(raw_bytes.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        problems.add("", f"not valid TOML ({exc}); check quotes, brackets and '=' signs "
                         "near that line")
        problems.raise_if_any(PlanError)
    plan = _parse(doc, path, problems, hashlib.sha256(raw_bytes).hexdigest())
    problems.raise_if_any(PlanError)
    return plan


def _check_keys(table, allowed, where, problems) -> None:
    for key in table:
        if key not in allowed:
            problems.add(where, f"unknown key '{key}'" + did_you_mean(key, allowed))


def _get(table, key, kind, where, problems, default=None, required=True):
    if key not in table:
        if required:
            problems.add(f"{where}.{key}" if where else key, f"missing; expected {_kind_name(kind)}")
        return default
    value = table[key]
    ok = isinstance(value, kind) and not (kind in (int, float, (int, float))
                                          and isinstance(value, bool))
    if not ok:
        problems.add(f"{where}.{key}" if where else key,
                     f"expected {_kind_name(kind)}, found {value!r}")
        return default
    return value


def _kind_name(kind) -> str:
    if kind == (int, float):
        return "a number"
    return {str: "text", int: "a whole number", list: "a list", dict: "a table"}.get(kind, str(kind))


def _parse(doc: dict, path: Path, problems: Problems, sha: str) -> Plan:
    _check_keys(doc, TOP_KEYS, "top level", problems)
    head = doc.get("plan")
    if not isinstance(head, dict):
        problems.add("plan", "missing [plan] table (province, inputs, base_year, "
                             "last_actual_year, horizon)")
        problems.raise_if_any(PlanError)
    _check_keys(head, PLAN_KEYS, "plan", problems)
    province = _get(head, "province", str, "plan", problems, "")
    inputs = _get(head, "inputs", str, "plan", problems, "")
    before = len(problems.items)
    base = _get(head, "base_year", int, "plan", problems, 0)
    last = _get(head, "last_actual_year", int, "plan", problems, 0)
    horizon = _get(head, "horizon", int, "plan", problems, 0)
    if base and last and horizon:
        if not 1990 <= base <= 2100:
            problems.add("plan.base_year", f"{base} is not a plausible year (1990-2100)")
        if not base <= last < horizon:
            problems.add("plan.last_actual_year", f"expected base_year <= last_actual_year "
                         f"< horizon, found {base}, {last}, {horizon}")
    if len(problems.items) > before:
        problems.raise_if_any(PlanError)  # the rest needs a sound year axis
    first, final = base, horizon

    shared = doc.get("uncertainty", {})
    shared = shared if isinstance(shared, dict) else {}
    model = _load_model(head.get("model"), path, shared, problems)
    if model is not None:
        shared = merge_uncertainty(model.uncertainty, shared)
    shared = (shared, parse_uncertainty(shared, "uncertainty", problems))
    scenarios = _parse_scenarios(doc.get("scenarios"), first, final, shared, problems)
    if model is not None:
        _check_model_forms(model, scenarios, problems)
    targets = _parse_targets(doc.get("targets", []), first, final, problems)
    untracked = _parse_untracked(doc.get("untracked_targets", []), problems)
    assumed = _parse_assumed(doc.get("assumed_data", []), first, last, problems)
    return Plan(
        path=path,
        province=province,
        name_vi=head.get("name_vi", province),
        name_en=head.get("name_en", province),
        inputs_dir=(path.parent / inputs).resolve(),
        base_year=base,
        last_actual_year=last,
        horizon=horizon,
        scenarios=tuple(scenarios),
        targets=tuple(targets),
        untracked_targets=tuple(untracked),
        assumed_data=tuple(assumed),
        sha256=sha,
        model=model,
    )


def _load_model(ref, plan_path: Path, plan_uncertainty: dict, problems) -> Model | None:
    """Read the calibrated model a plan refers to; its entries the plan does not override."""
    if ref is None:
        return None
    if not isinstance(ref, str):
        problems.add("plan.model", f"expected the path of a model file, found {ref!r}")
        return None
    path = (plan_path.parent / ref).resolve()
    if not path.is_file():
        problems.add("plan.model", f"{ref} not found (looked at {path}); run `quyhoach "
                     "calibrate PROVINCE` to write it, or remove the key")
        return None
    raw = path.read_bytes()
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        problems.add("plan.model", f"{ref} is not valid TOML ({exc}); re-run quyhoach calibrate")
        return None
    unc = doc.get("uncertainty")
    if not isinstance(unc, dict):
        problems.add("plan.model", f"{ref} has no [uncertainty] table; re-run quyhoach calibrate")
        return None
    own = {(kind, name) for kind in ("parameters", "shocks")
           for name in (plan_uncertainty.get(kind) or {})}
    calibrated = tuple(f"{kind}.{name}" for kind in ("parameters", "shocks")
                       for name in (unc.get(kind) or {}) if (kind, name) not in own)
    return Model(path, hashlib.sha256(raw).hexdigest(), unc,
                 dict(doc.get("model", {}).get("forms", {})), calibrated)


def _check_model_forms(model: Model, scenarios, problems) -> None:
    """A calibrated indicator speed only means something in the form it was estimated for."""
    for entry in model.calibrated:
        path = entry.removeprefix("parameters.")
        form = model.forms.get(path)
        if form is None or not path.startswith("indicators."):
            continue
        name = path.split(".")[1]
        for sc in scenarios:
            spec = sc.indicators.get(name)
            if spec is not None and spec.form != form:
                problems.add(f"scenarios.{sc.name}.indicators.{name}.form",
                             f"'{spec.form}', but {model.path.name} estimates this speed for "
                             f"form '{form}'; use form = \"{form}\" (and a speed in its "
                             f"units) or give [uncertainty.parameters].\"{path}\" yourself")


def _resolve_inheritance(tables: dict, problems: Problems) -> dict[str, dict]:
    """Merge each scenario over its parent: tables merge key by key, values replace."""
    resolved: dict[str, dict] = {}

    def merge(parent: dict, child: dict) -> dict:
        out = dict(parent)
        for k, v in child.items():
            if k == "inherits":
                continue
            if k == "uncertainty" and isinstance(v, dict):
                out[k] = merge_uncertainty(out.get(k) or {}, v)
            elif k == "indicators" and isinstance(v, dict):
                ind = dict(out.get(k, {}))
                for name, spec in v.items():
                    base = ind.get(name, {})
                    ind[name] = {**base, **spec} if isinstance(spec, dict) and isinstance(base, dict) else spec
                out[k] = ind
            elif k in SECTIONS and isinstance(v, dict) and isinstance(out.get(k), dict):
                out[k] = {**out[k], **v}
            else:
                out[k] = v
        return out

    def resolve(name: str, chain: tuple) -> dict:
        if name in resolved:
            return resolved[name]
        table = tables[name]
        parent = table.get("inherits")
        if parent is None:
            result = merge({}, table)
        elif not isinstance(parent, str) or parent not in tables:
            problems.add(f"scenarios.{name}.inherits", f"unknown scenario {parent!r}"
                         + did_you_mean(str(parent), tables))
            result = merge({}, table)
        elif parent in chain:
            problems.add(f"scenarios.{name}.inherits", "inheritance loops back: "
                         + " -> ".join((*chain, name, parent)))
            result = merge({}, table)
        else:
            result = merge(resolve(parent, (*chain, name)), table)
        resolved[name] = result
        return result

    for name in tables:
        resolve(name, ())
    return resolved


def _parse_scenarios(tables, first, final, shared, problems) -> list[Scenario]:
    if not isinstance(tables, dict) or not tables:
        problems.add("scenarios", "no scenarios; add at least [scenarios.base]")
        return []
    bad = [n for n, t in tables.items() if not isinstance(t, dict)]
    for n in bad:
        problems.add(f"scenarios.{n}", f"expected a table, found {tables[n]!r}")
    tables = {n: t for n, t in tables.items() if isinstance(t, dict)}
    for name, table in tables.items():  # check what each file table says, once
        where = f"scenarios.{name}"
        _check_keys(table, SCENARIO_META | set(SECTIONS) | {"indicators"}, where, problems)
        for section, keys in SECTIONS.items():
            if isinstance(table.get(section), dict):
                _check_keys(table[section], keys, f"{where}.{section}", problems)
            elif section in table:
                problems.add(f"{where}.{section}", f"expected a table, found {table[section]!r}")
        indicators = table.get("indicators") or {}
        if not isinstance(indicators, dict):
            problems.add(f"{where}.indicators", f"expected a table of indicators, found "
                         f"{indicators!r}")
            indicators = {}
        for ind, spec in indicators.items():
            if ind not in INDICATORS:
                problems.add(f"{where}.indicators", f"unknown indicator '{ind}'"
                             + did_you_mean(ind, INDICATORS))
            elif isinstance(spec, dict):
                _check_keys(spec, INDICATOR_KEYS, f"{where}.indicators.{ind}", problems)
    merged = _resolve_inheritance(tables, problems)
    return [_build_scenario(name, t, tables[name], first, final, shared, problems)
            for name, t in merged.items()]


def _owner_problems(own: dict, section: str, key: str | None, problems):
    """Problems of a value are reported once, by the scenario that writes it."""
    table = own.get(section)
    written = isinstance(table, dict) and (key is None or key in table)
    return problems if written else Problems("inherited")


def _build_scenario(name, t, own, first, final, shared, problems) -> Scenario:
    where = f"scenarios.{name}"
    values = {}
    for p in PARAMETERS:
        section, key = p.path.split(".")
        table = t.get(section)
        if not isinstance(table, dict) or key not in table:
            continue
        key_path = f"{where}.{p.path}"
        sink = _owner_problems(own, section, key, problems)
        arr = expand(table[key], first, final, key_path, sink)
        _check_values(arr, p.unit, p.lower, p.upper, p.percent, key_path, sink)
        values[p.path] = arr
    reclass = []
    urban = t.get("urbanization") if isinstance(t.get("urbanization"), dict) else {}
    events = urban.get("reclassification", [])
    sink = _owner_problems(own, "urbanization", "reclassification", problems)
    if not isinstance(events, list):
        sink.add(f"{where}.urbanization.reclassification", "expected a list like "
                 "[ { year = 2028, added_share = 5.0 } ] (square brackets around the events)")
        events = []
    for i, event in enumerate(events):
        w = f"{where}.urbanization.reclassification[{i}]"
        if not isinstance(event, dict):
            sink.add(w, "expected a table like { year = 2027, added_share = 3.0 }")
            continue
        _check_keys(event, {"year", "added_share", "note"}, w, sink)
        year = _get(event, "year", int, w, sink)
        added = _get(event, "added_share", (int, float), w, sink)
        if year is not None and not first < year <= final:
            sink.add(f"{w}.year", f"{year} is outside the projection years {first + 1}-{final}")
        if added is not None and not 0 <= added <= 50:
            sink.add(f"{w}.added_share", f"{added} is outside 0-50 (percentage points of "
                     "population reclassified urban in that year)")
        if year is not None and added is not None:
            reclass.append((year, float(added)))
    indicators = {}
    own_indicators = own.get("indicators") if isinstance(own.get("indicators"), dict) else {}
    for ind, spec in (t.get("indicators") if isinstance(t.get("indicators"), dict) else {}).items():
        if ind not in INDICATORS:
            continue  # reported above
        spec_problems = problems if ind in own_indicators else Problems("inherited")
        w = f"{where}.indicators.{ind}"
        if not isinstance(spec, dict):
            spec_problems.add(w, "expected a table with form, speed, lower, upper")
            continue
        form = _get(spec, "form", str, w, spec_problems, "points")
        if form not in FORMS:
            spec_problems.add(f"{w}.form", f"unknown form '{form}'" + did_you_mean(form, FORMS))
            continue
        lower = _get(spec, "lower", (int, float), w, spec_problems, 0.0, required=False)
        upper = _get(spec, "upper", (int, float), w, spec_problems, 100.0, required=False)
        if not 0 <= lower < upper <= 100:
            spec_problems.add(w, f"bounds must satisfy 0 <= lower < upper <= 100 (percent), "
                            f"found lower={lower}, upper={upper}")
        if "speed" not in spec:
            spec_problems.add(f"{w}.speed", f"missing; expected a number or period table in {FORMS[form]}")
            continue
        speed = expand(spec["speed"], first, final, f"{w}.speed", spec_problems)
        _check_values(speed, FORMS[form], -100.0, 100.0, False, f"{w}.speed", spec_problems)
        indicators[ind] = IndicatorSpec(form, speed, float(lower), float(upper))
    fx = t.get("exchange_rate") or {}
    fx_ref = None
    if fx:
        w = f"{where}.exchange_rate"
        level = _get(fx, "vnd_per_usd", (int, float), w, problems)
        year = _get(fx, "reference_year", int, w, problems)
        if level is not None and not 5_000 <= level <= 200_000:
            problems.add(f"{w}.vnd_per_usd", f"{level} is not a plausible VND per USD rate "
                         "(5,000-200,000)")
        if year is not None and not first <= year <= final:
            problems.add(f"{w}.reference_year", f"{year} is outside {first}-{final}")
        if level is not None and year is not None:
            fx_ref = (year, float(level))
    for v in values.values():
        v.flags.writeable = False
    uncertainty = shared[1]
    if isinstance(t.get("uncertainty"), dict) and t["uncertainty"]:
        sink = problems if isinstance(own.get("uncertainty"), dict) else Problems("inherited")
        uncertainty = parse_uncertainty(merge_uncertainty(shared[0], t["uncertainty"]),
                                        f"{where}.uncertainty", sink)
    return Scenario(
        name=name,
        label_vi=str(t.get("label_vi", name)),
        label_en=str(t.get("label_en", name)),
        description=str(t.get("description", "")),
        values=MappingProxyType(values),
        reclassification=tuple(sorted(reclass)),
        indicators=MappingProxyType(indicators),
        fx_reference=fx_ref,
        uncertainty=uncertainty,
    )


def _check_values(arr, unit, lower, upper, percent, where, problems) -> None:
    vals = arr[~np.isnan(arr)]
    if vals.size == 0:
        return
    if percent and np.all((vals != 0) & (np.abs(vals) < 0.3)):
        problems.add(where, f"{vals[0]:g} {unit} is implausibly small; values here are in "
                     f"percent: did you write a fraction? Use {vals[0] * 100:g} for "
                     f"{vals[0] * 100:g} %/yr")
        return
    worst = vals[np.argmax(np.maximum(vals - upper, lower - vals))]
    if worst > upper:
        problems.add(where, f"{worst:g} is above the maximum {upper:g} ({unit})")
    elif worst < lower:
        extra = " (a fall of more than 100 % is impossible)" if unit == "%/yr" and worst <= -100 else ""
        problems.add(where, f"{worst:g} is below the minimum {lower:g} ({unit}){extra}")


def _parse_targets(items, first, final, problems) -> list[Target]:
    out, seen = [], set()
    for i, t in enumerate(_array_of_tables(items, "targets", problems)):
        w = f"targets[{i}]"
        if not isinstance(t, dict):
            problems.add(w, "expected a table")
            continue
        tid = t.get("id")
        if isinstance(tid, str):
            w = f"targets[{i}] (id '{tid}')"
        _check_keys(t, TARGET_KEYS, w, problems)
        tid = _get(t, "id", str, w, problems, f"target_{i}")
        if tid in seen:
            problems.add(f"{w}.id", f"duplicate id '{tid}'; every target needs its own id")
        seen.add(tid)
        indicator = _get(t, "indicator", str, w, problems, "")
        var = BY_NAME.get(indicator)
        if indicator and var is None:
            problems.add(f"{w}.indicator", f"unknown indicator '{indicator}'"
                         + did_you_mean(indicator, BY_NAME))
        kind = _get(t, "kind", str, w, problems, "level")
        if kind not in TARGET_KINDS:
            problems.add(f"{w}.kind", f"unknown kind '{kind}'" + did_you_mean(kind, TARGET_KINDS))
            continue
        comparison = _get(t, "comparison", str, w, problems, ">=")
        if comparison not in COMPARISONS:
            hint = "; write 'about' for '~'" if comparison in ("~", "≈", "=", "==") else ""
            problems.add(f"{w}.comparison", f"unknown comparison '{comparison}'; expected "
                         f"'>=', '<=' or 'about'{hint}")
        value = _get(t, "value", (int, float), w, problems, 0.0)
        tolerance = _get(t, "tolerance", (int, float), w, problems, 0.0,
                         required=comparison == "about")
        if tolerance is not None and tolerance < 0:
            problems.add(f"{w}.tolerance", f"{tolerance} is negative; give the half-width "
                         "of the accepted band in the target's unit")
        first_year, year = None, None
        if kind in ("level", "share"):
            year = _get(t, "year", int, w, problems)
            if year is not None and not first <= year <= final:
                problems.add(f"{w}.year", f"{year} is outside the plan's years {first}-{final}")
            if "period" in t:
                problems.add(f"{w}.period", f"kind '{kind}' takes a year, not a period")
        else:
            period = _get(t, "period", str, w, problems)
            span = parse_period(period) if period else None
            if period and (span is None or span[1] is None):
                problems.add(f"{w}.period", f"expected a period like \"2021-2030\", found {period!r}")
            elif span:
                first_year, year = span
                lowest = first + 1 if kind != "cumulative" else first
                if first_year < lowest or year > final or year < first_year:
                    problems.add(f"{w}.period", f"{period} must lie within {lowest}-{final}"
                                 + (" (growth and change need the year before the period)"
                                    if kind != "cumulative" else ""))
            if "year" in t:
                problems.add(f"{w}.year", f"kind '{kind}' takes a period, not a year")
        if var is not None:
            if kind == "share" and var.kind != "share":
                problems.add(f"{w}.kind", f"'{indicator}' is not a share; use kind = \"level\"")
            if kind in ("average_growth", "cumulative") and var.kind != "level":
                problems.add(f"{w}.kind", f"{kind} needs a level indicator (e.g. grdp_real), "
                             f"'{indicator}' is a {var.kind}")
            if kind == "share" and value is not None and 0 < value < 1 and comparison != "<=":
                problems.add(f"{w}.value", f"{value} % looks like a fraction; shares are in "
                             f"percent: did you mean {value * 100:g}?")
            if kind == "average_growth" and value is not None and 0 < abs(value) < 0.3:
                problems.add(f"{w}.value", f"{value} %/yr looks like a fraction; growth "
                             f"targets are in percent: did you mean {value * 100:g}?")
        for key in ("label_vi", "label_en", "source"):
            _get(t, key, str, w, problems, "")
        if year is None or value is None:
            continue
        out.append(Target(tid, indicator, kind, comparison, float(value), float(tolerance or 0.0),
                          year, first_year, t.get("label_vi", ""), t.get("label_en", ""),
                          t.get("source", ""), str(t.get("note", ""))))
    return out


def _array_of_tables(items, name, problems) -> list:
    if isinstance(items, list):
        return items
    problems.add(name, f"expected [[{name}]] entries (double brackets: one table per entry), "
                       f"found a single [{name}] table")
    return []


def _parse_untracked(items, problems) -> list[UntrackedTarget]:
    out = []
    for i, t in enumerate(_array_of_tables(items, "untracked_targets", problems)):
        w = f"untracked_targets[{i}]"
        if not isinstance(t, dict):
            problems.add(w, "expected a table")
            continue
        _check_keys(t, UNTRACKED_KEYS, w, problems)
        vals = [_get(t, k, str, w, problems, "") for k in
                ("label_vi", "label_en", "target", "source", "reason")]
        out.append(UntrackedTarget(*vals))
    return out


def _parse_assumed(items, first, last, problems) -> list[AssumedFigure]:
    out = []
    for i, t in enumerate(_array_of_tables(items, "assumed_data", problems)):
        w = f"assumed_data[{i}]"
        if not isinstance(t, dict):
            problems.add(w, "expected a table")
            continue
        _check_keys(t, ASSUMED_KEYS, w, problems)
        ind = _get(t, "indicator", str, w, problems, "")
        year = _get(t, "year", int, w, problems, 0)
        value = _get(t, "value", (int, float), w, problems, 0.0)
        unit = _get(t, "unit", str, w, problems, "")
        note = _get(t, "note", str, w, problems, "")
        if note is not None and not note.strip():
            problems.add(f"{w}.note", "empty; say why this figure is assumed and from what")
        if year and not first <= year <= last:
            problems.add(f"{w}.year", f"{year} is outside the actual years {first}-{last}; "
                         "assumed data only fills history")
        out.append(AssumedFigure(ind, year, float(value), unit, note))
    return out
