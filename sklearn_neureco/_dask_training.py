"""Training on Dask collections: the search on a sample, the final training on every row.

``fit`` on a Dask array or DataFrame builds in two parts. The architecture search runs in
memory, on the client, on a random sample of the rows: as many as the in-memory search
sees (``BuildConfig.search_rows``, 8,000 by default), with the estimator's usual
validation split and its final training on the sample. The chosen network is then
trained on every row by the optimisers of :mod:`._optimize`, unchanged, through
:class:`DaskTrainingProblem`: a :class:`~._optimize.TrainingProblem` whose sums over rows
(the loss, its gradient, the Gauss-Newton normal equations, the inputs' spreads) are
computed chunk by chunk on the workers and added up in a tree, so that the client holds
the sample and ``p x p`` matrices, never the rows. As in memory, the training goes
through nested subsets of rows growing eightfold, so that passes over all rows are few.

Dask is imported only here, and only for Dask input (the ``dask`` extra).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, replace

import numpy as np
from sklearn.utils import check_random_state

from ._architecture import BuildConfig, Candidate, build_record
from ._dask import is_dask
from ._engine import append_to_checkpoint
from ._optimize import TrainingProblem, train_on_growing_rows

# The search sample's seed is drawn from random_state with this offset, so that it does
# not repeat the build's own draws.
_SAMPLE_STREAM = 7
# Rows of each class that a classifier's random sample missed added to it.
RARE_CLASS_ROWS = 5


@dataclass
class DaskTrainingProblem(TrainingProblem):
    """A :class:`~._optimize.TrainingProblem` on Dask arrays chunked over rows only
    (normalised inputs and targets, weights summing to 1, chunks aligned): each sum over
    rows is a sum of the chunks' sums, computed on the workers."""

    def _sums(self, chunk_sums, *args):
        import dask
        from dask import delayed

        shared = [delayed(a, pure=True) for a in (self.network, self.objective, *args)]
        blocks = zip(
            self.x.to_delayed().ravel(),
            self.y.to_delayed().ravel(),
            self.sample_weight.to_delayed().ravel(),
            strict=True,
        )
        parts = [delayed(chunk_sums, pure=True)(*shared, x, y, s) for x, y, s in blocks]
        while len(parts) > 1:  # a tree of sums: no worker adds up every chunk
            parts = [
                delayed(_add, pure=True)(*parts[i : i + 2]) if i + 1 < len(parts) else parts[i]
                for i in range(0, len(parts), 2)
            ]
        return dask.compute(parts[0])[0]

    def data_error(self, w) -> float:
        return float(self._sums(_chunk_error, w))

    def loss(self, w) -> float:
        return float(self._sums(_chunk_loss, w)) + 0.5 * self._reg * float(w @ w)

    def loss_and_gradient(self, w):
        loss, g = self._sums(_chunk_loss_and_gradient, w)
        return loss + 0.5 * self._reg * float(w @ w), g + self._reg * w

    def normal_equations(self, w):
        loss, g, A = self._sums(_chunk_normal_equations, w)
        A[np.diag_indices_from(A)] += self._reg
        return loss + 0.5 * self._reg * float(w @ w), g + self._reg * w, A

    def input_variance(self) -> np.ndarray:
        mean = self._sums(_chunk_input_sum)
        return self._sums(_chunk_input_square_deviation, mean)

    def every_kth_row(self, k: int) -> DaskTrainingProblem:
        sw = self.sample_weight[::k]
        total = float(sw.sum().compute())
        return replace(self, x=self.x[::k], y=self.y[::k], sample_weight=sw / total)


def _add(a, b=None):
    if b is None:
        return a
    if isinstance(a, tuple):
        return tuple(u + v for u, v in zip(a, b, strict=True))
    return a + b


# What one chunk adds: the in-memory problem on its rows, without the weight penalty
# (added once, on the client). The chunk's weights are its share of the total.
def _chunk_error(network, objective, w, x, y, s):
    return TrainingProblem(network, x, y, s, objective=objective).data_error(w)


def _chunk_loss(network, objective, w, x, y, s):
    return TrainingProblem(network, x, y, s, objective=objective).loss(w)


def _chunk_loss_and_gradient(network, objective, w, x, y, s):
    return TrainingProblem(network, x, y, s, objective=objective).loss_and_gradient(w)


def _chunk_normal_equations(network, objective, w, x, y, s):
    return TrainingProblem(network, x, y, s, objective=objective).normal_equations(w)


def _chunk_input_sum(network, objective, x, y, s):
    return s @ x


def _chunk_input_square_deviation(network, objective, mean, x, y, s):
    return s @ (x - mean) ** 2


@dataclass(frozen=True)
class DaskRows:
    """Training rows held by Dask: ``X`` ``(n, n_features)``, ``y`` ``(n,)`` or
    ``(n, n_outputs)`` and the sample weights ``(n,)``, float64 arrays chunked alike over
    rows only; ``columns``, a DataFrame's column names."""

    X: object
    y: object
    sample_weight: object
    total_weight: float
    columns: list | None

    @property
    def n_rows(self) -> int:
        return int(self.X.shape[0])

    def sample(self, size: int, rng: np.random.Generator, n_classes: int = 0):
        """``(X, y, sample_weight)`` of ``size`` rows drawn at random, in memory (``X`` a
        pandas DataFrame when the rows came in one). With ``n_classes`` (``y`` holding
        class codes), a few rows of each class the draw missed join the sample, so that
        it holds every class."""
        import dask

        rows = np.sort(rng.choice(self.n_rows, size=size, replace=False))
        X, y, weights = dask.compute(self.X[rows], self.y[rows], self.sample_weight[rows])
        missing = np.setdiff1d(np.arange(n_classes), y)
        if missing.size:  # read the added rows only
            extra = np.setdiff1d(_rows_of_classes(self.y, missing, RARE_CLASS_ROWS), rows)
            more = dask.compute(self.X[extra], self.y[extra], self.sample_weight[extra])
            order = np.argsort(np.concatenate([rows, extra]))
            X, y, weights = (
                np.concatenate(pair)[order] for pair in zip((X, y, weights), more, strict=True)
            )
        if self.columns is not None:
            import pandas as pd

            X = pd.DataFrame(X, columns=self.columns)
        return X, y, weights


def _rows_of_classes(codes, classes: np.ndarray, per_class: int) -> np.ndarray:
    """The first ``per_class`` rows of each of ``classes`` in ``codes`` (a Dask array of
    class codes), found chunk by chunk."""
    import dask
    from dask import delayed

    starts = np.cumsum((0, *codes.chunks[0][:-1]))

    def first_rows(chunk, start):
        return [np.flatnonzero(chunk == c)[:per_class] + start for c in classes]

    blocks = codes.to_delayed().ravel()
    parts = dask.compute(*[delayed(first_rows)(b, s) for b, s in zip(blocks, starts, strict=True)])
    per_chunk = zip(*parts, strict=True)  # for each class, its rows in every chunk
    return np.concatenate([np.concatenate(rows)[:per_class] for rows in per_chunk])


def label_codes(y):
    """``(codes, classes)``: class labels given as a Dask array or Series, as a Dask array
    of float codes (indices into ``classes``) and the sorted classes of every row."""
    import dask.array as da

    if _is_dask_frame(y):
        y = y.to_dask_array(lengths=True)
    if not isinstance(y, da.Array):
        y = da.from_array(np.asarray(y))
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D, (n_samples,), for a classifier; got shape {y.shape}")
    classes = np.unique(y.map_blocks(np.unique, dtype=y.dtype).compute())
    if classes.size < 2:
        raise ValueError(
            f"a classifier needs samples of at least 2 classes; got {classes.size} class"
        )
    codes = y.map_blocks(lambda b: np.searchsorted(classes, b).astype(np.float64), dtype=float)
    return codes, classes


def dask_rows(X, y, sample_weight) -> DaskRows:
    """The training data as :class:`DaskRows`, checked in one pass over the rows: ``X``
    and ``y`` numeric and finite, the weights finite, non-negative, with a positive sum."""
    import dask
    import dask.array as da
    import dask.dataframe as dd

    columns = None
    if isinstance(X, dd.DataFrame):
        columns = [str(c) for c in X.columns]
        X = X.to_dask_array(lengths=True)
    X = _as_dask_array(X, "X")
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D, (n_samples, n_features); got {X.ndim} dimension(s)")
    if any(np.isnan(c) for c in X.chunks[0]):
        X = X.compute_chunk_sizes()
    X = X.astype(np.float64).rechunk({1: -1})
    row_chunks = X.chunks[0]
    y = _as_dask_array(y.to_dask_array(lengths=True) if _is_dask_frame(y) else y, "y")
    if y.ndim not in (1, 2) or y.shape[0] != X.shape[0]:
        raise ValueError(
            f"y must have shape (n_samples,) or (n_samples, n_outputs) with the "
            f"{X.shape[0]} rows of X; got shape {y.shape}"
        )
    y = y.astype(np.float64).rechunk({0: row_chunks, **({1: -1} if y.ndim == 2 else {})})
    if sample_weight is None:
        sample_weight = da.ones(X.shape[0], chunks=(row_chunks,))
    else:
        if _is_dask_frame(sample_weight):
            sample_weight = sample_weight.to_dask_array(lengths=True)
        sample_weight = _as_dask_array(sample_weight, "sample_weight")
        if sample_weight.shape != (X.shape[0],):
            raise ValueError(
                f"sample_weight must have shape ({X.shape[0]},), one weight per row of X; "
                f"got shape {sample_weight.shape}"
            )
        sample_weight = sample_weight.astype(np.float64).rechunk({0: row_chunks})
    finite_x, finite_y, finite_w, least_w, total = dask.compute(
        da.isfinite(X).all(),
        da.isfinite(y).all(),
        da.isfinite(sample_weight).all(),
        sample_weight.min(),
        sample_weight.sum(),
    )
    for ok, name in ((finite_x, "X"), (finite_y, "y"), (finite_w, "sample_weight")):
        if not ok:
            raise ValueError(f"{name} must be finite: it holds NaN or infinite values")
    if least_w < 0 or total <= 0:
        raise ValueError("sample_weight must be non-negative with a positive sum")
    return DaskRows(X, y, sample_weight, float(total), columns)


def _is_dask_frame(v) -> bool:
    return is_dask(v) and hasattr(v, "to_dask_array")


def _as_dask_array(v, name: str):
    import dask.array as da

    if not isinstance(v, da.Array):
        if is_dask(v):
            raise TypeError(f"{name} must be a Dask array or DataFrame, got {type(v).__name__}")
        v = da.from_array(np.asarray(v))
    if v.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold numbers, got dtype {v.dtype}")
    return v


def fit_on_dask(estimator, X, y, sample_weight, fit_in_memory, *, targets=None) -> list:
    """Fit ``estimator`` on Dask collections: ``fit_in_memory(X, y, sample_weight,
    config)`` (the estimator's own in-memory fit, returning its warnings) on a sample of
    rows, then the chosen network trained on every row. ``targets``, for a classifier:
    ``(n_classes, function)``, ``y`` holding class codes and the function turning a chunk
    of them into the network's targets. Returns the warnings."""
    import dask

    data = dask_rows(X, y, sample_weight)
    config = estimator.build_config or BuildConfig()
    size = config.search_size(data.n_rows)
    seed = check_random_state(estimator.random_state).randint(np.iinfo(np.int32).max)
    n_classes = 0 if targets is None else targets[0]
    sample = data.sample(size, np.random.default_rng([seed, _SAMPLE_STREAM]), n_classes)
    # the sample is the search's: the in-memory build searches on all of it
    said = fit_in_memory(*sample, replace(config, search_rows=None))
    if size == data.n_rows:
        return said
    began = time.perf_counter()
    state = estimator.state_
    xn = (data.X - state.input_shift) / state.input_scale
    if targets is None:
        Y = data.y.reshape(data.n_rows, -1)
    else:
        Y = data.y.map_blocks(
            targets[1], new_axis=1, chunks=(data.y.chunks[0], (state.n_outputs,)), dtype=float
        )
    yn = (Y - state.output_shift) / state.output_scale
    xn, yn, s = dask.persist(xn, yn, data.sample_weight / data.total_weight)
    problem = DaskTrainingProblem(
        state.network, xn, yn, s, beta=state.beta_reg, objective=estimator._objective
    )
    result = train_on_growing_rows(problem, state.weights, size, **config.lm_stop)
    error = problem.data_error(result.w)
    network = state.network
    chosen = [r for r in state.history if r["layer_sizes"] == list(network.layer_sizes)]
    # every row was trained on: no held-out rows are left, both errors are all rows'
    final = Candidate(network, result.w, state.beta_reg, error, error)
    seconds = time.perf_counter() - began
    build = chosen[-1]["build"] if chosen else 0
    record = build_record(build, "final", final, result.n_iter, seconds, n_rows=data.n_rows)
    if estimator.verbose:
        print(
            f"trained on all {data.n_rows} rows: RMSE {np.sqrt(error):.3e} in normalised units, "
            f"{result.n_iter} iterations, {record['seconds']:.2f} s",
            file=sys.stderr,
            flush=True,
        )
    estimator.state_ = replace(
        state,
        weights=np.ascontiguousarray(result.w, dtype=np.float64),
        history=[*state.history, record],
    )
    if estimator.checkpoint_address is not None:
        append_to_checkpoint(
            estimator.checkpoint_address, estimator.state_, estimator._file_params()
        )
    return said
