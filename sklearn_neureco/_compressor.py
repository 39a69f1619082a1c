"""NeurEcoCompressor: nonlinear compression with exact derivatives of both halves.

An encoder network maps the (normalised) data to ``k`` coefficients, linear outputs, and
a decoder network maps them back. Both are ordinary networks of the family
(:class:`~sklearn_neureco._network.Network`: ``tanh`` hidden layers, a linear output
layer, direct links): trained as one :class:`Chain`, and afterwards each is a fitted
:class:`~sklearn_neureco.NeurEcoRegressor` with the whole derivative API.

The build (:meth:`NeurEcoCompressor.fit`) first computes PCA's validation error for every
number of coefficients ``k``, and the fewest, ``k_pca``, with which PCA meets
``compress_tolerance``. Below ``k_pca`` it tries nonlinear halves: a hidden layer each,
whose direct links start as the PCA projection and reconstruction and whose hidden
neurons start silent (so a candidate starts at PCA's error), with larger hidden layers
while the validation error improves (past ``HIDDEN_SIZES``, only while widening pays:
``WIDER_GAIN``), each started afresh from PCA: halves grown from a smaller trained pair
keep its solution, which traps them (a build resumed from a model grows from it,
though). It keeps the fewest coefficients, and at that ``k``
the smallest networks, that meet the tolerance; failing that, PCA with ``k_pca``
coefficients (linear halves); it stops trying larger ``k`` once the networks do no better
than PCA at two ``k`` in a row (the data do not look curved). At a ``k`` where the halves
started from PCA miss the tolerance, a second ladder starts from Isomap's chart of the
data when it beats PCA's (``CHART_GAIN``; :func:`_chart`), the halves first trained to
it: a rolled-up manifold cannot be unrolled from PCA's chart. Where the ladders miss the
tolerance by at most ``RESTART_REACH`` times, a last ladder from PCA runs with other
random draws.

The encoder reads the data normalised as the options say (per column by default); the
decoder reconstructs them normalised with one shift and one scale for every column, so
that what the halves are trained to minimise is the tolerance's norm (the data's own
units), and PCA's axes are those of that norm.
"""

from __future__ import annotations

import copy
import math
import sys
import time
import warnings
from numbers import Integral, Real
from pathlib import Path
from typing import NamedTuple

import numpy as np
from joblib import effective_n_jobs
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils.parallel import delayed
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from ._architecture import widen
from ._base import (
    BUILD_PARAMETER_CONSTRAINTS,
    Number,
    estimator_from_file,
    file_params,
    unchanged_on_failure,
)
from ._dask import is_dask
from ._engine import in_processes
from ._network import Network, dense_masks
from ._normalization import fit_normalization
from ._objectives import LEAST_SQUARES
from ._optimize import TrainingProblem, one_thread, single_threaded_blas, train
from ._persistence import (
    COMPRESSOR,
    ModelFileError,
    check_target,
    read_compressor,
    write_container,
)
from ._regressor import NeurEcoRegressor
from ._rows import input_groups, merge_duplicate_rows, split_validation
from ._state import state_of

# hidden sizes tried for the encoder after the linear one (the decoder's is scaled by the
# size ratio)
HIDDEN_SIZES = (2, 4, 8, 16, 32)
# Past them, the encoder's hidden layer keeps doubling while the last doubling cut the
# validation error at least WIDER_GAIN times, up to as many neurons as the data have
# columns (a build resumed from HIDDEN_SIZES[-1] neurons or more reads the gain of its
# last doubling in the resumed model's records, and does not widen without them): a
# decoder with one neuron per reconstructed value can already draw a travelling front
# exactly (value j = tanh(x_j * a - b) from coefficients a, b), so wider halves are
# worth their price only on wide data, and only while widening still pays
WIDER_GAIN = 1.5
# growth at one k stops after this many candidates that did not improve validation
GROWTH_PATIENCE = 2
# the search over k stops when, for CURVATURE_PATIENCE k in a row, the best nonlinear
# candidate is not below NONLINEAR_GAIN times PCA's error with as many coefficients (the
# data do not look curved): the linear compression that meets the tolerance is kept. One
# k is not enough: the S-curve's networks barely beat PCA with 1 coefficient, and meet 1 %
# with 2 where PCA leaves 35 %
NONLINEAR_GAIN = 0.9
CURVATURE_PATIENCE = 2
# Halves started from PCA keep PCA's chart of the data, which a rolled-up manifold (the
# swiss roll) cannot be unrolled from: at a k where they miss the tolerance, a second
# ladder starts each size from Isomap's k coordinates (its halves first trained to them,
# then together), when a nearest-neighbour reconstruction from Isomap's coordinates is at
# least CHART_GAIN times more accurate than from PCA's. On the data of
# benchmarks/compression.py, measured when the constant was chosen, it was 2 to 6 times on
# the swiss roll and S-curve, at most 1.23 on digits and about 1 on the fields of 64
# values (where the ladder is not run)
CHART_GAIN = 1.5
# Isomap's neighbour counts tried (too many short-circuit the swiss roll's turns, too
# few tear the graph: the chart that reconstructs best is kept), and the most rows it
# embeds (its cost grows as their square)
CHART_NEIGHBOURS = (4, 6, 8, 12)
CHART_ROWS = 1000
# At a k where the ladders miss the tolerance by at most RESTART_REACH times, one more
# ladder from PCA runs with other draws (benchmarks/compression.py: it gave the heat
# fields of random state 2 their 3 coefficients; the front's one coefficient, 9 times
# off the tolerance, cannot meet it at any size)
RESTART_REACH = 5.0


class Chain:
    """Two networks in series, ``second(first(x; w1); w2)``, with the packed weights
    ``[w1, w2]``: what training sees (the interface :class:`TrainingProblem` uses)."""

    def __init__(self, first: Network, second: Network):
        self.first, self.second = first, second
        self.n_weights = first.n_weights + second.n_weights
        self.n_outputs = second.n_outputs

    def split(self, w):
        return w[: self.first.n_weights], w[self.first.n_weights :]

    def forward(self, w, x):
        w1, w2 = self.split(w)
        return self.second.forward(w2, self.first.forward(w1, x))

    def vjp(self, w, x, gy, *, wrt_inputs: bool = True):
        w1, w2 = self.split(w)
        c = self.first.forward(w1, x)
        y, g2, gc = self.second.vjp(w2, c, gy, wrt_inputs=True)
        _, g1, gx = self.first.vjp(w1, x, gc, wrt_inputs=wrt_inputs)
        return y, np.concatenate([g1, g2]), gx

    def jacobians(self, w, x, *, wrt_weights: bool = True, wrt_inputs: bool = False, out=None):
        w1, w2 = self.split(w)
        c, J1, Jx1 = self.first.jacobians(w1, x, wrt_inputs=wrt_inputs)
        y, J2, Jc = self.second.jacobians(w2, c, wrt_inputs=True)
        n, p1 = x.shape[0], self.first.n_weights
        Jw = np.empty((n, self.n_outputs, self.n_weights)) if out is None else out
        np.matmul(Jc, J1, out=Jw[:, :, :p1])  # chain rule through the coefficients
        Jw[:, :, p1:] = J2
        Jx = Jc @ Jx1 if wrt_inputs else None
        return y, Jw, Jx

    def output_layer_index(self) -> np.ndarray:
        """The decoder's :meth:`Network.output_layer_index`, in the packed weights."""
        index = self.second.output_layer_index()
        return np.where(index >= 0, index + self.first.n_weights, -1)

    def output_layer_inputs(self, w, x):
        """The decoder's :meth:`Network.output_layer_inputs` for data ``x``."""
        w1, w2 = self.split(w)
        return self.second.output_layer_inputs(w2, self.first.forward(w1, x))

    def blocks(self):
        """The first network's blocks (its inputs are the data: LM scales their damping);
        the second's with their offsets, their sources shifted past the data's."""
        shift, past = self.first.n_weights, self.first.n_layers + 1
        return [
            *self.first.blocks(),
            *((l + past, s + past, m, i, o + shift) for l, s, m, i, o in self.second.blocks()),
        ]


def _grow(network: Network, w, size: int, rng):
    """``network`` with ``size`` neurons in its hidden layer, computing the same function:
    the new neurons get random inputs (LeCun-normal) and silent outputs, so that training
    can use them at once."""
    wider, w = widen(network, w, 1, size)
    W, b = wider.unpack(w)
    old = network.layer_sizes[1]
    for (l, _), Wls in W.items():
        if l == 1:
            Wls[old:] = rng.normal(scale=1.0 / np.sqrt(Wls.shape[1]), size=Wls[old:].shape)
    return wider, wider.pack(W, b)


def _principal_axes(xn, sw) -> tuple[np.ndarray, np.ndarray]:
    """``(centre, vt)``: the weighted mean of the rows ``xn`` (weights ``sw`` summing to 1)
    and every principal axis, a basis of the whole space (``vt`` is ``(d, d)``)."""
    centre = sw @ xn
    _, _, vt = np.linalg.svd((xn - centre) * np.sqrt(sw)[:, None], full_matrices=True)
    return centre, vt


def _pca_errors(X, zn, sw, valid_idx, axes, scale, shift, mean) -> np.ndarray:
    """``errors[k]``: the relative validation error of PCA with the first ``k`` of the
    training rows' principal ``axes`` (``errors[d] == 0``), in ``zn``, the data ``X``
    normalised by ``shift`` and ``scale``."""
    centre, vt = axes
    d = X.shape[1]
    coefficients = (zn[valid_idx] - centre) @ vt.T  # (n_valid, d), all components
    weights = sw[valid_idx][:, None]
    total = max(float(np.sum(weights * (X[valid_idx] - mean) ** 2)), 1e-300)
    # the raw-unit residual with k components, one component removed at a time: O(n d^2)
    residual = X[valid_idx] - (centre * scale + shift)
    errors = np.empty(d + 1)
    errors[0] = np.sqrt(np.sum(weights * residual**2) / total)
    for k in range(1, d + 1):
        residual -= np.outer(coefficients[:, k - 1], vt[k - 1] * scale)
        errors[k] = np.sqrt(np.sum(weights * residual**2) / total)
    return errors


def _pca_start(first: Network, second: Network, axes, to_out, rng):
    """Weights of an encoder/decoder pair that computes PCA with ``k`` of the principal
    ``axes`` of the decoder's outputs (the direct links), hidden neurons with random
    inputs and zero outputs (silent). ``to_out``: ``(ratio, offset)``, the decoder's
    outputs from the encoder's inputs, ``z = x * ratio + offset``."""
    k = first.n_outputs
    mean, vt = axes
    basis = vt[:k]  # (k, d)
    ratio, offset = to_out
    weights = []
    for net, direct, bias in (
        (first, basis * ratio, basis @ (offset - mean)),  # coefficients = V (z - mean)
        (second, basis.T, mean),  # reconstruction = V^T c + mean
    ):
        W, b = net.unpack(np.zeros(net.n_weights))
        last = net.n_layers
        W[last, 0][:] = direct
        b[last][:] = bias
        for layer in net.layers[:-1]:  # hidden: LeCun-normal inputs, silent outputs
            for block in layer.blocks:
                fan_in = W[layer.index, block.source].shape[1]
                W[layer.index, block.source] = rng.normal(
                    scale=1.0 / np.sqrt(fan_in), size=W[layer.index, block.source].shape
                )
        weights.append(net.pack(W, b))
    return np.concatenate(weights)


def _every_kth(rows: np.ndarray, most: int) -> np.ndarray:
    return rows[:: -(-len(rows) // most)]


def _isomap_charts(xn, train_idx, valid_idx, most: int) -> tuple:
    """``(rows, valid, charts)``: up to ``CHART_ROWS`` training ``rows`` and validation
    rows, and for each of ``CHART_NEIGHBOURS`` Isomap's ``most`` coordinates of both,
    ``(of rows, of valid)``. Computed once per build: Isomap's first ``k`` coordinates are
    its ``k`` coordinates (the leading eigenvectors do not depend on how many are asked)."""
    from sklearn.manifold import Isomap

    rows, valid = _every_kth(train_idx, CHART_ROWS), _every_kth(valid_idx, CHART_ROWS)
    charts = []
    for neighbours in CHART_NEIGHBOURS:
        if neighbours >= len(rows) - 1 or most >= len(rows) - 1:
            break
        # a dense eigensolver: ARPACK would start from a random vector
        isomap = Isomap(n_neighbors=neighbours, n_components=most, eigen_solver="dense")
        with warnings.catch_warnings():  # a graph in pieces is joined, with a warning
            warnings.simplefilter("ignore")
            try:
                fitted = isomap.fit_transform(xn[rows])
                new = isomap.transform(xn[valid])
            except (ValueError, np.linalg.LinAlgError):
                continue
        if np.all(np.isfinite(fitted)) and np.all(np.isfinite(new)):
            charts.append((fitted, new))
    return rows, valid, charts


def _chart(xn, axes, k: int, relative, rows, valid, charts):
    """``(rows, coordinates)``: of Isomap's ``charts`` (see :func:`_isomap_charts`) cut to
    ``k`` coordinates, the best, standardised, if it charts the data ``CHART_GAIN``
    times better than PCA's ``axes``; else None. A chart's error: ``relative(
    reconstruction, valid)``, each ``valid`` row reconstructed as the mean of the 5
    ``rows`` nearest to it in the chart."""
    from sklearn.neighbors import KNeighborsRegressor

    if not charts:  # too few rows for a neighbour graph
        return None

    def error(fitted, new) -> float:
        nearest = KNeighborsRegressor(n_neighbors=min(5, len(rows))).fit(fitted, xn[rows])
        return relative(nearest.predict(new), valid)

    centre, vt = axes
    linear = error((xn[rows] - centre) @ vt[:k].T, (xn[valid] - centre) @ vt[:k].T)
    best, coordinates = np.inf, None
    for fitted, new in charts:
        fitted, new = fitted[:, :k], new[:, :k]
        if np.all(fitted.std(axis=0) > 0):
            if (e := error(fitted, new)) < best:
                best, coordinates = e, fitted
    if coordinates is None or not best * CHART_GAIN <= linear:
        return None
    return rows, (coordinates - coordinates.mean(axis=0)) / coordinates.std(axis=0)


class NeurEcoCompressor(TransformerMixin, BaseEstimator):
    """Nonlinear compression: an encoder network to a few coefficients, a decoder back.

    ``fit`` chooses the number of coefficients and both networks (see the module
    docstring): the fewest coefficients, and the smallest networks, whose reconstruction
    of the validation rows meets ``compress_tolerance``.

    Parameters
    ----------
    compress_tolerance : float, default=0.01
        The largest relative reconstruction error accepted on the validation rows:
        ``||X_val - X_hat||_F / ||X_val - mean(X)||_F`` (Frobenius norms over the rows and
        columns, in the data's units; 0.01 means 1 % of the data's spread). If no
        candidate meets it, ``fit`` warns and keeps the most accurate it found.
    minimum_compression_coefficients : int, default=1
        The fewest coefficients tried.
    compress_decompress_size_ratio : float, default=1.0
        The decoder's hidden layer relative to the encoder's. Snapshots of sharp moving
        features may need a decoder larger than the encoder (see the user guide).
    inputs_shifting, inputs_scaling, inputs_normalize_per_feature
        How the encoder's inputs are normalised, as for :class:`NeurEcoRegressor`. The
        decoder's outputs are normalised with the same shifting and scaling but one shift
        and scale for every column: the halves are trained in the tolerance's norm.
    valid_percentage : float, default=33.33
        Percentage of the rows held out to choose the compression.
    initial_beta_reg : float, default=0.1
        Weight regularisation of the first training stage.
    final_learning : bool, default=True
        Train the chosen networks once more on all rows.
    checkpoint_address : str or path-like, default=None
        File where the build writes its candidates as it goes (encoder and decoder of
        each), rewritten atomically after each; ``NeurEcoCompressor.load(path,
        model_number=N)`` reads candidate ``N``, and by default the best so far (the
        final model once the build has ended).
    n_init : int, default=1
        Number of builds, each drawing its own new neurons on the same validation split;
        the fewest coefficients that meet the tolerance win (then the least validation
        error, then the fewest weights). A build after the first tries no more
        coefficients than the best found so far.
    n_jobs : int, default=None
        Processes for the ``n_init`` builds (``None``: 1, ``-1``: all processors), in
        joblib's ``loky`` workers or, under joblib's Dask backend, on a cluster. Each
        build then runs to its end, on one thread, and is cut back afterwards to what it
        would have tried after the earlier builds: the model, ``history_`` and the
        checkpoint are those of the builds run one after the other, but for the last bits
        of products that one process runs on several threads (as for
        :class:`NeurEcoRegressor`). The time of the extra candidates a build would have
        skipped is the price of running them side by side.
    random_state : int, RandomState instance or None, default=None
    verbose : int, default=0
        1 or more: one line per candidate on stderr.

    Attributes
    ----------
    n_components_ : int
        Number of coefficients.
    encoder_ : NeurEcoRegressor
        The fitted encoder, data to coefficients: ``predict``, ``jacobian``,
        ``get_weights``, ``set_weights``, ``forward_derivative``, ``gradient``, ``save``.
    decoder_ : NeurEcoRegressor
        The fitted decoder, coefficients to data.
    reconstruction_error_ : float
        The chosen model's relative validation error (as ``compress_tolerance``), before
        the final training on all rows.
    history_ : list of dict
        One record per candidate: coefficients, layer sizes of both halves, weights,
        where it started (``"start"``: ``"pca"``, ``"chart"``, ``"restart"`` or
        ``"resumed"``), relative training and validation errors, seconds.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features,)
        When ``X`` had string column names.

    See Also
    --------
    sklearn.decomposition.PCA : Linear compression.
    sklearn.decomposition.KernelPCA : Nonlinear compression without a differentiable
        decoder.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_neureco import NeurEcoCompressor
    >>> t = np.random.default_rng(0).uniform(0, 3, 400)
    >>> X = np.c_[np.cos(t), np.sin(t), t**2 / 9]  # a curve in 3-D: one coordinate
    >>> model = NeurEcoCompressor(random_state=0).fit(X)
    >>> model.n_components_
    1
    >>> bool(model.reconstruction_error_ <= 0.01)
    True
    """

    _parameter_constraints: dict = {
        "compress_tolerance": [Number(Real, 0, None, closed="neither")],
        "minimum_compression_coefficients": [Number(Integral, 1, None, closed="left")],
        "compress_decompress_size_ratio": [Number(Real, 0, None, closed="neither")],
        # the options the regressor has, checked the same way
        **{
            key: BUILD_PARAMETER_CONSTRAINTS[key]
            for key in (
                "inputs_shifting",
                "inputs_scaling",
                "inputs_normalize_per_feature",
                "valid_percentage",
                "initial_beta_reg",
                "final_learning",
                "checkpoint_address",
                "n_init",
                "n_jobs",
                "random_state",
                "verbose",
            )
        },
    }

    def __init__(
        self,
        *,
        compress_tolerance=0.01,
        minimum_compression_coefficients=1,
        compress_decompress_size_ratio=1.0,
        inputs_shifting="auto",
        inputs_scaling="auto",
        inputs_normalize_per_feature=True,
        valid_percentage=33.33,
        initial_beta_reg=0.1,
        final_learning=True,
        checkpoint_address=None,
        n_init=1,
        n_jobs=None,
        random_state=None,
        verbose=0,
    ):
        self.compress_tolerance = compress_tolerance
        self.minimum_compression_coefficients = minimum_compression_coefficients
        self.compress_decompress_size_ratio = compress_decompress_size_ratio
        self.inputs_shifting = inputs_shifting
        self.inputs_scaling = inputs_scaling
        self.inputs_normalize_per_feature = inputs_normalize_per_feature
        self.valid_percentage = valid_percentage
        self.initial_beta_reg = initial_beta_reg
        self.final_learning = final_learning
        self.checkpoint_address = checkpoint_address
        self.n_init = n_init
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    def fit(self, X, y=None, sample_weight=None, X_val=None, init_model=None):
        """Build the encoder and decoder of ``X`` (``y`` is ignored).

        ``X_val``: validation rows of your own (else ``valid_percentage`` % of ``X`` is
        held out); with ``final_learning`` they are trained on at the end, as an average
        training row. ``init_model``: a fitted compressor of the same columns (a
        checkpoint's candidate, ``NeurEcoCompressor.load(path, model_number=N)``) to
        resume from: its normalisation is kept, and the search goes on from its number of
        coefficients and networks (larger hidden layers grown from its neurons), as if it
        had just been trained. If ``fit`` fails, the estimator is left as it was.
        """
        with unchanged_on_failure(self):
            return self._fit(X, sample_weight, X_val, init_model)

    @_fit_context(prefer_skip_nested_validation=True)
    def _fit(self, X, sample_weight, X_val, init_model):
        if is_dask(X, sample_weight, X_val):
            raise TypeError(
                "NeurEcoCompressor.fit takes in-memory data (numpy arrays or pandas), not "
                "Dask collections: fit on a sample of rows"
            )
        # read before validation resets this estimator, which may be init_model itself
        start = None if init_model is None else _resumable(init_model)
        checkpoint = None
        if self.checkpoint_address is not None:  # refuse a bad target before any training
            checkpoint = check_target(self.checkpoint_address, "checkpoint_address")
        X = validate_data(self, X, dtype=np.float64, ensure_min_samples=2)
        sw = _check_sample_weight(sample_weight, X, ensure_non_negative=True)
        if X_val is not None:
            X_val = validate_data(self, X_val, reset=False, dtype=np.float64)
        if start is not None and start.n_columns != X.shape[1]:
            raise ValueError(f"init_model compresses {start.n_columns} columns; X has {X.shape[1]}")
        # a row of weight 2 and the same row twice are the same data (and row order is not)
        X, _, sw = merge_duplicate_rows(X, X, sw)
        rng = np.random.default_rng(
            check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        )
        if start is not None:  # its weights mean something in its normalisation only
            normalisation = start.normalisation
            shift, scale = normalisation["input_shift"], normalisation["input_scale"]
            out_shift, out_scale = normalisation["output_shift"], normalisation["output_scale"]
        else:
            shift, scale = fit_normalization(
                X, self.inputs_shifting, self.inputs_scaling, self.inputs_normalize_per_feature, sw
            )
            # the reconstruction is trained in the tolerance's norm, the data's own units:
            # one scale for every column (scaled per column, the near-constant columns of
            # a field would weigh as much as its moving front)
            out_shift, out_scale = fit_normalization(
                X, self.inputs_shifting, self.inputs_scaling, False, sw
            )
            normalisation = _data_normalisation(shift, scale, out_shift, out_scale)
        if X_val is not None:
            train_idx = np.arange(len(X))
            valid_idx = np.arange(len(X), len(X) + len(X_val))
            sw = np.concatenate([sw, np.full(len(X_val), sw.mean())])
            X = np.vstack([X, X_val])
        xn, zn = (X - shift) / scale, (X - out_shift) / out_scale
        if X_val is None:
            # any row may be held out, extremes too: the validation error is held against
            # the tolerance, so it must be that of fresh rows, edges included
            train_idx, valid_idx = split_validation(
                xn, self.valid_percentage, rng, groups=input_groups(X), keep_extremes=False
            )
        if valid_idx.size == 0:
            valid_idx = train_idx
        names = getattr(self, "feature_names_in_", None)
        writer = None
        if checkpoint is not None:
            writer = _CheckpointWriter(
                checkpoint, self._file_meta(X.shape[1], names), normalisation
            )
        with single_threaded_blas():
            # every build shares the split; the first draws from rng itself, the others
            # from independent child generators (a resumed build is one build)
            builds = 1 if start is not None else self.n_init
            rngs = [rng] if builds == 1 else [rng, *rng.spawn(builds - 1)]
            # zn = xn * ratio + offset: how the encoder's inputs give the decoder's outputs
            to_out = (scale / out_scale, (shift - out_shift) / out_scale)
            data = (X, xn, zn, sw, train_idx, valid_idx, out_shift, out_scale, to_out)
            results, history = [], []
            if builds > 1 and effective_n_jobs(self.n_jobs) > 1:
                searches = self._parallel_searches(data, rngs)
            else:
                searches = None
            for build, build_rng in enumerate(rngs):
                met = [r for r in results if r[2] <= self.compress_tolerance]
                k_stop = min((r[0].first.n_outputs for r in met), default=None)
                if searches is None:
                    found, records = self._search(
                        *data, build_rng, writer, start, k_stop=k_stop, build=build
                    )
                else:
                    *search, state = next(searches)
                    # the draws as if it had run here (the final training draws after them)
                    build_rng.bit_generator.state = state
                    found, records = self._replay(search, k_stop, writer)
                history += records
                if found is not None:
                    results.append(found)
            chain, w, error = _best_compression(results, self.compress_tolerance)
            if self.final_learning and valid_idx is not train_idx:
                if chain.first.n_layers == 1:  # linear halves: PCA of every row
                    w = _pca_start(
                        chain.first, chain.second, _principal_axes(zn, sw / sw.sum()), to_out, rng
                    )
                else:
                    problem = TrainingProblem(
                        chain, xn, zn, sw / sw.sum(), beta=0.0, objective=LEAST_SQUARES
                    )
                    w = train(problem, w).w
        self._adopt(chain, w, normalisation, X.shape[1])
        self.reconstruction_error_ = float(error)
        self.history_ = history
        if writer is not None:
            final = {**_record_of(chain), "valid_error": float(error), "step": "final"}
            writer.add(chain, w, final, best=True)
        if error > self.compress_tolerance:
            warnings.warn(
                f"compress_tolerance={self.compress_tolerance} was not met: the best "
                f"compression found, with {self.n_components_} coefficients, reconstructs "
                f"the validation rows with a relative error of {error:.3g}",
                UserWarning,
                stacklevel=4,  # _fit, the parameter check around it, fit, the caller
            )
        return self

    def _search(
        self,
        X,
        xn,
        zn,
        sw,
        train_idx,
        valid_idx,
        out_shift,
        out_scale,
        to_out,
        rng,
        writer=None,
        start=None,
        *,
        k_stop=None,
        build=0,
        log=None,
    ):
        """One build: ``((chain, w, validation error), records)``. With ``k_stop`` (the
        fewest coefficients another build met the tolerance with) it tries no more, and
        returns ``None`` for the compression if it meets the tolerance with none.
        ``writer.add(chain, w, record)`` is called with each candidate, and with
        ``verbose`` ``log`` (by default a print to stderr) with its line. The encoder
        reads ``xn``, the decoder reconstructs ``zn``, the data ``X`` normalised by
        ``out_shift`` and ``out_scale``; ``to_out``: ``(ratio, offset)``, ``zn = xn * ratio +
        offset``."""
        log = log or _print_to_stderr
        d = X.shape[1]
        sw_t = sw[train_idx] / sw[train_idx].sum()
        problem = TrainingProblem(None, xn[train_idx], zn[train_idx], sw_t, objective=LEAST_SQUARES)
        x_valid = xn[valid_idx]  # once: the early stopping reads it at every step
        mean = sw @ X / sw.sum()
        axes = _principal_axes(zn[train_idx], sw_t)  # once: every candidate starts from it

        def relative(reconstruction, rows) -> float:
            """The relative error of the normalised ``reconstruction`` of ``rows``."""
            recon = reconstruction * out_scale + out_shift
            weights = sw[rows]
            err = np.sum(weights[:, None] * (recon - X[rows]) ** 2)
            return float(
                np.sqrt(err / max(np.sum(weights[:, None] * (X[rows] - mean) ** 2), 1e-300))
            )

        def candidate(k, size, previous=None, trained=None, chart=None, rng=rng, start="pca"):
            """Train halves with ``size`` hidden neurons (the decoder's scaled), grown
            from ``previous`` (a smaller candidate at this k: its neurons are kept),
            started at PCA, or first trained to a ``chart``'s coordinates (see
            :func:`_chart`); or record ``trained``, a chain and weights to resume from."""
            size_d = max(1, round(size * self.compress_decompress_size_ratio))
            if previous is not None:  # a decoder resumed from may be the wider
                size_d = max(size_d, previous[0].second.layer_sizes[1])
            encoder = (d, size, k) if size else (d, k)
            decoder = (k, size_d, d) if size else (k, d)
            started = time.perf_counter()
            if trained is not None:
                first, second = trained[0].first, trained[0].second
                encoder, decoder = first.layer_sizes, second.layer_sizes
                w = trained[1]
            elif previous is None:
                first = Network(encoder, dense_masks(encoder))
                second = Network(decoder, dense_masks(decoder))
                w = _pca_start(first, second, axes, to_out, rng)
                if chart is not None:  # each half to the chart, before they train together
                    rows, coordinates = chart
                    w1, w2 = Chain(first, second).split(w)
                    sw_c = sw[rows] / sw[rows].sum()
                    for beta in (self.initial_beta_reg, 1e-3):
                        w1 = train(TrainingProblem(first, xn[rows], coordinates, sw_c, beta), w1).w
                        w2 = train(TrainingProblem(second, coordinates, zn[rows], sw_c, beta), w2).w
                    w = np.concatenate([w1, w2])
            else:
                old, w_old = previous
                w1, w2 = old.split(w_old)
                first, w1 = _grow(old.first, w1, size, rng)
                second, w2 = _grow(old.second, w2, size_d, rng)
                w = np.concatenate([w1, w2])
            chain = Chain(first, second)
            problem.network = chain
            # linear halves start at PCA, the linear optimum: nothing to train (training
            # could only move the components the training rows do not span)
            betas = (self.initial_beta_reg, 1e-3, 0.0) if chart is None else (1e-3, 0.0)

            def valid_error(w):  # also early stopping's: well-trained wide halves overfit digits
                return relative(chain.forward(w, x_valid), valid_idx)

            for beta in betas if size and trained is None else ():
                problem.beta = beta
                w = train(problem, w, monitor=valid_error).w
            train_err = relative(chain.forward(w, problem.x), train_idx)
            valid_err = valid_error(w)
            history.append(
                {
                    "build": build,
                    **_record_of(chain),
                    # the ladder: from PCA, from a chart, from PCA with other draws
                    # ("restart"), or resumed from a model
                    "start": "chart" if chart is not None else "resumed" if trained else start,
                    "train_error": train_err,
                    "valid_error": valid_err,
                    "seconds": time.perf_counter() - started,
                }
            )
            if writer is not None:
                writer.add(chain, w, history[-1])
            if self.verbose:
                log(
                    f"k={k} encoder {list(encoder)} decoder {list(decoder)}: "
                    f"{chain.n_weights} weights, relative error train {train_err:.3g} "
                    f"valid {valid_err:.3g}"
                )
            return chain, w, valid_err

        history: list[dict] = []
        k_min = min(self.minimum_compression_coefficients, d)
        pca = _pca_errors(X, zn, sw, valid_idx, axes, out_scale, out_shift, mean)
        # PCA meets the tolerance from k_pca coefficients on (at d, exactly): nonlinear
        # compression is worth searching below it only
        k_pca = next((k for k in range(k_min, d + 1) if pca[k] <= self.compress_tolerance), d)
        best = None  # (error, chain, w): the most accurate, if nothing meets
        flat = 0  # consecutive k at which the networks did no better than PCA
        k_start, resumed = k_min, None
        if start is not None:  # resume: record the candidate, go on from its k and size
            chain, w = start.chain, start.w
            k_start = max(k_min, chain.first.n_outputs)
            if chain.first.n_layers > 1 and k_start == chain.first.n_outputs < k_pca:
                resumed = candidate(k_start, chain.first.layer_sizes[1], trained=(chain, w))
                if resumed[2] <= self.compress_tolerance:
                    return resumed, history

        def ladder(
            k,
            sizes,
            chart=None,
            rng=rng,
            previous=None,
            current=np.inf,
            last_error=np.inf,
            grow=False,
            label="pca",
        ):
            """Candidates at ``k`` of growing hidden ``sizes`` (more while widening pays:
            WIDER_GAIN), each started afresh from PCA, or from a ``chart``, or, with
            ``grow``, each grown from the one before (the first from ``previous``), until
            one meets the tolerance, returned first, or GROWTH_PATIENCE in a row do not
            improve on ``current``; then ``(None, the least error)``. ``last_error``: the
            candidate's before the first; ``label``: the records' ``"start"``."""
            nonlocal best
            stale = 0
            for size in sizes:  # grows while it runs
                grown = previous if grow else None
                chain, w, error = candidate(k, size, grown, chart=chart, rng=rng, start=label)
                if grow:  # the next candidate grows from this one
                    previous = (chain, w)
                if best is None or error < best[0]:
                    best = (error, chain, w)
                if error <= self.compress_tolerance:
                    return (chain, w, error), current  # the smallest network
                if error < current:
                    current, stale = error, 0
                else:
                    stale += 1
                    if stale >= GROWTH_PATIENCE:
                        break
                if size == sizes[-1] and 2 * size <= d and error * WIDER_GAIN <= last_error:
                    sizes.append(2 * size)
                last_error = error
            return None, current

        k_end = k_pca if k_stop is None else min(k_pca, k_stop + 1)
        charts = None  # Isomap's, once a ladder from PCA misses the tolerance
        for k in range(k_start, k_end):
            if resumed is not None and k == k_start:
                best = (resumed[2], resumed[0], resumed[1])
                size = resumed[0].first.layer_sizes[1]
                sizes = [s for s in HIDDEN_SIZES if s > size]
                narrower = start.narrower  # resumed past the standard sizes: widen as if not
                if not sizes and narrower is not None and 2 * size <= d:
                    if resumed[2] * WIDER_GAIN <= narrower:
                        sizes = [2 * size]
                # grown from the candidate resumed from, which a widening must beat
                met, current = ladder(
                    k,
                    sizes,
                    previous=resumed[:2],
                    current=resumed[2],
                    last_error=resumed[2],
                    grow=True,
                )
            else:
                met, current = ladder(k, list(HIDDEN_SIZES))
            chart = None
            if met is None:
                if charts is None:
                    charts = _isomap_charts(zn, train_idx, valid_idx, k_end - 1)
                chart = _chart(zn, axes, k, relative, *charts)
            if chart is not None:
                # its own draws: the ladders from PCA draw what they would without it
                met, charted = ladder(k, list(HIDDEN_SIZES), chart, copy.deepcopy(rng))
                current = min(current, charted)
            if met is None and current <= RESTART_REACH * self.compress_tolerance:
                # its own draws too, from a generator of their own
                fresh = np.random.default_rng(copy.deepcopy(rng).integers(2**63, size=2))
                met, restarted = ladder(k, list(HIDDEN_SIZES), rng=fresh, label="restart")
                current = min(current, restarted)
            if met is not None:
                return met, history
            flat = flat + 1 if current > NONLINEAR_GAIN * pca[k] else 0
            if flat >= CURVATURE_PATIENCE:
                break  # no better than PCA at these k: the data do not look curved
        if k_stop is not None and k_stop < k_pca:  # PCA needs more than another build met it with
            return None, history
        chain, w, error = candidate(k_pca, 0)  # linear halves: PCA
        if error <= self.compress_tolerance or best is None or error < best[0]:
            return (chain, w, error), history
        return (best[1], best[2], best[0]), history

    def _parallel_searches(self, data: tuple, rngs):
        """Every build's search run to its end (no ``k_stop``) in ``n_jobs`` processes, as
        ``(found, records, candidates, lines, rng state)`` in build order as they end."""
        jobs = [
            delayed(_isolated_search)(self, data, build_rng, build)
            for build, build_rng in enumerate(rngs)
        ]
        return iter(in_processes(jobs, self.n_jobs))

    def _replay(self, search, k_stop, writer):
        """A search run to its end cut back to what it tries with ``k_stop``: the same
        candidates while ``k <= k_stop``, which it then replays to ``writer`` and the log,
        and its compression only if the cut search would have returned it."""
        found, records, candidates, lines = search
        kept = [k_stop is None or r["n_components"] <= k_stop for r in records]
        if not all(kept):  # cut: it returns only a compression met within k_stop
            met = found[2] <= self.compress_tolerance
            if not (met and found[0].first.n_outputs <= k_stop):
                found = None
        lines = lines or [None] * len(kept)  # lines only with verbose
        for keep, candidate, line in zip(kept, candidates, lines, strict=True):
            if keep and writer is not None:
                writer.add(*candidate)
            if keep and line is not None:
                _print_to_stderr(line)
        return found, [r for r, keep in zip(records, kept, strict=True) if keep]

    def _adopt(self, chain: Chain, w, normalisation: dict, d: int) -> None:
        """Make the halves of ``chain`` (weights ``w``) this compressor's encoder and
        decoder; ``normalisation``: :func:`_data_normalisation`'s."""
        w1, w2 = chain.split(w)
        k = chain.first.n_outputs
        unit = {"input_shift": np.zeros(k), "input_scale": np.ones(k)}
        coefficients = {"output_shift": np.zeros(k), "output_scale": np.ones(k)}
        data_in = {key: normalisation[key] for key in ("input_shift", "input_scale")}
        data_out = {key: normalisation[key] for key in ("output_shift", "output_scale")}
        names = getattr(self, "feature_names_in_", None)
        names = None if names is None else tuple(str(n) for n in names)
        # the halves' parameters say how their data are normalised: the compressor's
        # options on the data's side, none on the coefficients' side
        data_options = {
            "shifting": self.inputs_shifting,
            "scaling": self.inputs_scaling,
            "normalize_per_feature": self.inputs_normalize_per_feature,
        }
        # the decoder's outputs share one shift and scale (per column in models
        # built before 2026-12-08, which resumed builds keep)
        out = data_out["output_shift"], data_out["output_scale"]
        outputs_per_column = bool(np.ptp(out[0]) or np.ptp(out[1]))
        data_outputs = {**data_options, "normalize_per_feature": outputs_per_column}
        none = {"shifting": "none", "scaling": "none", "normalize_per_feature": True}
        self.encoder_ = NeurEcoRegressor(
            random_state=self.random_state,
            **{f"inputs_{k}": v for k, v in data_options.items()},
            **{f"outputs_{k}": v for k, v in none.items()},
        )
        self.encoder_._adopt_state(
            state_of(
                "NeurEcoRegressor",
                chain.first,
                w1,
                {**data_in, **coefficients},
                beta_reg=0.0,
                n_features_in=d,
                n_outputs=k,
                feature_names=names,
            )
        )
        self.decoder_ = NeurEcoRegressor(
            random_state=self.random_state,
            **{f"inputs_{k}": v for k, v in none.items()},
            **{f"outputs_{k}": v for k, v in data_outputs.items()},
        )
        self.decoder_._adopt_state(
            state_of(
                "NeurEcoRegressor",
                chain.second,
                w2,
                {**unit, **data_out},
                beta_reg=0.0,
                n_features_in=k,
                n_outputs=d,
            )
        )
        self.n_components_ = k

    # ------------------------------------------------------------- persistence
    def _file_meta(self, d: int, names) -> dict:
        """What a file says of the compressor besides its networks: its class, the
        constructor parameters (plain values, no path) and the data's width."""
        from . import __version__

        return {
            "library_version": __version__,
            "class": COMPRESSOR,
            "params": file_params(self),
            "n_features_in": int(d),
            "feature_names": None if names is None else [str(n) for n in names],
            "n_outputs": int(d),
            "output_1d": False,
            "classes": None,
        }

    def save(self, path, *, key: bytes | str | None = None) -> Path:
        """Write the fitted compressor (encoder, decoder, normalisation, build record) to
        one file, atomically, in the format of the regressor's files (see
        :meth:`NeurEcoRegressor.save`: arrays and JSON only, no path, an optional
        authentication ``key``). Returns the path."""
        check_is_fitted(self)
        path = check_target(path)
        meta = self._file_meta(self.n_features_in_, getattr(self, "feature_names_in_", None))
        meta["history"] = self.history_
        meta["reconstruction_error"] = self.reconstruction_error_
        encoder, decoder = self.encoder_.state_, self.decoder_.state_
        models = [
            {"network": half.network, "w": half.weights, "beta_reg": 0.0, "record": None}
            for half in (encoder, decoder)
        ]
        normalisation = _data_normalisation(
            encoder.input_shift, encoder.input_scale, decoder.output_shift, decoder.output_scale
        )
        write_container(path, meta, normalisation, models, kind="model", best=0, key=key)
        return path

    @classmethod
    def load(cls, path, *, model_number: int | None = None, key: bytes | str | None = None):
        """Read a compressor written by :meth:`save`, or one candidate of a build's
        checkpoint (``model_number`` in build order, negative from the end; by default
        the best so far). ``key``: as for :meth:`NeurEcoRegressor.load`. Raises
        :class:`~sklearn_neureco.ModelFileError` for a file that is damaged, malformed,
        not authenticated by ``key`` or not a compressor's; nothing in it is executed."""
        meta, normalisation, halves, records = read_compressor(path, model_number, key=key)
        model = estimator_from_file(cls, path, meta["params"])
        history = meta.get("history")
        error = meta.get("reconstruction_error")
        if history is None:  # a checkpoint: the records up to this candidate
            history = records
            error = records[-1].get("valid_error") if records else None
        if not (isinstance(error, float | int) and math.isfinite(error) and error >= 0):
            raise ModelFileError(f"{path} is inconsistent: no valid reconstruction error")
        d = int(meta["n_features_in"])
        model.n_features_in_ = d
        if meta.get("feature_names") is not None:
            model.feature_names_in_ = np.asarray(meta["feature_names"], dtype=object)
        first, second = (Network(h["layer_sizes"], h["masks"]) for h in halves)
        w = np.concatenate([halves[0]["w"], halves[1]["w"]])
        model._adopt(Chain(first, second), w, normalisation, d)
        model.reconstruction_error_ = float(error)
        model.history_ = list(history)
        return model

    def transform(self, X) -> np.ndarray:
        """The coefficients of ``X``, ``(n_samples, n_components_)``."""
        check_is_fitted(self)
        validate_data(self, X, reset=False, dtype=np.float64)
        return self.encoder_.predict(X).reshape(-1, self.n_components_)

    def inverse_transform(self, X) -> np.ndarray:
        """The data reconstructed from coefficients ``X``, ``(n_samples, n_features_in_)``."""
        check_is_fitted(self)
        C = np.asarray(X, dtype=np.float64)
        if C.ndim != 2 or C.shape[1] != self.n_components_:
            raise ValueError(
                f"X must have shape (n_samples, {self.n_components_}) (the coefficients), "
                f"got {C.shape}"
            )
        return self.decoder_.predict(C).reshape(len(C), -1)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """``neurecocompressor0``, ``neurecocompressor1``, ...: one name per coefficient."""
        check_is_fitted(self)
        return np.asarray([f"neurecocompressor{i}" for i in range(self.n_components_)], object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64"]
        return tags


class _Resumable(NamedTuple):
    """A fitted compressor to resume from: its halves as a chain and their weights, its
    normalisation (:func:`_data_normalisation`'s: the encoder's inputs, the decoder's
    outputs), its number of columns, and ``narrower``: the validation error its build
    recorded for the candidate with as many coefficients and half its hidden neurons
    (None if it has no record of one)."""

    chain: Chain
    w: np.ndarray
    normalisation: dict
    n_columns: int
    narrower: float | None


def _resumable(model) -> _Resumable:
    """What ``fit(X, init_model=model)`` resumes from (see :class:`_Resumable`)."""
    if not isinstance(model, NeurEcoCompressor):
        raise TypeError(f"init_model must be a NeurEcoCompressor, got {type(model).__name__}")
    check_is_fitted(model, "encoder_")
    encoder, decoder = model.encoder_.state_, model.decoder_.state_
    chain = Chain(encoder.network, decoder.network)
    w = np.concatenate([encoder.weights, decoder.weights])
    k, sizes = chain.first.n_outputs, chain.first.layer_sizes
    narrower = [
        r.get("valid_error")
        for r in getattr(model, "history_", [])
        if len(sizes) == 3
        and r.get("n_components") == k
        and r.get("encoder_sizes") == [sizes[0], sizes[1] // 2, k]
    ]
    normalisation = _data_normalisation(
        encoder.input_shift.copy(),
        encoder.input_scale.copy(),
        decoder.output_shift.copy(),
        decoder.output_scale.copy(),
    )
    return _Resumable(chain, w, normalisation, int(model.n_features_in_), (narrower or [None])[-1])


def _best_compression(results: list, tolerance: float):
    """Of the builds' ``(chain, w, error)``: the fewest coefficients that meet
    ``tolerance``, then the least error, then the fewest weights; else the least error.

    Not the fewest weights first: of builds that pass on the same validation rows, the
    smallest is often the one that passed by luck (benchmarks/compression.py, n_init=3,
    random state 0: the front's smallest passing network reconstructed the test rows
    within 0.0154, the most accurate within 0.0066)."""
    met = [r for r in results if r[2] <= tolerance]
    if met:
        return min(met, key=lambda r: (r[0].first.n_outputs, r[2], r[0].n_weights))
    return min(results, key=lambda r: r[2])


def _record_of(chain: Chain) -> dict:
    """The shapes of a candidate, as its build record starts."""
    return {
        "n_components": int(chain.first.n_outputs),
        "encoder_sizes": list(chain.first.layer_sizes),
        "decoder_sizes": list(chain.second.layer_sizes),
        "n_weights": int(chain.n_weights),
    }


def _data_normalisation(shift, scale, out_shift, out_scale) -> dict:
    """A compressor file's normalisation: the data's as the encoder reads them and as
    the decoder writes them."""
    return {
        "input_shift": shift,
        "input_scale": scale,
        "output_shift": out_shift,
        "output_scale": out_scale,
    }


def _print_to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class _Candidates:
    """Stands for the checkpoint writer in a worker: keeps ``(chain, w, record)``."""

    def __init__(self):
        self.items = []

    def add(self, chain, w, record) -> None:
        self.items.append((chain, w, dict(record)))


def _isolated_search(estimator, data: tuple, rng, build: int):
    """One build's search in a worker process, on one thread, without ``k_stop``: what
    it found, its records, its candidates, its log lines and its generator's state after
    its draws, for the parent to replay."""
    candidates, lines = _Candidates(), []
    with one_thread():
        found, records = estimator._search(*data, rng, candidates, build=build, log=lines.append)
    return found, records, candidates.items, lines, rng.bit_generator.state


class _CheckpointWriter:
    """Rewrites the checkpoint file, atomically, with every candidate so far: its encoder
    and decoder, and its record on the encoder. The best so far is the candidate of least
    validation error, and at the end the final model."""

    def __init__(self, path, meta: dict, normalisation: dict):
        self.path, self.meta = path, meta
        self.normalisation = normalisation
        self.models: list[dict] = []
        self.best, self.best_error = 0, np.inf
        path.parent.mkdir(parents=True, exist_ok=True)  # fail early if impossible

    def add(self, chain: Chain, w, record: dict, best: bool = False) -> None:
        w1, w2 = chain.split(w)
        self.models += [
            {"network": chain.first, "w": w1, "beta_reg": 0.0, "record": dict(record)},
            {"network": chain.second, "w": w2, "beta_reg": 0.0, "record": None},
        ]
        if best or record["valid_error"] < self.best_error:
            self.best, self.best_error = len(self.models) - 2, record["valid_error"]
        write_container(
            self.path, self.meta, self.normalisation, self.models, kind="checkpoint", best=self.best
        )
