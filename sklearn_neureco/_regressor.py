"""NeurEcoRegressor: a regressor that builds its own compact, differentiable network."""

from __future__ import annotations

import os
import sys
import time
import warnings
from dataclasses import dataclass
from numbers import Integral, Real
from pathlib import Path

import numpy as np
from joblib import effective_n_jobs
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from ._architecture import BuildConfig, Builder, BuildResult, Candidate, within_limit
from ._derivatives import DerivativeMixin
from ._network import Network
from ._normalization import SCALINGS, SHIFTINGS, fit_normalization
from ._objectives import LEAST_SQUARES
from ._optimize import (
    TrainingProblem,
    set_large_product_threads,
    single_threaded_blas,
    train,
)
from ._persistence import ModelFileError, check_target, read_container, write_container
from ._rows import input_groups, merge_duplicate_rows, split_validation

# Version of the pickled state layout; bump it when fitted attributes change meaning.
STATE_FORMAT = 1
# Largest initial_beta_reg: the path starts there and divides by 10 per stage, and stops
# when the regularisation no longer binds; on a smooth function starts of 1e7 and below
# gave the same accurate networks, 1e8 and above a linear one.
MAX_INITIAL_BETA_REG = 1e4


class Number(Interval):
    """A numeric range that refuses ``True`` and ``False`` (Python counts them as 1 and 0,
    but a flag passed for a number is a mistake)."""

    def is_satisfied_by(self, val):
        return not isinstance(val, bool | np.bool_) and super().is_satisfied_by(val)

    def __str__(self):
        return f"{super().__str__()} (not a bool)"


class NeurEcoRegressor(DerivativeMixin, RegressorMixin, BaseEstimator):
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
        processors). With several, the builds run in joblib's ``loky`` worker processes,
        each on one thread, and the ``verbose`` lines and checkpoint writes come build by
        build, as each build ends. The model is the same whatever their number, but can
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

    _parameter_constraints: dict = {
        "inputs_shifting": [StrOptions(set(SHIFTINGS))],
        "inputs_scaling": [StrOptions(set(SCALINGS))],
        "outputs_shifting": [StrOptions(set(SHIFTINGS))],
        "outputs_scaling": [StrOptions(set(SCALINGS))],
        "inputs_normalize_per_feature": ["boolean"],
        "outputs_normalize_per_feature": ["boolean"],
        "valid_percentage": [Number(Real, 1, 50, closed="both")],
        "initial_beta_reg": [Number(Real, 0, MAX_INITIAL_BETA_REG, closed="both")],
        "final_learning": ["boolean"],
        "disconnect_inputs_if_possible": ["boolean"],
        "links_maximum_number": [Number(Integral, 0, None, closed="left")],
        "checkpoint_address": [str, os.PathLike, None],
        "n_init": [Number(Integral, 1, None, closed="left")],
        # joblib's convention: 0 has no meaning
        "n_jobs": [
            Number(Integral, None, -1, closed="right"),
            Number(Integral, 1, None, closed="left"),
            None,
        ],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "build_config": [BuildConfig, None],
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

    # ---------------------------------------------------------------------- fit
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
            Training inputs (numpy array or pandas DataFrame).
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
        # validate_data resets fitted attributes early: restore them if anything fails
        snapshot = dict(self.__dict__)
        try:
            said = self._fit(X, y, sample_weight, X_val, y_val, init_model, freeze_structure)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(snapshot)
            raise
        for message, category in said:  # here, where the user's call is known
            warnings.warn(message, category, stacklevel=2)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def _fit(self, X, y, sample_weight, X_val, y_val, init_model, freeze_structure):
        _check_numeric_targets(y, "y")
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
            _check_numeric_targets(y_val, "y_val")
            Y_val = np.asarray(y_val, dtype=np.float64)
            Y_val = Y_val.reshape(len(Y_val), -1) if Y_val.ndim else Y_val.reshape(1, -1)
            if Y_val.shape != (len(X_val), Y.shape[1]) or not np.all(np.isfinite(Y_val)):
                raise ValueError(
                    f"y_val must be finite with {Y.shape[1]} output(s) for each of the "
                    f"{len(X_val)} rows of X_val, got shape {np.shape(y_val)}"
                )

        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        rng = np.random.default_rng(seed)
        start = None
        if init_model is not None:
            start = self._check_init_model(init_model, X.shape[1], Y.shape[1])
        elif freeze_structure:
            raise ValueError("freeze_structure=True needs an init_model to freeze")
        checkpoint_path = None
        if self.checkpoint_address is not None:  # refuse a bad target before any training
            checkpoint_path = check_target(self.checkpoint_address, "checkpoint_address")

        said: list[tuple[str, type[Warning]]] = []  # warnings for fit to give
        # validation rows weigh as an average training row in final learning
        val_weight = sample_weight.mean()
        X, Y, sample_weight = merge_duplicate_rows(X, Y, sample_weight)
        if init_model is not None:
            in_shift, in_scale = init_model.input_shift_, init_model.input_scale_
            out_shift, out_scale = init_model.output_shift_, init_model.output_scale_
        else:
            in_shift, in_scale = fit_normalization(
                X,
                self.inputs_shifting,
                self.inputs_scaling,
                self.inputs_normalize_per_feature,
                sample_weight,
            )
            out_shift, out_scale = fit_normalization(
                Y,
                self.outputs_shifting,
                self.outputs_scaling,
                self.outputs_normalize_per_feature,
                sample_weight,
            )
        xn, yn = (X - in_shift) / in_scale, (Y - out_shift) / out_scale
        if has_val:
            train_idx = np.arange(len(X))
            valid_idx = np.arange(len(X), len(X) + len(X_val))
            xn = np.vstack([xn, (X_val - in_shift) / in_scale])
            yn = np.vstack([yn, (Y_val - out_shift) / out_scale])
            sample_weight = np.concatenate([sample_weight, np.full(len(X_val), val_weight)])
        else:
            train_idx, valid_idx = split_validation(
                xn, self.valid_percentage, rng, groups=input_groups(X)
            )
            if valid_idx.size == 0:
                said.append(
                    (
                        f"no validation rows: {len(X)} distinct rows are too few to hold "
                        f"{self.valid_percentage} % of them out, so the architecture is "
                        "chosen on the training error; give more data or X_val and y_val",
                        UserWarning,
                    )
                )

        log = None
        if self.verbose:

            def log(line):
                print(line, file=sys.stderr, flush=True)

        # set now, for the checkpoint; a failed fit restores the previous state anyway
        self.input_shift_, self.input_scale_ = in_shift, in_scale
        self.output_shift_, self.output_scale_ = out_shift, out_scale
        on_candidate = None
        if checkpoint_path is not None:
            on_candidate = _CheckpointWriter(
                checkpoint_path,
                self._file_meta(X.shape[1], Y.shape[1], output_1d),
                self._normalisation(),
                self.links_maximum_number,
            )
        history: list[dict] = []
        setup = {
            "x": xn,
            "y": yn,
            "sample_weight": sample_weight,
            "train_idx": train_idx,
            "valid_idx": valid_idx,
            "initial_beta_reg": self.initial_beta_reg,
            "disconnect_inputs_if_possible": self.disconnect_inputs_if_possible,
            "links_maximum_number": self.links_maximum_number,
            "config": self.build_config,
            "objective": self._objective,
        }
        with single_threaded_blas():
            # every build shares the split (so their validation scores compare); the first
            # draws from rng itself, the others from independent child generators. A frozen
            # structure draws nothing: its builds would all be the same
            n_builds = 1 if freeze_structure else self.n_init
            rngs = [rng, *rng.spawn(n_builds - 1)]

            def builder_of(build):
                return Builder(
                    **setup,
                    rng=rngs[build],
                    log=log,
                    on_candidate=on_candidate,
                    history=history,
                    build=build,
                )

            if n_builds > 1 and effective_n_jobs(self.n_jobs) > 1:
                results = self._parallel_builds(
                    setup, rngs, start, log=log, on_candidate=on_candidate, history=history
                )
            else:
                results = (
                    builder_of(build).run(start, freeze_structure) for build in range(n_builds)
                )
            chosen, build = None, 0
            for number, result in enumerate(results):  # as each ends: the first best wins
                said.extend(result.warnings)
                if chosen is None or result.score < chosen.score:
                    chosen, build = result, number
            builder = builder_of(build)  # records the final training in its name
            network, w, beta = chosen.chosen.network, chosen.chosen.w, chosen.chosen.beta
            if self.final_learning and valid_idx.size:
                started = time.perf_counter()
                problem = TrainingProblem(
                    network,
                    xn,
                    yn,
                    sample_weight / sample_weight.sum(),
                    beta=beta,
                    objective=self._objective,
                )
                final = train(problem, w)
                w = final.w
                builder.record_final(network, w, beta, time.perf_counter() - started, final.n_iter)

        self.n_outputs_ = Y.shape[1]
        self._output_1d = output_1d
        self.layer_sizes_ = tuple(network.layer_sizes)
        self.link_masks_ = network.masks
        self.weights_ = np.ascontiguousarray(w, dtype=np.float64)
        self.beta_reg_ = float(beta)
        self.history_ = history
        return said

    def _parallel_builds(self, setup, rngs, start, *, log, on_candidate, history):
        """Run the builds in ``n_jobs`` processes; yield their :class:`BuildResult` in
        build order.

        Each build's log lines, records and checkpoint candidates are replayed here in
        build order as the builds end, and the warnings it raised join its result: the
        results, ``history_`` and the checkpoint file are those of the same builds run one
        after the other on one thread.
        """
        jobs = (
            delayed(_isolated_build)(setup, build_rng, build, start, on_candidate is not None)
            for build, build_rng in enumerate(rngs)
        )
        # processes, whatever the joblib context: a build sets process-wide BLAS limits
        n_jobs = min(effective_n_jobs(self.n_jobs), len(rngs))  # no idle worker process
        for isolated in Parallel(n_jobs=n_jobs, backend="loky", return_as="generator")(jobs):
            history.extend(isolated.records)
            for line in isolated.lines if log is not None else []:
                log(line)
            for model, record in isolated.models:
                on_candidate(model, record)
            yield isolated.result

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

    @property
    def connected_inputs_(self) -> np.ndarray:
        """Which inputs the network still uses (derived from ``link_masks_``)."""
        return self.network_.connected_inputs()

    def _validate_input(self, X) -> np.ndarray:
        return validate_data(self, X, reset=False, dtype=np.float64)

    def _shape_output(self, y: np.ndarray) -> np.ndarray:
        return y.reshape(-1) if self._output_1d else y

    # ------------------------------------------------------------- persistence
    def save(self, path, *, key: bytes | str | None = None) -> Path:
        """Write the fitted model to one file, atomically.

        The file (format described in :mod:`sklearn_neureco._persistence`) holds arrays and
        JSON only, so :meth:`load` never executes code from it, and no path: loading it
        never makes the package write anywhere. Missing folders are created; a crash
        during the write leaves any previous file at ``path`` intact.

        Parameters
        ----------
        path : str or path-like
            Destination, used as given (no extension is added). If it exists it must be a
            regular file (or a link to one, which is replaced by the new file); a folder,
            a device or a FIFO is refused untouched.
        key : bytes or str, default=None
            Secret key: the file then carries an HMAC-SHA256 tag, and ``load(path,
            key=key)`` accepts it only if it was written with that key and not modified
            since. Without a key the file has a checksum, which detects damage but not a
            deliberate edit.

        Returns
        -------
        path : pathlib.Path
        """
        check_is_fitted(self)
        path = check_target(path)
        meta = self._file_meta(self.n_features_in_, self.n_outputs_, self._output_1d)
        meta["history"] = self.history_
        model = {"network": self.network_, "w": self.weights_, "beta_reg": self.beta_reg_}
        write_container(path, meta, self._normalisation(), [model], kind="model", best=0, key=key)
        return path

    @classmethod
    def load(
        cls, path, *, model_number: int | None = None, key: bytes | str | None = None
    ) -> NeurEcoRegressor:
        """Read a model written by :meth:`save`, or one model of a build checkpoint.

        Parameters
        ----------
        path : str or path-like
        model_number : int, default=None
            For a checkpoint: which of its models, in build order (negative numbers count
            from the end); by default the best one so far (the final model once the build
            has finished).
        key : bytes or str, default=None
            The key the file was saved with: the file is then accepted only if its
            authentication tag proves it was written with this key and not changed since.

        Returns
        -------
        model : NeurEcoRegressor
            A fitted estimator, with ``checkpoint_address=None`` whatever the build that
            made it used.

        Raises
        ------
        ModelFileError
            (a ``ValueError``) if the file is corrupt, truncated, tampered with, of a newer
            format, malformed in any value, not authenticated by ``key``, or not a model
            file at all; nothing from it is executed.
        """
        meta, normalisation, stored = read_container(path, model_number, key=key)
        known = set(cls().get_params())
        params = {k: v for k, v in meta["params"].items() if k in known}
        params["checkpoint_address"] = None  # a file never says where to write
        model = cls(**params)
        try:
            model._validate_params()
        except (TypeError, ValueError) as exc:
            raise ModelFileError(f"{path} holds an invalid parameter: {exc}") from None
        model.n_features_in_ = int(meta["n_features_in"])
        if meta.get("feature_names") is not None:
            model.feature_names_in_ = np.asarray(meta["feature_names"], dtype=object)
        model.n_outputs_ = int(meta["n_outputs"])
        model._output_1d = bool(meta["output_1d"])
        network = Network(stored["layer_sizes"], stored["masks"])
        model.input_shift_ = normalisation["input_shift"]
        model.input_scale_ = normalisation["input_scale"]
        model.output_shift_ = normalisation["output_shift"]
        model.output_scale_ = normalisation["output_scale"]
        model.layer_sizes_ = network.layer_sizes
        model.link_masks_ = network.masks
        model.weights_ = stored["w"]
        model.beta_reg_ = stored["beta_reg"]
        history = meta.get("history")
        if history is None:
            history = [r for r in stored["records"] if r is not None]
        model.history_ = history
        return model

    def _normalisation(self) -> dict:
        return {
            "input_shift": self.input_shift_,
            "input_scale": self.input_scale_,
            "output_shift": self.output_shift_,
            "output_scale": self.output_scale_,
        }

    def _file_meta(self, n_features: int, n_outputs: int, output_1d: bool) -> dict:
        from . import __version__

        params = {}
        for key, value in self.get_params().items():
            # no path of the author's machine goes into a file: where to write is the
            # reader's choice
            if key != "checkpoint_address" and _is_plain(value):
                params[key] = value
        names = getattr(self, "feature_names_in_", None)
        return {
            "library_version": __version__,
            "params": params,
            "n_features_in": int(n_features),
            "feature_names": None if names is None else [str(n) for n in names],
            "n_outputs": int(n_outputs),
            "output_1d": bool(output_1d),
        }

    def _check_init_model(self, init_model, n_features: int, n_outputs: int) -> Candidate:
        if not isinstance(init_model, NeurEcoRegressor):
            raise TypeError(
                f"init_model must be a fitted NeurEcoRegressor, got {type(init_model).__name__}"
            )
        check_is_fitted(init_model)
        if (init_model.n_features_in_, init_model.n_outputs_) != (n_features, n_outputs):
            raise ValueError(
                f"init_model has {init_model.n_features_in_} inputs and "
                f"{init_model.n_outputs_} outputs; the data have {n_features} and {n_outputs}"
            )
        beta = init_model.beta_reg_
        return Candidate(
            init_model.network_, init_model.weights_.copy(), beta, np.inf, np.inf, beta
        )

    def __getstate__(self):
        from . import __version__

        state = super().__getstate__()
        state["_neureco_version"] = __version__
        state["_neureco_state_format"] = STATE_FORMAT
        return state

    def __setstate__(self, state):
        from . import __version__

        state = dict(state)
        fmt = state.pop("_neureco_state_format", None)
        version = state.pop("_neureco_version", None)
        if fmt is None or fmt > STATE_FORMAT:
            raise ValueError(
                f"this pickle holds a NeurEcoRegressor in state format {fmt!r} (from "
                f"sklearn-neureco {version}); this version ({__version__}) reads format "
                f"{STATE_FORMAT}. Use the version that wrote it, or save()/load() model files"
            )
        if version != __version__:
            warnings.warn(
                f"unpickling a NeurEcoRegressor written by sklearn-neureco {version} with "
                f"version {__version__}; its state format ({fmt}) is compatible",
                UserWarning,
                stacklevel=2,
            )
        super().__setstate__(state)

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


def _is_plain(value) -> bool:
    """A value a model file can carry as it is (JSON, no NaN)."""
    if isinstance(value, float):
        return bool(np.isfinite(value))
    return value is None or isinstance(value, bool | int | str)


class _CheckpointWriter:
    """Appends each candidate of a build to the checkpoint file, rewriting it atomically."""

    def __init__(self, path, estimator_meta: dict, normalisation: dict, max_links: int = 0):
        self.path = check_target(path, "checkpoint_address")
        self.max_links = max_links  # candidates above it are recorded, never "best so far"
        self.meta = estimator_meta
        self.normalisation = normalisation
        self.models: list[dict] = []
        self.best = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)  # fail early if impossible

    def __call__(self, candidate, record: dict) -> None:
        self.models.append(
            {
                "network": candidate.network,
                "w": candidate.w,
                "beta_reg": candidate.beta,
                "record": dict(record),
            }
        )
        best_rmse = self.models[self.best]["record"]["valid_rmse"]
        allowed = within_limit(record["n_weights"], self.max_links)
        if record["step"] == "final" or (allowed and record["valid_rmse"] < best_rmse):
            self.best = len(self.models) - 1
        write_container(
            self.path,
            self.meta,
            self.normalisation,
            self.models,
            kind="checkpoint",
            best=self.best,
        )


@dataclass
class _IsolatedBuild:
    """One build run in a worker process, with what it would have logged, recorded and
    checkpointed there (its warnings are in ``result``)."""

    result: BuildResult
    records: list[dict]
    lines: list[str]
    models: list[tuple[Candidate, dict]]


def _isolated_build(setup: dict, rng, build: int, start, keep_models: bool) -> _IsolatedBuild:
    """One build, in a worker process and on one thread. What it would log, record,
    checkpoint and warn is returned instead, for the parent to replay in build order."""
    lines: list[str] = []
    models: list[tuple[Candidate, dict]] = []

    def keep(model, record):
        models.append((model, record))

    # the worker process may run other tasks after this one: leave its threads as found
    threads = set_large_product_threads(1)
    try:
        with warnings.catch_warnings(record=True) as caught, single_threaded_blas():
            warnings.simplefilter("always")
            builder = Builder(
                **setup,
                rng=rng,
                log=lines.append,
                on_candidate=keep if keep_models else None,
                build=build,
            )
            result = builder.run(start, False)
    finally:
        set_large_product_threads(threads)
    result.warnings[:0] = [(str(w.message), w.category) for w in caught]
    return _IsolatedBuild(result, builder.history, lines, models)
