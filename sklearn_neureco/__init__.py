"""sklearn-neureco: compact, differentiable neural-network regression for tabular data.

``NeurEcoRegressor`` builds its own network from the data and exposes exact derivatives
in its weights and inputs.
"""

from ._derivatives import DerivativeMixin
from ._regressor import NeurEcoRegressor

__version__ = "0.1.0"

__all__ = ["DerivativeMixin", "NeurEcoRegressor", "__version__"]
