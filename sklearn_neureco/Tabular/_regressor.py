"""``Tabular.Regressor``: NeurEco Tabular's interface over NeurEcoRegressor."""

from __future__ import annotations

import numpy as np

from .._regressor import NeurEcoRegressor
from ._base import TabularModel, _as_2d, normalisation_options, split_validation_rows


class Regressor(TabularModel):
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

    _estimator = NeurEcoRegressor

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
        X, Y, X_val, Y_val = split_validation_rows(
            np.asarray(input_data, dtype=np.float64),
            _as_2d(output_data),
            validation_input_data,
            validation_output_data,
            validation_indices,
        )
        init_model = self._start_from(checkpoint_to_start_build_from, start_build_from_model_number)
        model = NeurEcoRegressor(
            **normalisation_options(
                "inputs", inputs_shifting, inputs_scaling, inputs_normalize_per_feature
            ),
            **normalisation_options(
                "outputs", outputs_shifting, outputs_scaling, outputs_normalize_per_feature
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
        return self._finish_build(model, write_model_to)

    # --------------------------------------------------------------- using it
    def evaluate(self, x) -> np.ndarray:
        """Outputs ``(n_samples, n_outputs)`` for the inputs ``x``."""
        return _as_2d(self._fitted().predict(x))
