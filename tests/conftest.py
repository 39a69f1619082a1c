import numpy as np
import pytest

from tests._helpers import smooth_function


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def smooth_data():
    rng = np.random.default_rng(42)
    X = rng.uniform(-1.0, 1.0, size=(300, 3))
    return X, smooth_function(X)
