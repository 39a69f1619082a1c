"""NeurEcoRegressor: a regressor that builds its own compact, differentiable network."""

from __future__ import annotations

import numpy as np
from sklearn.base import RegressorMixin, _fit_context
from sklearn.utils.validation import validate_data

from ._base import BUILD_PARAMETER_CONSTRAINTS, NeurEcoBase
from ._dask import is_dask, rowwise
from ._dask_training import fit_on_dask
from ._derivatives import _require_fitted
from ._engine import build_state
from ._objectives import LEAST_SQUARES


class NeurEcoRegressor(RegressorMixin, NeurEcoBase):
    """Regressor that builds its own compact neural network and exposes exact derivatives.

    ``fit`` chooses the architecture from the data (from a linear model up, growing neurons
    then layers while the validation error improves by more than the extra weights cost,
    then pruning links that do not pay for themselves) and trains each candidate with
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
        holding each input's extreme values stay in training, as far as the rows training
        keeps allow (on wide data, those holding the most); rows with equal inputs are
        held out together.
    initial_beta_reg : float, default=0.1
        Initial strength of the weight regularisation, from 0 to 1e4; it is decreased
        tenfold per stage while the validation error improves. (Far larger starts hold
        the weights at zero until the path gives up: from 1e8 on, a smooth function got
        a linear model.)
    final_learning : bool, default=True
        Train the chosen network once more on all the data (training and validation,
        whether the validation rows were held out or given as ``X_val``).
    disconnect_inputs_if_possible : bool, default=True
        Let the build remove inputs that do not help. On wide data (more inputs than a
        tenth of the training rows) the inputs are also screened before the network is
        grown, by least-angle regression on each input and its square.
    links_maximum_number : int, default=0
        Upper bound on the number of weights (biases count); 0 means no bound. The build
        grows networks up to twice this size, prunes the three best-scoring ones and the
        best one grown within the limit down to it, and keeps the best result; a warning
        says when even the smallest network exceeds it.
    checkpoint_address : str or path-like, default=None
        File where the build writes the candidate models as it goes.
    n_init : int, default=1
        Number of builds, each drawing its own new neurons on the same validation split;
        the one whose chosen network scores best on the validation data is kept (a
        single build with ``freeze_structure``, which draws nothing). A build depends on
        its draws (on smooth functions the test error of single builds spans over a factor of
        100), and the validation error mostly ranks builds as the test error does: more
        builds give a more accurate model, for ``n_init`` times the time (the processor
        time: see ``n_jobs``).
    n_jobs : int, default=None
        Number of processes running the ``n_init`` builds at once (joblib's convention:
        ``None`` is 1 unless in a :func:`joblib.parallel_config` context, -1 is all
        processors). With several, the builds run in joblib's ``loky`` worker processes
        (or on a Dask cluster's workers under joblib's Dask backend), each on one
        thread, and the ``verbose`` lines and checkpoint writes come build by build, as
        each build ends. The model is the same whatever their number, but can
        differ from that of ``n_jobs=1`` in the last bits (and, through them, in a build's
        path), since one build alone runs its large products on every BLAS thread, which
        rounds differently.
    random_state : int, RandomState instance or None, default=None
        Seed of the validation split and of the initial weights of new neurons. The same
        seed and data give the same model, bit for bit on one machine.
    verbose : int, default=0
        1 or more: one line per candidate architecture on stderr.
    build_config : BuildConfig, default=None
        Expert setting: the tuning constants of the architecture search (see
        :class:`~sklearn_neureco.BuildConfig`); None means the defaults, which nothing
        needs to change. Not stored in model files.

    Attributes
    ----------
    n_features_in_ : int
        Number of input features.
    feature_names_in_ : ndarray of shape (n_features,)
        Names of the input features, when ``X`` had string column names.
    n_outputs_ : int
        Number of outputs.
    layer_sizes_ : tuple of int
        ``(n_features, hidden sizes..., n_outputs)`` of the chosen network.
    link_masks_ : dict
        ``(target layer, source layer) -> bool ndarray``: the links that exist.
    weights_ : ndarray of shape (n_weights,)
        The packed weights (see :meth:`get_weights` for the order).
    input_shift_, input_scale_ : ndarray of shape (n_features,)
        Input normalisation: ``x_norm = (x - input_shift_) / input_scale_``.
    output_shift_, output_scale_ : ndarray of shape (n_outputs,)
        Output normalisation: ``y = y_norm * output_scale_ + output_shift_``.
    beta_reg_ : float
        Regularisation strength of the final training.
    history_ : list of dict
        The build record: one entry per trained candidate with its build (0 to
        ``n_init - 1``), step, layer sizes, number of weights, training and validation
        RMSE (in normalised units), regularisation, iterations and seconds.
    connected_inputs_ : ndarray of bool of shape (n_features,)
        Inputs the network still uses.
    n_weights_ : int
        Number of trainable weights (biases included).
    network_ : Network
        The chosen network's structure (no weights): ``layer_sizes``, ``masks``,
        ``n_weights``, and the pure functions ``forward``, ``jvp``, ``vjp`` and
        ``jacobians`` of ``(weights, normalised inputs)`` that the derivative API wraps.

    See Also
    --------
    NeurEcoClassifier : The same build for class labels.
    sklearn.neural_network.MLPRegressor : A network of fixed architecture, trained by
        first-order or L-BFGS optimisation.
    sklearn.gaussian_process.GaussianProcessRegressor : Kriging, the reference for small
        smooth data sets.

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

    # what the network is trained for: least squares on linear outputs
    _objective = LEAST_SQUARES

    _parameter_constraints: dict = dict(BUILD_PARAMETER_CONSTRAINTS)

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
        n_init=1,
        n_jobs=None,
        random_state=None,
        verbose=0,
        build_config=None,
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
        self.n_init = n_init
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.build_config = build_config

    def fit(
        self,
        X,
        y,
        sample_weight=None,
        *,
        X_val=None,
        y_val=None,
        init_model=None,
        freeze_structure=False,
    ):
        """Build the network: normalisation, architecture and weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs (numpy array or pandas DataFrame). A Dask array or DataFrame
            (with ``y`` and ``sample_weight`` as Dask arrays or Series) is built from: the
            architecture search runs in memory on a random sample of
            ``BuildConfig.search_rows`` rows, then the chosen network is trained on every
            row, its sums computed chunk by chunk on the workers (see the "Beyond one
            machine" page).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples in the loss, the validation error, the
            selection of the architecture and the normalisation's mean and standard
            deviation. A weight of 0 removes the row; rows equal in ``X`` and ``y`` are
            merged into one carrying their summed weight, so weight 2 and a repeated row
            give the same model.
        X_val, y_val : array-like, default=None
            Explicit validation data. When given, all of ``X`` is used for training and
            ``valid_percentage`` is ignored (with ``final_learning``, the final training
            uses both).
        init_model : NeurEcoRegressor, default=None
            A fitted model (for example one read from a checkpoint with
            ``NeurEcoRegressor.load(path, model_number=N)``) to start the build from
            instead of from a linear network. Its normalisation is kept, so that its
            weights keep their meaning.
        freeze_structure : bool, default=False
            With ``init_model``: keep its architecture and only train its weights.

        Returns
        -------
        self : NeurEcoRegressor
            The fitted estimator.
        """
        return self._guarded_fit(
            self._fit, X, y, sample_weight, X_val, y_val, init_model, freeze_structure
        )

    @_fit_context(prefer_skip_nested_validation=True)
    def _fit(self, X, y, sample_weight, X_val, y_val, init_model, freeze_structure, config=None):
        """Validate the data, build, store the fitted state; return the warnings."""
        if is_dask(X, y, sample_weight):  # search on a sample, then train on every row

            def fit_in_memory(X, y, sample_weight, config):
                return self._fit(
                    X, y, sample_weight, X_val, y_val, init_model, freeze_structure, config
                )

            return fit_on_dask(self, X, y, sample_weight, fit_in_memory)
        _check_numeric_targets(y, "y")
        X, y = validate_data(self, X, y, multi_output=True, y_numeric=True, dtype=np.float64)
        Y = y.reshape(len(y), -1)
        sample_weight = self._sample_weight(sample_weight, X)
        Y_val = None
        X_val = self._validation_inputs(X_val, y_val)
        if X_val is not None:
            _check_numeric_targets(y_val, "y_val")
            Y_val = np.asarray(y_val, dtype=np.float64)
            Y_val = Y_val.reshape(len(Y_val), -1) if Y_val.ndim else Y_val.reshape(1, -1)
            if Y_val.shape != (len(X_val), Y.shape[1]) or not np.all(np.isfinite(Y_val)):
                raise ValueError(
                    f"y_val must be finite with {Y.shape[1]} output(s) for each of the "
                    f"{len(X_val)} rows of X_val, got shape {np.shape(y_val)}"
                )
        init_state = None
        if init_model is not None:
            init_state = self._init_state(init_model, X.shape[1], Y.shape[1])
        state, said = build_state(
            self,
            X,
            Y,
            sample_weight,
            output_1d=y.ndim == 1,
            X_val=X_val,
            Y_val=Y_val,
            init_state=init_state,
            freeze_structure=freeze_structure,
            config=config,
        )
        self.state_ = state
        return said

    # ------------------------------------------------------------------ predict
    def predict(self, X) -> np.ndarray:
        """Predict with the current weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of float64, of shape (n_samples,) or (n_samples, n_outputs)
            Shaped like the ``y`` given to ``fit``. For a Dask array or DataFrame, a Dask
            array computed chunk by chunk.
        """
        _require_fitted(self)
        if is_dask(X):  # a Dask collection, chunk by chunk on the workers
            flat = self.state_.output_1d
            return rowwise(self.predict, X, self.n_features_in_, None if flat else self.n_outputs_)
        return self._shape_output(self.state_.outputs(self._validate_input(X)))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


def _check_numeric_targets(y, name: str) -> None:
    """A ``ValueError`` naming ``name`` if the targets are strings, or objects that are not
    numbers (validation would fail later with an error that names nothing)."""
    values = y.to_numpy() if hasattr(y, "to_numpy") else np.asarray(y)
    if values.dtype.kind in "USO":
        try:
            values.astype(np.float64)
        except (TypeError, ValueError):
            numeric = False
        else:
            numeric = values.dtype.kind == "O"  # numbers held as objects are fine
        if not numeric:
            raise ValueError(
                f"{name} must hold numbers, got values of dtype {values.dtype} (a regressor "
                "predicts numbers; for labels use a classifier)"
            )
