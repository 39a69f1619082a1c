"""The reference product's interface: ``from sklearn_neureco import Tabular``.

``Tabular.Regressor`` and ``Tabular.Classifier`` keep NeurEco Tabular's method names,
arguments and status codes so that scripts written for it run with only their import line
changed. They are thin layers over :class:`~sklearn_neureco.NeurEcoRegressor` and
:class:`~sklearn_neureco.NeurEcoClassifier`: every computation is the estimator's.
"""

from ._base import MODEL_EXTENSION
from ._classifier import Classifier
from ._regressor import Regressor

__all__ = ["MODEL_EXTENSION", "Classifier", "Regressor"]
