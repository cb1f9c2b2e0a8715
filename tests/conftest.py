"""Shared fixtures. Strict numerics: any floating-point error outside an explicit
``np.errstate`` fails the test."""

from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
LAI_CHAU = ROOT / "scenarios" / "lai_chau.toml"


@pytest.fixture(autouse=True)
def strict_numpy():
    old = np.seterr(all="raise")
    yield
    np.seterr(**old)


@pytest.fixture(scope="session")
def lai_chau_results():
    import quyhoach

    return quyhoach.simulate(LAI_CHAU)


def check(err, source, key: str, *words: str) -> str:
    """Assert a problem at ``source: key`` whose message holds every word; return it."""
    where = f"{source}: {key}" if key else str(source)
    hits = [p for p in err.problems if p.where == where]
    assert hits, f"no problem at {where!r}; got:\n{err}"
    good = [p for p in hits if all(w in p.message for w in words)]
    assert good, f"problem at {where!r} lacks {words}; got:\n{err}"
    assert f"  - {where}: {good[0].message}" in str(err)  # the exception text lists it
    return good[0].message


def localise(plan_text: str) -> str:
    """The Lai Châu plan's relative paths (inputs, model) made absolute, for copies."""
    return plan_text.replace(
        'inputs = "../inputs/lai_chau"', f'inputs = "{(ROOT / "inputs" / "lai_chau").as_posix()}"'
    ).replace('model = "../models/lai_chau.toml"',
              f'model = "{(ROOT / "models" / "lai_chau.toml").as_posix()}"')


def write_plan(tmp_path: Path, edit=None) -> Path:
    """Copy the Lai Châu plan into tmp_path (inputs pointing at the real ones), edited.

    ``edit`` is a list of (old, new) replacements; each ``old`` must occur, so a test
    cannot pass because its edit silently did nothing.
    """
    text = LAI_CHAU.read_text(encoding="utf-8")
    text = localise(text)
    for old, new in edit or []:
        assert old in text, f"test edit target not found: {old!r}"
        text = text.replace(old, new, 1)
    path = tmp_path / "plan.toml"
    path.write_text(text, encoding="utf-8")
    return path


START = "# ---------------------------------------------------------------- uncertainty"
END = "# ---------------------------------------------------------------- targets"


def plan_with_uncertainty(tmp_path, block: str, name="plan.toml"):
    """The Lai Châu plan with ``block`` as its only uncertainty (no calibrated model)."""
    text = LAI_CHAU.read_text(encoding="utf-8")
    text = localise(text)
    text = "\n".join(line for line in text.splitlines() if not line.startswith("model = "))
    a, b = text.index(START), text.index(END)
    path = tmp_path / name
    path.write_text(text[:a] + block + "\n" + text[b:], encoding="utf-8")
    return path


def two_provinces(tmp_path: Path) -> Path:
    """A folder of two valid plans: Lai Châu (``a_lai_chau.toml``) and a copy renamed
    ``lai_chau_copy`` (``b_copy.toml``), for batch datasets of two provinces."""
    d = tmp_path / "plans"
    d.mkdir()
    (d / "a_lai_chau.toml").write_text(write_plan(tmp_path).read_text(encoding="utf-8"),
                                       encoding="utf-8")
    copy = write_plan(tmp_path, [('province = "lai_chau"', 'province = "lai_chau_copy"')])
    (d / "b_copy.toml").write_text(copy.read_text(encoding="utf-8"), encoding="utf-8")
    return d
