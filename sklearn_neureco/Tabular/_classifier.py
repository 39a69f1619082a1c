"""``Tabular.Classifier``: NeurEco Tabular's interface over NeurEcoClassifier."""

from __future__ import annotations

import numpy as np

from .._classifier import NeurEcoClassifier
from ._base import TabularModel, _as_2d, normalisation_options, split_validation_rows


def _classes_of(one_hot, name: str) -> np.ndarray:
    """The class numbers of one-hot rows ``(n, n_classes)``; a ValueError naming ``name``
    unless every row has a single 1 (the rest 0)."""
    Y = _as_2d(one_hot)
    if Y.shape[1] < 2 or not np.all((Y == 0) | (Y == 1)) or not np.all(Y.sum(axis=1) == 1):
        raise ValueError(
            f"{name} must be one-hot: one column per class (at least 2), a single 1 per row"
        )
    return Y.argmax(axis=1)


class Classifier(TabularModel):
    """NeurEco Tabular's classifier interface.

    ``output_data`` is one-hot, one column per class; :meth:`evaluate` returns the class
    probabilities in the same columns, and the derivative methods differentiate them.
    Status codes as for :class:`Regressor`.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_neureco import Tabular
    >>> x = np.random.default_rng(0).uniform(-1, 1, size=(200, 2))
    >>> one_hot = np.eye(2)[(x[:, 0] ** 2 + x[:, 1] > 0.3).astype(int)]
    >>> model = Tabular.Classifier()
    >>> model.build(x, one_hot)
    0
    >>> model.evaluate(x[:3]).shape
    (3, 2)
    """

    _estimator = NeurEcoClassifier

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
        inputs_normalize_per_feature=None,
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
        """Build a classifier; see :class:`~sklearn_neureco.NeurEcoClassifier` for the
        options and :meth:`Regressor.build` for the validation data and resuming. Every
        class (column of ``output_data``) needs at least one training row. Returns 0."""
        X, Y, X_val, Y_val = split_validation_rows(
            np.asarray(input_data, dtype=np.float64),
            _as_2d(output_data),
            validation_input_data,
            validation_output_data,
            validation_indices,
        )
        y = _classes_of(Y, "output_data")
        if np.unique(y).size != Y.shape[1]:
            missing = sorted(set(range(Y.shape[1])) - set(y.tolist()))
            raise ValueError(f"output_data has no training row of the classes {missing}")
        y_val = None if Y_val is None else _classes_of(Y_val, "validation_output_data")
        model = NeurEcoClassifier(
            **normalisation_options(
                "inputs", inputs_shifting, inputs_scaling, inputs_normalize_per_feature
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
            y,
            X_val=X_val,
            y_val=y_val,
            init_model=self._start_from(
                checkpoint_to_start_build_from, start_build_from_model_number
            ),
            freeze_structure=freeze_structure,
        )
        return self._finish_build(model, write_model_to)

    def evaluate(self, x) -> np.ndarray:
        """Class probabilities ``(n_samples, n_classes)`` for the inputs ``x``."""
        return self._fitted().predict_proba(x)
