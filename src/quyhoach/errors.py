"""One exception family for everything a user can get wrong.

Every problem names the file, the key path or row, what was expected and what was
found, and suggests a fix. Loaders collect all problems in a file before raising, so a
planner fixes a plan file in one pass instead of one error at a time.
"""

from __future__ import annotations

import difflib
import reprlib
from dataclasses import dataclass


class QuyhoachError(Exception):
    """Base class of every error quyhoach raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one input.

    Parameters
    ----------
    where : str
        File and key path or row, e.g. ``"scenarios/lai_chau.toml: scenarios.base.growth"``.
    message : str
        What was expected, what was found, and the likely fix.
    """

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class ProblemsError(QuyhoachError):
    """Several problems found in one file; ``problems`` lists them all."""

    kind = "problem"

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        n = len(self.problems)
        head = f"{n} {self.kind}{'s' if n != 1 else ''} found:"
        super().__init__("\n".join([head, *(f"  - {p}" for p in self.problems)]))


class PlanError(ProblemsError):
    """The plan file (scenarios/*.toml) is malformed or inconsistent."""

    kind = "plan-file problem"


class InputDataError(ProblemsError):
    """An input table (inputs/<province>/*.csv) is malformed or missing data."""

    kind = "input-data problem"


class ResultsError(QuyhoachError):
    """A results directory cannot be written or read as asked."""


class OptionError(QuyhoachError, ValueError):
    """A run was asked for with options it cannot take (seed, draws, chunk size).

    Also a ``ValueError``, so callers of the Python API may catch either.
    """


class Problems:
    """Collects problems for one file, then raises them together."""

    def __init__(self, source: str):
        self.source = source
        self.items: list[Problem] = []

    def add(self, key: str, message: str) -> None:
        where = f"{self.source}: {key}" if key else self.source
        self.items.append(Problem(where, message))

    def raise_if_any(self, error: type[ProblemsError]) -> None:
        if self.items:
            raise error(list(dict.fromkeys(self.items)))  # each problem once, in order


def did_you_mean(word: str, choices) -> str:
    """Return ``"; did you mean 'x'?"`` for the closest choice, or a list of choices."""
    choices = sorted(choices)
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if close:
        return f"; did you mean '{close[0]}'?"
    shown = ", ".join(f"'{c}'" for c in choices[:12])
    more = ", ..." if len(choices) > 12 else ""
    return f"; expected one of {shown}{more}"


_SHOWN = reprlib.Repr()
_SHOWN.maxstring = 60
_SHOWN.maxother = 60
_SHOWN.maxlong = 40
_SHOWN.maxlevel = 2
_SHOWN.maxdict = _SHOWN.maxlist = 4


def shown(value) -> str:
    """A found value, quoted for a message: short, one line, never the whole input.

    Long strings, deep tables and huge numbers are cut (``'abc...xyz'``), so a message
    about a wrong value can never echo a file or blow up on a pathological one.
    """
    try:
        return _SHOWN.repr(value)
    except ValueError:  # an int past Python's digit limit
        return f"a whole number of about {int(value.bit_length() * 0.30103)} digits"
