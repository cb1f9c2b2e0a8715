"""The benchmarks run (tiny sizes) so they cannot rot; timings are not asserted."""

import subprocess
import sys

import pytest

from conftest import ROOT


@pytest.mark.slow  # ~6 s: runs the Monte Carlo benchmark script end to end
def test_benchmark_smoke_run():
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_montecarlo.py"),
                           "--smoke"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "## Projection kernel" in proc.stdout and "## Whole Monte Carlo" in proc.stdout


@pytest.mark.slow  # ~15 s on 2 cores: a pool of workers, resumed; run with -m slow
def test_batch_benchmark_smoke_run():
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_batch.py"),
                           "--smoke"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "resume (all done)" in proc.stdout and "speed-up" in proc.stdout


@pytest.mark.slow  # ~30 s: two provinces written by init, batched at 1 and 2 workers
def test_national_benchmark_smoke_run():
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_national.py"),
                           "--smoke"], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert "datasets identical across worker counts: True" in proc.stdout
    assert "projected 16 workers" in proc.stdout
