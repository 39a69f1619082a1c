"""What NeurEco Tabular's model classes share: files, weights, derivatives, status codes.

Each class of :mod:`sklearn_neureco.Tabular` is a thin layer over an estimator of the
family (``_estimator``): every computation is the estimator's.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from .._persistence import as_path

MODEL_EXTENSION = ".ednn"


def _model_path(path) -> Path:
    """``path`` with the model extension added when it has none."""
    path = as_path(path)
    return path if path.suffix else path.with_name(path.name + MODEL_EXTENSION)


def _as_2d(a) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    return a.reshape(len(a), -1) if a.ndim == 1 else a


def normalisation_options(side: str, shifting, scaling, per_feature) -> dict:
    """The estimator's ``{side}_*`` normalisation parameters from the reference's
    arguments, where ``None`` means ``"auto"`` and per-feature normalisation."""
    return {
        f"{side}_shifting": shifting or "auto",
        f"{side}_scaling": scaling or "auto",
        f"{side}_normalize_per_feature": True if per_feature is None else per_feature,
    }


def split_validation_rows(X, Y, validation_input_data, validation_output_data, indices):
    """``(X, Y, X_val, Y_val)``: validation data as given, or the rows ``indices`` of
    ``X``, or none (``X_val`` and ``Y_val`` are then ``None``)."""
    X_val = Y_val = None
    if validation_input_data is not None or validation_output_data is not None:
        if indices is not None:
            raise ValueError("give validation data or validation_indices, not both")
        if validation_input_data is None or validation_output_data is None:
            raise ValueError(
                "validation_input_data and validation_output_data must be given together"
            )
        X_val, Y_val = validation_input_data, _as_2d(validation_output_data)
    elif indices is not None:
        idx = np.asarray(indices, dtype=int).ravel()
        if idx.size == 0 or idx.min() < -len(X) or idx.max() >= len(X):
            raise ValueError(f"validation_indices must index the {len(X)} input rows")
        keep = np.ones(len(X), dtype=bool)
        keep[idx] = False
        X, Y, X_val, Y_val = X[keep], Y[keep], X[~keep], Y[~keep]
    return X, Y, X_val, Y_val


class TabularModel:
    """The methods every NeurEco Tabular model class has (see :class:`Regressor`)."""

    _estimator: type  # the estimator of the family it wraps

    def __init__(self):
        self.model = None

    def _fitted(self):
        if self.model is None:
            raise RuntimeError("no model: call build() or load() first")
        return self.model

    def _start_from(self, checkpoint, model_number):
        """The model to resume a build from, or None."""
        if not checkpoint:
            return None
        return self._estimator.load(checkpoint, model_number=model_number)

    def _finish_build(self, model, write_model_to) -> int:
        self.model = model
        if write_model_to:
            model.save(_model_path(write_model_to))
        return 0

    def load(self, path) -> int:
        """Read a model written by ``build(write_model_to=...)`` or :meth:`save`; the
        extension may be left out. Returns 0."""
        path = Path(path)
        self.model = self._estimator.load(path if path.is_file() else _model_path(path))
        return 0

    def save(self, path) -> int:
        """Write the model (``.ednn`` is added when ``path`` has no extension).

        Returns 0, or 1 (with a warning) if it could not be written; a previous file at
        that path is then left intact.
        """
        try:
            self._fitted().save(_model_path(path))
        except (OSError, RuntimeError, TypeError, ValueError) as exc:
            warnings.warn(f"model not saved: {exc}", RuntimeWarning, stacklevel=2)
            return 1
        return 0

    def delete(self) -> int:
        """Release the model. Returns 0."""
        self.model = None
        return 0

    # ------------------------------------------------------------ derivatives
    def get_weights(self) -> np.ndarray:
        """The weights, ``(n_weights, 1)``."""
        return self._fitted().get_weights()

    def set_weights(self, w) -> int:
        """Set the weights: 0 if it worked, 1 (with a warning, model unchanged) if not."""
        try:
            return self._fitted().set_weights(w)
        except (TypeError, ValueError, RuntimeError) as exc:
            warnings.warn(f"weights not set: {exc}", RuntimeWarning, stacklevel=2)
            return 1

    def forward_derivative(self, w, dw, x, dx=None) -> np.ndarray:
        """``dy/dw · dw + dy/dx · dx`` at ``w`` (which becomes the model's weights),
        ``(n_samples, n_outputs)``."""
        model = self._fitted()
        dy = model.forward_derivative(w, dw, x, dx)
        self._adopt(w)
        return _as_2d(dy)

    def gradient(self, w, x, py):
        """``(pw, px)`` for the output perturbation ``py``, at ``w`` (which becomes the
        model's weights): ``(n_weights, 1)`` and ``(n_samples, n_inputs)``."""
        pw, px = self._fitted().gradient(w, x, py)
        self._adopt(w)
        return pw, px

    def _adopt(self, w) -> None:
        """Leave the model's weights at ``w``, as the reference's derivatives do (``None``
        means the current weights: nothing to do)."""
        if w is not None:
            self.model.set_weights(w)
