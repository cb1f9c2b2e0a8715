"""Re-bless the golden Lai Châu results after an intended change of the model, the plan,
the random numbers or the binning.

    python tests/golden/bless.py            # rewrite every golden, print what changed
    python tests/golden/bless.py --check    # print what would change, write nothing
                                            # (exit status 1 if anything would)

The goldens (all of scenarios/lai_chau.toml, every scenario):

    lai_chau_feasibility.csv       central paths: every scenario x target
                                   (10 significant digits; tests/test_lai_chau.py)
    lang_son_feasibility.csv,      the same for the other seed provinces
    quang_ninh_feasibility.csv     (tests/test_provinces.py)
    lai_chau_mc_probabilities.csv  Monte Carlo, MC_DRAWS draws at MC_SEED: per scenario
                                   x target the draws meeting it, the probability, and
                                   median, q05, q95 of the target's metric
    lai_chau_mc_bands.csv          the same run: mean, sd, q05, q50, q95 of every
                                   variable in each of MC_YEARS
                                   (tests/test_golden_montecarlo.py)

The Monte Carlo goldens hold every float as its shortest round-trip repr (up to 17
significant digits), so any change of random numbers, binning or summation order shows.

Before committing: say in the commit message why the numbers changed, then review what
this script prints and the CSV diff. Every changed number is a changed answer to the
steering committee.
"""

from __future__ import annotations

import csv
import io
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

import quyhoach

HERE = Path(__file__).resolve().parent
PLAN = HERE.parents[1] / "scenarios" / "lai_chau.toml"

# Central golden (tests/test_lai_chau.py).
COLUMNS = ["scenario", "target_id", "projected", "met", "gap", "required", "projected_rate"]

# Monte Carlo goldens (tests/test_golden_montecarlo.py). Changing any of these changes
# every number: re-bless, and say so in the commit.
MC_DRAWS = 2000
MC_SEED = 20210604
MC_YEARS = (2025, 2030, 2040, 2050)
MC_TARGET_COLUMNS = ["median", "q05", "q95"]
MC_BAND_COLUMNS = ["mean", "sd", "q05", "q50", "q95"]

REBLESS = ("python tests/golden/bless.py  (after explaining the change in the commit "
           "message; it prints what changed: review it and the CSV diff)")


@dataclass(frozen=True)
class Golden:
    """One golden CSV: its rows are identified by ``keys``; ``exact`` columns are
    compared without tolerance; ``build`` makes the frame; ``float_format`` None writes
    the shortest repr that reads back to the same bits."""

    name: str
    keys: tuple[str, ...]
    exact: tuple[str, ...]
    build: Callable[[], pd.DataFrame]
    float_format: str | None = None

    @property
    def path(self) -> Path:
        return HERE / self.name


# ----------------------------------------------------------------------------- frames

def golden_frame(plan: Path = PLAN) -> pd.DataFrame:
    """The central feasibility golden of a plan."""
    res = quyhoach.simulate(plan)
    return res.feasibility()[COLUMNS]


def monte_carlo(chunk_size: int | None = None):
    """The golden Monte Carlo run (numba's current thread count)."""
    options = {} if chunk_size is None else {"chunk_size": chunk_size}
    return quyhoach.simulate(PLAN, draws=MC_DRAWS, seed=MC_SEED, **options)


@lru_cache(maxsize=1)
def _blessed_run():
    return monte_carlo()


def mc_probabilities(res) -> pd.DataFrame:
    """scenario, target_id, draws, met_draws, probability, median, q05, q95."""
    f = res.feasibility()
    draws = int(res.draws)
    p = f["probability"].to_numpy(float)
    met = np.rint(p * draws).astype(np.int64)
    # probability is met / draws: the count is recovered exactly (else say so here)
    bad = [(s, t) for s, t, m, q in zip(f["scenario"], f["target_id"], met, p, strict=True)
           if m / draws != q]
    if bad:
        raise AssertionError(f"probability is not a whole number of draws / {draws}: {bad}")
    out = pd.DataFrame({"scenario": f["scenario"].astype(str),
                        "target_id": f["target_id"].astype(str),
                        "draws": draws, "met_draws": met, "probability": p})
    for col in MC_TARGET_COLUMNS:
        out[col] = f[col].to_numpy(float)
    return out.reset_index(drop=True)


def mc_bands(res) -> pd.DataFrame:
    """scenario, variable, year, mean, sd, q05, q50, q95 at MC_YEARS."""
    b = res.bands()
    b = b[b["year"].isin(MC_YEARS)]
    out = pd.DataFrame({"scenario": b["scenario"].astype(str),
                        "variable": b["variable"].astype(str),
                        "year": b["year"].astype(np.int64)})
    for col in MC_BAND_COLUMNS:
        out[col] = b[col].to_numpy(float)
    return out.reset_index(drop=True)


PROVINCES = ("lang_son", "quang_ninh")  # central goldens of the other seed provinces

GOLDENS = (
    Golden("lai_chau_feasibility.csv", ("scenario", "target_id"), ("met",),
           golden_frame, float_format="%.10g"),
    *(Golden(f"{p}_feasibility.csv", ("scenario", "target_id"), ("met",),
             lambda p=p: golden_frame(PLAN.parent / f"{p}.toml"), float_format="%.10g")
      for p in PROVINCES),
    Golden("lai_chau_mc_probabilities.csv", ("scenario", "target_id"),
           ("draws", "met_draws", "probability"), lambda: mc_probabilities(_blessed_run())),
    Golden("lai_chau_mc_bands.csv", ("scenario", "variable", "year"), (),
           lambda: mc_bands(_blessed_run())),
)
BY_NAME = {g.name: g for g in GOLDENS}


# ------------------------------------------------------------------------- CSV text

def _cell(x) -> str:
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    if isinstance(x, (float, np.floating)):
        return "" if math.isnan(x) else repr(float(x))
    return str(x)


def to_text(golden: Golden, frame: pd.DataFrame) -> str:
    """The CSV text of a golden (``\\n`` line ends)."""
    if golden.float_format is not None:
        return frame.to_csv(index=False, float_format=golden.float_format,
                            lineterminator="\n")
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(frame.columns)
    for row in frame.itertuples(index=False):
        w.writerow([_cell(x) for x in row])
    return buf.getvalue()


def _value(text: str):
    if text in ("True", "False"):
        return text == "True"
    if text == "":
        return math.nan
    for kind in (int, float):  # float: Python parses a repr back to the same bits
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse(text: str) -> tuple[list[str], list[dict]]:
    """Columns and rows of a golden's CSV text; values typed (bool, int, float, str)."""
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return [], []
    header = rows[0]
    return header, [dict(zip(header, (_value(c) for c in r), strict=True)) for r in rows[1:]]


def read(golden: Golden) -> tuple[list[str], list[dict]]:
    """The committed golden (empty if it does not exist yet)."""
    if not golden.path.exists():
        return [], []
    return parse(golden.path.read_text(encoding="utf-8"))


# ------------------------------------------------------------------------ comparison

@dataclass
class Diff:
    """How ``got`` differs from ``want``: rows and columns missing or extra, and
    cells outside the tolerance (each: key, column, want, got, relative difference)."""

    columns_missing: list[str]
    columns_extra: list[str]
    rows_missing: list[tuple]
    rows_extra: list[tuple]
    cells: list[tuple]
    n_cells: int
    order_changed: bool = False

    def __bool__(self) -> bool:
        return bool(self.columns_missing or self.columns_extra or self.rows_missing
                    or self.rows_extra or self.cells or self.order_changed)

    def report(self, keys, limit: int = 10, indent: str = "  ") -> str:
        lines = []
        if self.columns_missing:
            lines.append(f"columns gone: {', '.join(self.columns_missing)}")
        if self.columns_extra:
            lines.append(f"columns new: {', '.join(self.columns_extra)}")
        for what, rows in (("rows gone", self.rows_missing), ("rows new", self.rows_extra)):
            if rows:
                shown = "; ".join(_key_text(keys, k) for k in rows[:limit])
                more = f" (and {len(rows) - limit} more)" if len(rows) > limit else ""
                lines.append(f"{what} ({len(rows)}): {shown}{more}")
        if self.order_changed:
            lines.append("the same rows in another order")
        if self.cells:
            lines.append(f"{len(self.cells)} of {self.n_cells} compared cells changed; "
                         f"largest differences:")
            for key, col, a, b, rel in sorted(self.cells, key=lambda c: -c[4])[:limit]:
                lines.append(f"  {_key_text(keys, key)}  {col}: golden {_show(a)}, "
                             f"now {_show(b)}  (relative difference {rel:.3g})")
        return "\n".join(indent + line for line in lines)


def _key_text(keys, key) -> str:
    return " ".join(f"{k}={v}" for k, v in zip(keys, key, strict=True))


def _show(x) -> str:
    return repr(x) if isinstance(x, float) else str(x)


def _key(row, keys) -> tuple:
    return tuple(str(row[k]) for k in keys)


def _number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _relative(a: float, b: float) -> float:
    if a == b:
        return 0.0
    if math.isnan(a) or math.isnan(b) or math.isinf(a) or math.isinf(b):
        return math.inf
    return abs(a - b) / max(abs(a), abs(b))


def compare(want, got, keys, exact=(), rtol: float = 0.0) -> Diff:
    """Compare two parsed goldens (``parse``/``read``) cell by cell, rows matched by
    ``keys``. Numbers not in ``exact`` may differ by ``rtol`` times the row's scale (the
    largest magnitude among its inexact cells, so that an sd or quantile near 0 is judged
    at the size of its series); everything else must be equal. With rtol 0, any change
    of bits counts."""
    (want_cols, want_rows), (got_cols, got_rows) = want, got
    values = [c for c in want_cols if c in got_cols and c not in keys]
    a = {_key(r, keys): r for r in want_rows}
    b = {_key(r, keys): r for r in got_rows}
    for rows, by_key, what in ((want_rows, a, "golden"), (got_rows, b, "new")):
        if len(by_key) != len(rows):
            raise AssertionError(f"{what} table has rows with the same {', '.join(keys)}")
    cells, n = [], 0
    for key in (k for k in a if k in b):
        ra, rb = a[key], b[key]
        scale = max((abs(ra[c]) for c in values if c not in exact and _number(ra[c])
                     and math.isfinite(ra[c])), default=0.0)
        for col in values:
            x, y = ra[col], rb[col]
            n += 1
            if _number(x) and _number(y):
                if x == y or (math.isnan(x) and math.isnan(y)):
                    continue
                tol = 0.0 if col in exact else rtol * max(abs(x), abs(y), scale)
                if math.isfinite(x) and math.isfinite(y) and abs(x - y) <= tol:
                    continue
                cells.append((key, col, x, y, _relative(x, y)))
            elif x != y or type(x) is not type(y):
                cells.append((key, col, x, y, math.inf))
    common_a = [k for k in a if k in b]
    common_b = [k for k in b if k in a]
    return Diff([c for c in want_cols if c not in got_cols],
                [c for c in got_cols if c not in want_cols],
                [k for k in a if k not in b], [k for k in b if k not in a],
                cells, n, order_changed=common_a != common_b)


# ---------------------------------------------------------------------------- bless

def bless(write: bool = True) -> int:
    """Rebuild every golden, print per file what changed; write unless ``write`` is
    False. Returns the number of files that changed."""
    changed = 0
    for golden in GOLDENS:
        frame = golden.build()
        text = to_text(golden, frame)
        new = parse(text)
        if golden.float_format is None:  # the file must give back the very bits
            again = compare(rows_of(frame), new, golden.keys)
            assert not again, f"{golden.name}: CSV does not round-trip\n{again.report(golden.keys)}"
        old_text = golden.path.read_text(encoding="utf-8") if golden.path.exists() else None
        if old_text == text:
            print(f"{golden.name}: unchanged ({len(new[1])} rows, {len(text.encode())} bytes)")
            continue
        changed += 1
        if old_text is None:
            print(f"{golden.name}: new ({len(new[1])} rows, {len(text.encode())} bytes)")
        else:
            diff = compare(parse(old_text), new, golden.keys, golden.exact)
            print(f"{golden.name}: CHANGED ({len(new[1])} rows, {len(text.encode())} bytes)")
            print(diff.report(golden.keys) if diff
                  else "  same values, other formatting")
        if write:
            golden.path.write_text(text, encoding="utf-8", newline="\n")
            print(f"  wrote {golden.path}")
    return changed


def rows_of(frame: pd.DataFrame) -> tuple[list[str], list[dict]]:
    """A frame in the form ``parse`` gives (bool, int, float, str), without going
    through text: what a test compares with the golden file."""
    def value(x):
        if isinstance(x, (bool, np.bool_)):
            return bool(x)
        if isinstance(x, (int, np.integer)):
            return int(x)
        if isinstance(x, (float, np.floating)):
            return float(x)
        return str(x)

    cols = [str(c) for c in frame.columns]
    rows = frame.itertuples(index=False)
    return cols, [dict(zip(cols, map(value, row), strict=True)) for row in rows]


if __name__ == "__main__":
    import numba

    check = "--check" in sys.argv[1:]
    unknown = [a for a in sys.argv[1:] if a != "--check"]
    if unknown:
        sys.exit(f"usage: python tests/golden/bless.py [--check]  (unknown: {unknown})")
    print(f"Lai Châu goldens: Monte Carlo {MC_DRAWS} draws, seed {MC_SEED}, years "
          f"{', '.join(map(str, MC_YEARS))}; {numba.get_num_threads()} threads")
    n = bless(write=not check)
    if check:
        print(f"{n} golden file(s) would change" if n else "every golden is up to date")
        sys.exit(1 if n else 0)
    print(f"{n} golden file(s) rewritten: explain why in the commit message and review "
          f"the diff" if n else "every golden was already up to date")
