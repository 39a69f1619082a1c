"""sklearn-neureco: compact, differentiable neural networks for tabular data.

``NeurEcoRegressor`` and ``NeurEcoClassifier`` build their own network from the data and
expose exact derivatives in its weights and inputs.
"""

from . import Tabular  # the reference product's interface
from ._architecture import BuildConfig
from ._base import load_model
from ._classifier import NeurEcoClassifier
from ._compressor import NeurEcoCompressor
from ._derivatives import DerivativeMixin
from ._onnx import register_skl2onnx, to_onnx
from ._persistence import ModelFileError
from ._plot import BuildDisplay, NetworkDisplay, SensitivityDisplay
from ._regressor import NeurEcoRegressor

__version__ = "0.1.0"


def load(path, *, model_number: int | None = None, key=None):
    """Read a model file or checkpoint as the estimator of the family that wrote it (a
    :class:`NeurEcoRegressor`, ...): see :meth:`NeurEcoRegressor.load`."""
    return load_model(path, model_number=model_number, key=key)


__all__ = [
    "BuildConfig",
    "BuildDisplay",
    "DerivativeMixin",
    "ModelFileError",
    "NeurEcoClassifier",
    "NeurEcoCompressor",
    "NetworkDisplay",
    "NeurEcoRegressor",
    "SensitivityDisplay",
    "Tabular",
    "__version__",
    "load",
    "register_skl2onnx",
    "to_onnx",
]
