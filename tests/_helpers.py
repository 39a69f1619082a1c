"""Data shared by the tests."""

import numpy as np


def timeless(history):
    """Build records without their timings, which differ from run to run."""
    return [{k: v for k, v in e.items() if k != "seconds"} for e in history]


def smooth_function(X: np.ndarray, n_outputs: int = 1) -> np.ndarray:
    """A smooth, non-linear target with ``n_outputs`` columns (1-D when one)."""
    cols = [
        np.sin(2.0 * X[:, 0]) + X[:, 1] ** 2 + 0.5 * X[:, 0] * X[:, -1],
        np.exp(0.5 * X[:, 1]) - X[:, 0],
        np.cos(X[:, 0] + X[:, -1]) * 3.0 + 10.0,
    ]
    Y = np.column_stack(cols[:n_outputs])
    return Y[:, 0] if n_outputs == 1 else Y
