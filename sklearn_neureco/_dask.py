"""Prediction and derivatives on Dask collections, computed chunk by chunk.

The estimators' ``predict`` (``predict_proba``, ``decision_function``),
``forward_derivative``, ``gradient`` and ``jacobian`` hand a Dask array or DataFrame to
this module. The rows are split into Dask's chunks (every chunk holds all the columns),
each chunk is computed by the estimator's own in-memory method on a worker, and the
results are Dask collections: nothing is computed until the caller asks. ``gradient``'s
``pw``, a sum over rows, is a tree reduction of the chunks' sums. Dask is imported only
here, and only for Dask input (the ``dask`` extra).
"""

from __future__ import annotations

import numpy as np


def is_dask(*objects) -> bool:
    """Whether any of ``objects`` is a Dask collection (without importing Dask)."""
    return any(
        type(o) is not np.ndarray and type(o).__module__.split(".")[0] == "dask" for o in objects
    )


def _rows(X, n_columns: int, name: str):
    """``X`` as a 2-D Dask array chunked over rows only."""
    import dask.array as da
    import dask.dataframe as dd

    if isinstance(X, dd.DataFrame | dd.Series):
        X = X.to_dask_array(lengths=True)
    if not isinstance(X, da.Array):
        X = da.asarray(X)
    if X.ndim == 1 and n_columns == 1:
        X = X[:, None]
    if X.ndim != 2 or X.shape[1] != n_columns:
        raise ValueError(f"{name} must have shape (n_samples, {n_columns}), got {X.shape}")
    return X.astype(np.float64).rechunk({1: -1})


def rowwise(function, X, n_features: int, n_out: int | None, *extra):
    """``function(chunk, ...)`` for every chunk of rows of ``X`` (and of the row-aligned
    ``extra`` arrays, given as ``(array, n_columns, name)``), as one Dask array: ``(n,)``
    for ``n_out=None``, else ``(n, n_out)``."""
    X = _rows(X, n_features, "X")
    parts = [_rows(e, c, name) for e, c, name in extra]
    parts = [p.rechunk({0: X.chunks[0]}) for p in parts]

    def block(xb, *others):
        out = np.asarray(function(xb, *others), dtype=np.float64)
        return out.reshape(len(xb)) if n_out is None else out.reshape(len(xb), n_out)

    if n_out is None:
        return X.map_blocks(block, *parts, drop_axis=1, chunks=(X.chunks[0],), dtype=float)
    return X.map_blocks(block, *parts, chunks=(X.chunks[0], (n_out,)), dtype=float)


def jacobian(model, X):
    """``model.jacobian`` chunk by chunk: ``(n, n_outputs, n_features)``."""
    X = _rows(X, model.n_features_in_, "X")
    n_out = model._n_predictions()
    return X.map_blocks(
        model.jacobian,
        new_axis=1,
        chunks=(X.chunks[0], (n_out,), X.chunks[1]),
        dtype=float,
    )


def forward_derivative(model, w, dw, X, dx):
    """``model.forward_derivative(w, dw, ., .)`` chunk by chunk, shaped like ``predict``."""
    n_out = model._n_predictions()
    flat = model.state_.output_1d and n_out == 1

    def derivative(xb, *dxb):
        return model.forward_derivative(w, dw, xb, dxb[0] if dxb else None)

    extra = [] if dx is None else [(dx, model.n_features_in_, "dx")]
    return rowwise(derivative, X, model.n_features_in_, None if flat else n_out, *extra)


def gradient(model, w, X, py):
    """``(pw, px)``: ``pw`` ``(p, 1)`` as a tree reduction of the chunks' sums, ``px``
    ``(n, n_features)`` chunk by chunk."""
    import dask.array as da

    X = _rows(X, model.n_features_in_, "X")
    n_out = model._n_predictions()
    py = _rows(py, n_out, "py").rechunk({0: X.chunks[0]})
    p = model.n_weights_

    def chunk_pw(xb, pyb):
        return model.gradient(w, xb, pyb)[0].reshape(1, p)

    def chunk_px(xb, pyb):
        return model.gradient(w, xb, pyb)[1]

    per_chunk = da.map_blocks(chunk_pw, X, py, chunks=((1,) * len(X.chunks[0]), (p,)), dtype=float)
    pw = per_chunk.sum(axis=0).reshape(p, 1)
    px = da.map_blocks(chunk_px, X, py, chunks=X.chunks, dtype=float)
    return pw, px
