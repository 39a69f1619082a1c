"""What every estimator of the family shares around its fitted state: the fitted
attributes, model files, pickling, the guarded ``fit``.

An estimator of the family (:class:`~sklearn_neureco.NeurEcoRegressor`, and those to come)
declares its parameters, validates its data, hands them to the engine
(:func:`~sklearn_neureco._engine.build_state`) and stores the one
:class:`~sklearn_neureco._state.FittedState` it gets back as ``state_``. Its fitted
attributes (``weights_``, ``layer_sizes_``, ...) are views of that state, and ``save``,
``load`` and pickles write and read it whole.
"""

from __future__ import annotations

import os
import warnings
from contextlib import contextmanager
from numbers import Integral, Real
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from ._architecture import BuildConfig
from ._derivatives import DerivativeMixin
from ._network import Network
from ._normalization import SCALINGS, SHIFTINGS
from ._objectives import LEAST_SQUARES
from ._persistence import (
    COMPRESSOR,
    ModelFileError,
    OtherEstimatorFile,
    check_target,
    read_state,
    write_states,
)
from ._state import FittedState

# Version of the pickled state layout; bump it when fitted attributes change meaning.
# Format 1 held the fitted attributes one by one; format 2 holds one FittedState.
STATE_FORMAT = 2
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


# The build parameters every estimator of the family has.
BUILD_PARAMETER_CONSTRAINTS: dict = {
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


def _state_attribute(name: str, doc: str):
    def get(self):
        return getattr(self.state_, name)

    return property(get, doc=doc)


class NeurEcoBase(DerivativeMixin, BaseEstimator):
    """The family's shared machinery (see the module docstring); not an estimator by
    itself."""

    # what the network is trained for; an estimator of the family sets its own
    _objective = LEAST_SQUARES
    # the "?" of the estimator's HTML diagram opens its API page; relative to the
    # documentation's gallery pages, where the diagrams are shown
    _doc_link_module = "sklearn_neureco"
    _doc_link_template = "../gen_modules/{estimator_module}.{estimator_name}.html"

    weights_ = _state_attribute("weights", "The packed weights, ``(n_weights,)``.")
    input_shift_ = _state_attribute("input_shift", "Input shift, ``(n_features,)``.")
    input_scale_ = _state_attribute("input_scale", "Input scale, ``(n_features,)``.")
    output_shift_ = _state_attribute("output_shift", "Output shift, ``(n_outputs,)``.")
    output_scale_ = _state_attribute("output_scale", "Output scale, ``(n_outputs,)``.")
    beta_reg_ = _state_attribute("beta_reg", "Regularisation of the final training.")
    history_ = _state_attribute("history", "The build record, one entry per candidate.")
    n_outputs_ = _state_attribute("n_outputs", "Number of outputs.")
    network_ = _state_attribute("network", "The fitted network's structure.")

    @property
    def layer_sizes_(self) -> tuple:
        """``(n_features, hidden sizes..., n_outputs)`` of the chosen network."""
        return tuple(self.state_.network.layer_sizes)

    @property
    def link_masks_(self) -> dict:
        """``(target layer, source layer) -> bool ndarray``: the links that exist."""
        return self.state_.network.masks

    @property
    def connected_inputs_(self) -> np.ndarray:
        """Which inputs the network still uses (derived from ``link_masks_``)."""
        return self.state_.network.connected_inputs()

    # ------------------------------------------------------------------ fitting
    def _guarded_fit(self, fit, *args):
        """Run ``fit(*args)`` (which returns the warnings to give); if it fails, leave the
        estimator as it was (validation resets fitted attributes early); then give the
        warnings, at the caller of the public ``fit``."""
        with unchanged_on_failure(self):
            said = fit(*args)
        for message, category in said:
            warnings.warn(message, category, stacklevel=3)  # _guarded_fit, fit, the caller
        return self

    def _sample_weight(self, sample_weight, X) -> np.ndarray:
        """``sample_weight`` checked against ``X``: non-negative, with a positive sum."""
        sample_weight = _check_sample_weight(sample_weight, X, ensure_non_negative=True)
        if not sample_weight.sum() > 0:
            raise ValueError("sample_weight must have a positive sum")
        return sample_weight

    def _validation_inputs(self, X_val, y_val):
        """``X_val`` validated like ``X`` (``None`` when no validation data are given);
        ``X_val`` and ``y_val`` come together or not at all."""
        if X_val is None and y_val is None:
            return None
        if X_val is None or y_val is None:
            raise ValueError("X_val and y_val must be given together")
        return validate_data(self, X_val, reset=False, dtype=np.float64)

    def _init_state(self, init_model, n_features: int, n_outputs: int) -> FittedState:
        """The fitted state of ``init_model``, checked to fit the data."""
        if not isinstance(init_model, type(self)):
            raise TypeError(
                f"init_model must be a fitted {type(self).__name__}, got "
                f"{type(init_model).__name__}"
            )
        check_is_fitted(init_model)
        state = init_model.state_
        if (state.n_features_in, state.n_outputs) != (n_features, n_outputs):
            raise ValueError(
                f"init_model has {state.n_features_in} inputs and {state.n_outputs} "
                f"outputs; the data have {n_features} and {n_outputs}"
            )
        return state

    # ---------------------------------------------------------------- derivatives
    def _validate_input(self, X) -> np.ndarray:
        # the derivatives are called inside users' loops, often on a few rows: a float64
        # array of the right width needs only the finiteness check (sklearn's whole
        # validation costs ~50 us a call, more than a small network's pass)
        if (
            type(X) is np.ndarray
            and X.dtype == np.float64
            and X.ndim == 2
            and X.shape[0] > 0
            and X.shape[1] == self.n_features_in_
            and not hasattr(self, "feature_names_in_")
        ):
            if not np.isfinite(X).all():
                raise ValueError("Input X contains NaN or infinity.")
            return np.ascontiguousarray(X)  # the same bits whatever the memory layout
        return validate_data(self, X, reset=False, dtype=np.float64, order="C")

    def _shape_output(self, y: np.ndarray) -> np.ndarray:
        return y.reshape(-1) if self.state_.output_1d else y

    # ------------------------------------------------------------- persistence
    def save(self, path, *, key: bytes | str | None = None) -> Path:
        """Write the fitted model to one file, atomically.

        The file (its format is in the user guide's "Persistence") holds arrays and
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
        write_states(path, [self.state_], self._file_params(), kind="model", best=0, key=key)
        return path

    @classmethod
    def load(cls, path, *, model_number: int | None = None, key: bytes | str | None = None):
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
        model : estimator
            A fitted estimator of this class, with ``checkpoint_address=None`` whatever
            the build that made it used.

        Raises
        ------
        ModelFileError
            (a ``ValueError``) if the file is corrupt, truncated, tampered with, of a newer
            format, malformed in any value, not authenticated by ``key``, holds a model of
            another estimator, or is not a model file at all; nothing from it is executed.
        """
        state, stored_params = read_state(path, model_number, key=key)
        if state.estimator != cls.__name__:
            raise ModelFileError(
                f"{path} holds a {state.estimator}, not a {cls.__name__}: load it with "
                f"{state.estimator}.load or sklearn_neureco.load"
            )
        return cls._from_file(path, state, stored_params)

    @classmethod
    def _check_state(cls, state: FittedState) -> str | None:
        """What is wrong with ``state`` for this estimator, or None (a regressor has no
        classes)."""
        return None if state.classes is None else "a regressor has no classes"

    @classmethod
    def _from_file(cls, path, state: FittedState, stored_params: dict):
        problem = cls._check_state(state)
        if problem is not None:
            raise ModelFileError(f"{path} is inconsistent: {problem}")
        model = estimator_from_file(cls, path, stored_params)
        model._adopt_state(state)
        return model

    def _adopt_state(self, state: FittedState) -> None:
        """Become the fitted model ``state`` is, as validation would have left it."""
        self.state_ = state
        self.n_features_in_ = state.n_features_in
        if state.feature_names is not None:
            self.feature_names_in_ = np.asarray(state.feature_names, dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_

    def _file_params(self) -> dict:
        return file_params(self)

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
                f"this pickle holds a {type(self).__name__} in state format {fmt!r} (from "
                f"sklearn-neureco {version}); this version ({__version__}) reads formats "
                f"up to {STATE_FORMAT}. Use the version that wrote it, or save()/load() "
                "model files"
            )
        if fmt == 1:
            state = _from_state_format_1(type(self).__name__, state)
        if version != __version__:
            warnings.warn(
                f"unpickling a {type(self).__name__} written by sklearn-neureco {version} "
                f"with version {__version__}; its state format ({fmt}) is compatible",
                UserWarning,
                stacklevel=2,
            )
        super().__setstate__(state)


def file_params(estimator) -> dict:
    """The constructor parameters a model file carries: plain values, and no path (where
    to write is the reader's choice)."""
    return {
        key: value
        for key, value in estimator.get_params().items()
        if key != "checkpoint_address" and _is_plain(value)
    }


def estimator_from_file(cls, path, stored_params: dict):
    """An unfitted ``cls`` with the parameters a file at ``path`` carries (those ``cls``
    knows, checked as ``fit`` checks them) and no checkpoint address."""
    known = set(cls().get_params())
    params = {k: v for k, v in stored_params.items() if k in known}
    params["checkpoint_address"] = None  # a file never says where to write
    model = cls(**params)
    try:
        model._validate_params()
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"{path} holds an invalid parameter: {exc}") from None
    return model


@contextmanager
def unchanged_on_failure(estimator):
    """Leave ``estimator`` as it was if the block raises (validation resets fitted
    attributes early)."""
    snapshot = dict(estimator.__dict__)
    try:
        yield
    except BaseException:
        estimator.__dict__.clear()
        estimator.__dict__.update(snapshot)
        raise


def _is_plain(value) -> bool:
    """A value a model file can carry as it is (JSON, no NaN)."""
    if isinstance(value, float):
        return bool(np.isfinite(value))
    return value is None or isinstance(value, bool | int | str)


def _from_state_format_1(estimator: str, state: dict) -> dict:
    """A pickled state of format 1 (fitted attributes one by one) in format 2."""
    state = dict(state)
    fitted = "weights_" in state
    parts = {
        key: state.pop(key, None)
        for key in (
            "layer_sizes_",
            "link_masks_",
            "weights_",
            "input_shift_",
            "input_scale_",
            "output_shift_",
            "output_scale_",
            "beta_reg_",
            "history_",
            "n_outputs_",
            "_output_1d",
        )
    }
    if fitted:
        names = state.get("feature_names_in_")
        state["state_"] = FittedState(
            estimator,
            Network(parts["layer_sizes_"], parts["link_masks_"]),
            np.asarray(parts["weights_"], dtype=np.float64),
            parts["input_shift_"],
            parts["input_scale_"],
            parts["output_shift_"],
            parts["output_scale_"],
            float(parts["beta_reg_"]),
            int(state["n_features_in_"]),
            int(parts["n_outputs_"]),
            bool(parts["_output_1d"]),
            None if names is None else tuple(str(n) for n in names),
            None,
            list(parts["history_"]),
        )
    return state


def load_model(path, *, model_number: int | None = None, key: bytes | str | None = None):
    """Read a model file or checkpoint as the estimator that wrote it (see
    :meth:`NeurEcoBase.load`)."""
    try:
        state, stored_params = read_state(path, model_number, key=key)
    except OtherEstimatorFile as exc:
        if exc.held != COMPRESSOR:
            raise
        from ._compressor import NeurEcoCompressor  # which builds on this module

        return NeurEcoCompressor.load(path, model_number=model_number, key=key)
    family = {cls.__name__: cls for cls in _family()}
    if state.estimator not in family:
        raise ModelFileError(
            f"{path} holds a {state.estimator!r}, which this sklearn-neureco does not know: "
            "upgrade the package"
        )
    return family[state.estimator]._from_file(path, state, stored_params)


def _family():
    """Every estimator class of the family (subclasses of :class:`NeurEcoBase`)."""
    pending, found = [NeurEcoBase], []
    while pending:
        for sub in pending.pop().__subclasses__():
            found.append(sub)
            pending.append(sub)
    return found
