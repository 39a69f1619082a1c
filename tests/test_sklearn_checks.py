"""scikit-learn's own estimator checks: every one must pass, none is expected to fail."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_neureco import NeurEcoClassifier, NeurEcoCompressor, NeurEcoRegressor


@parametrize_with_checks(
    [
        NeurEcoRegressor(random_state=0),
        NeurEcoClassifier(random_state=0),
        # the checks' random data have no low-dimensional structure: a loose tolerance
        # keeps the search short (as scikit-learn sets small max_iter for its own checks)
        NeurEcoCompressor(random_state=0, compress_tolerance=0.3),
    ]
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
