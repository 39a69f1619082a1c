"""The benchmark scripts still run against the package (on their smallest cases): they are
not in the default test run otherwise, and an API change must not break them unseen."""

import importlib.util
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"

HAS_DISTRIBUTED = importlib.util.find_spec("distributed") is not None
RUNS = [
    ["derivatives.py", "--max-rows", "1000", "--repeat", "1", "--one-row-calls", "20"],
    ["activation.py", "--rounds", "1"],
    ["accuracy.py", "--only", "diabetes", "--skip-large"],
    ["classification.py", "--only", "wine"],
    ["scaling.py", "--rows", "300,600", "--seeds", "0", "--peers", "mlp"],
    ["compression.py", "--only", "S-curve", "--seeds", "0"],
    ["fields.py", "--rows", "30", "--seeds", "0", "--no-kriging", "--plain-lbfgs"],
    ["seed_spread.py", "--rows", "300", "--seeds", "0,1", "--config", "weight_penalty=1"],
    ["dask_training.py", "--rows", "1000", "--search-rows", "300", "--workers", "1"]
    + ["--workers-rows", "1000"],
]


def _run(args):
    return subprocess.run(
        [sys.executable, str(BENCHMARKS / args[0]), *args[1:]],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=BENCHMARKS,
    )


def _runnable(args) -> bool:
    return HAS_DISTRIBUTED or args[0] != "dask_training.py"


@pytest.fixture(scope="module")
def started(request):
    """The selected scripts started at once, as many at a time as there are processors:
    they are separate processes, so the module's wall time halves on two cores."""
    selected = [
        item.callspec.params["args"]
        for item in request.session.items
        if getattr(item, "originalname", None) == "test_benchmark_script_runs"
    ]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        yield {args[0]: pool.submit(_run, args) for args in selected if _runnable(args)}


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(
            args, marks=pytest.mark.skipif(not _runnable(args), reason="needs distributed")
        )
        for args in RUNS
    ],
    ids=lambda args: args[0],
)
def test_benchmark_script_runs(args, started):
    done = started[args[0]].result()
    assert done.returncode == 0, done.stderr[-2000:]
    assert any(table in done.stdout for table in ("NeurEco", "energy (fitted)", "exp form"))
