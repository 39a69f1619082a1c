"""scikit-learn's own estimator checks: every one must pass, none is expected to fail."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_neureco import NeurEcoClassifier, NeurEcoRegressor


@parametrize_with_checks([NeurEcoRegressor(random_state=0), NeurEcoClassifier(random_state=0)])
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
