"""The rows a build trains and validates on: duplicates merged, a validation split.

A row of weight 2 and the same row given twice are the same data, and a build must make
the same model of them; identical rows must also never straddle training and validation,
where they would flatter the validation error. So, before anything else, the build drops
rows of zero weight, merges rows equal in inputs and targets into one row carrying their
summed weight, and puts the rows in one canonical (sorted) order: the model then depends on
the data, not on how they were listed. Rows that share their inputs but not their targets
(repeated measurements) stay apart but are held out together.
"""

from __future__ import annotations

import numpy as np


def merge_duplicate_rows(x: np.ndarray, y: np.ndarray, sample_weight: np.ndarray):
    """``(x, y, sample_weight)`` without zero-weight rows, each distinct ``(x, y)`` row
    once with the sum of its weights, sorted by ``x`` then ``y``."""
    keep = sample_weight > 0
    rows = np.hstack([x[keep], y[keep]])
    unique, inverse = np.unique(rows, axis=0, return_inverse=True)
    weights = np.bincount(inverse.reshape(-1), weights=sample_weight[keep], minlength=len(unique))
    d = x.shape[1]
    return (
        np.ascontiguousarray(unique[:, :d]),
        np.ascontiguousarray(unique[:, d:]),
        weights,
    )


def input_groups(x: np.ndarray) -> np.ndarray:
    """Group number of each row of ``x`` (sorted, as :func:`merge_duplicate_rows` leaves
    it): rows with equal inputs share a group."""
    if len(x) == 0:
        return np.zeros(0, dtype=int)
    starts = np.any(x[1:] != x[:-1], axis=1)
    return np.concatenate([[0], np.cumsum(starts)])


def _space_filling_order(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Row order along a Morton (Z-order) curve through the inputs: rows close in the order
    are close in the input space, so taking every k-th row samples the domain evenly."""
    n, d = x.shape
    bits = max(1, min(16, 63 // max(d, 1)))
    lo, hi = x.min(axis=0), x.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    cells = np.minimum(((x - lo) / span * (1 << bits)).astype(np.int64), (1 << bits) - 1)
    cells = cells[:, rng.permutation(d)]  # no input is favoured by the interleaving
    code = np.zeros(n, dtype=np.int64)
    for bit in range(bits - 1, -1, -1):
        for j in range(d):
            code = (code << 1) | ((cells[:, j] >> bit) & 1)
    return np.argsort(code, kind="stable")


def _extreme_rows(x: np.ndarray, cap: int, rng: np.random.Generator) -> np.ndarray:
    """The rows holding some column's minimum or maximum, at most ``cap`` of them: those
    that hold the most extremes first (ties in a random order)."""
    extremes, counts = np.unique(
        np.concatenate([x.argmin(axis=0), x.argmax(axis=0)]), return_counts=True
    )
    if extremes.size <= cap:
        return extremes
    tie_break = rng.permutation(extremes.size)
    order = np.lexsort((tie_break, -counts))
    return np.sort(extremes[order[:cap]])


def split_validation(
    x: np.ndarray,
    valid_percentage: float,
    rng: np.random.Generator,
    groups=None,
    keep_extremes: bool = True,
):
    """Indices ``(train, valid)`` holding out ``valid_percentage`` % of the rows.

    With ``keep_extremes``, the rows holding a column's minimum or maximum stay in
    training, so that the training set spans the domain, but they may claim only the rows
    training keeps anyway: with more columns than that (wide data), the rows holding the
    most extremes stay, and the validation set keeps its size. The validation rows are
    then an interior sample, whose error understates that of fresh rows near the edges.
    Without, every row may be held out. The validation rows are spread over the domain, not
    clumped: the other rows are ordered along a space-filling curve and every k-th one,
    from a random start, is held out. With ``groups`` (see :func:`input_groups`), groups
    are split instead of rows: a group's rows are all held out or all kept. Fewer than 4
    rows (or groups), or a percentage that rounds to no row: no validation set.
    """
    if groups is not None:
        starts = np.flatnonzero(np.diff(groups, prepend=-1))
        train_g, valid_g = split_validation(
            x[starts], valid_percentage, rng, keep_extremes=keep_extremes
        )
        valid = np.isin(groups, valid_g)
        return np.flatnonzero(~valid), np.flatnonzero(valid)
    n = x.shape[0]
    n_valid = min(int(round(n * valid_percentage / 100.0)), n - 2)
    if n < 4 or n_valid < 1:
        return np.arange(n), np.arange(0)
    extremes = _extreme_rows(x, n - n_valid, rng) if keep_extremes else np.arange(0)
    candidates = np.setdiff1d(np.arange(n), extremes)
    n_valid = min(n_valid, candidates.size)
    ordered = candidates[_space_filling_order(x[candidates], rng)]
    step = candidates.size / n_valid
    picks = np.floor(rng.uniform(0, step) + step * np.arange(n_valid)).astype(int)
    valid = np.sort(ordered[np.minimum(picks, candidates.size - 1)])
    return np.setdiff1d(np.arange(n), valid), valid
