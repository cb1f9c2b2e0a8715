"""Compile the Monte Carlo kernels into numba's cache before the first real run.

numba compiles a kernel the first time it is called with given argument types and keeps
the machine code in its cache (``cache=True``). Every plan calls the kernels with the
same types, so one small plan run once compiles what every later run uses: ``quyhoach
warmup`` does that after an install, and no planner's first run pays the compile.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

# A one-province plan of population only, with one drawn parameter and one target:
# every kernel a run, its targets and its bands call is compiled by it.
HISTORY = """indicator,year,value,unit,status,source,note
population,2024,500,thousand persons,official,quyhoach warmup,not a real province
"""
PLAN = """[plan]
province = "warmup"
inputs = "inputs"
base_year = 2024
last_actual_year = 2024
horizon = 2030
blocks = ["population"]

[scenarios.trend.population]
birth_rate = 20.0
death_rate = 6.0
net_migration_rate = 0.0

[uncertainty.parameters]
"population.birth_rate" = { dist = "normal", sd = 1.0 }

[[targets]]
id = "population_2030"
indicator = "population"
kind = "level"
year = 2030
comparison = ">="
value = 540.0
label_vi = "Dân số 2030"
label_en = "Population 2030"
source = "quyhoach warmup (not a real plan)"
"""


def warmup() -> float:
    """Run the small plan once with draws (compiling into numba's cache); seconds taken."""
    from .simulate import simulate

    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="quyhoach-warmup-") as tmp:
        folder = Path(tmp)
        (folder / "inputs").mkdir()
        (folder / "inputs" / "history.csv").write_text(HISTORY, encoding="utf-8")
        (folder / "plan.toml").write_text(PLAN, encoding="utf-8")
        simulate(folder / "plan.toml", draws=512, seed=0)
    return time.perf_counter() - start
