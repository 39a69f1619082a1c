"""The reference product's interface: ``from sklearn_neureco import Tabular``.

``Tabular.Regressor``, ``Tabular.Classifier`` and ``Tabular.Compressor`` keep NeurEco
Tabular's method names, arguments and status codes so that scripts written for it run with
only their import line changed. They are thin layers over the family's estimators
(:class:`~sklearn_neureco.NeurEcoRegressor`, :class:`~sklearn_neureco.NeurEcoClassifier`,
:class:`~sklearn_neureco.NeurEcoCompressor`): every computation is the estimator's.
"""

from ._base import MODEL_EXTENSION
from ._classifier import Classifier
from ._compressor import Compressor
from ._regressor import Regressor

__all__ = ["MODEL_EXTENSION", "Classifier", "Compressor", "Regressor"]
