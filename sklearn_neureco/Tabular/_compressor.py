"""``Tabular.Compressor``: NeurEco Tabular's compressor interface over NeurEcoCompressor."""

from __future__ import annotations

import numpy as np

from .._compressor import NeurEcoCompressor
from ._base import _model_path, normalisation_options


class Compressor:
    """NeurEco Tabular's compressor: ``build`` writes a compression model (data to
    coefficients) and a decompression model (coefficients to data), two model files that
    ``Tabular.Regressor`` loads and evaluates, with the whole derivative API.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_neureco import Tabular
    >>> t = np.random.default_rng(0).uniform(0, 3, 300)
    >>> data = np.c_[np.cos(t), np.sin(t), t]
    >>> compressor = Tabular.Compressor()
    >>> compressor.build(data, compress_tolerance=0.02)
    0
    >>> compressor.compress(data[:4]).shape
    (4, 1)
    """

    def __init__(self):
        self.model: NeurEcoCompressor | None = None

    def build(
        self,
        input_data,
        validation_input_data=None,
        write_compression_model_to="",
        write_decompression_model_to="",
        valid_percentage=33.33,
        inputs_scaling=None,
        inputs_shifting=None,
        inputs_normalize_per_feature=None,
        initial_beta_reg=0.1,
        final_learning=True,
        compress_tolerance=0.01,
        minimum_compression_coefficients=1,
        compress_decompress_size_ratio=1.0,
        validation_indices=None,
        checkpoint_address="",
    ) -> int:
        """Build the compression and decompression models (see
        :class:`~sklearn_neureco.NeurEcoCompressor` for the options) and write them where
        asked. Validation rows come from ``validation_input_data`` or the rows
        ``validation_indices`` of the data, or else ``valid_percentage`` % of it.
        ``checkpoint_address``: the file where the build writes its candidates as it goes
        (read them with ``NeurEcoCompressor.load(path, model_number=N)``). Returns 0.
        """
        X = np.asarray(input_data, dtype=np.float64)
        if validation_indices is not None and validation_input_data is not None:
            raise ValueError("give validation_input_data or validation_indices, not both")
        if validation_indices is not None:
            idx = np.asarray(validation_indices, dtype=int).ravel()
            if idx.size == 0 or idx.min() < -len(X) or idx.max() >= len(X):
                raise ValueError(f"validation_indices must index the {len(X)} input rows")
            keep = np.ones(len(X), dtype=bool)
            keep[idx] = False
            X, validation_input_data = X[keep], X[~keep]
        X_val = None
        if validation_input_data is not None:
            X_val = np.asarray(validation_input_data, dtype=np.float64)
        model = NeurEcoCompressor(
            **normalisation_options(
                "inputs", inputs_shifting, inputs_scaling, inputs_normalize_per_feature
            ),
            valid_percentage=valid_percentage,
            initial_beta_reg=initial_beta_reg,
            final_learning=final_learning,
            compress_tolerance=compress_tolerance,
            minimum_compression_coefficients=minimum_compression_coefficients,
            compress_decompress_size_ratio=compress_decompress_size_ratio,
            checkpoint_address=checkpoint_address or None,
        ).fit(X, X_val=X_val)
        self.model = model
        if write_compression_model_to:
            model.encoder_.save(_model_path(write_compression_model_to))
        if write_decompression_model_to:
            model.decoder_.save(_model_path(write_decompression_model_to))
        return 0

    def _fitted(self) -> NeurEcoCompressor:
        if self.model is None:
            raise RuntimeError("no model: call build() first")
        return self.model

    def compress(self, x) -> np.ndarray:
        """The coefficients of ``x``, ``(n_samples, n_coefficients)``."""
        return self._fitted().transform(x)

    def decompress(self, coefficients) -> np.ndarray:
        """The data reconstructed from ``coefficients``, ``(n_samples, n_features)``."""
        return self._fitted().inverse_transform(coefficients)

    def delete(self) -> int:
        """Release the model. Returns 0."""
        self.model = None
        return 0
