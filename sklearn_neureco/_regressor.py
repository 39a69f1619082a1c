"""NeurEcoRegressor: a regressor that builds its own compact, differentiable network."""

from __future__ import annotations

import os
import sys
import time
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from ._architecture import Builder, split_validation
from ._derivatives import DerivativeMixin
from ._network import Network
from ._normalization import SCALINGS, SHIFTINGS, fit_normalization
from ._optimize import LeastSquaresProblem, single_threaded_blas, train


class NeurEcoRegressor(DerivativeMixin, RegressorMixin, BaseEstimator):
    """Regressor that builds its own compact neural network and exposes exact derivatives.

    ``fit`` chooses the architecture from the data (from a linear model up, growing neurons
    then layers while the validation error improves, keeping the smallest network within a
    small tolerance of the best) and trains each candidate to convergence with
    Levenberg-Marquardt (or L-BFGS for large networks) on exact derivatives. Nothing needs
    tuning. The fitted model exposes its weights and exact forward- and reverse-mode
    derivatives in weights and inputs (see :class:`~sklearn_neureco.DerivativeMixin`), so it
    can sit inside an optimisation loop.

    Parameters
    ----------
    inputs_shifting : {"auto", "none", "min", "min_centered", "mean"}, default="auto"
        Shift subtracted from the inputs: 0, the minimum, the mid-range, the mean; "auto"
        takes the mean when it is far from 0 (over half a standard deviation), else 0.
    inputs_scaling : {"auto", "none", "max", "max_centered", "std"}, default="auto"
        Scale dividing the shifted inputs: 1, the largest ``|x - shift|``, the half-range,
        the standard deviation; "auto" is "max". A zero scale (constant column) becomes 1.
    outputs_shifting : str, default="auto"
        As ``inputs_shifting``, for the targets.
    outputs_scaling : str, default="auto"
        As ``inputs_scaling``, for the targets.
    inputs_normalize_per_feature : bool, default=True
        One shift and scale per input column, or one for all inputs together.
    outputs_normalize_per_feature : bool, default=True
        One shift and scale per target column, or one for all targets together.
    valid_percentage : float, default=33.33
        Percentage (1 to 50) of the data held out to choose the architecture. The rows
        holding each input's extreme values stay in training.
    initial_beta_reg : float, default=0.1
        Initial strength of the weight regularisation; it is decreased tenfold per stage
        while the validation error improves.
    final_learning : bool, default=True
        Train the chosen network once more on all the data (training and validation).
    disconnect_inputs_if_possible : bool, default=True
        Let the build remove inputs that do not help.
    links_maximum_number : int, default=0
        Upper bound on the number of weights; 0 means no bound.
    checkpoint_address : str or path-like, default=None
        File where the build writes the candidate models as it goes.
    random_state : int, RandomState instance or None, default=None
        Seed of the validation split and of the initial weights of new neurons. The same
        seed and data give the same model, bit for bit on one machine.
    verbose : int, default=0
        1 or more: one line per candidate architecture on stderr.

    Attributes
    ----------
    n_features_in_ : int
        Number of input features.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the input features, when ``X`` had string column names.
    n_outputs_ : int
        Number of outputs.
    layer_sizes_ : tuple of int
        ``(n_features_in_, hidden sizes..., n_outputs_)`` of the chosen network.
    link_masks_ : dict
        ``(target layer, source layer) -> bool ndarray``: the links that exist.
    weights_ : ndarray of shape (n_weights_,)
        The packed weights (see :meth:`get_weights` for the order).
    input_shift_, input_scale_ : ndarray of shape (n_features_in_,)
        Input normalisation: ``x_norm = (x - input_shift_) / input_scale_``.
    output_shift_, output_scale_ : ndarray of shape (n_outputs_,)
        Output normalisation: ``y = y_norm * output_scale_ + output_shift_``.
    beta_reg_ : float
        Regularisation strength of the final training.
    history_ : list of dict
        The build record: one entry per trained candidate with its step, layer sizes,
        number of weights, training and validation RMSE (in normalised units),
        regularisation, iterations and seconds.
    connected_inputs_ : ndarray of bool of shape (n_features_in_,)
        Inputs the network still uses.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_neureco import NeurEcoRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(-1, 1, size=(200, 2))
    >>> y = np.sin(2 * X[:, 0]) + X[:, 1] ** 2
    >>> model = NeurEcoRegressor(random_state=0).fit(X, y)
    >>> model.predict(X[:3]).shape
    (3,)
    >>> pw, px = model.gradient(None, X[:3], np.ones(3))
    >>> pw.shape == (model.n_weights_, 1), px.shape
    (True, (3, 2))
    """

    _parameter_constraints: dict = {
        "inputs_shifting": [StrOptions(set(SHIFTINGS))],
        "inputs_scaling": [StrOptions(set(SCALINGS))],
        "outputs_shifting": [StrOptions(set(SHIFTINGS))],
        "outputs_scaling": [StrOptions(set(SCALINGS))],
        "inputs_normalize_per_feature": ["boolean"],
        "outputs_normalize_per_feature": ["boolean"],
        "valid_percentage": [Interval(Real, 1, 50, closed="both")],
        "initial_beta_reg": [Interval(Real, 0, None, closed="left")],
        "final_learning": ["boolean"],
        "disconnect_inputs_if_possible": ["boolean"],
        "links_maximum_number": [Interval(Integral, 0, None, closed="left")],
        "checkpoint_address": [str, os.PathLike, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        inputs_shifting="auto",
        inputs_scaling="auto",
        outputs_shifting="auto",
        outputs_scaling="auto",
        inputs_normalize_per_feature=True,
        outputs_normalize_per_feature=True,
        valid_percentage=33.33,
        initial_beta_reg=0.1,
        final_learning=True,
        disconnect_inputs_if_possible=True,
        links_maximum_number=0,
        checkpoint_address=None,
        random_state=None,
        verbose=0,
    ):
        self.inputs_shifting = inputs_shifting
        self.inputs_scaling = inputs_scaling
        self.outputs_shifting = outputs_shifting
        self.outputs_scaling = outputs_scaling
        self.inputs_normalize_per_feature = inputs_normalize_per_feature
        self.outputs_normalize_per_feature = outputs_normalize_per_feature
        self.valid_percentage = valid_percentage
        self.initial_beta_reg = initial_beta_reg
        self.final_learning = final_learning
        self.disconnect_inputs_if_possible = disconnect_inputs_if_possible
        self.links_maximum_number = links_maximum_number
        self.checkpoint_address = checkpoint_address
        self.random_state = random_state
        self.verbose = verbose

    # ---------------------------------------------------------------------- fit
    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None):
        """Build the network: normalisation, architecture and weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs (numpy array or pandas DataFrame).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples in the loss, the validation error and the
            selection of the architecture.
        X_val, y_val : array-like, default=None
            Explicit validation data. When given, all of ``X`` is used for training and
            ``valid_percentage`` is ignored.

        Returns
        -------
        self : NeurEcoRegressor
            The fitted estimator.
        """
        # validate_data resets fitted attributes early: restore them if anything fails
        snapshot = dict(self.__dict__)
        try:
            return self._fit(X, y, sample_weight, X_val, y_val)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(snapshot)
            raise

    @_fit_context(prefer_skip_nested_validation=True)
    def _fit(self, X, y, sample_weight, X_val, y_val):
        X, y = validate_data(self, X, y, multi_output=True, y_numeric=True, dtype=np.float64)
        output_1d = y.ndim == 1
        Y = y.reshape(len(y), -1)
        sample_weight = _check_sample_weight(sample_weight, X, ensure_non_negative=True)
        if not sample_weight.sum() > 0:
            raise ValueError("sample_weight must have a positive sum")
        has_val = X_val is not None or y_val is not None
        if has_val:
            if X_val is None or y_val is None:
                raise ValueError("X_val and y_val must be given together")
            X_val = validate_data(self, X_val, reset=False, dtype=np.float64)
            Y_val = np.asarray(y_val, dtype=np.float64).reshape(len(X_val), -1)
            if Y_val.shape[1] != Y.shape[1] or not np.all(np.isfinite(Y_val)):
                raise ValueError(
                    f"y_val must be finite with {Y.shape[1]} output(s) per row of X_val"
                )

        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        rng = np.random.default_rng(seed)
        in_shift, in_scale = fit_normalization(
            X, self.inputs_shifting, self.inputs_scaling, self.inputs_normalize_per_feature
        )
        out_shift, out_scale = fit_normalization(
            Y, self.outputs_shifting, self.outputs_scaling, self.outputs_normalize_per_feature
        )
        xn, yn = (X - in_shift) / in_scale, (Y - out_shift) / out_scale
        if has_val:
            train_idx = np.arange(len(X))
            valid_idx = np.arange(len(X), len(X) + len(X_val))
            xn = np.vstack([xn, (X_val - in_shift) / in_scale])
            yn = np.vstack([yn, (Y_val - out_shift) / out_scale])
            sample_weight = np.concatenate([sample_weight, np.ones(len(X_val))])
        else:
            train_idx, valid_idx = split_validation(xn, self.valid_percentage, rng)

        log = None
        if self.verbose:

            def log(line):
                print(line, file=sys.stderr, flush=True)

        builder = Builder(
            xn,
            yn,
            sample_weight,
            train_idx,
            valid_idx,
            initial_beta_reg=self.initial_beta_reg,
            disconnect_inputs_if_possible=self.disconnect_inputs_if_possible,
            links_maximum_number=self.links_maximum_number,
            rng=rng,
            log=log,
        )
        with single_threaded_blas():
            chosen = builder.run()
            network, w, beta = chosen.network, chosen.w, chosen.beta
            if self.final_learning and valid_idx.size and not has_val:
                start = time.perf_counter()
                problem = LeastSquaresProblem(
                    network, xn, yn, sample_weight / sample_weight.sum(), beta=beta
                )
                result = train(problem, w)
                w = result.w
                builder.record_final(network, w, beta, time.perf_counter() - start, result.n_iter)

        self.n_outputs_ = Y.shape[1]
        self._output_1d = output_1d
        self.input_shift_, self.input_scale_ = in_shift, in_scale
        self.output_shift_, self.output_scale_ = out_shift, out_scale
        self.layer_sizes_ = tuple(network.layer_sizes)
        self.link_masks_ = network.masks
        self.weights_ = np.ascontiguousarray(w, dtype=np.float64)
        self.beta_reg_ = float(beta)
        self.history_ = builder.history
        self.connected_inputs_ = network.connected_inputs()
        return self

    # ------------------------------------------------------------------ predict
    def predict(self, X) -> np.ndarray:
        """Predict with the current weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of float64, of shape (n_samples,) or (n_samples, n_outputs)
            Shaped like the ``y`` given to ``fit``.
        """
        check_is_fitted(self)
        return self._shape_output(self._predict_raw(self._validate_input(X)))

    @property
    def network_(self) -> Network:
        """The fitted network's structure (built from ``layer_sizes_``, ``link_masks_``)."""
        check_is_fitted(self)
        return Network(self.layer_sizes_, self.link_masks_)

    def _validate_input(self, X) -> np.ndarray:
        return validate_data(self, X, reset=False, dtype=np.float64)

    def _shape_output(self, y: np.ndarray) -> np.ndarray:
        return y.reshape(-1) if self._output_1d else y

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
