"""The kernel's index layout, derived from the registry.

The numba kernels index their arrays with module-level integers (compile-time
constants): ``out[d, t, V_GRDP_REAL]``, ``rates[t, C_GROWTH + s]``, ``hist[t, H_URBAN]``.
Those integers live in ``kernels/layout.py``, which this module writes from
:data:`quyhoach.registry.BLOCKS` (``python -m quyhoach.layout``); a test fails when the
file and the registry disagree. ``LAYOUT_STAMP``, a hash of the layout, is also
written into each kernel module that compiles the constants in: numba keys its cache
on the module file, so a new layout changes the file and cannot meet a stale cache.

Names: ``V_<OUTPUT>`` for each output (``V_<PREFIX>`` for the first member of a
family such as ``va_real_<sector>``, ``V_INDICATOR`` for the bounded indicators),
``C_<CHANNEL>`` and ``H_<CHANNEL>`` for the rate and history channels the blocks
declare, ``B_<BLOCK>`` for the blocks (the column of ``mode[region, block]``), and
``N_*`` for the sizes. The bounded indicators come last in every axis, so a plan may
model any number of them: the kernels loop over as many as they are given.
"""

from __future__ import annotations

import hashlib
import re
import sys
from pathlib import Path

from .registry import BLOCKS, BOUNDED, INDICATORS, SECTORS, VARIABLES

KERNELS = Path(__file__).parent / "kernels"
KERNEL_LAYOUT = KERNELS / "layout.py"
STAMPED = (KERNELS / "projection.py", KERNELS / "montecarlo.py")
_STAMP_LINE = re.compile(r"^LAYOUT_STAMP = \d+$", re.M)


def constants() -> dict[str, int]:
    """Every index constant of the kernels, in layout order."""
    out = {"N_SECTORS": len(SECTORS), "N_INDICATORS": len(INDICATORS)}
    out.update({f"B_{b.name.upper()}": i for i, b in enumerate(BLOCKS)})
    out["N_BLOCKS"] = len(BLOCKS)
    out.update(_channels("C", [c for b in BLOCKS for c in b.rates]))
    out["N_CHANNELS"] = sum(width for b in BLOCKS for _, width in b.rates)
    out.update(_channels("H", [c for b in BLOCKS for c in b.levels]))
    out["N_HISTORY"] = sum(width for b in BLOCKS for _, width in b.levels)
    out.update(_outputs())
    out["N_VARIABLES"] = len(VARIABLES)
    return out


def _channels(prefix: str, channels: list[tuple[str, int]]) -> dict[str, int]:
    out, i = {}, 0
    for name, width in channels:
        out[f"{prefix}_{name.upper()}"] = i
        i += width
    return out


def _outputs() -> dict[str, int]:
    """``V_*``: one per output, or one per family (its first member)."""
    out: dict[str, int] = {}
    indicators = {v.name for v in BOUNDED.outputs}
    for i, v in enumerate(VARIABLES):
        if v.name in indicators:
            out.setdefault("V_INDICATOR", i)
            continue
        family = next((v.name.removesuffix(f"_{s}") for s in SECTORS
                       if v.name.endswith(f"_{s}")), None)
        out.setdefault(f"V_{(family or v.name).upper()}", i)
    return out


def stamp(values: dict[str, int]) -> int:
    """A 63-bit fingerprint of a layout (names and values, in order)."""
    text = ";".join(f"{k}={v}" for k, v in values.items())
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big") >> 1


def source() -> str:
    """The text of ``kernels/layout.py`` for the current registry."""
    values = constants()
    lines = ['"""Index layout of the kernels: generated from quyhoach.registry by',
             "``python -m quyhoach.layout``. Do not edit by hand.",
             '"""', "", f"LAYOUT_STAMP = {stamp(values)}", ""]
    lines += [f"{name} = {value}" for name, value in values.items()]
    return "\n".join(lines) + "\n"


def expected_files() -> dict[Path, str]:
    """The text every generated or stamped file must have for the current registry."""
    text = source()
    line = f"LAYOUT_STAMP = {stamp(constants())}"
    files = {KERNEL_LAYOUT: text}
    for path in STAMPED:
        files[path] = _STAMP_LINE.sub(line, path.read_text(encoding="utf-8"), count=1)
    return files


def check_kernels() -> None:
    """Refuse to run kernels generated for another registry.

    Raises
    ------
    RuntimeError
        When ``kernels/layout.py`` is older than the registry (after an edit of
        ``quyhoach/registry.py`` without ``python -m quyhoach.layout``).
    """
    from .kernels import layout as generated

    if generated.LAYOUT_STAMP != stamp(constants()):
        raise RuntimeError("the kernels' index layout (kernels/layout.py) is older than the "
                           "model registry; run python -m quyhoach.layout")


def main(argv=None) -> int:
    """Write ``kernels/layout.py`` and the stamps; ``--check``: exit 1 if out of date."""
    argv = sys.argv[1:] if argv is None else argv
    stale = [path for path, text in expected_files().items()
             if not path.exists() or path.read_text(encoding="utf-8") != text]
    if not stale:
        print("kernel layout: up to date")
        return 0
    if "--check" in argv:
        print("kernel layout out of date in " + ", ".join(p.name for p in stale)
              + "; run python -m quyhoach.layout", file=sys.stderr)
        return 1
    for path, text in expected_files().items():
        path.write_text(text, encoding="utf-8")
    print("kernel layout written: " + ", ".join(p.name for p in stale))
    return 0

if __name__ == "__main__":
    sys.exit(main())
