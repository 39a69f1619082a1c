"""Affine normalisation of inputs and outputs: ``a_norm = (a - shift) / scale``.

The network only ever sees normalised data; the estimator folds ``shift`` and ``scale``
into the chain rule so that every derivative it exposes is of raw outputs with respect to
raw inputs.
"""

from __future__ import annotations

import numpy as np

SHIFTINGS = ("none", "min", "min_centered", "mean", "auto")
SCALINGS = ("none", "max", "max_centered", "std", "auto")

# "auto" shifting: the mean counts as close to 0 when it is within this many standard
# deviations of 0, i.e. when the data straddle 0 and shifting would gain nothing.
_AUTO_MEAN_TOLERANCE = 0.5


def fit_normalization(
    a: np.ndarray, shifting: str, scaling: str, per_feature: bool, sample_weight=None
) -> tuple[np.ndarray, np.ndarray]:
    """Compute one ``(shift, scale)`` pair per column of ``a`` (shape ``(n, m)``).

    Parameters
    ----------
    a : ndarray of shape (n_samples, n_columns)
    shifting : {"none", "min", "min_centered", "mean", "auto"}
        ``none``: 0; ``min``: the minimum; ``min_centered``: the mid-range
        ``(min + max) / 2``; ``mean``: the mean; ``auto``: the mean when it is far from 0
        (more than half a standard deviation), otherwise 0.
    scaling : {"none", "max", "max_centered", "std", "auto"}
        ``none``: 1; ``max``: the largest ``|a - shift|``; ``max_centered``: the half-range
        ``(max - min) / 2``; ``std``: the standard deviation; ``auto``: as ``max``.
    per_feature : bool
        One pair per column, or one pair shared by all columns (then computed over all
        values together and repeated).
    sample_weight : ndarray of shape (n_samples,), default=None
        Positive row weights for the mean and the standard deviation (a row of weight 2
        counts as that row twice); ``None``: equal weights.

    Returns
    -------
    shift, scale : ndarrays of shape (n_columns,)
        A scale that would be zero, or negligible next to the data's magnitude (a constant
        column), is replaced by 1 so that normalisation never divides by zero.
    """
    a = np.asarray(a, dtype=np.float64)
    n_cols = a.shape[1]
    values = a if per_feature else a.reshape(-1, 1)
    weights = None
    if sample_weight is not None and np.ptp(sample_weight) > 0:
        weights = np.asarray(sample_weight, dtype=np.float64)
        weights = weights if per_feature else np.repeat(weights, n_cols)
    lo, hi = values.min(axis=0), values.max(axis=0)
    # statistics of the values divided by a power of two near their magnitude: exact, and
    # free of overflow (values near 1e300) and underflow (near 1e-300), so that the
    # normalised data do not depend on the data's unit
    _, exponent = np.frexp(np.maximum(np.abs(lo), np.abs(hi)))
    unit = np.ldexp(1.0, exponent - 1)
    mean = np.average(values / unit, axis=0, weights=weights)
    std = np.sqrt(np.average((values / unit - mean) ** 2, axis=0, weights=weights)) * unit
    mean = mean * unit

    if shifting == "none":
        shift = np.zeros_like(mean)
    elif shifting == "min":
        shift = lo
    elif shifting == "min_centered":
        shift = 0.5 * (lo + hi)
    elif shifting == "mean":
        shift = mean
    elif shifting == "auto":
        shift = np.where(np.abs(mean) > _AUTO_MEAN_TOLERANCE * std, mean, 0.0)
    else:
        raise ValueError(f"shifting must be one of {SHIFTINGS}, got {shifting!r}")

    if scaling == "none":
        scale = np.ones_like(mean)
    elif scaling in ("max", "auto"):
        scale = np.maximum(np.abs(hi - shift), np.abs(lo - shift))
    elif scaling == "max_centered":
        scale = 0.5 * (hi - lo)
    elif scaling == "std":
        scale = std
    else:
        raise ValueError(f"scaling must be one of {SCALINGS}, got {scaling!r}")

    magnitude = np.maximum(np.abs(lo), np.abs(hi))
    negligible = ~(scale > 64 * np.finfo(np.float64).eps * magnitude) | ~np.isfinite(scale)
    scale = np.where(negligible, 1.0, scale)
    if not per_feature:
        shift, scale = np.repeat(shift, n_cols), np.repeat(scale, n_cols)
    return np.ascontiguousarray(shift, dtype=np.float64), np.ascontiguousarray(
        scale, dtype=np.float64
    )
