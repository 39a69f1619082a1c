"""The derivative API shared by fitted models: weights in, exact derivatives out.

:class:`DerivativeMixin` needs from its host a fitted ``state_`` (a
:class:`~sklearn_neureco._state.FittedState`: network, weights, normalisation), its
``_objective`` (:mod:`~sklearn_neureco._objectives`, for the output link), and
``_validate_input(X)`` and ``_shape_output(y)``. Normalisation is part of the chain rule:

``y = y_norm * output_scale + output_shift`` and ``x_norm = (x - input_shift) / input_scale``,

so ``dy/dx = output_scale * dy_norm/dx_norm / input_scale``.
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.utils.validation import check_is_fitted

from . import _dask
from ._dask import is_dask
from ._network import FEW_ROWS


def _as_float_array(value, name: str) -> np.ndarray:
    """``value`` as a finite float64 array: a TypeError naming ``name`` if it is not an
    array of real numbers (complex ones included: their imaginary part would be dropped),
    a ValueError if it holds NaN or infinity."""
    if value is None:
        raise TypeError(f"{name} must be an array of numbers, got None")
    if type(value) is np.ndarray and value.dtype == np.float64:
        # the common case in a user's loop: no copy (no caller writes into it)
        if not np.isfinite(value).all():
            raise ValueError(f"{name} contains NaN or infinity")
        return value
    if hasattr(value, "to_numpy"):  # pandas
        value = value.to_numpy()
    not_numbers = f"{name} must be an array of numbers, got {type(value).__name__}"
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError) as exc:  # ragged nesting, say
        raise TypeError(not_numbers) from exc
    if arr.dtype.kind == "c":
        raise TypeError(f"{name} must hold real numbers, got complex values")
    if arr.dtype.kind in "US":
        raise TypeError(f"{name} must be an array of numbers, got strings")
    try:
        arr = arr.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(not_numbers) from exc
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinity")
    return arr


def _require_fitted(model) -> None:
    # check_is_fitted scans every attribute (a few us, which a one-row call notices);
    # a fitted model has its state
    if "state_" not in model.__dict__:
        check_is_fitted(model)


class DerivativeMixin:
    """Weights access and exact forward/reverse-mode derivatives of a fitted model.

    "Weights" are the network's trainable parameters only, as one float64 column, layer
    by layer: for each source layer the active links row by row (target neuron, then
    source unit), then the layer's biases; normalisation constants are not weights. All
    derivatives are of the *raw* outputs with respect to the *raw* inputs.
    Evaluating at some ``w`` never changes the model: only :meth:`set_weights` (and
    ``fit``) do.
    """

    # What the host predicts from the network's raw outputs ``f`` is its objective's link
    # (``_objective``): ``f`` itself for a regressor, a classifier's probabilities, whose
    # derivatives the objective gives (``link_jvp``, ``link_vjp``, ``link_jacobian``).
    _prediction = "predict(x)"

    # ------------------------------------------------------------------ weights
    def get_weights(self) -> np.ndarray:
        """Return a copy of the weights.

        Returns
        -------
        w : ndarray of shape (n_weights, 1)
        """
        _require_fitted(self)
        return self.state_.weights.reshape(-1, 1).copy()

    def set_weights(self, w) -> int:
        """Replace the weights; the model predicts with ``w`` from then on.

        Parameters
        ----------
        w : array-like of shape (n_weights, 1) or (n_weights,)

        Returns
        -------
        status : int
            0 on success. Invalid ``w`` raises ``ValueError`` or ``TypeError`` and leaves
            the model as it was.
        """
        _require_fitted(self)
        if w is None:
            raise TypeError("w must be an array of numbers, got None")
        self.state_ = self.state_.with_weights(self._check_weights(w, "w").copy())
        return 0

    @property
    def n_weights_(self) -> int:
        """Number of trainable weights."""
        _require_fitted(self)
        return int(self.state_.weights.size)

    def _check_weights(self, w, name: str) -> np.ndarray:
        """``w`` as a flat float64 array, possibly the caller's own (the passes only read
        it): :meth:`set_weights` copies it."""
        p = self.state_.weights.size
        if w is None:
            return self.state_.weights
        arr = _as_float_array(w, name)
        if arr.shape not in ((p,), (p, 1)):
            raise ValueError(f"{name} must have shape ({p}, 1) or ({p},), got {arr.shape}")
        return arr.reshape(-1)

    def _check_like(self, value, name: str, shape: tuple, what: str) -> np.ndarray:
        arr = _as_float_array(value, name)
        if arr.size != math.prod(shape) or arr.shape not in (shape, shape[:1]):
            raise ValueError(f"{name} must be shaped like {what}, i.e. {shape}, got {arr.shape}")
        return arr.reshape(shape)

    # -------------------------------------------------------------- derivatives
    def forward_derivative(self, w, dw, x, dx=None) -> np.ndarray:
        """Forward-mode derivative ``dy = dy/dw · dw + dy/dx · dx`` at weights ``w``.

        Parameters
        ----------
        w : array-like of shape (n_weights, 1) or (n_weights,), or None
            Weights to differentiate at; None means the current weights.
        dw : array-like of shape (n_weights, 1) or (n_weights,), or None
            Perturbation of the weights (None: weights are static).
        x : array-like of shape (n_samples, n_features)
            Raw inputs.
        dx : array-like of shape (n_samples, n_features), default=None
            Perturbation of the inputs (None: inputs are static).

        Returns
        -------
        dy : ndarray, shaped like ``predict(x)``
        """
        _require_fitted(self)
        w = self._check_weights(w, "w")
        dw = None if dw is None else self._check_weights(dw, "dw")
        if is_dask(x, dx):  # a Dask collection, chunk by chunk
            return _dask.forward_derivative(self, w, dw, x, dx)
        X = self._validate_input(x)
        state = self.state_
        if dx is not None:
            dx = self._check_like(dx, "dx", X.shape, "x")
        link = self._objective
        network = state.network
        if X.shape[0] < FEW_ROWS:  # one product per layer (Network.few_rows_jvp)
            f, df = network.few_rows_jvp(
                w, state.normalize(X), dw, None if dx is None else dx / state.input_scale
            )
            df *= state.output_scale
            if not link.link_is_identity:
                df = link.link_jvp(f * state.output_scale + state.output_shift, df)
            return self._shape_output(df)
        dy = np.empty((X.shape[0], self._n_predictions()))
        folded, folds_shift = state.fold(w)
        if folded is not None:  # raw units throughout (FittedState.fold)
            v = state.bind(folded, X)
            dv = None if dw is None else state.bind(state.fold_tangent(dw, folds_shift), X)
            for rows, xs in state.folded_blocks(X, folds_shift):
                f, df = network.jvp(v, xs, dv, None if dx is None else dx[rows])
                dy[rows] = df if link.link_is_identity else link.link_jvp(f, df)
            return self._shape_output(dy)
        w = state.bind(w, X, raw_input_derivatives=True)  # dx in raw units
        dw = None if dw is None else state.bind(dw, X)
        # normalised block by block: the copies stay in cache
        for rows, xn in state.normalized_blocks(X):
            f, df = network.jvp(w, xn, dw, None if dx is None else dx[rows])
            df *= state.output_scale
            if not link.link_is_identity:
                df = link.link_jvp(f * state.output_scale + state.output_shift, df)
            dy[rows] = df
        return self._shape_output(dy)

    def gradient(self, w, x, py):
        """Reverse-mode derivative: pull the output perturbation ``py`` back.

        Parameters
        ----------
        w : array-like of shape (n_weights, 1) or (n_weights,), or None
            Weights to differentiate at; None means the current weights.
        x : array-like of shape (n_samples, n_features)
            Raw inputs.
        py : array-like shaped like ``predict(x)``
            Output perturbation (typically the derivative of a loss).

        Returns
        -------
        pw : ndarray of shape (n_weights, 1)
            ``sum_i (dy_i/dw)^T py_i``.
        px : ndarray of shape (n_samples, n_features)
            ``px_i = (dy_i/dx_i)^T py_i``.
        """
        _require_fitted(self)
        w = self._check_weights(w, "w")
        if is_dask(x, py):
            return _dask.gradient(self, w, x, py)
        X = self._validate_input(x)
        state = self.state_
        shape = (X.shape[0], self._n_predictions())
        py = self._check_like(py, "py", shape, self._prediction)
        link = self._objective
        network = state.network
        if X.shape[0] < FEW_ROWS:  # one product per layer (Network.few_rows_vjp)
            xn = state.normalize(X)
            if not link.link_is_identity:
                f = network.few_rows_forward(w, xn) * state.output_scale + state.output_shift
                py = link.link_vjp(f, py)
            _, gw, gx = network.few_rows_vjp(w, xn, py * state.output_scale)
            gx /= state.input_scale
            return gw.reshape(-1, 1), gx
        gw, gx = np.zeros(w.size), np.empty(X.shape)
        folded, folds_shift = state.fold(w)
        if folded is not None:  # raw units throughout (FittedState.fold)
            v, gv = state.bind(folded, X), gw  # gv: the gradient in the folded weights
            for rows, xs in state.folded_blocks(X, folds_shift):
                py_rows = py[rows]
                if not link.link_is_identity:
                    py_rows = link.link_vjp(network.forward(v, xs), py_rows)
                _, gv_rows, gx[rows] = network.vjp(v, xs, py_rows)
                gv += gv_rows
            return state.unfold_gradient(gv, folds_shift).reshape(-1, 1), gx
        w = state.bind(w, X, raw_input_derivatives=True)  # gx in raw units
        # normalised block by block: the copies stay in cache
        for rows, xn in state.normalized_blocks(X):
            py_rows = py[rows]
            if not link.link_is_identity:
                f = network.forward(w, xn) * state.output_scale + state.output_shift
                py_rows = link.link_vjp(f, py_rows)
            _, gw_rows, gx[rows] = network.vjp(w, xn, py_rows * state.output_scale)
            gw += gw_rows
        return gw.reshape(-1, 1), gx

    def _n_predictions(self) -> int:
        """Columns of what the host predicts (and differentiates)."""
        return self.state_.n_outputs

    def jacobian(self, X) -> np.ndarray:
        """Jacobian of the outputs with respect to the inputs, per sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        J : ndarray of shape (n_samples, n_outputs, n_features)
            ``J[i, k, j] = d y_ik / d x_ij``.
        """
        _require_fitted(self)
        if is_dask(X):
            return _dask.jacobian(self, X)
        X = self._validate_input(X)
        state = self.state_
        J = np.empty((X.shape[0], state.n_outputs, X.shape[1]))
        folded, folds_shift = state.fold(state.weights)
        if folded is not None:  # raw units throughout (FittedState.fold)
            v = state.bind(folded, X)
            for rows, xs in state.folded_blocks(X, folds_shift):
                _, _, J[rows] = state.network.jacobians(v, xs, wrt_weights=False, wrt_inputs=True)
        else:
            w = state.bind(state.weights, X, raw_input_derivatives=True)  # J in raw units
            for rows, xn in state.normalized_blocks(X):
                _, _, J[rows] = state.network.jacobians(w, xn, wrt_weights=False, wrt_inputs=True)
            J *= state.output_scale[None, :, None]
        if not self._objective.link_is_identity:
            J = self._objective.link_jacobian(state.outputs(X)) @ J
        return J
