"""Accuracy against scikit-learn's MLP on smooth engineering functions (slow: -m slow).

The same cases and peers as benchmarks/accuracy.py; these are the targets already met,
kept here so that a change that loses them is caught.
"""

import sys
from pathlib import Path

import numpy as np
import pytest

from sklearn_neureco import NeurEcoRegressor

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
accuracy = pytest.importorskip("accuracy")

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("case", ["friedman1", "borehole", "otl_circuit", "wing_weight"])
def test_five_times_more_accurate_than_the_best_mlp(case):
    X, y, X_test, y_test = accuracy.smooth_cases()[case]
    ours = NeurEcoRegressor(random_state=0).fit(X, y)
    rmse = np.sqrt(np.mean((ours.predict(X_test) - y_test) ** 2))
    peers = []
    for solver in ("lbfgs", "adam"):
        mlp = accuracy.mlp(solver, seed=0).fit(X, y)
        peers.append(np.sqrt(np.mean((mlp.predict(X_test) - y_test) ** 2)))
    assert rmse <= 0.2 * min(peers)
    assert ours.n_weights_ <= 0.25 * accuracy.n_weights(mlp)
