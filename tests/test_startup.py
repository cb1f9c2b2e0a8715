"""Start-up: what ``quyhoach check`` (the compile step and the central paths through the
Monte Carlo's kernel) imports: not statsmodels, matplotlib or scipy's statistics and
optimisers, which only calibration, charts and the back-test use."""

import json
import subprocess
import sys

from conftest import LAI_CHAU

SCRIPT = f"""
import json, sys
from quyhoach.simulate import check_plan
check_plan({str(LAI_CHAU)!r})
print(json.dumps(sorted(sys.modules)))
"""


def test_check_imports_no_statsmodels_matplotlib_or_scipy_stats():
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    modules = json.loads(proc.stdout.strip().splitlines()[-1])
    heavy = [m for m in modules if m.split(".")[0] in ("statsmodels", "matplotlib")
             or m.startswith(("scipy.stats", "scipy.optimize"))]
    assert heavy == []
