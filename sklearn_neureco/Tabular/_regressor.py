"""``Tabular.Regressor``: NeurEco Tabular's interface over NeurEcoRegressor."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from .._persistence import as_path
from .._regressor import NeurEcoRegressor

MODEL_EXTENSION = ".ednn"


def _model_path(path) -> Path:
    """``path`` with the model extension added when it has none."""
    path = as_path(path)
    return path if path.suffix else path.with_name(path.name + MODEL_EXTENSION)


def _as_2d(a) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    return a.reshape(len(a), -1) if a.ndim == 1 else a


class Regressor:
    """NeurEco Tabular's regressor interface.

    Outputs are always 2-D ``(n_samples, n_outputs)``. ``set_weights`` and ``save``
    return a status (0 when it worked, 1 when it did not, with a warning saying why), as
    the reference documents; other methods raise on bad input. As in the reference,
    ``forward_derivative`` and ``gradient`` leave the model's weights set to ``w``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_neureco import Tabular
    >>> x = np.random.default_rng(0).uniform(size=(100, 2))
    >>> model = Tabular.Regressor()
    >>> model.build(x, x[:, :1] * x[:, 1:])
    0
    >>> model.evaluate(x[:3]).shape
    (3, 1)
    """

    def __init__(self):
        self.model: NeurEcoRegressor | None = None

    def _fitted(self) -> NeurEcoRegressor:
        if self.model is None:
            raise RuntimeError("no model: call build() or load() first")
        return self.model

    # ---------------------------------------------------------------- building
    def build(
        self,
        input_data,
        output_data,
        validation_input_data=None,
        validation_output_data=None,
        write_model_to="",
        valid_percentage=33.33,
        inputs_scaling=None,
        inputs_shifting=None,
        outputs_scaling=None,
        outputs_shifting=None,
        inputs_normalize_per_feature=None,
        outputs_normalize_per_feature=None,
        initial_beta_reg=0.1,
        links_maximum_number=0,
        checkpoint_address="",
        validation_indices=None,
        disconnect_inputs_if_possible=True,
        final_learning=True,
        checkpoint_to_start_build_from="",
        start_build_from_model_number=-1,
        freeze_structure=False,
    ) -> int:
        """Build a model; see :class:`~sklearn_neureco.NeurEcoRegressor` for the options.

        ``None`` normalisation options mean ``"auto"`` and per-feature normalisation.
        Validation data come from ``validation_input_data``/``validation_output_data``,
        or from the rows ``validation_indices`` of the inputs, or else from
        ``valid_percentage`` % of them. ``checkpoint_to_start_build_from`` resumes from
        model number ``start_build_from_model_number`` of that checkpoint (-1: the last),
        with the structure frozen if ``freeze_structure``. Returns 0.
        """
        X, Y = np.asarray(input_data, dtype=np.float64), _as_2d(output_data)
        X_val = Y_val = None
        if validation_input_data is not None or validation_output_data is not None:
            if validation_indices is not None:
                raise ValueError("give validation data or validation_indices, not both")
            if validation_input_data is None or validation_output_data is None:
                raise ValueError(
                    "validation_input_data and validation_output_data must be given together"
                )
            X_val, Y_val = validation_input_data, _as_2d(validation_output_data)
        elif validation_indices is not None:
            idx = np.asarray(validation_indices, dtype=int).ravel()
            if idx.size == 0 or idx.min() < -len(X) or idx.max() >= len(X):
                raise ValueError(f"validation_indices must index the {len(X)} input rows")
            keep = np.ones(len(X), dtype=bool)
            keep[idx] = False
            X, Y, X_val, Y_val = X[keep], Y[keep], X[~keep], Y[~keep]
        init_model = None
        if checkpoint_to_start_build_from:
            init_model = NeurEcoRegressor.load(
                checkpoint_to_start_build_from, model_number=start_build_from_model_number
            )
        model = NeurEcoRegressor(
            inputs_shifting=inputs_shifting or "auto",
            inputs_scaling=inputs_scaling or "auto",
            outputs_shifting=outputs_shifting or "auto",
            outputs_scaling=outputs_scaling or "auto",
            inputs_normalize_per_feature=(
                True if inputs_normalize_per_feature is None else inputs_normalize_per_feature
            ),
            outputs_normalize_per_feature=(
                True if outputs_normalize_per_feature is None else outputs_normalize_per_feature
            ),
            valid_percentage=valid_percentage,
            initial_beta_reg=initial_beta_reg,
            final_learning=final_learning,
            disconnect_inputs_if_possible=disconnect_inputs_if_possible,
            links_maximum_number=links_maximum_number,
            checkpoint_address=checkpoint_address or None,
        )
        model.fit(
            X,
            Y,
            X_val=X_val,
            y_val=Y_val,
            init_model=init_model,
            freeze_structure=freeze_structure,
        )
        self.model = model
        if write_model_to:
            model.save(_model_path(write_model_to))
        return 0

    # --------------------------------------------------------------- using it
    def evaluate(self, x) -> np.ndarray:
        """Outputs ``(n_samples, n_outputs)`` for the inputs ``x``."""
        return _as_2d(self._fitted().predict(x))

    def load(self, path) -> int:
        """Read a model written by ``build(write_model_to=...)`` or :meth:`save`; the
        extension may be left out. Returns 0."""
        path = Path(path)
        self.model = NeurEcoRegressor.load(path if path.is_file() else _model_path(path))
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
