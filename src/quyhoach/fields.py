"""Reading fields of plan files: identifiers, typed values, known keys.

Every reader adds a problem (key path and message) instead of raising, so a file's
problems are all reported at once.
"""

from __future__ import annotations

import re
import unicodedata

from .errors import Problems, did_you_mean, shown
from .periods import as_number, number_problem

IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)),
            *(f"lpt{i}" for i in range(10))}  # device names on Windows


def check_identifier(name, where: str, problems: Problems, what: str, labels: str) -> bool:
    """Check that ``name`` can be a folder or file name; report it otherwise.

    Province, scenario and region names become parts of output paths (``province=x/
    scenario=y``), so they are identifiers: ASCII letters, digits, ``_`` and ``-``,
    starting with a letter or digit, at most 64 characters, not a Windows device name.

    Parameters
    ----------
    name : object
        What the file says.
    where : str
        Key path for the message.
    what : str
        ``"province"``, ``"scenario"`` or ``"region"``.
    labels : str
        Where the display name belongs, e.g. ``"label_vi / label_en"``.
    """
    if isinstance(name, str) and IDENTIFIER.fullmatch(name) and name.lower() not in RESERVED:
        return True
    near = slug(name) if isinstance(name, str) else ""
    hint = f"; write e.g. '{near}'" if near and near.lower() not in RESERVED else ""
    problems.add(where, f"{shown(name)} cannot be a {what} name: names become folder and "
                 "file names, so they use only letters a-z, digits, '_' and '-' (starting "
                 f"with a letter or digit, at most 64){hint}, and put the display name in "
                 f"{labels}")
    return False


def slug(text: str) -> str:
    """An identifier close to ``text``: 'Lai Châu' → 'lai_chau'."""
    text = text.replace("đ", "d").replace("Đ", "D")
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^A-Za-z0-9_-]+", "_", ascii_text).strip("_-").lower()
    return slug[:64]


def key_path(name: str) -> str:
    """A table key as written in a key path: quoted (and escaped) unless an identifier."""
    if IDENTIFIER.fullmatch(name):
        return name
    quoted = repr(name)[1:-1] if len(name) <= 100 else shown(name)[1:-1]
    return f'"{quoted}"'


def check_keys(table, allowed, where, problems) -> None:
    for key in table:
        if key not in allowed:
            problems.add(where, f"unknown key '{shown(key)[1:-1]}'" + did_you_mean(key, allowed))


def get(table, key, kind, where, problems, default=None, required=True, blank_ok=False):
    """``table[key]`` if it has the expected type (numbers finite, text printable and,
    unless ``blank_ok``, not blank)."""
    at = f"{where}.{key}" if where else key
    if key not in table:
        if required:
            problems.add(at, f"missing; expected {_kind_name(kind)}")
        return default
    value = table[key]
    if kind in ((int, float), float):
        number = as_number(value)
        if number is None:
            problems.add(at, number_problem(value))
            return default
        return number
    ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
    if not ok:
        problems.add(at, f"expected {_kind_name(kind)}, found {shown(value)}")
        return default
    if kind is str and control(value):
        problems.add(at, f"contains the control character U+{ord(control(value)):04X}; "
                         "remove it (only line breaks and tabs are allowed in text)")
        return default
    if kind is str and not blank_ok and not value.strip():
        problems.add(at, "empty; expected text")
        return default
    return value


def control(text: str) -> str:
    """The first control character in ``text`` other than a line break or tab, or ''."""
    for ch in text:
        if unicodedata.category(ch) == "Cc" and ch not in "\n\t\r":
            return ch
    return ""


def _kind_name(kind) -> str:
    if kind == (int, float):
        return "a number"
    return {str: "text", int: "a whole number", list: "a list", dict: "a table",
            bool: "true or false"}.get(kind, str(kind))


def array_of_tables(items, name, problems) -> list:
    if isinstance(items, list):
        return items
    problems.add(name, f"expected [[{name}]] entries (double brackets: one table per entry), "
                       f"found a single [{name}] table")
    return []
