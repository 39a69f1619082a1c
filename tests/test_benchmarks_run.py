"""The benchmark scripts still run against the package (on their smallest cases): they are
not in the default test run otherwise, and an API change must not break them unseen."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.mark.parametrize(
    "args",
    [
        ["derivatives.py", "--max-rows", "1000", "--repeat", "1", "--one-row-calls", "20"],
        ["activation.py", "--rounds", "1"],
        ["accuracy.py", "--only", "diabetes", "--skip-large"],
        ["classification.py", "--only", "wine"],
        ["scaling.py", "--rows", "300,600", "--seeds", "0", "--peers", "mlp"],
        ["compression.py", "--only", "S-curve", "--seeds", "0"],
        ["seed_spread.py", "--rows", "300", "--seeds", "0,1"],
        pytest.param(
            ["dask_training.py", "--rows", "1000", "--search-rows", "300", "--workers", "1"]
            + ["--workers-rows", "1000"],
            marks=pytest.mark.skipif(
                importlib.util.find_spec("distributed") is None, reason="needs distributed"
            ),
        ),
    ],
    ids=lambda args: args[0],
)
def test_benchmark_script_runs(args):
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / args[0]), *args[1:]],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=BENCHMARKS,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert any(table in done.stdout for table in ("NeurEco", "energy (fitted)", "own tanh"))
