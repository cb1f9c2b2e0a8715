"""quyhoach: socioeconomic scenario forecasting for Vietnamese provincial plans.

Typical use::

    import quyhoach
    plan = quyhoach.load_plan("scenarios/lai_chau.toml")
    res = quyhoach.simulate(plan)
    res.feasibility()
"""

__version__ = "0.1.0"

from .errors import InputDataError, PlanError, QuyhoachError, ResultsError  # noqa: E402
from .plan import load_plan  # noqa: E402
from .results import Results, read_results  # noqa: E402
from .simulate import simulate  # noqa: E402

__all__ = ["load_plan", "simulate", "read_results", "Results", "QuyhoachError", "PlanError",
           "InputDataError", "ResultsError", "__version__"]
