"""Input screening for wide data: few rows, many inputs, few of them useful.

A network grown on every input of wide data fits the noise: with more inputs than training
rows even its linear start interpolates them, and pruning one link at a time cannot find
the few useful inputs among thousands. So, when the inputs are many for the rows, the
build first ranks them by least-angle regression (scikit-learn's ``lars_path``) on each
input and its centred square (a square catches an input whose effect is even, which a
linear term misses), then fits the first ``k`` inputs of that ranking for ``k = 1, 2, ...``
with least squares on the same terms and keeps the ``k`` that the build's information
criterion prefers on the validation data. The other inputs are disconnected from the
start: the network is grown on the kept ones only.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import lars_path


def is_wide(n_inputs: int, n_train_rows: int, ratio: float) -> bool:
    """Whether a linear network on every input would have more weights than ``ratio``
    times the training rows (with ``ratio`` 0.1: more than 10 inputs for 100 rows)."""
    return n_inputs + 1 > ratio * n_train_rows


def _terms(x: np.ndarray, mean: np.ndarray, square_mean: np.ndarray) -> np.ndarray:
    """Each input centred, then each input's centred square, centred."""
    centred = x - mean
    return np.hstack([centred, centred * centred - square_mean])


def _ranking(terms: np.ndarray, y: np.ndarray, sw: np.ndarray, max_terms: int) -> np.ndarray:
    """Inputs in the order their first term enters a least-angle regression path, the
    earliest over all outputs first."""
    d = terms.shape[1] // 2
    root = np.sqrt(sw)[:, None]
    norms = np.sqrt(sw @ (terms * terms))
    usable = np.flatnonzero(norms > 0)  # a constant input has no term to rank
    design = terms[:, usable] / norms[usable] * root
    target = (y - sw @ y) * root
    entry = np.full(d, np.inf)
    with warnings.catch_warnings():
        # collinear terms (an input and its square on two levels) only end the path early
        warnings.simplefilter("ignore", ConvergenceWarning)
        for column in target.T:
            _, active, _ = lars_path(design, column, method="lar", max_iter=max_terms)
            for step, term in enumerate(active):
                j = usable[term] % d
                entry[j] = min(entry[j], step)
    ranked = np.argsort(entry, kind="stable")
    return ranked[np.isfinite(entry[ranked])]


def _validation_error(k: int, train: tuple, valid: tuple) -> float:
    """Weighted validation MSE of the least-squares fit on the first ``k`` ranked inputs'
    terms. ``train`` and ``valid`` are ``(terms, y, weights)``, the terms of the ranked
    inputs only: their ``m`` linear terms, then their ``m`` squares."""
    (terms, y, sw), (terms_v, yv, sv) = train, valid
    m = terms.shape[1] // 2
    columns = np.r_[0:k, m : m + k]
    root = np.sqrt(sw)[:, None]
    design = np.hstack([terms[:, columns], np.ones((len(terms), 1))])
    coef, *_ = np.linalg.lstsq(design * root, y * root, rcond=None)
    residual = np.hstack([terms_v[:, columns], np.ones((len(terms_v), 1))]) @ coef - yv
    return float(sv @ np.einsum("ij,ij->i", residual, residual))


def screen_inputs(
    train: tuple[np.ndarray, np.ndarray, np.ndarray],
    valid: tuple[np.ndarray, np.ndarray, np.ndarray],
    criterion: Callable[[float, int], float],
    max_screened_terms: int,
) -> np.ndarray | None:
    """Which inputs to keep (boolean, one per input), or ``None`` if none can be ranked.

    ``train`` and ``valid`` are ``(x, y, sample_weight)`` in normalised units, the weights
    summing to 1 (``valid`` may be ``train`` itself, when there are no validation rows);
    ``criterion(validation MSE, number of weights)`` is the build's score, lower is better.
    Each kept input costs two terms (linear and square) in the fits that choose how many
    to keep; a fit uses at most a quarter of the training rows as terms, and at most
    ``max_screened_terms``.
    """
    x, y, sw = train
    n, d = x.shape
    max_terms = min(2 * d, (n - 1) // 4, max_screened_terms)
    if max_terms < 1:
        return None
    mean = sw @ x
    square_mean = sw @ ((x - mean) ** 2)
    terms = _terms(x, mean, square_mean)
    ranked = _ranking(terms, y, sw, max_terms)
    ranked = ranked[: max_terms // 2 or 1]
    if ranked.size == 0:
        return None
    # the ranked inputs' terms, once: the fits for k = 1, 2, ... take their first columns
    columns = np.concatenate([ranked, ranked + d])
    xv, yv, sv = valid
    fit_on = (terms[:, columns], y, sw)
    check_on = (_terms(xv, mean, square_mean)[:, columns], yv, sv)
    n_outputs = y.shape[1]
    scores = [
        criterion(_validation_error(k, fit_on, check_on), (2 * k + 1) * n_outputs)
        for k in range(1, ranked.size + 1)
    ]
    keep = np.zeros(d, dtype=bool)
    keep[ranked[: int(np.argmin(scores)) + 1]] = True
    return keep
