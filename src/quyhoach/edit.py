"""Plans changed in code: the changed plan document, built for re-validation.

A :class:`~quyhoach.plan.Plan` keeps the document its file was parsed into
(``plan.document``, read-only). ``plan.with_scenario``, ``plan.with_target`` and
``plan.replace`` build a changed copy of it here; :mod:`quyhoach.plan` then validates
the copy exactly as it validates a file, so every rule, message and key path is the
file's (a 790 %/yr growth is refused in code as in a file). This module only builds
and writes documents; it judges no value.

One convention for every method:

* Keys are the plan file's keys. Nesting is a nested dict, ``growth={"services": 8.0}``,
  or a dotted argument name, ``**{"growth.services": 8.0}``, as the file's dotted keys
  (dots split argument names only, never the keys inside a dict; quote a key that holds
  dots: ``**{'uncertainty.parameters."growth.services"': {...}}``).
* Tables merge key by key, as a child scenario merges over its parent: what is given
  replaces, what is not stays. A value is replaced whole: a year-keyed table such as
  ``{"2025-2030": 16.0, "2031-2050": 10.0}`` is the parameter's whole path (give every
  period), an uncertainty entry is replaced whole, an indicator's keys (form, speed,
  lower, upper) merge one by one.
* ``None`` removes a key (TOML has no null): ``replace(model=None)``,
  ``with_scenario("high", urbanization={"reclassification": None})``. Only a key the
  table sets itself can be removed; an inherited value is removed where it is written.
* A scenario's ``confirm`` list is added to the confirmations it has.
* Values are what TOML holds: text, numbers, booleans, dates, lists and tables. Tuples
  and numpy arrays become lists, numpy scalars numbers, paths text, integer keys text
  (``{2031: 7.0}`` is ``{"2031": 7.0}``); anything else is refused.
"""

from __future__ import annotations

import os
import re
import tempfile
import tomllib
from collections.abc import Mapping
from datetime import date, datetime, time
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import tomli_w

from .errors import Problems, QuyhoachError, did_you_mean, shown

__all__ = ["PlanExistsError", "freeze", "thaw", "to_toml", "scenario", "target", "replace",
           "write"]

# How many levels of tables merge below a scenario table before a value is replaced
# whole: growth.services (1), indicators.poverty_rate.speed (2),
# uncertainty.parameters."growth.services" (2). Other keys merge one level.
MERGE_LEVELS = {"indicators": 2, "uncertainty": 2}
PATH_KEYS = ("inputs", "model")  # [plan] keys that hold paths relative to the plan file
MAX_DEPTH = 64  # deeper values are refused (a table that holds itself never ends)
_BARE = re.compile(r"[A-Za-z0-9_-]+")
_SCALARS = (str, bool, int, float, date, time, datetime)


class PlanExistsError(QuyhoachError, FileExistsError):
    """``plan.save(path)`` would replace a file; pass ``overwrite=True`` to allow it."""


# --------------------------------------------------------------- read-only documents

def freeze(doc) -> Any:
    """A read-only deep copy of a TOML document: tables as mappings, lists as tuples."""
    if isinstance(doc, Mapping):
        return MappingProxyType({k: freeze(v) for k, v in doc.items()})
    if isinstance(doc, (list, tuple)):
        return tuple(freeze(v) for v in doc)
    return doc


def thaw(doc) -> Any:
    """An editable deep copy of a (frozen) document: dicts and lists."""
    if isinstance(doc, Mapping):
        return {k: thaw(v) for k, v in doc.items()}
    if isinstance(doc, (list, tuple)):
        return [thaw(v) for v in doc]
    return doc


def to_toml(doc: Mapping) -> str:
    """The document as plan-file text (``tomli_w``'s plain layout, no comments).

    The same document always gives the same text, and reading the text gives the
    document back, value for value.
    """
    return tomli_w.dumps(doc)


# ---------------------------------------------------------------------- the edits

class _Log:
    """The key paths an edit sets and removes, for the plan's record of edits."""

    def __init__(self, problems: Problems, strip: int):
        self.problems = problems
        self.strip = strip  # leading key path parts left out of the record
        self.sets: list[str] = []
        self.removes: list[str] = []

    def summary(self, head: str) -> str:
        parts = [f"sets {', '.join(self.sets)}"] if self.sets else []
        parts += [f"removes {', '.join(self.removes)}"] if self.removes else []
        return f"{head}: {'; '.join(parts) or 'no change'}"


def scenario(document: Mapping, name, inherits, changes: dict,
             problems: Problems) -> tuple[dict, str]:
    """The document with scenario ``name`` added, or changed where it exists.

    Parameters
    ----------
    document : Mapping
        The plan's document (left unchanged).
    name : str
        The scenario: a new one is added after the others.
    inherits : str or None
        Its parent; None keeps the parent it has (a new scenario then has none).
    changes : dict
        Plan-file keys of the scenario table (labels, sections, indicators,
        uncertainty, confirm), nested or dotted; merged as the module says.
    problems : Problems
        Where what cannot be written is reported.

    Returns
    -------
    (dict, str)
        The new document and a one-line record of the edit.
    """
    doc, log = thaw(document), _Log(problems, 2)
    tables = doc.setdefault("scenarios", {})
    if not isinstance(name, str):
        problems.add("scenarios", f"expected a scenario name (text), found {shown(name)}")
        return doc, ""
    delta = _delta(changes, ("scenarios", name), problems)
    if inherits is not None:
        delta["inherits"] = inherits
    new = name not in tables
    table = {} if new else tables[name]
    tables[name] = _merge_scenario(table, delta, ("scenarios", name), log)
    head = f"with_scenario({shown(name)})" + (" adds it" if new else "")
    return _native(doc, (), problems), log.summary(head)


def _merge_scenario(table: dict, delta: dict, at: tuple, log: _Log) -> dict:
    """``delta`` merged into a scenario table; ``confirm`` lists are joined."""
    out = dict(table)
    for key, value in delta.items():
        if key == "confirm" and isinstance(value, (list, tuple)) \
                and isinstance(out.get(key), list):
            out[key] = [*out[key], *(c for c in value if c not in out[key])]
            log.sets.append(_where((*at, key)[log.strip:]))
        else:
            _merge_key(out, key, value, MERGE_LEVELS.get(key, 1), at, log)
    return out


def _merge_key(table: dict, key, value, levels: int, at: tuple, log: _Log) -> None:
    """Set, merge (``levels`` deep) or, for None, remove ``table[key]``."""
    path = (*at, key)
    if value is None:
        if key in table:
            del table[key]
            log.removes.append(_where(path[log.strip:]))
            return
        keys = [k for k in table if isinstance(k, str)]
        hint = did_you_mean(key, keys) if keys and isinstance(key, str) else ""
        log.problems.add(_where(at), f"None removes a key, but {shown(key)} is not set "
                         f"here{hint}; an inherited value is removed where it is written")
        return
    if levels > 0 and isinstance(value, dict):
        old = table.get(key)
        merged = dict(old) if isinstance(old, dict) else {}
        for k, v in value.items():
            _merge_key(merged, k, v, levels - 1, path, log)
        table[key] = merged
        return
    table[key] = value
    log.sets.append(_where(path[log.strip:]))


def target(document: Mapping, tid, fields: dict, problems: Problems) -> tuple[dict, str]:
    """The document with target ``tid`` added, or changed where a target has that id.

    A new target is appended to ``[[targets]]`` with ``id = tid`` and ``fields``; an
    existing one keeps its place and its other keys (``None`` removes a key, e.g.
    ``year=None`` when a target changes from a year to a period).

    Returns
    -------
    (dict, str)
        The new document and a one-line record of the edit.
    """
    doc, log = thaw(document), _Log(problems, 2)
    targets = doc.setdefault("targets", [])
    if not isinstance(targets, list):  # never in a validated plan
        targets = doc["targets"] = []
    index = next((i for i, t in enumerate(targets) if isinstance(t, dict)
                  and t.get("id") == tid), None)
    new = index is None
    if index is None:
        index = len(targets)
        targets.append({"id": tid})
    at = ("targets", index)
    delta = _delta(fields, at, problems)
    for key, value in delta.items():
        _merge_key(targets[index], key, value, 0, at, log)
    head = f"with_target({shown(tid)})" + (" adds it" if new else "")
    return _native(doc, (), problems), log.summary(head)


def replace(document: Mapping, changes: dict, problems: Problems, *,
            plan_keys, sections) -> tuple[dict, str]:
    """The document with ``[plan]`` keys or whole sections replaced.

    Parameters
    ----------
    changes : dict
        A name in ``plan_keys`` sets that key of ``[plan]`` (``horizon=2045``); a name
        in ``sections`` replaces that whole top-level section (``targets=[...]``); a
        dotted name sets the value at that key path (``**{"plan.horizon": 2045}``).
        Values replace whole (no merge); None removes.
    plan_keys, sections : set of str
        The plan file's ``[plan]`` keys and top-level sections.

    Returns
    -------
    (dict, str)
        The new document and a one-line record of the edit.
    """
    doc, log = thaw(document), _Log(problems, 0)
    for name, value in changes.items():
        path = _split(name, (), problems)
        if path is None:
            continue
        if len(path) == 1 and path[0] in plan_keys:
            path = ["plan", path[0]]
        elif len(path) == 1 and path[0] not in sections:
            problems.add("top level", f"unknown key {shown(path[0])}"
                         + did_you_mean(path[0], {*plan_keys, *sections}))
            continue
        _set_path(doc, path, value, log)
    return _native(doc, (), problems), log.summary("replace()")


def _set_path(doc: dict, path: list, value, log: _Log) -> None:
    """Set (or, for None, remove) the value at ``path``, making tables on the way."""
    table = doc
    for i, key in enumerate(path[:-1]):
        if not isinstance(table.get(key), dict):
            if key in table or value is None:
                found = f"holds {shown(table[key])}, not a table" if key in table \
                    else "is not set"
                log.problems.add(_where(path[:i + 1]), f"{found}, so {_where(path)} cannot "
                                 f"be {'removed' if value is None else 'set'}")
                return
            table[key] = {}
        table = table[key]
    _merge_key(table, path[-1], value, 0, (*path[:-1],), log)


# ------------------------------------------------------------- arguments to tables

def _delta(changes: dict, at: tuple, problems: Problems) -> dict:
    """Keyword arguments as one nested table: dotted names split, tables joined."""
    delta: dict = {}
    for name, value in changes.items():
        path = _split(name, at, problems)
        if path is None:
            continue
        for key in reversed(path[1:]):
            value = {key: value}
        _join(delta, path[0], value, (*at, path[0]), problems)
    return delta


def _join(delta: dict, key, value, where: tuple, problems: Problems) -> None:
    """Add ``value`` at ``key`` of ``delta``; a key given twice is refused."""
    old = delta.get(key)
    if key not in delta:
        delta[key] = value
    elif isinstance(old, dict) and isinstance(value, dict):
        for k, v in value.items():
            _join(old, k, v, (*where, k), problems)
    else:
        problems.add(_where(where), "given twice (as an argument and inside another "
                     "argument's table); give each key once")


def _split(name: str, at: tuple, problems: Problems) -> list[str] | None:
    """An argument name as a key path: ``"growth.services"`` → ["growth", "services"]."""
    if '"' not in name and "'" not in name:
        parts = name.split(".")
        if all(_BARE.fullmatch(p) for p in parts):
            return parts
    else:
        path = _quoted_path(name)
        if path:
            return path
    problems.add(_where(at) or "top level", f"argument {shown(name)} is not a key path: "
                 "write plan-file keys joined by dots, e.g. 'growth.services', quote a key "
                 "that holds dots, or pass a table, e.g. growth={'services': 8.0}")
    return None


def _quoted_path(name: str) -> list[str] | None:
    """A dotted key with quoted parts, read as TOML reads it; None when it is not one."""
    if any(ord(c) < 32 for c in name):
        return None
    try:
        node: Any = tomllib.loads(f"{name} = 0")
    except tomllib.TOMLDecodeError:
        return None
    path = []
    while isinstance(node, dict) and len(node) == 1:
        key, node = next(iter(node.items()))
        path.append(key)
    return path if node == 0 and type(node) is int else None


def _where(path) -> str:
    """A key path as the validator writes it: ``scenarios.fast.growth``,
    ``growth.services["2025-2030"]``, ``targets[3].value``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part[:1].isdigit():  # a year or period
            out += f'["{shown(part)[1:-1]}"]'
        else:
            text = part if _BARE.fullmatch(part) else f'"{shown(part)[1:-1]}"'
            out += f".{text}" if out else text
    return out


# ----------------------------------------------------------------- TOML's own types

def _native(value, path: tuple, problems: Problems, depth: int = 0) -> Any:
    """``value`` in TOML's types; what TOML cannot hold is reported (and dropped)."""
    if depth > MAX_DEPTH:
        problems.add(_where(path), f"nested more than {MAX_DEPTH} levels deep; does a table "
                     "or list contain itself?")
        return None
    if isinstance(value, np.generic):
        value = value.item()
    elif isinstance(value, os.PathLike):
        value = Path(value).as_posix()
    if isinstance(value, _SCALARS):
        return _scalar(value)
    if isinstance(value, Mapping):
        return _native_table(value, path, problems, depth)
    if isinstance(value, (list, tuple, np.ndarray)):
        items = [_native(v, (*path, i), problems, depth + 1) for i, v in enumerate(value)]
        return [v for v in items if v is not None]
    problems.add(_where(path), _unwritable(value))
    return None


def _scalar(value):
    """A TOML scalar of exactly its type (subclasses such as IntEnum made plain)."""
    for kind in (bool, int, float, str):
        if isinstance(value, kind):
            return kind(value)
    return value


def _native_table(table: Mapping, path: tuple, problems: Problems, depth: int) -> dict:
    out = {}
    for key, value in table.items():
        if isinstance(key, np.integer):
            key = int(key)
        if isinstance(key, int) and not isinstance(key, bool):
            key = str(key)
        if not isinstance(key, str):
            problems.add(_where(path), f"the key {shown(key)} is not text; plan-file keys "
                         "are text (a year may be an integer: 2031 is \"2031\")")
            continue
        item = _native(value, (*path, key), problems, depth + 1)
        if item is not None:
            out[key] = item
    return out


def _unwritable(value) -> str:
    if value is None:
        return ("None cannot be written in a plan file; None removes a key only where "
                "tables merge (e.g. growth={'services': None}), not inside a value")
    return (f"{shown(value)} (a {type(value).__name__}) cannot be written in a plan file; "
            "expected text, a number, true or false, a date, a list or a table")


# ------------------------------------------------------------------------- writing

def write(document: Mapping, plan_path: Path, dest, overwrite: bool = False) -> Path:
    """Write a plan's document as a plan file at ``dest``; return the path written.

    Relative ``inputs`` and ``model`` paths are rewritten to start from ``dest``'s
    folder, so the file finds the same inputs and model as the plan. An existing file
    is replaced only with ``overwrite=True``, and then atomically (a partial file is
    never left behind).

    Raises
    ------
    PlanExistsError
        ``dest`` exists (or is a folder) and ``overwrite`` is false.
    """
    dest = Path(dest)
    if dest.is_dir():
        raise PlanExistsError(f"{dest} is a folder; give a file name, e.g. "
                              f"{(dest / 'plan.toml').as_posix()}")
    doc = thaw(document)
    _rebase(doc.get("plan"), plan_path, dest)
    data = to_toml(doc).encode("utf-8")
    if overwrite:
        _replace_file(dest, data)
        return dest
    try:
        with open(dest, "xb") as f:
            _write_all(f, dest, data)
    except FileExistsError:
        raise PlanExistsError(f"{dest} exists; pass overwrite=True to replace it (its "
                              "comments are not kept), or choose another name") from None
    return dest


def _write_all(f, dest: Path, data: bytes) -> None:
    """Write ``data`` to the new file ``f``; on failure remove it, then re-raise."""
    try:
        f.write(data)
    except BaseException:
        f.close()
        dest.unlink(missing_ok=True)
        raise


def _replace_file(dest: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _rebase(head, plan_path: Path, dest: Path) -> None:
    """Rewrite the relative paths of ``[plan]`` to start from ``dest``'s folder."""
    if not isinstance(head, dict):
        return
    old, new = plan_path.parent.resolve(), dest.parent.resolve()
    if old == new:
        return
    for key in PATH_KEYS:
        ref = head.get(key)
        if not isinstance(ref, str) or Path(ref).is_absolute():
            continue
        target = (old / ref).resolve()
        try:
            head[key] = Path(os.path.relpath(target, new)).as_posix()
        except ValueError:  # another drive
            head[key] = target.as_posix()
