"""The reference product's interface: ``from sklearn_neureco import Tabular``.

``Tabular.Regressor`` keeps NeurEco Tabular's method names, arguments and status codes so
that scripts written for it run with only their import line changed. It is a thin layer
over :class:`~sklearn_neureco.NeurEcoRegressor`: every computation is the estimator's.
"""

from ._regressor import MODEL_EXTENSION, Regressor

__all__ = ["MODEL_EXTENSION", "Regressor"]
