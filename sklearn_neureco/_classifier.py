"""NeurEcoClassifier: a classifier that builds its own compact, differentiable network."""

from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    column_or_1d,
    validate_data,
)

from ._base import BUILD_PARAMETER_CONSTRAINTS, NeurEcoBase
from ._dask import is_dask, rowwise
from ._dask_training import fit_on_dask, label_codes
from ._derivatives import _require_fitted
from ._engine import build_state
from ._objectives import CROSS_ENTROPY, CrossEntropy

_OUTPUT_OPTIONS = (
    "outputs_shifting",
    "outputs_scaling",
    "outputs_normalize_per_feature",
)


class NeurEcoClassifier(ClassifierMixin, NeurEcoBase):
    """Classifier that builds its own compact neural network and exposes exact derivatives.

    The same build as :class:`NeurEcoRegressor` (a network grown from a linear model while
    the validation error pays for the extra weights, then pruned, trained by a
    second-order method), trained for the cross-entropy of class probabilities: one
    logistic output for two classes, a softmax over one output per class for more. The
    architecture is chosen on the validation log-loss, with the same price per weight
    (Akaike's criterion on the deviance). Class imbalance is handled through
    ``sample_weight``. The derivative API gives exact derivatives of
    :meth:`predict_proba` in the weights and the raw inputs.

    Parameters
    ----------
    inputs_shifting : {"auto", "none", "min", "min_centered", "mean"}, default="auto"
        Shift subtracted from the inputs (see :class:`NeurEcoRegressor`).
    inputs_scaling : {"auto", "none", "max", "max_centered", "std"}, default="auto"
        Scale dividing the shifted inputs.
    inputs_normalize_per_feature : bool, default=True
        One shift and scale per input column, or one for all inputs together.
    valid_percentage : float, default=33.33
        Percentage (1 to 50) of the data held out to choose the architecture.
    initial_beta_reg : float, default=0.1
        Initial strength of the weight regularisation, from 0 to 1e4.
    final_learning : bool, default=True
        Train the chosen network once more on all the data.
    disconnect_inputs_if_possible : bool, default=True
        Let the build remove inputs that do not help.
    links_maximum_number : int, default=0
        Upper bound on the number of weights (biases count); 0 means no bound.
    checkpoint_address : str or path-like, default=None
        File where the build writes the candidate models as it goes.
    n_init : int, default=1
        Number of builds on one validation split; the best-scoring is kept.
    n_jobs : int, default=None
        Number of processes running the ``n_init`` builds at once (joblib's ``loky``
        worker processes, or a Dask cluster's workers under joblib's Dask backend).
    random_state : int, RandomState instance or None, default=None
        Seed of the validation split and of new neurons' initial weights.
    verbose : int, default=0
        1 or more: one line per candidate architecture on stderr.
    build_config : BuildConfig, default=None
        Expert setting: the tuning constants of the architecture search.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels, in the order of :meth:`predict_proba`'s columns.
    n_features_in_ : int
        Number of input features.
    feature_names_in_ : ndarray of shape (n_features,)
        Names of the input features, when ``X`` had string column names.
    n_outputs_ : int
        Outputs of the network: 1 for two classes, else the number of classes.
    layer_sizes_ : tuple of int
        ``(n_features, hidden sizes..., n_outputs)`` of the chosen network.
    history_ : list of dict
        The build record, as for :class:`NeurEcoRegressor`; its ``train_rmse`` and
        ``valid_rmse`` hold the square roots of the training and validation log-losses.
    link_masks_ : dict
        ``(target layer, source layer) -> bool ndarray``: the links that exist.
    connected_inputs_ : ndarray of bool of shape (n_features,)
        Inputs the network still uses.
    weights_ : ndarray of shape (n_weights,)
        The packed weights (see :meth:`get_weights` for the order).
    n_weights_ : int
        Number of trainable weights (biases included).
    input_shift_, input_scale_ : ndarray of shape (n_features,)
        Input normalisation: ``x_norm = (x - input_shift_) / input_scale_``.
    output_shift_, output_scale_ : ndarray of shape (n_outputs,)
        Zeros and ones: the logits are not normalised.
    beta_reg_ : float
        Regularisation strength of the final training.
    network_ : Network
        The chosen network's structure, as for :class:`NeurEcoRegressor`.

    See Also
    --------
    NeurEcoRegressor : The same build for regression.
    sklearn.neural_network.MLPClassifier : A network of fixed architecture.
    sklearn.ensemble.HistGradientBoostingClassifier : Often the better choice on noisy
        tables with many rows.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_neureco import NeurEcoClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(-1, 1, size=(300, 2))
    >>> y = np.where(X[:, 0] ** 2 + X[:, 1] > 0.3, "high", "low")
    >>> model = NeurEcoClassifier(random_state=0).fit(X, y)
    >>> model.classes_.tolist()
    ['high', 'low']
    >>> model.predict_proba(X[:2]).shape
    (2, 2)
    >>> J = model.jacobian(X[:2])  # d predict_proba / d x, (2, 2, 2)
    """

    _objective = CROSS_ENTROPY
    _prediction = "predict_proba(x)"

    _parameter_constraints: dict = {
        k: v for k, v in BUILD_PARAMETER_CONSTRAINTS.items() if k not in _OUTPUT_OPTIONS
    }

    def __init__(
        self,
        *,
        inputs_shifting="auto",
        inputs_scaling="auto",
        inputs_normalize_per_feature=True,
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
        self.inputs_normalize_per_feature = inputs_normalize_per_feature
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
            (with ``y`` and ``sample_weight`` as Dask arrays or Series) is built from as
            by :meth:`NeurEcoRegressor.fit`: the search on a sample in memory (holding
            every class), then the training on every row on the workers.
        y : array-like of shape (n_samples,)
            Class labels (numbers or strings), at least two classes.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples (for example to balance the classes).
        X_val, y_val : array-like, default=None
            Explicit validation data; their labels must be among ``y``'s.
        init_model : NeurEcoClassifier, default=None
            A fitted model (for example from a checkpoint) to start the build from.
        freeze_structure : bool, default=False
            With ``init_model``: keep its architecture and only train its weights.

        Returns
        -------
        self : NeurEcoClassifier
            The fitted estimator.
        """
        return self._guarded_fit(
            self._fit, X, y, sample_weight, X_val, y_val, init_model, freeze_structure
        )

    @_fit_context(prefer_skip_nested_validation=True)
    def _fit(self, X, y, sample_weight, X_val, y_val, init_model, freeze_structure, config=None):
        """Validate the data, build, store the fitted state; return the warnings."""
        if is_dask(X, y, sample_weight):  # search on a sample, then train on every row
            codes, classes = label_codes(y)

            def fit_in_memory(X, codes, sample_weight, config):
                labels = classes[codes.astype(np.intp)]
                return self._fit(
                    X, labels, sample_weight, X_val, y_val, init_model, freeze_structure, config
                )

            def targets(codes):
                return _targets(codes.astype(np.intp), classes.size)

            return fit_on_dask(
                self, X, codes, sample_weight, fit_in_memory, targets=(classes.size, targets)
            )
        X, y = validate_data(self, X, y, dtype=np.float64)
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        classes, codes = np.unique(y, return_inverse=True)
        if classes.size < 2:
            raise ValueError(
                f"a classifier needs samples of at least 2 classes; got 1 class ({classes[0]!r})"
            )
        sample_weight = self._sample_weight(sample_weight, X)
        Y = _targets(codes, classes.size)
        Y_val = None
        X_val = self._validation_inputs(X_val, y_val)
        if X_val is not None:
            y_val = column_or_1d(np.asarray(y_val))
            if y_val.shape != (len(X_val),):
                raise ValueError(
                    f"y_val must hold one label for each of the {len(X_val)} rows of X_val, "
                    f"got shape {y_val.shape}"
                )
            unknown = np.setdiff1d(y_val, classes)
            if unknown.size:
                raise ValueError(f"y_val holds labels that y does not: {unknown[:5].tolist()}")
            Y_val = _targets(np.searchsorted(classes, y_val), classes.size)
        init_state = None
        if init_model is not None:
            init_state = self._init_state(init_model, X.shape[1], Y.shape[1])
            if tuple(init_state.classes) != tuple(classes.tolist()):
                raise ValueError(
                    f"init_model has the classes {list(init_state.classes)}; the data have "
                    f"{classes.tolist()}"
                )
        state, said = build_state(
            self,
            X,
            Y,
            sample_weight,
            output_1d=False,
            X_val=X_val,
            Y_val=Y_val,
            init_state=init_state,
            freeze_structure=freeze_structure,
            classes=tuple(classes.tolist()),
            config=config,
        )
        self.state_ = state
        return said

    @classmethod
    def _check_state(cls, state) -> str | None:
        classes = state.classes
        if classes is None or len(classes) < 2 or len(set(classes)) != len(classes):
            return "a classifier needs at least 2 distinct classes"
        if state.n_outputs != (1 if len(classes) == 2 else len(classes)) or state.output_1d:
            return f"{len(classes)} classes do not fit {state.n_outputs} output(s)"
        return None

    @property
    def classes_(self) -> np.ndarray:
        """The class labels, in the order of :meth:`predict_proba`'s columns."""
        return np.asarray(self.state_.classes)

    # ------------------------------------------------------------------ predict
    def decision_function(self, X) -> np.ndarray:
        """The network's outputs: for two classes the log-odds of the second,
        ``(n_samples,)``; else one logit per class, ``(n_samples, n_classes)``."""
        _require_fitted(self)
        f = self.state_.outputs(self._validate_input(X))
        return f[:, 0] if f.shape[1] == 1 else f

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, ``(n_samples, n_classes)``, columns in ``classes_`` order
        (a Dask array for Dask input)."""
        _require_fitted(self)
        if is_dask(X):
            return rowwise(self.predict_proba, X, self.n_features_in_, len(self.classes_))
        return CrossEntropy.probabilities(self.state_.outputs(self._validate_input(X)))

    def predict_log_proba(self, X) -> np.ndarray:
        """Logarithms of :meth:`predict_proba`, computed without underflow."""
        _require_fitted(self)
        return CrossEntropy.log_probabilities(self.state_.outputs(self._validate_input(X)))

    def predict(self, X) -> np.ndarray:
        """The most probable class of each row."""
        _require_fitted(self)
        if is_dask(X):
            classes = self.classes_
            return self.predict_proba(X).map_blocks(
                lambda p: classes[np.argmax(p, axis=1)], drop_axis=1, dtype=classes.dtype
            )
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def _n_predictions(self) -> int:
        return len(self.state_.classes)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        return tags


def _targets(codes: np.ndarray, n_classes: int) -> np.ndarray:
    """The network's targets: the second class's 0/1 column for two classes, else one-hot."""
    if n_classes == 2:
        return codes.astype(np.float64).reshape(-1, 1)
    return np.eye(n_classes)[codes]
