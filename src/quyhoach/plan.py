"""Plan files (``scenarios/<province>.toml``): parse, validate, resolve inheritance.

What the file says is turned into frozen dataclasses, in the file's units (percent,
per 1000). ``quyhoach.assemble`` converts them, once, into what the kernel needs.
Every problem in a file is collected before :class:`~quyhoach.errors.PlanError` is
raised. The file format is documented in the README ("Plan files").

Every value is checked on its own: numbers must be finite and possible (no growth
of -100 %/yr or less, no share above 100), and plausible for their parameter, or
confirmed by the planner (``confirm = ["growth.agriculture"]`` in a scenario,
``confirm = true`` in a target). A rate in percent that reads far better as a
fraction written by mistake (0.136 next to 9.0 %/yr) is refused unless confirmed.
Names that become folder and file names (province, scenarios) must be identifiers.

A plan keeps the document it was read from (``plan.document``). Planners change a plan
in code with ``with_scenario``, ``with_target`` and ``replace``: :mod:`quyhoach.edit`
builds the changed document and it is validated here as a file is, so every rule and
message is the file's; ``save`` writes it as a plan file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from types import MappingProxyType

import numpy as np

from . import edit
from .errors import PlanError, Problem, Problems, did_you_mean, shown
from .fields import array_of_tables as _array_of_tables
from .fields import check_identifier
from .fields import check_keys as _check_keys
from .fields import control as _control
from .fields import get as _get
from .fields import key_path as _key
from .inputs import MODEL_UNITS, value_range
from .periods import as_number, expand, parse_period
from .regions import Regions
from .regions import parse as parse_regions
from .registry import (
    BLOCK_OF_HISTORY,
    BY_NAME,
    FORMS,
    INDICATORS,
    PARAMETER_BY_PATH,
    PARAMETERS,
    SECTORS,
    Parameter,
    indicator_speed,
)
from .uncertainty import Uncertainty
from .uncertainty import merge as merge_uncertainty
from .uncertainty import parse as parse_uncertainty

__all__ = ["PARAMETERS", "PARAMETER_BY_PATH", "Parameter", "FORMS", "load_plan",
           "check_identifier", "Plan", "Scenario", "Target"]

SECTIONS: dict[str, set[str]] = {}
for _p in PARAMETERS:
    _section, _name = _p.path.split(".")
    SECTIONS.setdefault(_section, set()).add(_name)
del _p, _section, _name
SECTIONS["urbanization"].add("reclassification")
SECTIONS["exchange_rate"] |= {"vnd_per_usd", "reference_year"}
SCENARIO_META = {"label_vi", "label_en", "description", "inherits", "uncertainty", "confirm",
                 "regions"}
# What a member region's table in a scenario may change: its own assumptions.
REGION_SCENARIO_KEYS = {*SECTIONS, "indicators", "confirm"}
INDICATOR_KEYS = {"form", "speed", "lower", "upper"}
TARGET_KINDS = {"level", "average_growth", "share", "change_per_year", "cumulative"}
COMPARISONS = {">=", "<=", "about"}
TOP_KEYS = {"plan", "regions", "scenarios", "targets", "untracked_targets", "assumed_data",
            "uncertainty"}
PLAN_KEYS = {"province", "name_vi", "name_en", "inputs", "base_year", "last_actual_year",
             "horizon", "model", "blocks"}
TARGET_KEYS = {"id", "indicator", "region", "kind", "year", "period", "comparison", "value",
               "tolerance", "label_vi", "label_en", "source", "note", "confirm"}
UNTRACKED_KEYS = {"label_vi", "label_en", "target", "source", "reason"}
ASSUMED_KEYS = {"indicator", "year", "value", "unit", "note", "region"}
CONFIRMABLE = {*PARAMETER_BY_PATH, *(f"indicators.{i}.speed" for i in INDICATORS)}

# Limits that keep a hostile or mistaken file from exhausting memory or time.
MAX_PLAN_BYTES = 4 * 2**20
MAX_NESTING = 12  # the deepest real key is scenarios.s.indicators.i.speed."period"
MAX_YEARS = 100  # base year to horizon
MAX_SCENARIOS = 100
MAX_TARGETS = 500
FIRST_YEAR, LAST_YEAR = 1990, 2100  # plausible base years
# Names that become folder and file names: ASCII letters, digits, '_' and '-'.
SECTOR_SHARES = tuple(f"share_{s}" for s in SECTORS)


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
    confirmed : tuple of str
        Parameter paths whose unusual values this scenario's table confirms.
    regional : Mapping[str, Scenario]
        Member region → its assumptions, for members whose table says something.
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
    confirmed: tuple = ()
    regional: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))

    def in_region(self, region: str) -> Scenario:
        """The assumptions of one member region: the scenario's, where the member's own
        table (``[scenarios.<name>.regions.<member>]``) says nothing else."""
        return self.regional.get(region, self)


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
    confirmed: bool = False  # the planner confirmed an unusual value (confirm = true)
    region: str = ""  # a member region's id; "" for the whole province


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
    """A figure the plan assumes where the inputs have none (flagged in every output).

    ``region`` is a member region's id for a figure of that member (a locality's base-year
    urban share), "" for the province.
    """

    indicator: str
    year: int
    value: float
    unit: str
    note: str
    region: str = ""


@dataclass(frozen=True)
class Plan:
    """A validated plan file, or a plan changed in code.

    Plans are equal when everything the engine uses is equal (scenarios, targets,
    years, inputs and model); where they came from (``path``, ``sha256``, ``document``,
    ``edits``) is not compared: compare ``sha256`` for identical files.

    Attributes
    ----------
    path : pathlib.Path
        The plan file; relative ``inputs`` and ``model`` paths start from its folder
        (a plan changed in code keeps the file it came from).
    sha256 : str
        Identifies the content: of the file's bytes as read, or, for a plan changed in
        code, of ``to_toml()`` (the bytes ``save`` writes beside the original).
    document : Mapping
        The TOML document the plan was validated from, read-only (tables as
        mappings, lists as tuples; ``quyhoach.edit.thaw`` gives an editable copy).
    edits : tuple of str
        Empty for a plan as read from its file. For a plan changed in code: where it
        came from (``"from <path> (sha256 <hex>)"``), then one line per change, e.g.
        ``"with_scenario('fast') adds it: sets growth.industry_construction, inherits"``.
    """

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
    regions: Regions = Regions()
    document: Mapping = field(default_factory=lambda: edit.freeze({}), repr=False)
    edits: tuple[str, ...] = ()

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

    @property
    def edited(self) -> bool:
        """Whether the plan was changed in code (and so differs from its file)."""
        return bool(self.edits)

    def __eq__(self, other) -> bool:
        if not isinstance(other, Plan):
            return NotImplemented
        return all(_same(getattr(self, f.name), getattr(other, f.name))
                   for f in dataclasses.fields(self) if f.name not in _PROVENANCE)

    # ------------------------------------------------------------- changed in code

    def with_scenario(self, name: str, inherits: str | None = None, *,
                      label_vi: str | None = None, label_en: str | None = None,
                      description: str | None = None, **changes) -> Plan:
        """A new plan with scenario ``name`` added, or changed where it exists.

        Validated as a plan file is (a 790 %/yr growth is refused as in a file). This
        plan is left unchanged. Conventions (nesting, merging, None, confirm): see
        :mod:`quyhoach.edit`.

        Parameters
        ----------
        name : str
            A new scenario is added after the others; an existing one is changed key
            by key (what is not given stays).
        inherits : str, optional
            The parent scenario. None keeps an existing scenario's parent; a new
            scenario without one must state every value itself.
        label_vi, label_en, description : str, optional
            Display names and description; None leaves them as they are.
        **changes
            The scenario's plan-file keys: sections as tables
            (``growth={"industry_construction": {"2025-2030": 16.0, "2031-2050":
            10.0}}``) or dotted names (``**{"budget.buoyancy": 1.1}``),
            ``indicators``, ``uncertainty``, ``confirm``. A year-keyed value replaces
            the inherited one whole, so give every period.

        Returns
        -------
        Plan

        Raises
        ------
        PlanError
            Every problem of the changed plan, with key paths as in a file.

        Examples
        --------
        >>> fast = plan.with_scenario("fast", inherits="base", label_en="Fast",
        ...     growth={"industry_construction": {"2025-2030": 16.0, "2031-2050": 10.0}})
        """
        labels = {"label_vi": label_vi, "label_en": label_en, "description": description}
        changes = {**{k: v for k, v in labels.items() if v is not None}, **changes}
        return self._edit(edit.scenario, name, inherits, changes)

    def with_target(self, id: str, **fields) -> Plan:
        """A new plan with target ``id`` added, or changed where a target has that id.

        A new target is appended to the plan's targets and needs the keys of a
        ``[[targets]]`` entry (indicator, kind, year or period, comparison, value,
        label_vi, label_en, source); an existing one keeps its place and the keys not
        given (None removes one, e.g. ``year=None`` when giving a period). Validated
        as a plan file is. This plan is left unchanged.

        Examples
        --------
        >>> plan.with_target("grdp_per_capita_2030", value=120.0)
        >>> plan.with_target("poverty_2030", indicator="poverty_rate", kind="level",
        ...     year=2030, comparison="<=", value=10.0, label_vi="Tỷ lệ hộ nghèo 2030",
        ...     label_en="Poverty rate 2030", source="NQ 01/2025")
        """
        return self._edit(edit.target, id, fields)

    def replace(self, **changes) -> Plan:
        """A new plan with ``[plan]`` keys or whole sections replaced, re-validated.

        ``horizon=2045``, ``last_actual_year=2025``, ``name_vi=...``, ``model=None``
        (no calibrated uncertainty) set keys of ``[plan]``; ``scenarios=``,
        ``targets=``, ``untracked_targets=``, ``assumed_data=``, ``uncertainty=`` and
        ``plan=`` replace a whole section; a dotted name sets one value
        (``**{"uncertainty.shocks": {...}}``). Values replace whole; None removes
        (``**{"scenarios.low": None}`` removes a scenario). Relative paths
        (``inputs``, ``model``) start from the plan file's folder, as in the file.
        This plan is left unchanged.
        """
        return self._edit(edit.replace, changes, plan_keys=PLAN_KEYS, sections=TOP_KEYS)

    def to_toml(self) -> str:
        """The plan's document as plan-file text (plain layout, no comments).

        Relative paths in it start from the folder of ``path``; ``save`` rewrites
        them for another folder.
        """
        return edit.to_toml(self._document())

    def save(self, path, *, overwrite: bool = False) -> Path:
        """Write the plan as a plan file, so that an edit made in code can be kept.

        ``load_plan`` of the file gives a plan equal to this one (and, written beside
        the original, with the same ``sha256``). Relative ``inputs`` and ``model``
        paths are rewritten to start from the new file's folder. Comments are not
        kept.

        Parameters
        ----------
        path : str or pathlib.Path
            The file to write.
        overwrite : bool
            Replace an existing file (atomically); refused otherwise.

        Returns
        -------
        pathlib.Path

        Raises
        ------
        quyhoach.edit.PlanExistsError
            The file exists and ``overwrite`` is false (also a ``FileExistsError``).
        """
        return edit.write(self._document(), self.path, path, overwrite)

    def _document(self) -> Mapping:
        if not self.document:
            raise PlanError([Problem(str(self.path), "this plan holds no plan document (it "
                                     "was not made by load_plan or an edit), so it cannot "
                                     "be changed or written; load it with load_plan")])
        return self.document

    def _edit(self, change, *args, **kwargs) -> Plan:
        """A new plan from this one's document changed by ``change``, validated."""
        problems = Problems(f"{self.path} (edited in code)")
        doc, what = change(self._document(), *args, problems=problems, **kwargs)
        _too_deep(doc, problems, "", "plan")
        problems.raise_if_any(PlanError)
        text = edit.to_toml(doc).encode("utf-8")
        if len(text) > MAX_PLAN_BYTES:
            problems.add("", f"the changed plan is {len(text):,} bytes as a file; a plan "
                             f"file is at most {MAX_PLAN_BYTES:,} bytes: split it into "
                             "several plans")
            problems.raise_if_any(PlanError)
        plan = _parse(doc, self.path, problems, hashlib.sha256(text).hexdigest())
        problems.raise_if_any(PlanError)
        origin = self.edits or (f"from {self.path} (sha256 {self.sha256})",)
        return dataclasses.replace(plan, edits=(*origin, what))


_PROVENANCE = {"path", "sha256", "document", "edits"}


def _same(a, b) -> bool:
    """Equality that compares arrays (NaN equal to NaN) and descends into containers."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) \
            and a.shape == b.shape and bool(np.all((a == b) | ((a != a) & (b != b))))
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        return type(a) is type(b) and all(_same(getattr(a, f.name), getattr(b, f.name))
                                          for f in dataclasses.fields(a))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    return bool(a == b)


# ------------------------------------------------------------------------ reading

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
    read = read_toml(path, problems, "", "plan file")
    if read is None and path.is_dir():
        problems.add("", "a folder, not a plan file; give one *.toml plan file (quyhoach "
                         "batch takes folders of them)")
    elif read is None:
        problems.add("", "file not found; check the path (plan files live in scenarios/)")
    problems.raise_if_any(PlanError)
    doc, raw_bytes = read
    plan = _parse(doc, path, problems, hashlib.sha256(raw_bytes).hexdigest())
    problems.raise_if_any(PlanError)
    return plan


def read_toml(path: Path, problems: Problems, key: str, what: str):
    """``(document, bytes)`` of a TOML file; None when there is no such file.

    Everything else that can go wrong (unreadable, too big, not UTF-8, not TOML, a
    number Python refuses to read, nesting deeper than any plan needs) is added to
    ``problems`` at ``key`` and ``(None, b"")`` is returned.
    """
    try:
        if not path.is_file():
            return None
        size = path.stat().st_size
        if size > MAX_PLAN_BYTES:
            problems.add(key, f"the {what} is {size:,} bytes; a plan or model file is at most "
                              f"{MAX_PLAN_BYTES:,} bytes: is this the right file?")
            return None, b""
        raw = path.read_bytes()
    except (OSError, ValueError) as exc:
        problems.add(key, f"cannot read the {what} ({type(exc).__name__}: "
                          f"{getattr(exc, 'strerror', None) or 'unreadable'}); check the path "
                          "and its permissions")
        return None, b""
    doc = _parse_toml(raw, problems, key, what)
    return doc, raw


def _parse_toml(raw: bytes, problems: Problems, key: str, what: str) -> dict | None:
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        problems.add(key, f"not valid TOML ({exc}); check quotes, brackets and '=' signs "
                          "near that line")
        return None
    except RecursionError:
        problems.add(key, f"not valid TOML for a {what}: tables or lists nested hundreds of "
                          f"levels deep, too deep to read; a plan needs at most {MAX_NESTING}")
        return None
    except ValueError:  # Python refuses to read integers of more than 4300 digits
        problems.add(key, f"not valid TOML for a {what}: a whole number thousands of digits "
                          "long; no plan value needs more than a few digits")
        return None
    return None if _too_deep(doc, problems, key, what) else doc


def _too_deep(doc, problems: Problems, key: str, what: str) -> bool:
    """Whether tables or lists nest deeper than any plan needs (reported)."""
    if _nesting(doc) <= MAX_NESTING:
        return False
    problems.add(key, f"tables or lists nested more than {MAX_NESTING} levels deep; a "
                      f"{what} needs at most {MAX_NESTING}: check the brackets and dotted "
                      "keys")
    return True


def _nesting(doc) -> int:
    """How deeply tables and lists nest in ``doc`` (iterative: any depth is safe)."""
    deepest, stack = 0, [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_NESTING:
            break
        children = node.values() if isinstance(node, dict) else node
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return deepest


# ------------------------------------------------------------------- the [plan] table

@dataclass(frozen=True)
class _Head:
    province: str
    name_vi: str
    name_en: str
    inputs_dir: Path
    base: int
    last: int
    horizon: int


def _parse(doc: dict, path: Path, problems: Problems, sha: str) -> Plan:
    _check_keys(doc, TOP_KEYS, "top level", problems)
    head = doc.get("plan")
    if not isinstance(head, dict):
        problems.add("plan", "missing [plan] table (province, inputs, base_year, "
                             "last_actual_year, horizon)")
        head = {}
        problems.raise_if_any(PlanError)
    h = _parse_head(head, path, problems)
    shared = doc.get("uncertainty", {})
    if not isinstance(shared, dict):  # the model's entries must not hide it
        problems.add("uncertainty", "expected a table with parameters, shocks and "
                                    f"disruptions, found {shown(shared)}")
        shared = {}
    province = h.province if isinstance(h, _Head) else h
    model = _load_model(head.get("model"), path, province, shared, problems)
    if not isinstance(h, _Head):
        problems.raise_if_any(PlanError)  # the rest needs a sound year axis
    if model is not None:
        shared = merge_uncertainty(model.uncertainty, shared)
    shared = (shared, parse_uncertainty(shared, "uncertainty", problems))
    regions = parse_regions(doc.get("regions"), h.province, problems, head.get("blocks"))
    _check_joins(regions, h.base, h.horizon, problems)
    scenarios = _parse_scenarios(doc.get("scenarios"), h.base, h.horizon, shared, problems,
                                 regions.leaf_ids)  # a group has no assumptions of its own
    if model is not None:
        _check_model_forms(model, scenarios, problems)
    targets = _parse_targets(doc.get("targets", []), h.base, h.horizon, problems, regions.ids)
    untracked = _parse_untracked(doc.get("untracked_targets", []), problems)
    assumed = _parse_assumed(doc.get("assumed_data", []), h.base, h.last, problems, regions)
    return Plan(path=path, province=h.province, name_vi=h.name_vi, name_en=h.name_en,
                inputs_dir=h.inputs_dir, base_year=h.base, last_actual_year=h.last,
                horizon=h.horizon, scenarios=tuple(scenarios), targets=tuple(targets),
                untracked_targets=tuple(untracked), assumed_data=tuple(assumed),
                sha256=sha, model=model, regions=regions, document=edit.freeze(doc))


def _parse_head(head: dict, path: Path, problems: Problems):
    """The [plan] table; a ``_Head``, or the province name alone when the years are unsound."""
    _check_keys(head, PLAN_KEYS, "plan", problems)
    province = _get(head, "province", str, "plan", problems, "")
    if province:
        check_identifier(province, "plan.province", problems, "province", "name_vi / name_en")
    name_vi = _get(head, "name_vi", str, "plan", problems, province, required=False)
    name_en = _get(head, "name_en", str, "plan", problems, province, required=False)
    inputs_dir = _inputs_dir(head, path, problems)
    years = _year_axis(head, problems)
    if years is None:
        return province
    return _Head(province, name_vi, name_en, inputs_dir, *years)


def _year_axis(head: dict, problems: Problems) -> tuple[int, int, int] | None:
    """(base_year, last_actual_year, horizon), or None (reported) when unsound."""
    before = len(problems.items)
    base = _get(head, "base_year", int, "plan", problems, 0)
    last = _get(head, "last_actual_year", int, "plan", problems, 0)
    horizon = _get(head, "horizon", int, "plan", problems, 0)
    if len(problems.items) > before:
        return None
    if not FIRST_YEAR <= base <= LAST_YEAR:
        problems.add("plan.base_year", f"{shown(base)} is not a plausible year "
                                       f"({FIRST_YEAR}-{LAST_YEAR})")
    elif not base <= last < horizon:
        problems.add("plan.last_actual_year", f"expected base_year <= last_actual_year "
                     f"< horizon, found {base}, {shown(last)}, {shown(horizon)}")
    elif horizon - base > MAX_YEARS:
        problems.add("plan.horizon", f"{shown(horizon)} is {horizon - base:,} years after "
                     f"base_year {base}; a plan projects at most {MAX_YEARS} years (e.g. "
                     f"horizon = {base + 30})")
    return (base, last, horizon) if len(problems.items) == before else None


def _resolve(ref: str, plan_path: Path) -> Path | None:
    """``ref`` from the plan file's folder (absolute paths stay); None if unusable."""
    try:
        return (plan_path.parent / ref).resolve()
    except (OSError, RuntimeError, ValueError):  # NUL bytes, symlink loops
        return None


def _exists(path: Path, what: str) -> bool:
    try:
        return (path / "history.csv").is_file() if what == "inputs" else path.is_file()
    except (OSError, ValueError):
        return False


def _path_hint(ref: str, plan_path: Path, what: str) -> str:
    """The path the plan probably means, written from the plan's folder, or ''.

    A copied plan keeps relative paths that now start from the wrong folder; the same
    path from the working directory (or one above it) usually finds what was meant.
    """
    parts = [p for p in PurePosixPath(ref.replace("\\", "/")).parts if p not in ("..", ".", "/")]
    try:
        cwd = Path.cwd()
    except OSError:  # the working directory was removed
        return ""
    if not parts:
        return ""
    for base in (cwd, *list(cwd.parents)[:2]):
        candidate = base.joinpath(*parts)
        if _exists(candidate, what):
            try:
                rel = Path(os.path.relpath(candidate, plan_path.parent.resolve())).as_posix()
            except ValueError:  # another drive
                rel = candidate.as_posix()
            return rel if rel.count("../") <= 3 else candidate.as_posix()
    return ""


def _inputs_dir(head: dict, path: Path, problems: Problems) -> Path:
    """The province's input folder; reported unless it holds a history.csv."""
    ref = _get(head, "inputs", str, "plan", problems)
    if ref is None:
        return path.parent
    resolved = _resolve(ref, path)
    if resolved is None or not _exists(resolved, "inputs"):
        hint = _path_hint(ref, path, "inputs")
        fix = (f"; did you mean inputs = \"{hint}\"?" if hint else
               "; write the path of the province's input folder, relative to the plan file's "
               "folder or absolute")
        problems.add("plan.inputs", f"{shown(ref)} holds no history.csv (looked in "
                     f"{resolved or ref}; a relative path starts at the plan file's folder, "
                     f"{path.parent.resolve()}){fix}")
    return resolved or path.parent


# ----------------------------------------------------------------------- the model

def _load_model(ref, plan_path: Path, province, plan_uncertainty, problems) -> Model | None:
    """Read the calibrated model a plan refers to; its entries the plan does not override."""
    if ref is None:
        return None
    if not isinstance(ref, str) or not ref or _control(ref):
        problems.add("plan.model", f"expected the path of a model file, found {shown(ref)}")
        return None
    path = _resolve(ref, plan_path)
    read = read_toml(path, problems, "plan.model", "model file") if path else None
    if read is None or path is None:
        hint = _path_hint(ref, plan_path, "model")
        fix = (f"; did you mean model = \"{hint}\"?" if hint else
               "; correct the path, remove the key (no calibrated uncertainty), or, if the "
               f"model was never written, run `quyhoach calibrate {province or 'PROVINCE'}`")
        problems.add("plan.model", f"{shown(ref)} not found (looked at {path or ref}; a "
                     f"relative path starts at the plan file's folder, "
                     f"{plan_path.parent.resolve()}){fix}")
        return None
    doc, raw = read
    if doc is None:
        return None
    unc = doc.get("uncertainty")
    if not isinstance(unc, dict):
        problems.add("plan.model", f"{ref} has no [uncertainty] table; re-run quyhoach calibrate")
        return None
    own_problems = Problems(str(path))
    parse_uncertainty(unc, "uncertainty", own_problems)
    if own_problems.items:  # reported against the model file, not the plan
        problems.items.extend(own_problems.items)
        return None
    plan_uncertainty = plan_uncertainty if isinstance(plan_uncertainty, dict) else {}
    own = {(kind, name) for kind in ("parameters", "shocks")
           for name in _table(plan_uncertainty.get(kind))}
    calibrated = tuple(f"{kind}.{name}" for kind in ("parameters", "shocks")
                       for name in _table(unc.get(kind)) if (kind, name) not in own)
    forms = _table(_table(doc.get("model")).get("forms"))
    return Model(path, hashlib.sha256(raw).hexdigest(), unc, dict(forms), calibrated)


def _table(value) -> dict:
    """``value`` if it is a table, else an empty one (its type is reported elsewhere)."""
    return value if isinstance(value, dict) else {}


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
                             f"form '{shown(form)[1:-1]}'; use form = \"{form}\" (and a speed "
                             f"in its units) or give [uncertainty.parameters].\"{path}\" "
                             "yourself")


# ----------------------------------------------------------------------- scenarios

class _Ignored(Problems):
    """Where problems of inherited values go: they are reported where written."""

    def add(self, key: str, message: str) -> None:
        return None


_IGNORED = _Ignored("inherited")


@dataclass(frozen=True)
class _Written:
    """A number a scenario's own table writes for a parameter (for cross-checks)."""

    param: Parameter
    where: str
    value: float
    confirmed: bool
    hint: str


def _parse_scenarios(tables, first, final, shared, problems, members=()) -> list[Scenario]:
    if not isinstance(tables, dict) or not tables:
        problems.add("scenarios", "no scenarios; add at least [scenarios.base]")
        return []
    if len(tables) > MAX_SCENARIOS:
        problems.add("scenarios", f"{len(tables)} scenarios; a plan holds at most "
                     f"{MAX_SCENARIOS} (split it into several plan files)")
        return []
    for n, t in tables.items():
        if not isinstance(t, dict):
            problems.add(f"scenarios.{_key(n)}", f"expected a table, found {shown(t)}")
    tables = {n: t for n, t in tables.items() if isinstance(t, dict)}
    _check_names(tables, problems)
    for name, table in tables.items():  # check what each file table says, once
        _check_scenario_table(name, table, problems)
        _check_region_tables(name, table, members, problems)
    merged, broken = _resolve_inheritance(tables, problems)
    written: list[_Written] = []
    scenarios = []
    for name, own in tables.items():
        parent = own.get("inherits")
        parent_t = merged.get(parent, {}) if isinstance(parent, str) else {}
        built = _build_scenario(name, merged[name], own, parent_t, (first, final), shared,
                                name not in broken, written, problems)
        scenarios.append(_with_regions(built, merged[name], own, parent_t, (first, final),
                                       shared, written, members, problems))
    _check_slips(written, scenarios, problems)
    _check_offsets(scenarios, tables, problems)
    return scenarios


def _check_names(tables: dict, problems: Problems) -> None:
    """Scenario names are identifiers, distinct even where file names ignore case."""
    lowered: dict[str, str] = {}
    for name in tables:
        where = f"scenarios.{_key(name)}"
        if not check_identifier(name, where, problems, "scenario", "label_vi / label_en"):
            continue
        other = lowered.setdefault(name.lower(), name)
        if other != name:
            problems.add(where, f"'{name}' and '{other}' differ only in case; on Windows and "
                         "macOS they would share one results folder: rename one")


def _check_scenario_table(name: str, table: dict, problems: Problems) -> None:
    """Keys and types of what one scenario table says (inheritance aside)."""
    where = f"scenarios.{_key(name)}"
    _check_keys(table, SCENARIO_META | set(SECTIONS) | {"indicators"}, where, problems)
    for key in ("label_vi", "label_en", "description"):
        _get(table, key, str, where, problems, required=False, blank_ok=key == "description")
    for section, keys in SECTIONS.items():
        if isinstance(table.get(section), dict):
            _check_keys(table[section], keys, f"{where}.{section}", problems)
        elif section in table:
            problems.add(f"{where}.{section}", f"expected a table, found {shown(table[section])}")
    if "uncertainty" in table and not isinstance(table["uncertainty"], dict):
        problems.add(f"{where}.uncertainty", "expected a table with parameters, shocks and "
                     f"disruptions, found {shown(table['uncertainty'])}")
    indicators = table.get("indicators", {})
    if not isinstance(indicators, dict):
        problems.add(f"{where}.indicators", f"expected a table of indicators, found "
                     f"{shown(indicators)}")
        return
    for ind, spec in indicators.items():
        if ind not in INDICATORS:
            problems.add(f"{where}.indicators", f"unknown indicator '{shown(ind)[1:-1]}'"
                         + did_you_mean(ind, INDICATORS))
        elif isinstance(spec, dict):
            _check_keys(spec, INDICATOR_KEYS, f"{where}.indicators.{ind}", problems)


def _resolve_inheritance(tables: dict, problems: Problems) -> tuple[dict[str, dict], set[str]]:
    """Merge each scenario over its parents; also return the names whose chain is broken.

    Iterative and memoised, so a chain of any length costs one merge per scenario. A
    scenario whose parent is unknown or loops back is reported once, where its
    ``inherits`` is written; it and its descendants are built from what they say
    themselves, and problems that only the missing parent could fix are not reported.
    """
    merged: dict[str, dict] = {}
    broken: set[str] = set()
    loops: set[frozenset] = set()
    for name in tables:
        chain, fault = [name], False
        while chain[-1] not in merged:
            child = chain[-1]
            parent = tables[child].get("inherits")
            if parent is None:
                break
            where = f"scenarios.{_key(child)}.inherits"
            if not isinstance(parent, str) or parent not in tables:
                hint = did_you_mean(parent, tables) if isinstance(parent, str) else ""
                problems.add(where, f"unknown scenario {shown(parent)}{hint}")
                fault = True
                break
            if parent in chain:
                loop = frozenset(chain[chain.index(parent):])
                if loop not in loops:
                    loops.add(loop)
                    problems.add(where, "inheritance loops back: "
                                 + " -> ".join((*chain, parent)))
                fault = True
                break
            chain.append(parent)
        top = chain[-1]
        base, rest = (merged[top], chain[:-1]) if top in merged else ({}, chain)
        fault = fault or top in broken
        for n in reversed(rest):
            base = _merge_tables(base, tables[n])
            merged[n] = base
        if fault:
            broken.update(chain)
    return merged, broken


def _merge_tables(parent: dict, child: dict) -> dict:
    """A child scenario over its parent: tables merge key by key, values replace."""
    out = dict(parent)
    for k, v in child.items():
        old = out.get(k)
        if k in ("inherits", "confirm"):
            continue  # a confirmation covers the values of the table that writes it
        if not (isinstance(v, dict) and isinstance(old, dict)):
            out[k] = v
        elif k == "uncertainty":
            out[k] = merge_uncertainty(old, v)
        elif k == "regions":  # each member's table merges as a scenario's does
            out[k] = {**old, **{m: _merge_tables(_table(old.get(m)), s) if isinstance(s, dict)
                                else s for m, s in v.items()}}
        elif k == "indicators":
            out[k] = {**old, **{n: ({**old[n], **s} if isinstance(s, dict)
                                    and isinstance(old.get(n), dict) else s)
                                for n, s in v.items()}}
        elif k in SECTIONS:
            out[k] = {**old, **v}
        else:
            out[k] = v
    return out


def _owner_problems(own: dict, section: str, key: str | None, problems):
    """Problems of a value are reported once, by the scenario that writes it."""
    table = own.get(section)
    written = isinstance(table, dict) and (key is None or key in table)
    return problems if written else _IGNORED


def _build_scenario(name, t, own, parent_t, span, shared, complete, written,
                    problems, where: str = "") -> Scenario:
    """One scenario from its merged table ``t`` (``own``: what its file table says)."""
    where = where or f"scenarios.{_key(name)}"
    first, final = span
    confirmed = _confirmed(own, where, problems)
    values = _scenario_values(where, t, own, span, confirmed, written, problems)
    indicators = {}
    own_ind = _table(own.get("indicators"))
    inherited = _table(parent_t.get("indicators"))
    for ind, spec in _table(t.get("indicators")).items():
        if ind not in INDICATORS:
            continue  # reported with the table's keys
        introduces = complete and ind in own_ind and ind not in inherited
        built = _indicator_spec(f"{where}.indicators.{ind}", ind, spec, own_ind.get(ind),
                                introduces, span, confirmed, problems)
        if built is not None:
            indicators[ind] = built
    return Scenario(
        name=name,
        label_vi=_text(t, "label_vi", name),
        label_en=_text(t, "label_en", name),
        description=_text(t, "description", ""),
        values=MappingProxyType(values),
        reclassification=_reclassification(where, t, own, first, final, problems),
        indicators=MappingProxyType(indicators),
        fx_reference=_fx_reference(where, t, own, span, complete, problems),
        uncertainty=_scenario_uncertainty(where, t, own, shared, problems),
        confirmed=tuple(sorted(confirmed)),
    )


def _check_region_tables(name: str, table: dict, members, problems: Problems) -> None:
    """A scenario's member tables: known members, and only what a member may change."""
    regions = table.get("regions")
    if regions is None:
        return
    where = f"scenarios.{_key(name)}.regions"
    if not isinstance(regions, dict):
        problems.add(where, f"expected a table per member region, found {shown(regions)}")
        return
    for member, own in regions.items():
        w = f"{where}.{_key(member)}"
        if member not in members:
            problems.add(w, f"no member region '{shown(member)[1:-1]}' in [[regions.members]]"
                         + did_you_mean(member, members))
        elif not isinstance(own, dict):
            problems.add(w, f"expected a table of the member's assumptions, found {shown(own)}")
        else:
            _check_keys(own, REGION_SCENARIO_KEYS, w, problems)


def _with_regions(sc: Scenario, t: dict, own: dict, parent_t: dict, span, shared, written,
                  members, problems) -> Scenario:
    """The scenario with each member's assumptions: its own table over the scenario's."""
    tables = _table(t.get("regions"))
    if not tables:
        return sc
    province_t = {k: v for k, v in t.items() if k != "regions"}
    own_regions = _table(own.get("regions"))
    inherited = _table(parent_t.get("regions"))
    regional = {}
    for member, table in tables.items():
        if member not in members or not isinstance(table, dict):
            continue  # reported with the scenario's tables
        where = f"scenarios.{_key(sc.name)}.regions.{_key(member)}"
        merged = _merge_tables(province_t, table)
        member_own = _table(own_regions.get(member))
        regional[member] = _build_scenario(
            sc.name, {**merged, "uncertainty": t.get("uncertainty", {})}, member_own,
            {**province_t, **_table(inherited.get(member))}, span, shared, True, written,
            problems, where)
    return dataclasses.replace(sc, regional=MappingProxyType(regional))


def _text(t: dict, key: str, default: str) -> str:
    value = t.get(key, default)
    return value if isinstance(value, str) and not _control(value) else default


def _confirmed(own: dict, where: str, problems: Problems) -> frozenset:
    """Paths whose unusual values this scenario's own table confirms."""
    if "confirm" not in own:
        return frozenset()
    raw, w = own["confirm"], f"{where}.confirm"
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        problems.add(w, 'expected a list of parameter paths, e.g. confirm = '
                        f'["growth.agriculture"], found {shown(raw)}')
        return frozenset()
    out = set()
    for path in raw:
        if path not in CONFIRMABLE:
            problems.add(w, f"unknown parameter '{shown(path)[1:-1]}'"
                         + did_you_mean(path, CONFIRMABLE))
        elif not _writes(own, path):
            problems.add(w, f"'{path}' is not set in this scenario; confirm the values a "
                            "scenario writes itself (an inherited value is confirmed where "
                            "it is written)")
        else:
            out.add(path)
    return frozenset(out)


def _writes(own: dict, path: str) -> bool:
    """Whether a scenario's own table sets ``path`` (e.g. ``indicators.x.speed``)."""
    *sections, key = path.split(".")
    table: object = own
    for section in sections:
        table = table.get(section) if isinstance(table, dict) else None
    return isinstance(table, dict) and key in table


def _confirm_hint(path: str, where: str) -> str:
    return f"add \"{path}\" to confirm = [...] in [{where}]"


def _entries(raw, key_path: str) -> list[tuple[str, float]]:
    """(key path, number) of each value a parameter's table writes (bad ones skipped)."""
    if isinstance(raw, dict):
        items = [(f'{key_path}["{k}"]', as_number(v)) for k, v in raw.items()]
    else:
        items = [(key_path, as_number(raw))]
    return [(w, v) for w, v in items if v is not None]


def _scenario_values(where, t, own, span, confirmed, written, problems) -> dict:
    """Each parameter over the plan's years; every value it writes checked on its own."""
    values = {}
    for p in PARAMETERS:
        section, key = p.path.split(".")
        table = t.get(section)
        if not isinstance(table, dict) or key not in table:
            continue
        key_path = f"{where}.{p.path}"
        sink = _owner_problems(own, section, key, problems)
        arr = expand(table[key], span[0], span[1], key_path, sink)
        ok, hint = p.path in confirmed, _confirm_hint(p.path, where)
        for w, v in _entries(table[key], key_path):
            _check_value(v, p, w, sink, ok, hint)
            if sink is problems:
                written.append(_Written(p, w, v, ok, hint))
        arr.flags.writeable = False
        values[p.path] = arr
    return values


def _check_value(v: float, p: Parameter, where: str, sink, confirmed: bool, hint: str) -> None:
    """A value must be possible, and plausible unless the planner confirmed it."""
    if not p.possible(v):
        sink.add(where, _impossible(v, p))
    elif not confirmed and not p.lower <= v <= p.upper:
        side = f"below the minimum {p.lower:g}" if v < p.lower else \
            f"above the maximum {p.upper:g}"
        sink.add(where, f"{v:g} is {side} ({p.unit}); if {v:g} is meant, confirm it: {hint}")


def _impossible(v: float, p: Parameter) -> str:
    if v > p.upper:
        beyond = f" and beyond {p.maximum:g}, the most the model can use" \
            if p.maximum > p.upper else ""
        return f"{v:g} is above the maximum {p.upper:g} ({p.unit}){beyond}; check the number"
    head = f"{v:g} is below the minimum {p.lower:g} ({p.unit})"
    if p.open_minimum and p.unit == "%/yr":
        return head + " and impossible: nothing can fall by 100 % or more in a year"
    if p.open_minimum:
        return head + f" and impossible: it must be above {p.minimum:g}"
    if p.minimum < p.lower:
        return head + f" and below {p.minimum:g}, the least the model can use; check the number"
    return head + "; a value below it is impossible"


def _slip_candidate(slip, v: float) -> bool:
    """Whether ``v`` could be a rate in percent written as a fraction (0.095 for 9.5)."""
    return slip is not None and 0 < abs(v) < 1 and slip[0] <= 100 * abs(v) <= slip[1]


def _reference(slip, v: float, others, typical) -> float | None:
    """The size of the values ``v`` is compared with: the median of the others that
    cannot be slips themselves, else the usual value (None: nothing to compare)."""
    sizes = sorted({abs(float(x)) for x in others
                    if np.isfinite(x) and x != v and x != 0 and not _slip_candidate(slip, x)})
    return float(np.median(sizes)) if sizes else typical


def _check_slips(written: list[_Written], scenarios: list[Scenario], problems) -> None:
    """Refuse a rate in percent that reads far better as a fraction written by mistake.

    A value below 1 is a slip when its hundredfold is a usual value of the parameter
    and lies nearer (by ratio) to the parameter's other values in the plan than the
    value itself does: 0.136 next to 9.0 %/yr is one, 0.2 %/yr of agriculture
    growth next to 5.0 is not (20 %/yr is no usual agricultural growth).
    """
    references: dict[str, float | None] = {}
    for w in written:
        p = w.param
        if w.confirmed or not _slip_candidate(p.slip, w.value):
            continue
        if p.path not in references:  # other candidates never count, so once per path
            pool = np.unique(np.concatenate([s.values[p.path] for s in scenarios
                                             if p.path in s.values]))
            references[p.path] = _reference(p.slip, w.value, pool, None)
        ref = references[p.path]
        what = f"the other values of {p.path} (around {ref:.3g} %/yr)" if ref is not None \
            else f"a usual {p.typical:g} %/yr"
        ref = p.typical if ref is None else ref
        if ref > 10 * abs(w.value):
            big = 100 * w.value
            problems.add(w.where, f"{w.value:g} %/yr is implausibly small next to {what}; "
                         f"values here are in percent: did you write a fraction? Use {big:g} "
                         f"for {big:g} %/yr, or if {w.value:g} %/yr is meant, confirm it: "
                         f"{w.hint}")


def _uncertainty_owner(name, kind: str, key, tables: dict) -> str:
    """Key path of the table that sets an uncertainty entry a scenario uses."""
    seen = set()
    while isinstance(name, str) and name in tables and name not in seen:
        seen.add(name)
        unc = _table(tables[name].get("uncertainty"))
        if (key in _table(unc.get(kind))) if key is not None else kind in unc:
            return f"scenarios.{_key(name)}.uncertainty"
        name = tables[name].get("inherits")
    return "uncertainty"


_TAILS = {"normal": "mean - 5 sd", "truncnormal": "lower end", "lognormal": "5-sigma factor"}


def _check_offsets(scenarios: list[Scenario], tables: dict, problems: Problems) -> None:
    """Refuse uncertainty that lets a rate in percent fall by 100 % or more in a year.

    Each uncertainty entry is reported once, where it is written, for the scenario in
    which it reaches lowest.
    """
    worst: dict[str, tuple[float, str]] = {}
    for sc in scenarios:
        for where, low, message in [*_parameter_tails(sc, tables), *_event_depths(sc, tables)]:
            if where not in worst or low < worst[where][0]:
                worst[where] = (low, message)
    for where, (_, message) in worst.items():
        problems.add(where, message)


def _parameter_tails(sc: Scenario, tables: dict) -> list[tuple[str, float, str]]:
    """(key path, lowest value, message) of each parameter draw that reaches -100 %."""
    out = []
    for d in sc.uncertainty.parameters:
        p = PARAMETER_BY_PATH.get(d.path)
        if p is None or not (p.open_minimum and p.unit == "%/yr"):
            continue
        vals = [float(x) for x in _finite(sc.values.get(d.path)) if p.possible(x)]
        if not vals:
            continue  # impossible values are reported already
        low, v = min((d.lowest_offset(x), x) for x in (min(vals), max(vals)))
        if low <= p.minimum:
            owner = _uncertainty_owner(sc.name, "parameters", d.path, tables)
            out.append((f'{owner}.parameters."{d.path}"', low,
                        f"lets {d.path} fall to {low:.4g} %/yr (scenario '{sc.name}': {v:g} "
                        f"%/yr with the offset's {_TAILS.get(d.dist, 'min')}); nothing can "
                        "fall by 100 % or more in a year: narrow the offsets so that the "
                        "scenario's value plus the lowest offset stays above -100"))
    return out


def _event_depths(sc: Scenario, tables: dict) -> list[tuple[str, float, str]]:
    """(key path, lowest value, message) of each disruption depth that reaches -100 %."""
    out = []
    for i, ev in enumerate(sc.uncertainty.disruptions):
        for key, depth in ev.depth.items():
            path = "tourism.visitor_growth" if key == "tourism" else f"growth.{key}"
            vals = [float(x) for x in _finite(sc.values.get(path)) if x > -100]
            if not vals or min(vals) + depth > -100:
                continue
            owner = _uncertainty_owner(sc.name, "disruptions", None, tables)
            low = min(vals) + depth
            out.append((f"{owner}.disruptions[{i}].depth.{key}", low,
                        f"{depth:g} points on {min(vals):g} %/yr (scenario '{sc.name}') takes "
                        f"{path} to {low:g} %/yr in an event year; nothing can fall by 100 % "
                        f"or more: make the depth shallower than {-100 - min(vals):g}"))
    return out


def _finite(arr) -> np.ndarray:
    return np.empty(0) if arr is None else arr[np.isfinite(arr)]


def _reclassification(where, t, own, first, final, problems) -> tuple:
    """(year, percentage points) of each administrative reclassification, sorted."""
    urban = _table(t.get("urbanization"))
    events = urban.get("reclassification", [])
    sink = _owner_problems(own, "urbanization", "reclassification", problems)
    if not isinstance(events, list):
        sink.add(f"{where}.urbanization.reclassification", "expected a list like "
                 "[ { year = 2028, added_share = 5.0 } ] (square brackets around the events)")
        return ()
    out = []
    for i, event in enumerate(events):
        w = f"{where}.urbanization.reclassification[{i}]"
        if not isinstance(event, dict):
            sink.add(w, "expected a table like { year = 2027, added_share = 3.0 }")
            continue
        _check_keys(event, {"year", "added_share", "note"}, w, sink)
        year = _get(event, "year", int, w, sink)
        added = _get(event, "added_share", (int, float), w, sink)
        if year is not None and not first < year <= final:
            sink.add(f"{w}.year", f"{shown(year)} is outside the projection years "
                                  f"{first + 1}-{final}")
            year = None
        if added is not None and not 0 <= added <= 50:
            sink.add(f"{w}.added_share", f"{added} is outside 0-50 (percentage points of "
                     "population reclassified urban in that year)")
            added = None
        if year is not None and added is not None:
            out.append((year, added))
    return tuple(sorted(out))


def _indicator_spec(w, ind, spec, own_spec, introduces, span, confirmed,
                    problems) -> IndicatorSpec | None:
    """A saturating indicator's spec; each problem reported by the table that causes it.

    ``own_spec`` is what this scenario's table says about the indicator (None: it says
    nothing); ``introduces`` whether this scenario is the first in its chain to model
    it, and so the one told about keys missing altogether.
    """
    def sink(key=None):
        if key is None:
            return problems if own_spec is not None else _IGNORED
        return problems if isinstance(own_spec, dict) and key in own_spec else _IGNORED

    missing = problems if introduces else _IGNORED
    if not isinstance(spec, dict):
        sink().add(w, "expected a table with form, speed, lower, upper")
        return None
    form = spec.get("form")
    if form is None:
        missing.add(f"{w}.form", "missing; expected text")
        return None
    if not isinstance(form, str) or form not in FORMS:
        sink("form").add(f"{w}.form", f"unknown form {shown(form)}"
                         + did_you_mean(form if isinstance(form, str) else "", FORMS))
        return None
    lower = _get(spec, "lower", (int, float), w, sink("lower"), 0.0, required=False)
    upper = _get(spec, "upper", (int, float), w, sink("upper"), 100.0, required=False)
    if not 0 <= lower < upper <= 100:
        bounds_sink = sink("lower") if isinstance(own_spec, dict) and "lower" in own_spec \
            else sink("upper")
        bounds_sink.add(w, f"bounds must satisfy 0 <= lower < upper <= 100 (percent), found "
                           f"lower={lower}, upper={upper}")
        return None
    if "speed" not in spec:
        missing.add(f"{w}.speed", f"missing; expected a number or period table in "
                                  f"{FORMS[form]}")
        return None
    path = f"indicators.{ind}.speed"
    hint = _confirm_hint(path, w.rsplit(".indicators.", 1)[0])
    speed = expand(spec["speed"], span[0], span[1], f"{w}.speed", sink("speed"))
    for where, v in _entries(spec["speed"], f"{w}.speed"):
        _check_value(v, indicator_speed(form), where, sink("speed"), path in confirmed, hint)
    speed.flags.writeable = False
    return IndicatorSpec(form, speed, lower, upper)


def _fx_reference(where, t, own, span, complete, problems) -> tuple | None:
    """(reference year, VND per USD) anchoring the exchange-rate path, or None."""
    fx = t.get("exchange_rate")
    if not isinstance(fx, dict) or not fx:
        return None
    w = f"{where}.exchange_rate"
    own_fx = _table(own.get("exchange_rate"))
    missing = problems if complete and own_fx else _IGNORED

    def sink(key):
        return (problems if key in own_fx else _IGNORED) if key in fx else missing

    level = _get(fx, "vnd_per_usd", (int, float), w, sink("vnd_per_usd"))
    year = _get(fx, "reference_year", int, w, sink("reference_year"))
    if level is not None and not 5_000 <= level <= 200_000:
        sink("vnd_per_usd").add(f"{w}.vnd_per_usd", f"{level:g} is not a plausible VND per "
                                "USD rate (5,000-200,000)")
        level = None
    if year is not None and not span[0] <= year <= span[1]:
        sink("reference_year").add(f"{w}.reference_year", f"{shown(year)} is outside "
                                   f"{span[0]}-{span[1]}")
        year = None
    return (year, level) if level is not None and year is not None else None


def _scenario_uncertainty(where, t, own, shared, problems) -> Uncertainty:
    """The plan's uncertainty with this scenario's (and its parents') overrides."""
    override = t.get("uncertainty")
    if not isinstance(override, dict) or not override:
        return shared[1]
    sink = problems if isinstance(own.get("uncertainty"), dict) else _IGNORED
    return parse_uncertainty(merge_uncertainty(shared[0], override), f"{where}.uncertainty",
                             sink)


# ------------------------------------------------------------------------- targets

@dataclass(frozen=True)
class _ParsedTarget:
    where: str
    target: Target
    confirmed: bool


def _parse_targets(items, first, final, problems, members=()) -> list[Target]:
    parsed: list[_ParsedTarget] = []
    seen: set[str] = set()
    items = _array_of_tables(items, "targets", problems)
    if len(items) > MAX_TARGETS:  # each is a series of every Monte Carlo draw
        problems.add("targets", f"{len(items)} targets; a plan holds at most {MAX_TARGETS} "
                                "(split it into several plan files)")
        return []
    for i, t in enumerate(items):
        if not isinstance(t, dict):
            problems.add(f"targets[{i}]", "expected a table")
            continue
        item = _parse_target(i, t, (first, final), seen, problems, members)
        if item is not None:
            parsed.append(item)
    slips = _check_target_slips(parsed, problems)
    _check_structure([p for p in parsed if p not in slips], problems)
    return [p.target for p in parsed]


def _parse_target(i, t, span, seen, problems, members=()) -> _ParsedTarget | None:
    """One [[targets]] entry, checked; None when it cannot be evaluated."""
    tid = t.get("id")
    w = f"targets[{i}] (id {shown(tid)})" if isinstance(tid, str) else f"targets[{i}]"
    _check_keys(t, TARGET_KEYS, w, problems)
    tid = _get(t, "id", str, w, problems, f"target_{i}")
    if not check_identifier(tid, f"{w}.id", problems, "target", "label_vi / label_en"):
        tid = f"target_{i}"
    if tid in seen:
        problems.add(f"{w}.id", f"duplicate id '{tid}'; every target needs its own id")
    seen.add(tid)
    head = _target_head(t, w, problems)
    if head is None:
        return None
    var, kind, comparison = head
    value, tolerance = _target_numbers(t, w, var, kind, comparison, problems)
    when = _target_when(t, w, kind, span, problems)
    if var is not None:
        _target_fits(w, var, kind, problems)
    label_vi, label_en, source = (_get(t, key, str, w, problems, "")
                                  for key in ("label_vi", "label_en", "source"))
    note = _get(t, "note", str, w, problems, "", required=False, blank_ok=True)
    confirmed = _get(t, "confirm", bool, w, problems, False, required=False)
    region = _get(t, "region", str, w, problems, "", required=False)
    if region and region not in members:
        problems.add(f"{w}.region", f"no member region '{shown(region)[1:-1]}' in "
                     "[[regions.members]]" + did_you_mean(region, members)
                     + "; leave region out for a province-wide target")
        region = None
    if var is None or region is None or when is None or value is None or tolerance is None:
        return None
    if not confirmed:
        _check_target_plausible(w, var, kind, value, problems)
    target = Target(tid, var.name, kind, comparison, value, tolerance, when[1], when[0],
                    label_vi or "", label_en or "", source or "", note or "", bool(confirmed),
                    region)
    return _ParsedTarget(w, target, bool(confirmed))


def _target_head(t, w, problems):
    """(variable or None, kind, comparison); None when the kind is unknown."""
    indicator = _get(t, "indicator", str, w, problems, "")
    var = BY_NAME.get(indicator)
    if indicator and var is None:
        problems.add(f"{w}.indicator", f"unknown indicator '{shown(indicator)[1:-1]}'"
                     + did_you_mean(indicator, BY_NAME))
    kind = _get(t, "kind", str, w, problems, "level")
    if kind not in TARGET_KINDS:
        problems.add(f"{w}.kind", f"unknown kind {shown(kind)}" + did_you_mean(kind, TARGET_KINDS))
        return None
    comparison = _get(t, "comparison", str, w, problems, ">=")
    if comparison not in COMPARISONS:
        hint = "; write 'about' for '~'" if comparison in ("~", "≈", "=", "==") else ""
        problems.add(f"{w}.comparison", f"unknown comparison {shown(comparison)}; expected "
                     f"'>=', '<=' or 'about'{hint}")
    return var, kind, comparison


def _target_range(var, kind: str) -> tuple[float, float, bool, str]:
    """(lowest, highest, lowest excluded, unit) of the values a target can state."""
    if kind == "average_growth" or (var.kind == "rate" and kind == "level"):
        return -100.0, 1000.0, True, "%/yr"
    if kind == "change_per_year":
        if var.kind == "level":
            return -1e12, 1e12, False, f"{var.unit}/yr"
        return -100.0, 100.0, False, "points/yr"
    if var.kind == "share":
        return 0.0, 100.0, False, var.unit
    return 0.0, 1e14 if kind == "cumulative" else 1e12, False, var.unit


def _target_plausible_range(var, kind: str) -> tuple[float, float, str] | None:
    """(lowest, highest, unit) a rate target usually states; None where no range is usual."""
    if kind == "average_growth" or (var.kind == "rate" and kind == "level"):
        if var.name.startswith("population"):
            return -5.0, 10.0, "%/yr"
        if var.name.startswith("touris"):
            return -50.0, 100.0, "%/yr"
        return -30.0, 60.0, "%/yr"
    if kind == "change_per_year" and var.kind != "level":
        return -20.0, 20.0, "points/yr"
    return None


def _check_target_plausible(w, var, kind, value, problems) -> None:
    """A possible but unusual rate target needs the planner's confirm = true."""
    usual = _target_plausible_range(var, kind)
    if usual is not None and not usual[0] <= value <= usual[1]:
        lo, hi, unit = usual
        problems.add(f"{w}.value", f"{value:g} {unit} is outside the usual {lo:g} to {hi:g} "
                     f"{unit} for {kind} of {var.name}; check the number, or if it is meant, "
                     "add confirm = true to this target")


def _target_numbers(t, w, var, kind, comparison, problems):
    """(value, tolerance), each None when unusable (reported)."""
    value = _get(t, "value", (int, float), w, problems)
    tolerance = _get(t, "tolerance", (int, float), w, problems, 0.0,
                     required=comparison == "about")
    if tolerance is not None and tolerance < 0:
        problems.add(f"{w}.tolerance", f"{tolerance} is negative; give the half-width "
                     "of the accepted band in the target's unit")
        tolerance = None
    if var is None or value is None:
        return value, tolerance
    lo, hi, open_lo, unit = _target_range(var, kind)
    if value < lo or (open_lo and value == lo) or value > hi:
        above = "more than " if open_lo else ""
        problems.add(f"{w}.value", f"{value:g} is not a possible target for {var.name} "
                     f"({kind}): expected {above}{lo:g} up to {hi:g} {unit}")
        value = None
    elif tolerance is not None and tolerance > hi - lo:
        problems.add(f"{w}.tolerance", f"{tolerance:g} is wider than every possible value "
                     f"({lo:g} to {hi:g} {unit}); give the half-width of the accepted band")
        tolerance = None
    return value, tolerance


def _target_when(t, w, kind, span, problems) -> tuple[int | None, int] | None:
    """(first year of the period or None, last year); None when unusable (reported)."""
    first, final = span
    if kind in ("level", "share"):
        if "period" in t:
            problems.add(f"{w}.period", f"kind '{kind}' takes a year, not a period")
        year = _get(t, "year", int, w, problems)
        if year is not None and not first <= year <= final:
            problems.add(f"{w}.year", f"{shown(year)} is outside the plan's years "
                                      f"{first}-{final}")
            return None
        return None if year is None else (None, year)
    if "year" in t:
        problems.add(f"{w}.year", f"kind '{kind}' takes a period, not a year")
    period = _get(t, "period", str, w, problems)
    if period is None:
        return None
    a, b = parse_period(period) or (0, None)
    if b is None:
        problems.add(f"{w}.period", f"expected a period like \"2021-2030\", found {shown(period)}")
        return None
    lowest = first + 1 if kind != "cumulative" else first
    if a < lowest or b > final or b < a:
        problems.add(f"{w}.period", f"{period} must lie within {lowest}-{final}"
                     + (" (growth and change need the year before the period)"
                        if kind != "cumulative" else ""))
        return None
    return a, b


def _target_fits(w, var, kind, problems) -> None:
    """The kind of a target must suit its indicator."""
    if kind == "share" and var.kind != "share":
        problems.add(f"{w}.kind", f"'{var.name}' is not a share; use kind = \"level\"")
    if kind in ("average_growth", "cumulative") and var.kind != "level":
        problems.add(f"{w}.kind", f"{kind} needs a level indicator (e.g. grdp_real), "
                     f"'{var.name}' is a {var.kind}")


def _target_slip(t: Target) -> tuple | None:
    """(lowest, highest, usual) where a fraction slip of a target's value would land,
    in percent; None where the value is not a rate or share in percent."""
    var = BY_NAME[t.indicator]
    if t.kind in ("change_per_year", "cumulative"):
        return None
    if t.kind == "average_growth" or var.kind == "rate":
        return (0.3, 5.0, 1.5) if t.indicator.startswith("population") else (1.0, 40.0, 8.0)
    if var.kind == "share" and t.comparison != "<=":
        return 1.0, 100.0, None  # no usual share: without others, 0 < value < 1 is a slip
    return None


def _check_target_slips(parsed: list[_ParsedTarget], problems: Problems) -> list:
    """A target in percent written as a fraction, judged against its neighbours: the
    plan's other targets of the same indicator and kind of rate. Returns those refused."""
    slips = []
    for item in parsed:
        t, slip = item.target, _target_slip(item.target)
        if item.confirmed or slip is None or not _slip_candidate(slip[:2], t.value):
            continue
        growth = t.kind == "average_growth"
        others = [o.target.value for o in parsed if o is not item
                  and o.target.indicator == t.indicator and _target_slip(o.target)
                  and (o.target.kind == "average_growth") == growth]
        ref = _reference(slip[:2], t.value, others, slip[2])
        if ref is not None and ref <= 10 * abs(t.value):
            continue
        unit, what = ("%/yr", "growth targets") if growth or BY_NAME[t.indicator].kind == "rate" \
            else ("%", "shares")
        problems.add(f"{item.where}.value", f"{t.value:g} {unit} looks like a fraction; {what} "
                     f"are in percent: did you mean {t.value * 100:g}? If {t.value:g} is meant, "
                     "add confirm = true to this target")
        slips.append(item)
    return slips


def _share_bounds(t: Target) -> tuple[float, float]:
    """The range of shares (percent) a sector-share target accepts."""
    if t.comparison == ">=":
        return t.value, 100.0
    if t.comparison == "<=":
        return 0.0, t.value
    return max(t.value - t.tolerance, 0.0), min(t.value + t.tolerance, 100.0)


def _check_structure(parsed: list[_ParsedTarget], problems: Problems) -> None:
    """Sector-share targets of one year must allow shares that sum to 100 %."""
    by_year: dict[tuple[str, int], dict[str, list[float]]] = {}
    for item in parsed:
        t = item.target
        if t.indicator in SECTOR_SHARES and t.kind in ("share", "level"):
            lo, hi = _share_bounds(t)
            bounds = by_year.setdefault((t.region, t.year), {}).setdefault(t.indicator,
                                                                          [0.0, 100.0])
            bounds[0], bounds[1] = max(bounds[0], lo), min(bounds[1], hi)
    for (region, year), shares in sorted(by_year.items()):
        low = sum(b[0] for b in shares.values())
        high = sum(b[1] for b in shares.values()) + 100.0 * (len(SECTORS) - len(shares))
        names = ", ".join(sorted(shares)) + (f" in {region}" if region else "")
        if low > 100.0 + 1e-9:
            problems.add("targets", f"the sector-share targets for {year} ({names}) need "
                         f"shares summing to at least {low:g} %, but the shares of GRDP sum "
                         "to 100: check their values and tolerances")
        elif high < 100.0 - 1e-9:
            problems.add("targets", f"the sector-share targets for {year} ({names}) allow "
                         f"shares summing to at most {high:g} %, but the shares of GRDP sum "
                         "to 100: check their values and tolerances")


# ------------------------------------------------------ untracked targets, assumed data

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


def _check_joins(regions: Regions, base: int, horizon: int, problems) -> None:
    """A part joins its group in a projected or observed year after the base year."""
    for i, m in enumerate(regions.members):
        for part, year in m.joins:
            if not base < year <= horizon:
                problems.add(f"regions.members[{i}].joins.{part}", f"{year} is outside "
                             f"{base + 1}-{horizon} (after plan.base_year, to plan.horizon); "
                             "a part that is in the group from the start needs no joins")


def _parse_assumed(items, first, last, problems, regions: Regions | None = None
                   ) -> list[AssumedFigure]:
    regions = regions if regions is not None else Regions()
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
        note = t.get("note")
        if isinstance(note, str) and not note.strip():
            problems.add(f"{w}.note", "empty; say why this figure is assumed and from what")
        else:
            note = _get(t, "note", str, w, problems, "")
        if year and not first <= year <= last:
            problems.add(f"{w}.year", f"{shown(year)} is outside the actual years "
                                      f"{first}-{last}; assumed data only fills history")
        if ind in MODEL_UNITS:
            _check_assumed_value(ind, value, f"{w}.value", problems)
        region = _get(t, "region", str, w, problems, "", required=False)
        if region:
            region = _assumed_region(region, ind, f"{w}.region", regions, problems)
        out.append(AssumedFigure(ind, year, value, unit, note, region))
    return out


def _assumed_region(region: str, indicator: str, where: str, regions: Regions,
                    problems) -> str:
    """The member an assumed figure belongs to: one that projects the indicator's block
    (a group's figures are its parts' sums; a block not split by member reads none)."""
    name = shown(region)[1:-1]
    if not regions.members:
        problems.add(where, f"'{name}', but the plan declares no [[regions.members]]; "
                     "leave region out for a figure of the province, or declare the member")
        return region
    groups = {m.id: m.parts for m in regions.members if m.parts}
    if region in groups:
        problems.add(where, f"'{name}' is a group of members: its figures are the sums of "
                     f"its parts ({', '.join(groups[region])}); assume the parts' figures "
                     "instead")
    elif region not in regions.leaf_ids:
        problems.add(where, f"no member region '{name}' in [[regions.members]]"
                     + did_you_mean(region, regions.leaf_ids)
                     + "; leave region out for a figure of the province")
    elif indicator in BLOCK_OF_HISTORY and BLOCK_OF_HISTORY[indicator] not in regions.blocks:
        block = BLOCK_OF_HISTORY[indicator]
        split = ", ".join(f'"{b}"' for b in regions.blocks)
        problems.add(where, f"'{indicator}' is read by the {block} block, which the members "
                     f"do not project (regions.blocks = [{split}]); add "
                     f"'{block}' to regions.blocks, or leave region out for a figure of the "
                     "province")
    return region


def _check_assumed_value(indicator: str, value: float, where: str, problems) -> None:
    """An assumed figure obeys the same limits as an observed one."""
    lo, hi, open_lo = value_range(indicator)
    if value < lo or (open_lo and value == lo) or value > hi:
        above = "more than " if open_lo else ""
        problems.add(where, f"{value:g} is impossible for {indicator} ({MODEL_UNITS[indicator]}): "
                            f"expected {above}{lo:g} up to {hi:g}")
